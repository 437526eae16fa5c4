"""A vendor's Pulumi project, already wired to its tenant's hand-off (`shuyaku vendor init` / `update`).

Every value taken from the site data is escaped for the file it lands in (`shuyaku.vendor.escape`). The files
written are recorded with their hashes in a manifest, so `update` can tell the vendor's edits from its own.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.metadata
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shuyaku.contracts import checked, source, tenant_outputs
from shuyaku.contracts.i18n import t
from shuyaku.contracts.problems import ProblemsError
from shuyaku.contracts.sitedata import SiteData, Tenant
from shuyaku.platform import naming
from shuyaku.vendor import escape, handoff, manifest

LAYER_JA = {
    "mynumber": "マイナンバー利用事務系",
    "lgwan": "LGWAN接続系",
    "internet": "インターネット接続系",
    "shared": "共通基盤（管理）",
}
FILES = {
    "Pulumi.yaml": "Pulumi.yaml.j2",
    "__main__.py": "__main__.py.j2",
    "workload.py": "workload.py.j2",
    "requirements.txt": "requirements.txt.j2",
    "README.md": "README.md.j2",
    ".gitignore": "gitignore.j2",
    "tenant-outputs.schema.json": "tenant-outputs.schema.json.j2",
}


class InitError(Exception):
    pass


@dataclass(frozen=True)
class StackRef:
    org: str
    project: str
    stack: str

    @classmethod
    def parse(cls, text: str) -> StackRef:
        parts = text.split("/")
        if len(parts) != 3 or not all(parts):
            raise InitError(
                t(
                    f"--platform-stack は 組織/プロジェクト/スタック の形で指定してください: {text}",
                    f"--platform-stack must be ORG/PROJECT/STACK: {text}",
                )
                + "\n  "
                + t("例", "e.g.")
                + ": organization/shuyaku-platform/onprem"
            )
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.org}/{self.project}/{self.stack}"


def _mapping(path: Path) -> dict:
    """A Pulumi project or stack file through the one adapter (bounded, positioned problems)."""
    data = source.load(path).data
    return data if isinstance(data, dict) else {}


def find_site_data(ref: StackRef, start: Path) -> tuple[Path, dict[str, object]]:
    """The site data the platform stack itself reads: the platform project is found upwards from `start`
    (its Pulumi.yaml names ref.project) and its stack config names `shuyaku:siteData`."""
    for d in [start, *start.parents]:
        project_file = d / "Pulumi.yaml"
        if not project_file.is_file():
            continue
        project = _mapping(project_file)
        if project.get("name") != ref.project:
            continue
        stack_file = d / project.get("stackConfigDir", ".") / f"Pulumi.{ref.stack}.yaml"
        if not stack_file.is_file():
            raise InitError(
                t(f"基盤スタックの設定 {stack_file} がありません", f"no platform stack config {stack_file}")
                + "\n  "
                + t("スタック名を確認するか、--site-data を指定してください", "check the stack name, or pass --site-data")
            )
        values = _mapping(stack_file).get("config") or {}
        site = values.get("shuyaku:siteData")
        if not isinstance(site, str):
            raise InitError(
                t(f"{stack_file} に shuyaku:siteData がありません", f"{stack_file} has no shuyaku:siteData")
                + "\n  "
                + t("--site-data を指定してください", "pass --site-data")
            )
        path = Path(site)
        return (path if path.is_absolute() else d / path), values
    raise InitError(
        t(
            f"基盤プロジェクト {ref.project} が見つかりません（{start} から上位をたどりました）",
            f"platform project {ref.project} not found (looked upwards from {start})",
        )
        + "\n  "
        + t("基盤のサイトデータを --site-data で指定してください", "pass the platform's site data with --site-data")
    )


def load_site(path: Path) -> SiteData:
    src = source.load(path)
    site, problems = checked.check(SiteData, src)
    if problems or site is None:
        raise ProblemsError(problems)
    return site


def pick_tenant(site: SiteData, system_id: str, path: Path) -> Tenant:
    for tenant in site.tenants:
        if tenant.system_id == system_id:
            return tenant
    ids = [x.system_id for x in site.tenants]
    near = difflib.get_close_matches(system_id, ids, n=3)
    hint = (
        t(f"近いもの: {', '.join(near)}", f"close matches: {', '.join(near)}")
        if near
        else t(
            f"テナントは {len(ids)} 件あります（{', '.join(ids[:8])}{' …' if len(ids) > 8 else ''}）",
            f"there are {len(ids)} tenants ({', '.join(ids[:8])}{' …' if len(ids) > 8 else ''})",
        )
    )
    extra = ""
    if site.site == "dr" and system_id in site.dr.backup_systems:
        extra = "\n  " + t(
            "このシステムは DR ではバックアップ・復元方式のため、待機テナントはありません",
            "this system is backup-and-restore at the DR site, so it has no standby tenant",
        )
    raise InitError(
        t(f"テナント {system_id} はサイトデータ {path} にありません", f"no tenant {system_id} in site data {path}")
        + f"\n  {hint}{extra}"
    )


def project_slug(system_id: str) -> str:
    """The vendor's Pulumi project name: Pulumi allows letters, digits, hyphens, underscores and periods."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", system_id.lower()).strip("-.")
    if not slug or slug != system_id.lower():
        slug = (slug[:40] + "-" if slug else "") + hashlib.sha256(system_id.encode("utf-8")).hexdigest()[:8]
    return f"vendor-{slug}"


