"""Right-sizing: each legacy server (each of its `count`) becomes one VM on the platform.

With measured p95 utilisation a dimension is sized so that the measured peak lands at the catalogue's
target peak (vcpu * p95 / target, rounded up); without it the legacy spec is kept, because guessing
downwards is how consolidations run out of headroom. Sizes never drop below the catalogue minimum and
never exceed what one host offers. The VM then gets the smallest flavor on the ladder that holds it;
its disk becomes a volume of the legacy size (data is moved, not shrunk).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from shuyaku.contracts.catalogue import Catalogue, Overcommit
from shuyaku.contracts.inventory import Inventory, Redundancy
from shuyaku.contracts.plan import Resources, Sizing
from shuyaku.plan import flavors


@dataclass(frozen=True)
class Capacity:
    """Effective capacity of one host for one layer: (host - hypervisor reserve) x overcommit."""

    vcpu: float
    ram_gb: float
    disk_gb: float


def host_capacity(cat: Catalogue, layer: str) -> Capacity:
    oc = cat.overcommit.get(layer) or Overcommit(cpu=1.0, ram=1.0)  # type: ignore[call-overload]
    h = cat.host
    return Capacity((h.vcpu - h.reserved_vcpu) * oc.cpu, (h.ram_gb - h.reserved_ram_gb) * oc.ram, float(h.disk_gb))


def vm_id(system_id: str, role: str, index: int) -> str:
    return f"{system_id}/{role}/{index}"


def _need(spec: float, p95: float | None, target_pct: float, minimum: float) -> float:
    if p95 is None:
        return max(spec, minimum)
    return max(math.ceil(spec * p95 / target_pct), minimum)


def _shape(vcpu: float, ram_gb: float, cpu_cap: float, ram_cap: float) -> flavors.FlavorShape:
    """Ladder flavor, clamped to what the host offers (a rung above the host would never place)."""
    shape = flavors.fit(min(vcpu, cpu_cap), min(ram_gb, ram_cap))
    return flavors.FlavorShape(min(shape.vcpus, int(cpu_cap)), min(shape.ram_gb, int(ram_cap)))


def size(inv: Inventory, cat: Catalogue) -> list[Sizing]:
    """One Sizing per VM, in inventory order (system, server, index)."""
    sz = cat.sizing
    out: list[Sizing] = []
    for system in inv.systems:
        layer = system.layer.value
        cap = host_capacity(cat, layer)
        # The CPU limit per VM is physical threads, not overcommitted vCPU: one VM cannot use more
        # threads than the host has.
        cpu_cap = min(cap.vcpu, cat.host.vcpu - cat.host.reserved_vcpu)
        for server in system.servers:
            measured = server.p95_cpu_pct is not None or server.p95_ram_pct is not None
            vcpu = _need(server.vcpu, server.p95_cpu_pct, sz.target_peak_pct, sz.min_vcpu)
            ram = _need(server.ram_gb, server.p95_ram_pct, sz.target_peak_pct, sz.min_ram_gb)
            shape = _shape(vcpu, ram, cpu_cap, cap.ram_gb)
            disk = float(math.ceil(min(server.disk_gb, cap.disk_gb)))
            group = (f"{system.id}/{server.role}"
                     if server.count > 1 and server.redundancy != Redundancy.none else None)
            # model_construct: these values are built here from validated input, and validating
            # 100,000 of them again would cost seconds at scale. Floats are passed as floats so the
            # JSON is the same as validated models would give.
            before = Resources.model_construct(vcpu=float(server.vcpu), ram_gb=float(server.ram_gb),
                                               disk_gb=float(server.disk_gb))
            after = Resources.model_construct(vcpu=float(shape.vcpus), ram_gb=float(shape.ram_gb), disk_gb=disk)
            for i in range(server.count):
                out.append(Sizing.model_construct(
                    system_id=system.id, role=server.role, index=i, layer=system.layer,
                    before=before, after=after,
                    basis="utilisation" if measured else "spec",
                    flavor=shape.name,
                    anti_affinity_group=group,
                ))
    return out
