"""What every check reads: the expectation, the snapshot, and the lookups between them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shuyaku.audit.expect import Expected
from shuyaku.audit.model import Check, Finding
from shuyaku.audit.snapshot import Snapshot, site_projects
from shuyaku.contracts.problems import Text


@dataclass
class Context:
    exp: Expected
    snap: Snapshot
    tenants: dict[str, Any] = field(default_factory=dict)  # system id -> live project (planned tenants only)
    by_project: dict[str, str] = field(default_factory=dict)  # project id -> system id
    unplanned: dict[str, Any] = field(default_factory=dict)  # tagged projects of this site the plan does not hold

    def __post_init__(self) -> None:
        for sid, p in site_projects(self.snap.projects, self.exp.site).items():
            if sid in self.exp.tenants:
                self.tenants[sid] = p
                self.by_project[p.id] = sid
            else:
                self.unplanned[sid] = p
        self.external_ids = {n.id for n in self.snap.networks if getattr(n, "is_router_external", False)}
        self.network_names = {n.id: n.name for n in self.snap.networks}

    def layer(self, project_id: str | None) -> str | None:
        sid = self.by_project.get(project_id or "")
        return str(self.exp.tenants[sid].layer) if sid else None

    def port_label(self, port: Any) -> str:
        """A port's name, else `port of server <name>` for a server's NIC, else its id."""
        if port.name:
            return str(port.name)
        server = self.snap.server_by_id.get(port.device_id or "")
        return f"port of server {server.name}" if server is not None else str(port.id)

    def tenant_of(self, project_id: str | None) -> str | None:
        return self.by_project.get(project_id or "")

    def finding(self, check: Check, kind: str, res: Any, message: Text, *, fix: Text | None = None,
                project_id: str | None = None, name: str | None = None, **details: Any) -> Finding:
        pid = project_id if project_id is not None else getattr(res, "project_id", None)
        rid = res if isinstance(res, str) else getattr(res, "id", "") or ""
        if name is None and kind == "port" and not isinstance(res, str):
            name = self.port_label(res)
        rname = name if name is not None else ("" if isinstance(res, str) else getattr(res, "name", "") or "")
        sev = details.pop("severity", None)
        return Finding(check=check, kind=kind, resource_id=rid, resource_name=rname, message=message,
                       project_id=pid, system_id=self.tenant_of(pid), fix=fix, severity=sev, details=details)