def render(ref: StackRef, site: SiteData, tenant: Tenant, target: Path, encrypted: str = "encrypted") -> dict[str, str]:
    """Every file of the project. Values from the site data are escaped for where they land (escape.py)."""
    env = escape.environment()
    zone = next(z for z in site.zones if z.layer == tenant.layer)
    servers = [
        {
            "role": s.role,
            "count": s.count,
            "flavor": naming.flavor_name(tenant.layer, s.flavor, site.site),
            "image": s.image,
            "anti_affinity": s.anti_affinity,
        }
        for s in tenant.servers
    ]
    project_name = project_slug(tenant.system_id)
    ctx = {
        "tenant": tenant,
        "platform_stack": str(ref),
        "handoff_stack": handoff.reference(tenant.system_id, site.site),
        "stack": ref.stack,
        "command": f"shuyaku vendor init --platform-stack {shlex.quote(str(ref))} --tenant {shlex.quote(tenant.system_id)}",
        "servers": servers,
        "pulumi_project": {
            "name": project_name,
            "description": f"{tenant.name}（{tenant.system_id}）— shuyaku 基盤上のベンダープロジェクト / "
                           "vendor project on the shuyaku platform",
            "runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}},
            # Project-level config, so every stack of the project names its tenant and layer: the policy pack
            # judges the stack's untagged resources by them (shuyaku/policy/tenancy.py); the layer the
            # platform's hand-off gives for the tenant still wins over an edited one.
            "config": {"tenant": {"value": tenant.system_id}, "layer": {"value": str(tenant.layer)}},
        },
        "project_name_cloud": naming.project_name(site.site, tenant.system_id),
        "vendor_group": naming.vendor_group(tenant, site.site),
        "municipality": site.municipality,
        "layer_ja": LAYER_JA[tenant.layer],
        "availability_zone": zone.availability_zone,
        "flavors": sorted({str(s["flavor"]) for s in servers}),  # the only ones its project may use
        "images": zone.images,
        "encrypted_volume_type": encrypted,
        "dir_name": target.name,
        "tenant_outputs_schema": tenant_outputs.json_schema(),
        "pulumi_version": importlib.metadata.version("pulumi"),
        "openstack_version": importlib.metadata.version("pulumi-openstack"),
        "jsonschema_version": importlib.metadata.version("jsonschema"),
    }
    return {name: env.get_template(tpl).render(**ctx) for name, tpl in FILES.items()}


def write_project(target: Path, files: dict[str, str]) -> list[Path]:
    """Write the files into a new (or empty) directory; any OS refusal is a plain message, never a traceback."""
    written: list[Path] = []
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            p = target / name
            with p.open("x", encoding="utf-8") as fh:  # never overwrite
                fh.write(text)
            written.append(p)
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        names = ", ".join(p.name for p in written)
        partial = t(f"（書き込み済み: {names}）", f" (already written: {names})") if written else ""
        raise InitError(
            t(f"{target} にプロジェクトを作成できません: {reason}{partial}",
              f"cannot create the project in {target}: {reason}{partial}")
            + "\n  "
            + t("書き込める新しいディレクトリを --dir で指定してください", "name a new directory you can write to with --dir")
        ) from None
    return written


@dataclass(frozen=True)
class Source:
    """What a project is generated from: the platform stack it belongs to, the site data and the tenant."""

    ref: StackRef
    site: SiteData
    tenant: Tenant
    site_data: Path
    encrypted: str = "encrypted"

    def render(self, target: Path) -> dict[str, str]:
        return render(self.ref, self.site, self.tenant, target, self.encrypted)

    def about(self) -> dict[str, str]:
        return {"platform_stack": str(self.ref), "tenant": self.tenant.system_id, "site": self.site.site,
                "handoff": handoff.reference(self.tenant.system_id, self.site.site), "site_data": str(self.site_data)}


def prepare(platform_stack: str, tenant_id: str, site_data: Path | None = None, cwd: Path | None = None) -> Source:
    ref = StackRef.parse(platform_stack)
    values: dict[str, object] = {}
    if site_data is not None:
        path = site_data
    else:
        path, values = find_site_data(ref, (cwd or Path.cwd()).resolve())
    site = load_site(path)
    tenant = pick_tenant(site, tenant_id, path)
    return Source(ref, site, tenant, path.resolve(), str(values.get("shuyaku:encryptedVolumeType") or "encrypted"))


# Checks that the tenant's hand-off is published and readable (handoff.read through the caller's space).
Check = Callable[[str, str], object]


def init(platform_stack: str, tenant_id: str, target: Path, site_data: Path | None = None, cwd: Path | None = None,
         check: Check | None = None) -> list[Path]:
    StackRef.parse(platform_stack)
    if not_empty(target):
        raise InitError(
            t(
                f"{target} は空ではありません。既存のファイルは上書きしません",
                f"{target} is not empty; existing files are never overwritten",
            )
            + "\n  "
            + t("新しいディレクトリを指定してください", "name a new directory")
        )
    src = prepare(platform_stack, tenant_id, site_data, cwd)
    if check is not None:
        try:
            check(src.tenant.system_id, src.site.site)
        except handoff.HandoffError as exc:
            raise InitError(str(exc)) from None
    files = src.render(target)
    written = write_project(target, files)
    written.append(manifest.write(target, files, src.about()))
    return written


def not_empty(target: Path) -> bool:
    try:
        return target.exists() and (not target.is_dir() or any(target.iterdir()))
    except OSError as exc:
        raise InitError(
            t(f"{target} を確認できません: {exc.strerror or exc.__class__.__name__}",
              f"cannot inspect {target}: {exc.strerror or exc.__class__.__name__}")
            + "\n  "
            + t("書き込める新しいディレクトリを --dir で指定してください", "name a new directory you can write to with --dir")
        ) from None
