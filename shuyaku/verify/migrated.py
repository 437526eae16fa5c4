"""`verify --migrated`: from the stack's outputs, the migrated guests, the matrix's inputs and the inventory that
reaches the guests through the bastion.

Trust: the outputs are written by whoever can change the stack. The hosts pass the provisioning stage's
allow-list (shuyaku.provision.hostvars: no ssh arguments, no ProxyCommand, addresses that are IP addresses); a
guest belongs to the system whose tenant network (the platform's own `tenants` output) holds its address, not
to whatever a label says; the jump host is built here from the bastion's checked IP address, and ssh accepts
only the host keys the stack published (shuyaku_ssh_host_keys), for the bastion hop and for the guests.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shuyaku.contracts.i18n import t
from shuyaku.contracts.plan import Plan
from shuyaku.contracts.problems import tx
from shuyaku.contracts.source import clip
from shuyaku.contracts.tenant_outputs import TenantOutputsError, parse
from shuyaku.contracts.verify import MIGRATED_GROUP, CaseSet, Proxy
from shuyaku.contracts.vocabulary import Layer
from shuyaku.provision.inventory import (
    BASTION_GROUP,
    InventoryError,
    jump_args,
    outputs_to_inventory,
    pin_host_keys,
)
from shuyaku.verify.matrix import MEDIATORS, Guest, MatrixInput, Mediator
from shuyaku.verify.runner import Case


@dataclass
class Migrated:
    matrix: MatrixInput
    inventory: dict[str, Any]  # the checked ansible_inventory, as outputs_to_inventory gives it
    bastion: str  # the bastion's inventory host name
    system_of: dict[str, str]  # guest host -> system id


def _tenants(outputs: dict[str, Any], plan: Plan, where: str, problems: list[str]) -> dict[str, Any]:
    """The stack's tenants, checked against their contract and against the plan (same systems, same layers)."""
    planned = {s.system_id: s.layer for s in plan.sizing}
    tenants: dict[str, Any] = {}
    raw = outputs.get("tenants")
    for sid, value in (raw.items() if isinstance(raw, dict) else []):
        try:
            ten = parse(value, system_id=str(sid), where=tx(f"{where}.tenants", f"{where}.tenants"))
        except TenantOutputsError as exc:
            problems.append(t(exc.text.ja, exc.text.en))
            continue
        if sid not in planned:
            problems.append(t(f"{where}.tenants.{clip(sid)}: 計画（plan.json）にないシステムです。"
                              "このスタックを作った計画を --plan で指定してください。",
                              f"{where}.tenants.{clip(sid)}: not a system of the plan (plan.json); pass the plan "
                              "this stack was made from with --plan."))
        elif planned[sid] != ten.layer:
            problems.append(t(f"{where}.tenants.{sid}.layer: スタックでは {ten.layer}、計画では {planned[sid]} です。",
                              f"{where}.tenants.{sid}.layer: {ten.layer} in the stack, {planned[sid]} in the plan."))
        else:
            tenants[sid] = ten
    return tenants


def _first_address(cidr: Any, where: str, problems: list[str]) -> str | None:
    try:
        net = ipaddress.ip_network(str(cidr), strict=False)
    except ValueError:
        problems.append(t(f"{where}: IP アドレスか CIDR が必要です（値: {clip(cidr)}）。",
                          f"{where}: expected an IP address or CIDR (got {clip(cidr)})."))
        return None
    return str(net.network_address if net.num_addresses == 1 else next(net.hosts()))


def _mediators(outputs: dict[str, Any], hosts: dict[str, dict[str, Any]], where: str,
               problems: list[str]) -> dict[str, Mediator]:
    """The hub and the relay: their first planned address, their ports, and an inventory host at one of them."""
    services = outputs.get("shared_services")
    out: dict[str, Mediator] = {}
    for name in MEDIATORS:
        svc = services.get(name) if isinstance(services, dict) else None
        if not isinstance(svc, dict) or not isinstance(svc.get("ips"), list) or not svc["ips"]:
            continue
        address = _first_address(svc["ips"][0], f"{where}.shared_services.{name}.ips[0]", problems)
        ports = tuple(int(p.split("/")[1]) for p in svc.get("ports") or []
                      if isinstance(p, str) and p.startswith("tcp/") and p[4:].isdigit())
        ips = {str(ip) for ip in svc["ips"]}
        on = sorted(h for h, v in hosts.items() if str(v["ansible_host"]) in ips)
        host = Guest(on[0], str(hosts[on[0]]["ansible_host"])) if on else None
        if address is not None:
            out[name] = Mediator(name, host.address if host else address, ports, host)
    return out


