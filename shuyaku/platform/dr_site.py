"""DrSite (the `dr` stack, 庁外クラウド): standby capacity for warm-standby systems and restore targets for
backup-and-restore systems, sized from what the primary stack actually exports.
"""

from __future__ import annotations

import functools
from typing import Any

import pulumi
import pulumi_openstack as openstack

from shuyaku.contracts import sitedata
from shuyaku.platform import naming
from shuyaku.platform.config import PlatformConfig
from shuyaku.platform.tenant import Tenant
from shuyaku.platform.zone import Zone


class DrSite(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        cfg: PlatformConfig,
        zones: dict[str, Zone],
        role_id: pulumi.Input[str],
        operator_user_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("shuyaku:platform:DrSite", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        site = cfg.site.site
        assert cfg.primary_stack is not None
        self.primary = pulumi.StackReference(f"{name}-primary", stack_name=cfg.primary_stack, opts=child)
        primary_tenants = self.primary.get_output("tenants")
        by_id = {t.system_id: t for t in cfg.site.tenants}

        self.standby: dict[str, Tenant] = {}
        self.tenant_outputs: dict[str, dict[str, Any]] = {}
        for sid in cfg.site.dr.warm_systems:
            ten = by_id[sid]
            quotas = primary_tenants.apply(functools.partial(_field, sid=sid, key="quotas"))
            standby = Tenant(
                f"standby-{sid}", cfg=cfg, tenant=ten, zone=zones[ten.layer], role_id=role_id, quota_source=quotas, opts=child
            )
            self.standby[sid] = standby
            out = dict(standby.outputs)
            out["primary_project_id"] = primary_tenants.apply(functools.partial(_field, sid=sid, key="project_id"))
            out["server_group_ids"] = self._server_groups(f"standby-{sid}", ten, standby, operator_user_id, role_id, child)
            self.tenant_outputs[sid] = out

        self.restore_type = openstack.blockstorage.VolumeTypeV3(
            f"{name}-restore-type",
            name=f"{site}-restore",
            is_public=False,
            description="restore target for backup-and-restore systems (shuyaku DR)",
            opts=child,
        )
        self.backup_targets: dict[str, dict[str, Any]] = {}
        for sid in cfg.site.dr.backup_systems:
            primary = primary_tenants.apply(functools.partial(_field, sid=sid, key=None))
            self.backup_targets[sid] = self._backup_target(f"restore-{sid}", cfg, sid, primary, role_id, child)
        self.register_outputs(
            {"standby": list(self.standby), "backup_targets": list(self.backup_targets), "primary_stack": cfg.primary_stack}
        )

    def _server_groups(
        self,
        name: str,
        ten: sitedata.Tenant,
        standby: Tenant,
        operator_user_id: pulumi.Input[str],
        role_id: pulumi.Input[str],
        child: pulumi.ResourceOptions,
    ) -> dict[str, pulumi.Output[str]]:
        """Server groups live in the tenant's project, so they are created through a provider scoped to it
        (the platform's own user is made a member there first)."""
        operator = openstack.identity.RoleAssignment(
            f"{name}-operator", user_id=operator_user_id, project_id=standby.project.id, role_id=role_id, opts=child
        )
        scoped = openstack.Provider(
            f"{name}-scoped", tenant_id=standby.project.id, opts=pulumi.ResourceOptions(parent=self, depends_on=[operator])
        )
        groups: dict[str, pulumi.Output[str]] = {}
        for sg in ten.servers:
            policy = "anti-affinity" if sg.anti_affinity else "soft-anti-affinity"
            res = openstack.compute.ServerGroup(
                f"{name}-{sg.role}",
                name=f"{ten.system_id}-{sg.role}",
                policies=policy,
                opts=pulumi.ResourceOptions(parent=self, provider=scoped, depends_on=standby.quota_resources),
            )
            groups[sg.role] = res.id
        return groups

    def _backup_target(
        self,
        name: str,
        cfg: PlatformConfig,
        sid: str,
        primary: pulumi.Output[dict[str, Any]],
        role_id: pulumi.Input[str],
        child: pulumi.ResourceOptions,
    ) -> dict[str, Any]:
        """A project that holds the system's Cinder backups and takes the restore; no network until restore day.

        The DR site data does not describe backup-and-restore systems: everything here (tags, vendor group,
        sizes, layer) comes from what the primary stack exports for the system.
        """
        site = cfg.site.site
        enc = cfg.encrypted_volume_type
        restore = f"{site}-restore"

        def quota(key: str, default: int = 0) -> pulumi.Output[int]:
            return primary.apply(lambda p: int(((p.get("quotas") or {}).get(key)) or default))

        def per_type(p: dict[str, Any]) -> dict[str, str]:
            q = p.get("quotas") or {}
            if p.get("layer") != "mynumber":
                return {}
            # My Number data is restored only onto encrypted volumes.
            # Stack outputs carry numbers as JSON floats; Cinder wants whole numbers.
            # Every type is named (volumes, gigabytes, snapshots), as Cinder reports them all back.
            out = {f"volumes_{enc}": str(int(q.get("volumes", 0))), f"gigabytes_{enc}": str(int(q.get("gigabytes", 0))),
                   f"snapshots_{enc}": "-1"}
            for vt in [*cfg.plain_volume_types, restore]:
                out[f"volumes_{vt}"] = "0"
                out[f"gigabytes_{vt}"] = "0"
                out[f"snapshots_{vt}"] = "0"
            return out

        tags = primary.apply(
            lambda p: [x for x in (p.get("tags") or []) if not x.startswith("shuyaku:site=")] + [f"shuyaku:site={site}"]
        )
        project = openstack.identity.Project(
            f"{name}-project",
            name=naming.project_name(site, sid),
            description=primary.apply(lambda p: f"{p.get('name', sid)} バックアップ・復元先 / backup and restore target"),
            enabled=True,
            tags=tags,
            opts=child,
        )
        group = openstack.identity.GroupV3(
            f"{name}-vendor",
            name=primary.apply(lambda p: naming.dr_group_name(p.get("vendor_group") or f"vendor-unknown-{sid}", sid, site)),
            description=f"{sid} restore (DR)",
            opts=child,
        )
        openstack.identity.RoleAssignment(
            f"{name}-vendor-member", group_id=group.id, project_id=project.id, role_id=role_id, opts=child
        )
        # Access to the restore type is harmless for My Number systems: their per-type quota for it is 0.
        openstack.blockstorage.VolumeTypeAccessV3(
            f"{name}-restore-type", project_id=project.id, volume_type_id=self.restore_type.id, opts=child
        )
        gigabytes = quota("gigabytes")
        openstack.blockstorage.QuoteSetV3(
            f"{name}-volume-quota",
            project_id=project.id,
            volumes=quota("volumes"),
            gigabytes=gigabytes,
            backups=quota("volumes", 1).apply(lambda v: max(v, 1) * 7),
            backup_gigabytes=gigabytes.apply(lambda g: g * 2),
            volume_type_quota=primary.apply(per_type),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.restore_type]),
        )
        openstack.compute.QuotaSetV2(f"{name}-compute-quota", project_id=project.id, instances=0, cores=0, ram=0, opts=child)
        # A restore target holds volumes and backups only; networks come with a restore, decided then.
        # Neutron's default group (one, four rules) is all it may have until then.
        openstack.networking.QuotaV2(
            f"{name}-network-quota", project_id=project.id, network=0, subnet=0, port=0, router=0, floatingip=0,
            rbac_policy=0, security_group=1, security_group_rule=4, opts=child,
        )
        return {
            "project_id": project.id,
            "vendor_group": group.name,
            "layer": primary.apply(lambda p: p.get("layer")),
            "restore_volume_type": primary.apply(lambda p: enc if p.get("layer") == "mynumber" else restore),
            "backup_gigabytes": gigabytes.apply(lambda g: g * 2),
            "dr_tier": "backup",
        }


def _field(tenants: Any, *, sid: str, key: str | None) -> Any:
    """One tenant's exported value from the primary's `tenants` output (the tenant itself when key is None)."""
    tenant = (tenants or {}).get(sid) or {}
    return tenant if key is None else (tenant.get(key) or ({} if key == "quotas" else None))
