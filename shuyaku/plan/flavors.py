"""The flavor ladder: the VM shapes the platform offers, defined once.

Right-sized servers are rounded up to the next rung in each dimension, so that a handful of flavors
serve every tenant (vendors can reason about them, Nova's placement stays predictable) and the plan's
capacity figures are what Nova will actually allocate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Rungs chosen so that rounding up wastes at most about a third of a dimension; beyond the top rung,
# sizes round up to a multiple of the top step so that the largest legacy servers still get a flavor.
VCPU_RUNGS: tuple[int, ...] = (1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64)
RAM_GB_RUNGS: tuple[int, ...] = (1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
VCPU_STEP_ABOVE = 16
RAM_GB_STEP_ABOVE = 128

# Root disk of every flavor; data lives on Cinder volumes sized from the legacy disk, so the flavor's
# own disk only holds the OS image (Windows Server needs about 32 GB).
ROOT_DISK_GB = 40

PREFIX = "m1"


@dataclass(frozen=True, order=True)
class FlavorShape:
    vcpus: int
    ram_gb: int

    @property
    def name(self) -> str:
        return f"{PREFIX}.c{self.vcpus}r{self.ram_gb}"

    @property
    def ram_mb(self) -> int:
        return self.ram_gb * 1024


def _rung(value: float, rungs: tuple[int, ...], step_above: int) -> int:
    for r in rungs:
        if value <= r:
            return r
    return int(math.ceil(value / step_above) * step_above)


def fit(vcpu: float, ram_gb: float) -> FlavorShape:
    """The smallest flavor on the ladder that holds `vcpu` and `ram_gb`."""
    return FlavorShape(_rung(vcpu, VCPU_RUNGS, VCPU_STEP_ABOVE), _rung(ram_gb, RAM_GB_RUNGS, RAM_GB_STEP_ABOVE))


def parse(name: str) -> FlavorShape:
    """Inverse of FlavorShape.name (m1.c4r16 -> 4 vCPU, 16 GB)."""
    body = name.split(".", 1)[1]
    c, r = body[1:].split("r")
    return FlavorShape(int(c), int(r))


# Offered in every zone beside the flavors tenants use, so a vendor can add a small helper VM
# without asking for a new flavor.
STANDARD: tuple[FlavorShape, ...] = (FlavorShape(2, 4), FlavorShape(2, 8), FlavorShape(4, 8), FlavorShape(4, 16))