def from_outputs(stack: str, outputs: dict[str, Any], plan: Plan, *, internet: Proxy | None = None) -> Migrated:
    """The matrix's inputs and the checked inventory; every problem at once (InventoryError, exit status 2)."""
    where = f"stack {clip(stack)[1:-1]}"
    problems: list[str] = []
    if outputs.get("municipality") != plan.municipality:
        problems.append(t(f"{where}.municipality: スタックは {clip(outputs.get('municipality'))}、計画は "
                          f"{clip(plan.municipality)} です。同じ自治体の計画を --plan で指定してください。",
                          f"{where}.municipality: the stack is for {clip(outputs.get('municipality'))}, the plan "
                          f"for {clip(plan.municipality)}; pass that municipality's plan with --plan."))
    model = outputs.get("separation_model")
    if model is not None and model != plan.separation_model:
        problems.append(t(f"{where}.separation_model: スタックは {clip(model)}、計画は {plan.separation_model} です。",
                          f"{where}.separation_model: {clip(model)} in the stack, {plan.separation_model} in the plan."))
    tenants = _tenants(outputs, plan, where, problems)
    raw_inventory = outputs.get("ansible_inventory")
    if not raw_inventory:
        raise InventoryError([*problems, _no_guests(where)])
    inventory = outputs_to_inventory(raw_inventory, source=f"{where}: ansible_inventory")
    groups = inventory["all"]["children"]
    hosts = {h: v for g in groups.values() for h, v in g["hosts"].items()}
    nets = {sid: ipaddress.ip_network(ten.cidr) for sid, ten in tenants.items()}
    guests: dict[str, list[Guest]] = {}
    system_of: dict[str, str] = {}
    for host, hv in sorted(hosts.items()):
        ip = ipaddress.ip_address(str(hv["ansible_host"]))
        sid = next((s for s, net in sorted(nets.items()) if ip in net), None)
        if sid is None:
            continue
        label = hv.get("shuyaku_layer")
        if label is not None and label != tenants[sid].layer:
            problems.append(t(f"{where}: ansible_inventory.*.{host}.shuyaku_layer: {label} ですが、アドレス {ip} は "
                              f"{sid}（{tenants[sid].layer}）のネットワークにあります。",
                              f"{where}: ansible_inventory.*.{host}.shuyaku_layer: says {label}, but its address "
                              f"{ip} is on the network of {sid} ({tenants[sid].layer})."))
            continue
        guests.setdefault(sid, []).append(Guest(host, str(ip)))
        system_of[host] = sid
    bastions = sorted(groups.get(BASTION_GROUP, {}).get("hosts", {}))
    if not guests:
        problems.append(_no_guests(where))
    if not bastions:
        problems.append(t(f"{where}: ansible_inventory.{BASTION_GROUP}: 踏み台（bastion）のホストがありません。"
                          "移行したゲストには踏み台を経由してだけ接続します。共通サービスに bastion を含めて"
                          "サーバを配置（instances）してください。",
                          f"{where}: ansible_inventory.{BASTION_GROUP}: no bastion host. The migrated guests are "
                          "reached only through the bastion; deploy the shared services' bastion with servers "
                          "(instances)."))
    mediators = _mediators(outputs, hosts, where, problems)
    proxy_out = outputs.get("proxy")
    proxy = None
    if isinstance(proxy_out, dict) and proxy_out.get("cidr"):
        address = _first_address(proxy_out["cidr"], f"{where}.proxy.cidr", problems)
        port = proxy_out.get("port", 8080)
        proxy = Proxy(address=address, port=int(port)) if address and isinstance(port, int | float) else None
    if problems:
        raise InventoryError(problems)
    layers = {sid: Layer(ten.layer) for sid, ten in tenants.items()}
    matrix = MatrixInput(stack=stack, municipality=plan.municipality, plan=plan, layers=layers, guests=guests,
                         mediators=mediators, proxy=proxy, internet=internet)
    return Migrated(matrix=matrix, inventory=inventory, bastion=bastions[0], system_of=system_of)


def _no_guests(where: str) -> str:
    return t(f"{where}: 移行したシステムのゲストがありません（ansible_inventory のどのホストのアドレスも、"
             "tenants のどのテナントのネットワークにもありません）。移行の波のシステムを配置してから実行してください。",
             f"{where}: no guest of a migrated system (no host of ansible_inventory has an address on any "
             "network of tenants). Deploy the systems of a migration wave first.")


def write_inventory(mig: Migrated, sources: list[str], workdir: Path, *, key: Path | None = None) -> Path:
    """The inventory the suite runs over: only the cases' source hosts, in one group, each through the bastion."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in mig.matrix.stack)
    known_hosts = (workdir / f"known_hosts-migrated-{safe}").resolve()
    pin_host_keys(mig.inventory, known_hosts, f"stack {safe}: ansible_inventory")
    hosts = {h: v for g in mig.inventory["all"]["children"].values() for h, v in g["hosts"].items()}
    args = jump_args(known_hosts, hosts[mig.bastion], key)
    group: dict[str, Any] = {}
    for host in sorted(set(sources)):
        hv = {k: v for k, v in hosts[host].items() if k != "shuyaku_ssh_host_keys"}
        hv["ansible_ssh_common_args"] = args
        if key is not None:
            hv["ansible_ssh_private_key_file"] = str(key)
        group[host] = hv
    path = workdir / f"inventory-migrated-{safe}.yml"
    path.write_text("# Written by shuyaku verify --migrated: the cases' source hosts, reached through the bastion.\n"
                    + yaml.safe_dump({"all": {"children": {MIGRATED_GROUP: {"hosts": group}}}}, sort_keys=False,
                                     allow_unicode=True), encoding="utf-8")
    return path


@dataclass
class Tally:
    """What the run showed against the cases: the matrix summary `verify --migrated` prints."""

    cases: int = 0
    tried: int = 0
    allowed: int = 0  # allow cases that connected
    refused: int = 0  # refuse cases that were refused
    unexpected: list[tuple[str, str]] = field(default_factory=list)  # (case id, message)
    not_run: list[str] = field(default_factory=list)  # skipped, or absent from the JUnit XML

    @property
    def proven(self) -> bool:
        return self.cases > 0 and not self.unexpected and not self.not_run


def tally(case_set: CaseSet, results: list[Case]) -> Tally:
    by_id = {r.param: r for r in results if r.name == "test_connection"}
    out = Tally(cases=len(case_set.cases))
    for case in case_set.cases:
        r = by_id.get(case.id)
        if r is None or r.outcome == "skipped":
            out.not_run.append(case.id)
            continue
        out.tried += 1
        if r.outcome == "passed":
            if case.expect == "allow":
                out.allowed += 1
            else:
                out.refused += 1
        else:
            out.unexpected.append((case.id, r.message.splitlines()[0] if r.message else r.outcome))
    return out
