"""One read of the live cloud, everything the checks need, independent of Pulumi state.

Credentials: the checks only read, but they read across projects: every tenant's ports, routers, groups, images,
servers, volumes, quotas and Keystone's role assignments. Under the policy defaults the dev cloud (and a Zed
deployment with `enforce_new_defaults = False`) runs, only `admin` may list other projects' resources; a
project-scoped `reader` sees its own project only (tried: Keystone, Nova and Neutron's quota listing refuse it;
Neutron's ports/routers/rules and Cinder's all-projects volumes answer with its own project's, without an error,
which is why a login without `admin` is itself reported). So `audit --live` runs with an admin-scoped login (the
operator's, e.g. `--cloud dev-admin`) and makes GET calls only. Where a cloud enforces the new defaults, a
system-scoped reader (`role:reader and system_scope:all`) suffices for Keystone, Nova, Neutron and Cinder; Glance
still shows other projects' private images to admin only, so image checks would be partial. A listing the login
may not read is recorded in `gaps` and reported (`live.unreadable`), never silently skipped.

The per-project calls (Nova and Cinder quotas, group members, image members, application credentials) run in a
thread pool; the rest are one listing each, so the time grows with the API's page sizes, not with a call per
resource.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shuyaku.contracts import tags as tagmod

WORKERS = 16


@dataclass
class Snapshot:
    projects: list[Any] = field(default_factory=list)
    routers: list[Any] = field(default_factory=list)
    networks: list[Any] = field(default_factory=list)
    subnets: list[Any] = field(default_factory=list)
    ports: list[Any] = field(default_factory=list)
    security_groups: list[Any] = field(default_factory=list)
    security_group_rules: list[Any] = field(default_factory=list)
    floating_ips: list[Any] = field(default_factory=list)
    images: list[Any] = field(default_factory=list)
    image_members: dict[str, list[Any]] = field(default_factory=dict)  # image id -> members
    role_assignments: list[Any] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)  # id -> name
    users: dict[str, str] = field(default_factory=dict)  # id -> name
    groups: dict[str, str] = field(default_factory=dict)  # id -> name
    group_users: dict[str, list[str]] = field(default_factory=dict)  # group id -> user ids
    app_credentials: dict[str, list[Any]] = field(default_factory=dict)  # user id -> credentials
    network_quotas: dict[str, Any] = field(default_factory=dict)  # project id -> quota
    compute_quotas: dict[str, Any] = field(default_factory=dict)
    volume_quotas: dict[str, Any] = field(default_factory=dict)
    flavors: list[Any] = field(default_factory=list)
    aggregates: list[Any] = field(default_factory=list)
    flavor_access: dict[str, list[str]] = field(default_factory=dict)  # private flavor id -> project ids
    servers: list[Any] = field(default_factory=list)
    volumes: list[Any] = field(default_factory=list)
    gaps: list[tuple[str, str]] = field(default_factory=list)  # (what, why) the login could not read
    seconds: float = 0.0

    # indexes, built once
    def index(self) -> None:
        self.network_by_id = {n.id: n for n in self.networks}
        self.subnet_by_id = {s.id: s for s in self.subnets}
        self.group_by_id = {g.id: g for g in self.security_groups}
        self.server_by_id = {s.id: s for s in self.servers}
        self.aggregate_hosts = {a.name: set(a.hosts or []) for a in self.aggregates}
        self.rules_by_group: dict[str, list[Any]] = {}
        for r in self.security_group_rules:
            self.rules_by_group.setdefault(r.security_group_id, []).append(r)
        self.ports_by_device: dict[str, list[Any]] = {}
        for p in self.ports:
            self.ports_by_device.setdefault(p.device_id or "", []).append(p)


def site_projects(projects: Iterable[Any], site: str) -> dict[str, Any]:
    """Tenant projects of one site, by system id: Keystone projects tagged `shuyaku:system=` and `shuyaku:site=`.

    Project tags are the operator's (only `identity:update_project` may change them), unlike the tags on a
    vendor's own networks or servers, so they are trusted to say which project is which tenant."""
    out: dict[str, Any] = {}
    for p in projects:
        t = tagmod.parse(list(getattr(p, "tags", None) or []))
        if "system" in t and t.get("site", "onprem") == site:
            out[t["system"]] = p
    return out


def _note_login(conn: Any, snap: Snapshot) -> None:
    """A login without admin sees only its own project in some listings, silently: say so."""
    try:
        roles = set(conn.session.auth.get_access(conn.session).role_names or [])
    except Exception:  # a login that cannot say its roles: the listings below will show what it may read
        roles = {"admin"}
    if "admin" not in roles:
        # Some APIs answer a non-admin's cross-project listing with its own project's resources, not a refusal
        # (Neutron, Cinder's all_tenants on the dev cloud): the audit would be partial without a single error.
        snap.gaps.append(("every project", f"the login holds {', '.join(sorted(roles)) or 'no role'}, not admin: "
                                           "cross-project listings show only its own project"))


