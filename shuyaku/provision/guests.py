"""The servers the platform's stack does not hold, found through the cloud's API (`provision/verify --cloud`).

The vendors deploy their systems' servers from their own projects (their own stacks), and a stack deployed
without instances has the platform's service ports but no servers on them. The operator, with the cloud's
admin credentials, finds them here:
- every ACTIVE server in a tenant's project (the platform's `tenants` output), at its address on that tenant's
  network (Neutron's record, not the server's own claim), in group `migrated` and `migrated_<layer>`;
- every server on one of the platform's service ports (`<site>-<service>-NN` on the shared segment) that the
  stack's inventory does not list already, in the service's group.

The SSH host keys come from each server's console log (Nova's channel, which the network cannot forge), in the
block cloud-init prints (`-----BEGIN SSH HOST KEY KEYS-----`); a server that has not printed one is left out and
named, never trusted on first use. A vendor controls what its own server prints, so the keys it shows vouch for
that server's address alone. Host names come from the servers' names when they are plain and not taken (the
platform's hosts first), else `<system>-<server id>`: a vendor cannot name its server after the bastion.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shuyaku.contracts.i18n import t
from shuyaku.contracts.plan import Plan
from shuyaku.contracts.source import clip
from shuyaku.provision.hostvars import HOST_KEYS_VAR, HOST_RE, parse_host_key
from shuyaku.provision.inventory import InventoryError

GUESTS_GROUP = "migrated"  # not verify's internal `shuyaku_migrated` (the matrix's source hosts)
KEYS_BLOCK = re.compile(r"-----BEGIN SSH HOST KEY KEYS-----(.*?)-----END SSH HOST KEY KEYS-----", re.S)
KEY_WORDS = re.compile(r"([a-z0-9@.-]+) ([A-Za-z0-9+/]+={0,3})")


@dataclass
class Found:
    """Inventory entries (group → host → vars) and the servers left out, each with its reason."""

    inventory: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)

    def taken(self) -> set[str]:
        return {h for hosts in self.inventory.values() for h in hosts}


def console_host_keys(console: str) -> list[str]:
    """The host keys in the last cloud-init key block of a console log (the latest boot's), checked as keys."""
    blocks = KEYS_BLOCK.findall(console or "")
    if not blocks:
        return []
    keys = {" ".join(k) for m in KEY_WORDS.finditer(blocks[-1]) if (k := parse_host_key(f"{m[1]} {m[2]}"))}
    return sorted(keys)


def allowed_flows(plan: Plan | None, outputs: dict[str, Any], system: str) -> list[dict[str, Any]]:
    """The host firewall's inbound flows for a system's server: its planned links, from the source tenant's
    network (direct) or from the mediating service (hub, relay): the same flows its security groups admit."""
    if plan is None:
        return []
    tenants, services = outputs.get("tenants") or {}, outputs.get("shared_services") or {}
    flows = []
    for lk in plan.links:
        if lk.target != system or lk.path not in ("direct", "hub", "relay"):
            continue
        source = (tenants.get(lk.source) or {}) if lk.path == "direct" else (services.get(lk.path) or {})
        if source.get("cidr"):
            flows.append({"proto": lk.protocol, "port": lk.port, "from": str(source["cidr"]),
                          "comment": f"{lk.source} -> {lk.target} ({lk.path})"})
    return sorted(flows, key=lambda f: (f["proto"], f["port"], f["from"]))


def platform_vars(outputs: dict[str, Any]) -> dict[str, Any]:
    """The baseline role's settings the platform's outputs decide for a migrated server: SSH only from the
    bastion, time, patches and logs from the shared services. The rest (the log host's CA) is the operator's."""
    services = outputs.get("shared_services") or {}

    def ips(name: str) -> list[str]:
        return [str(ip) for ip in (services.get(name) or {}).get("ips") or []]
    out: dict[str, Any] = {}
    if (services.get("bastion") or {}).get("cidr"):
        out["baseline_mgmt_cidrs"] = [str(services["bastion"]["cidr"])]
    if ips("ntp"):
        out["baseline_ntp_servers"] = ips("ntp")
    if ips("patch_mirror"):
        out["baseline_patch_mirror_url"] = f"http://{ips('patch_mirror')[0]}/debian"
    if ips("logs"):
        out["baseline_log_host"] = ips("logs")[0]
    return out


def _address(conn: Any, server: Any, network_id: str) -> str | None:
    for port in conn.network.ports(device_id=server.id, network_id=network_id):
        for fixed in port.fixed_ips or []:
            if ipaddress.ip_address(fixed["ip_address"]).version == 4:
                return str(fixed["ip_address"])
    return None


def _name(server: Any, prefix: str, taken: set[str]) -> str:
    name = str(server.name or "")
    return name if HOST_RE.match(name) and name not in taken else f"{prefix}-{server.id[:8]}"


def _keys(conn: Any, server: Any, found: Found, label: str) -> list[str]:
    # the whole log (Nova keeps at most its last 100 KiB): cloud-init prints the block at the first boot only,
    # so a tail would lose it on a server that has run for a while
    console = conn.compute.get_server_console_output(server.id).get("output", "")
    keys = console_host_keys(console)
    if not keys:
        found.left_out.append(t(
            f"{label}: コンソールログに SSH ホスト鍵（-----BEGIN SSH HOST KEY KEYS-----）がありません。起動の完了を"
            "待つか、cloud-init などで鍵を表示するイメージを使ってください。鍵の分からないサーバには接続しません。",
            f"{label}: no SSH host keys (-----BEGIN SSH HOST KEY KEYS-----) on its console log yet. Wait for the "
            "boot to finish, or use an image that prints them (cloud-init does); a server whose key is not known "
            "is not contacted."))
    return keys


def _tenant_servers(conn: Any, outputs: dict[str, Any], plan: Plan | None, user: str, found: Found) -> None:
    base = platform_vars(outputs)
    for sid, ten in sorted((outputs.get("tenants") or {}).items()):
        for server in sorted(conn.compute.servers(all_projects=True, project_id=ten["project_id"]),
                             key=lambda s: (s.name or "", s.id)):
            label = t(f"テナント {sid} のサーバ {clip(server.name)}（{server.id}）",
                      f"tenant {sid}: server {clip(server.name)} ({server.id})")
            if server.status != "ACTIVE":
                found.left_out.append(t(f"{label}: 状態が {server.status} です（ACTIVE のサーバだけを対象にします）。",
                                        f"{label}: status {server.status} (only ACTIVE servers are taken)."))
                continue
            address = _address(conn, server, ten["network_id"])
            if address is None:
                found.left_out.append(t(f"{label}: テナントのネットワーク上にアドレスがありません。",
                                        f"{label}: no address on the tenant's network."))
                continue
            keys = _keys(conn, server, found, label)
            if not keys:
                continue
            host = _name(server, sid, found.taken())
            hvars = {"ansible_host": address, "ansible_user": user, "shuyaku_layer": ten["layer"],
                     "shuyaku_site": ten.get("site", "onprem"), HOST_KEYS_VAR: keys, **base,
                     "baseline_allowed_flows": allowed_flows(plan, outputs, sid)}
            for group in (GUESTS_GROUP, f"{GUESTS_GROUP}_{ten['layer']}"):
                found.inventory.setdefault(group, {})[host] = hvars


def _service_servers(conn: Any, outputs: dict[str, Any], user: str, found: Found) -> None:
    shared = (outputs.get("zones") or {}).get("shared") or {}
    site = str(outputs.get("site", ""))
    if not shared.get("network_id"):
        return
    names = {f"{site}-{svc.replace('_', '-')}": svc for svc in outputs.get("shared_services") or {}}
    for port in conn.network.ports(network_id=shared["network_id"]):
        svc = names.get(re.sub(r"-\d{2}$", "", str(port.name or "")))
        if svc is None or not str(port.device_owner or "").startswith("compute:") or port.name in found.taken():
            continue
        server = conn.compute.find_server(port.device_id, ignore_missing=True)
        label = t(f"共通サービス {svc} のポート {port.name}", f"shared service {svc}: port {port.name}")
        if server is None:
            found.left_out.append(t(f"{label}: 使用中ですが、サーバ（{clip(port.device_id)}）は Nova にありません。",
                                    f"{label}: in use, but not by a server Nova knows ({clip(port.device_id)})."))
            continue
        keys = _keys(conn, server, found, label) if server.status == "ACTIVE" else []
        if keys:
            found.inventory.setdefault(svc, {})[port.name] = {
                "ansible_host": port.fixed_ips[0]["ip_address"], "ansible_user": user, "shuyaku_layer": "shared",
                "shuyaku_role": svc, "shuyaku_site": site, HOST_KEYS_VAR: keys}


def collect(conn: Any, outputs: dict[str, Any], *, plan: Plan | None = None, user: str = "ansible") -> Found:
    """The stack's own inventory, then the servers on its service ports, then the tenants' servers."""
    found = Found(inventory={g: dict(h) for g, h in (outputs.get("ansible_inventory") or {}).items()
                             if isinstance(h, dict)})
    _service_servers(conn, outputs, user, found)
    _tenant_servers(conn, outputs, plan, user, found)
    return found


def from_cloud(cloud: str, *, plan: Plan | None = None, user: str = "ansible") -> Callable[[dict[str, Any]], Found]:
    """A collector for `resolve(..., guests=)`: the operator's cloud (a clouds.yaml entry, admin credentials)."""
    import openstack
    import openstack.exceptions

    def run(outputs: dict[str, Any]) -> Found:
        try:
            return collect(openstack.connect(cloud=cloud), outputs, plan=plan, user=user)
        except openstack.exceptions.ConfigException as exc:
            raise InventoryError([t(f"--cloud {clip(cloud)}: clouds.yaml にありません（{exc}）。OS_CLIENT_CONFIG_FILE "
                                    "か ~/.config/openstack/clouds.yaml の名前を指定してください。",
                                    f"--cloud {clip(cloud)}: not in clouds.yaml ({exc}); name an entry of "
                                    "OS_CLIENT_CONFIG_FILE or ~/.config/openstack/clouds.yaml.")]) from None
        except openstack.exceptions.SDKException as exc:
            raise InventoryError([t(f"--cloud {clip(cloud)}: サーバの一覧を取得できません: {exc}",
                                    f"--cloud {clip(cloud)}: cannot list the servers: {exc}")]) from None
    return run
