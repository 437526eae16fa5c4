"""DrSite (the `dr` stack, 庁外クラウド): standby capacity for warm-standby systems and restore targets for
backup-and-restore systems, sized from what the primary stack actually exports.
"""

from __future__ import annotations

import functools
from typing import Any

import pulumi
import pulumi_openstack as openstack

from shuyaku.contracts import sitedata, tenant_outputs
from shuyaku.contracts.problems import tx
from shuyaku.contracts.tenant_outputs import TenantOutputs
from shuyaku.platform import naming
from shuyaku.platform.config import PlatformConfig
from shuyaku.platform.tenant import Tenant, export_outputs
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

        def primary_of(sid: str) -> pulumi.Output[TenantOutputs]:
            return primary_tenants.apply(functools.partial(_primary_tenant, sid=sid, stack=cfg.primary_stack))

        self.standby: dict[str, Tenant] = {}
        self.tenant_outputs: dict[str, pulumi.Output[dict[str, Any]]] = {}
        for sid in cfg.site.dr.warm_systems:
            ten = by_id[sid]
            primary = primary_of(sid)
            quotas = primary.apply(lambda p: p.quotas.model_dump())
            standby = Tenant(
                f"standby-{sid}", cfg=cfg, tenant=ten, zone=zones[ten.layer], role_id=role_id, quota_source=quotas, opts=child
            )
            self.standby[sid] = standby
            fields = dict(standby.output_fields)
            fields["primary_project_id"] = primary.apply(lambda p: p.project_id)
            fields["server_group_ids"] = self._server_groups(f"standby-{sid}", ten, standby, operator_user_id, role_id, child)
            self.tenant_outputs[sid] = export_outputs(fields)

        self.restore_type = openstack.blockstorage.VolumeTypeV3(
            f"{name}-restore-type",
            name=f"{site}-restore",
            is_public=False,
            description="restore target for backup-and-restore systems (shuyaku DR)",
            opts=child,
        )
        self.backup_targets: dict[str, dict[str, Any]] = {}
        for sid in cfg.site.dr.backup_systems:
            self.backup_targets[sid] = self._backup_target(f"restore-{sid}", cfg, sid, primary_of(sid), role_id, child)
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
        primary: pulumi.Output[TenantOutputs],
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

        tags = primary.apply(
            lambda p: [x for x in p.tags if not x.startswith("shuyaku:site=")] + [f"shuyaku:site={site}"]
        )
        project = openstack.identity.Project(
            f"{name}-project",
            name=naming.project_name(site, sid),
            description=primary.apply(lambda p: f"{p.name} バックアップ・復元先 / backup and restore target"),
            enabled=True,
            tags=tags,
            opts=child,
        )
        group = openstack.identity.GroupV3(
            f"{name}-vendor",
            name=primary.apply(lambda p: naming.dr_group_name(p.vendor_group, sid, site)),
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
        gigabytes = self._restore_quotas(name, cfg, project, primary, child)
        return {
            "project_id": project.id,
            "vendor_group": group.name,
            "layer": primary.apply(lambda p: p.layer.value),
            "restore_volume_type": primary.apply(lambda p: enc if p.layer == "mynumber" else restore),
            "backup_gigabytes": gigabytes.apply(lambda g: g * 2),
            "dr_tier": "backup",
        }

    def _restore_quotas(
        self,
        name: str,
        cfg: PlatformConfig,
        project: openstack.identity.Project,
        primary: pulumi.Output[TenantOutputs],
        child: pulumi.ResourceOptions,
    ) -> pulumi.Output[int]:
        """The restore target's quotas, sized from the primary's: volumes and backups, no servers, no network.
        Returns its volume gigabytes."""
        enc = cfg.encrypted_volume_type
        restore = f"{cfg.site.site}-restore"

        def quota(key: str, default: int = 0) -> pulumi.Output[int]:
            return primary.apply(lambda p: getattr(p.quotas, key) or default)

        def per_type(p: TenantOutputs) -> dict[str, str]:
            if p.layer != "mynumber":
                return {}
            # My Number data is restored only onto encrypted volumes.
            # Every type is named (volumes, gigabytes, snapshots), as Cinder reports them all back.
            out = {f"volumes_{enc}": str(p.quotas.volumes), f"gigabytes_{enc}": str(p.quotas.gigabytes),
                   f"snapshots_{enc}": "-1"}
            for vt in [*cfg.plain_volume_types, restore]:
                out[f"volumes_{vt}"] = "0"
                out[f"gigabytes_{vt}"] = "0"
                out[f"snapshots_{vt}"] = "0"
            return out

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
        return gigabytes


class PrimaryOutputsError(pulumi.RunError):
    """The primary stack's outputs for a tenant are missing or do not match the contract; the engine prints
    this text (both languages) without a Python traceback."""


def _primary_tenant(tenants: Any, *, sid: str, stack: str | None) -> TenantOutputs:
    """One tenant's outputs from the primary's `tenants` output, validated; never a guessed default."""
    where = tx(f"主スタック {stack}", f"the primary stack {stack}")
    if not isinstance(tenants, dict):
        raise PrimaryOutputsError(
            f"{where.ja} に tenants の出力がありません（主スタックを先にデプロイしてください）\n"
            f"{where.en} exports no `tenants` (deploy the primary stack first)")
    try:
        return tenant_outputs.parse(tenants.get(sid), system_id=sid, where=where)
    except tenant_outputs.TenantOutputsError as exc:
        raise PrimaryOutputsError(str(exc)) from None