def _listings(conn: Any) -> dict[str, Callable[[], Any]]:
    """Every cross-project listing the audit reads, each one GET (or a paged series of them)."""
    return {
        "projects": lambda: list(conn.identity.projects()),
        "routers": lambda: list(conn.network.routers()),
        "networks": lambda: list(conn.network.networks()),
        "subnets": lambda: list(conn.network.subnets()),
        "ports": lambda: list(conn.network.ports()),
        "security_groups": lambda: list(conn.network.security_groups()),
        "security_group_rules": lambda: list(conn.network.security_group_rules()),
        "floating_ips": lambda: list(conn.network.ips()),
        "images": lambda: list(conn.image.images()),
        "role_assignments": lambda: list(conn.identity.role_assignments()),
        "roles": lambda: {r.id: r.name for r in conn.identity.roles()},
        "users": lambda: {u.id: u.name for u in conn.identity.users()},
        "groups": lambda: {g.id: g.name for g in conn.identity.groups()},
        "flavors": lambda: list(conn.compute.flavors(details=True)),
        "aggregates": lambda: list(conn.compute.aggregates()),
        "servers": lambda: list(conn.compute.servers(details=True, all_projects=True)),
        "volumes": lambda: list(conn.block_storage.volumes(details=True, all_projects=True)),
    }


def read(conn: Any, site: str, vendor_group_names: Iterable[str]) -> Snapshot:
    """Read the cloud once. `conn` is a logged-in openstacksdk Connection (see the module doc for its role)."""
    import time

    from openstack import exceptions

    t0 = time.monotonic()
    snap = Snapshot()
    _note_login(conn, snap)

    def guarded(what: str, fn: Callable[[], Any], default: Any) -> Any:
        try:
            return fn()
        except exceptions.NotFoundException:
            return default
        except (exceptions.HttpException, exceptions.SDKException) as exc:
            snap.gaps.append((what, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"))
            return default

    listings = _listings(conn)
    with cf.ThreadPoolExecutor(WORKERS) as pool:
        futures = {name: pool.submit(guarded, name, fn, {} if name in ("roles", "users", "groups") else [])
                   for name, fn in listings.items()}
        for name, fut in futures.items():
            setattr(snap, name, fut.result())

        tenants = site_projects(snap.projects, site)
        pids = [p.id for p in tenants.values()]
        wanted_groups = set(vendor_group_names)
        group_ids = [gid for gid, name in snap.groups.items() if name in wanted_groups]
        # Only a `shared` image has members (Glance refuses the listing for the others).
        shared_images = [i for i in snap.images if getattr(i, "visibility", None) == "shared"]

        def per(kind: str, keys: list[str], fn: Callable[[str], Any]) -> dict[str, Any]:
            futs = {k: pool.submit(guarded, f"{kind} {k}", functools.partial(fn, k), None) for k in keys}
            return {k: f.result() for k, f in futs.items() if f.result() is not None}

        # Neutron lists every project's own quotas in one call; a project left at the defaults is asked alone.
        listed = guarded("network quotas", lambda: {q.project_id: q for q in conn.network.quotas()}, {})
        snap.network_quotas = {pid: listed[pid] for pid in pids if pid in listed}
        snap.network_quotas |= per("network quota", [pid for pid in pids if pid not in listed],
                                   lambda pid: conn.network.get_quota(pid))
        snap.compute_quotas = per("compute quota", pids, lambda pid: conn.compute.get_quota_set(pid))
        snap.volume_quotas = per("volume quota", pids, lambda pid: conn.block_storage.get_quota_set(pid))
        members = per("group members", group_ids, lambda gid: [u.id for u in conn.identity.group_users(gid)])
        snap.group_users = members
        snap.image_members = per("image members", [i.id for i in shared_images],
                                 lambda iid: list(conn.image.members(iid)))
        # Who may use each private flavor: one GET per flavor (the list has no access column).
        private = [f.id for f in snap.flavors if not getattr(f, "is_public", True)]
        snap.flavor_access = per("flavor access", private, lambda fid: [
            a["tenant_id"] for a in conn.compute.get_flavor_access(fid)])
        # Whose application credentials to list: the vendors' users (members of the vendor groups) and anyone
        # holding a role on a tenant project directly.
        users = {u for us in members.values() for u in us}
        users |= {(a.user or {}).get("id") for a in snap.role_assignments
                  if a.user and ((a.scope or {}).get("project") or {}).get("id") in set(pids)}
        users.discard(None)
        def credentials(uid: str) -> list[Any]:
            return list(conn.identity.application_credentials(uid))

        snap.app_credentials = per("application credentials", sorted(u for u in users if u), credentials)
    snap.index()
    snap.seconds = time.monotonic() - t0
    return snap


def _owner(image: Any) -> str | None:
    return getattr(image, "owner", None) or getattr(image, "owner_id", None)


owner = _owner
