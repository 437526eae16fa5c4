"""What `shuyaku vendor publish|grant|revoke|update` do, joining the engine (shuyaku.deploy), the state database
(scripts/state-db) and Keystone (openstacksdk) to the vendor modules (shuyaku.vendor), which know none of them.

The operator's own backend is resolved as `shuyaku deploy` resolves it (`--backend`, PULUMI_BACKEND_URL, else the
file backend in `--state`). A vendor's space is, on PostgreSQL, the same database with its own role and table
(`scripts/state-db vendor add`, whose SQL is not repeated here); on the file backend, a folder of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shuyaku.contracts.problems import tx
from shuyaku.deploy.engine import ROOT, EngineError, Stack, cache_dir, engine_bin, engine_env, t_both
from shuyaku.vendor import bundle, handoff, keystone, manifest, project

STATE_DB = ROOT / "scripts" / "state-db"


@dataclass(frozen=True)
class Operator:
    """The operator's view: the platform stack and where the vendor spaces are."""

    stack: str
    state: Path | None = None
    backend: str | None = None
    vendor_state: Path | None = None  # file backend: the parent of the per-vendor folders

    @property
    def platform(self) -> Stack:
        return Stack(self.stack, self.state or cache_dir() / "state", backend_url=self.backend)

    @property
    def on_postgres(self) -> bool:
        return not self.platform.backend.is_file

    def platform_ref(self) -> str:
        name = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))["name"]
        return f"{handoff.ORG}/{name}/{self.stack}"

    def tenants(self) -> Any:
        """The platform stack's `tenants` output, read without decrypting any secret."""
        st = self.platform
        with tempfile.TemporaryDirectory(prefix="shuyaku-publish-") as tmp:
            # Any folder naming the platform's project serves for a read; the engine's own checkout copy is not needed.
            name = self.platform_ref().split("/")[1]
            (Path(tmp) / "Pulumi.yaml").write_text(yaml.safe_dump({"name": name, "runtime": "python"}), encoding="utf-8")
            proc = st.pulumi("stack", "output", "--json", "--stack", self.stack, capture=True, cwd=Path(tmp),
                             check=False)
        if proc.returncode != 0:
            said = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:] or ["?"]
            raise bundle.BundleError(tx(
                f"基盤スタック {self.stack} の出力を読めません（{st.backend.display}）: {said[0]}\n"
                "  --stack、--backend（PULUMI_BACKEND_URL）、--state を確認してください",
                f"cannot read the outputs of platform stack {self.stack} ({st.backend.display}): {said[0]}\n"
                "  check --stack, --backend (PULUMI_BACKEND_URL) and --state"))
        return json.loads(proc.stdout or "{}").get("tenants")

    def passphrase(self, vendor: str) -> Path:
        return bundle.ensure_passphrase(cache_dir() / "vendors" / vendor / bundle.PASSPHRASE)

    def space(self, vendor: str) -> handoff.Space:
        """The vendor's space as the operator writes into it (its own login; on PostgreSQL, the vendor's table)."""
        be = self.platform.backend
        env = {"PULUMI_HOME": engine_env(cache_dir() / "state")["PULUMI_HOME"]}
        if be.is_file:
            folder = (self.vendor_state or cache_dir() / "vendor-state") / vendor
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            return handoff.Space(f"file://{folder}", self.passphrase(vendor), engine_bin().parent, env)
        env["PULUMI_DIY_BACKEND_ZSTD"] = os.environ.get("PULUMI_DIY_BACKEND_ZSTD", "true")
        return handoff.Space(handoff.vendor_table_url(be.url, vendor), self.passphrase(vendor), engine_bin().parent,
                             env, be.password or os.environ.get("PGPASSWORD"))


def publish(op: Operator, system_id: str) -> tuple[dict[str, Any], list[str], handoff.Space]:
    """Read the tenant from the platform stack and write its hand-off into the vendor's space."""
    tenants = op.tenants()
    chosen, dropped = handoff.select(tenants, system_id, tx(f"基盤スタック {op.stack}", f"platform stack {op.stack}"))
    vendor = handoff.vendor_name(system_id)
    if op.on_postgres and vendor not in state_db("vendor", "list").split():
        raise bundle.BundleError(tx(
            f"状態データベースにベンダー {vendor} の領域がありません。先に `shuyaku vendor grant --tenant {system_id}`"
            f"（または `scripts/state-db vendor add {vendor}`）を実行してください",
            f"the state database has no space for vendor {vendor}: run `shuyaku vendor grant --tenant {system_id}` "
            f"(or `scripts/state-db vendor add {vendor}`) first"))
    space = op.space(vendor)
    handoff.publish(space, chosen)
    return chosen, dropped, space


def state_db(*args: str) -> str:
    """scripts/state-db, whose messages name what went wrong; they hold no password."""
    proc = subprocess.run([str(STATE_DB), *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise bundle.BundleError(tx(f"scripts/state-db {' '.join(args)} が失敗しました: {proc.stderr.strip()}",
                                    f"scripts/state-db {' '.join(args)} failed: {proc.stderr.strip()}"))
    return proc.stdout


def db_secrets() -> Path:
    return cache_dir() / "state-db" / "secrets"


def admin_connection() -> Any:
    """The operator's OpenStack login (OS_CLOUD / OS_CLIENT_CONFIG_FILE, as for `shuyaku deploy`)."""
    import openstack

    conn = openstack.connect(cloud=os.environ.get("OS_CLOUD"))
    conn.authorize()
    return conn


@contextmanager
def cloud_calls(what: str) -> Iterator[None]:
    """A refusal or failure of the cloud as one message (exit 1), never a traceback; it names no secret."""
    import keystoneauth1.exceptions
    import openstack.exceptions
    import requests

    try:
        yield
    except (openstack.exceptions.SDKException, keystoneauth1.exceptions.ClientException,
            requests.RequestException) as exc:
        raise EngineError(t_both(f"OpenStack の操作（{what}）に失敗しました: {exc}。OS_CLOUD（運用者の管理者ログイン）を"
                                 "確認してください", f"the OpenStack call ({what}) failed: {exc}; check OS_CLOUD (the "
                                 "operator's admin login)")) from None


def pgpass_password(path: Path) -> str:
    # A line `host:port:db:user:password` as scripts/state-db writes it (its password is hex: no escapes).
    return path.read_text(encoding="utf-8").strip().split(":", 4)[4]


def grant(op: Operator, system_id: str, out: Path, days: int, site_data: Path | None) -> dict[str, Any]:
    """Publish, create the logins, write the bundle and the project; returns bundle.json's content."""
    out = bundle.private_dir(out.resolve())
    vendor = handoff.vendor_name(system_id)
    pgpass = ca = None
    if op.on_postgres:
        state_db("vendor", "add", vendor)
        pgpass, ca = db_secrets() / f"vendor-{vendor}.pgpass", cache_dir() / "state-db" / "tls" / "ca.crt"
    tenant, _, space = publish(op, system_id)
    with cloud_calls("application credential"):
        cred = keystone.grant(admin_connection(), tenant, days)
    cloud = tenant["project_name"]
    if pgpass is not None:
        url = handoff.vendor_login_url(op.platform.backend.url, vendor, out / bundle.PGPASS, out / bundle.CA)
        env_url = url.replace(str(out), bundle.HERE)  # env.sh puts the bundle's directory back where it is used
    else:
        url = env_url = space.backend_url
    contents = bundle.Contents(
        tenant=tenant, handoff_stack=handoff.reference(system_id, tenant["site"]), cloud=cloud,
        clouds=cred.clouds_yaml(cloud), backend_url=url, env_backend_url=env_url, passphrase=space.passphrase_file,
        pgpass=pgpass, ca=ca, credential_id=cred.id, expires_at=cred.expires_at, vendor=vendor)
    bundle.write(out, contents)
    # The project is checked against the hand-off exactly as the vendor will read it: its own URL, login, passphrase.
    as_vendor = handoff.Space(url, out / bundle.PASSPHRASE, engine_bin().parent, space.env,
                              pgpass_password(out / bundle.PGPASS) if pgpass is not None else None)
    project.init(op.platform_ref(), system_id, out / bundle.PROJECT_DIR, site_data,
                 check=lambda sid, site: handoff.read(as_vendor, sid, site))
    bundle.lock_down(out)
    return contents.info()


def revoke(op: Operator, system_id: str, site: str) -> tuple[int, bool]:
    """Delete the Keystone credential(s) and user, and the database role (its state stays)."""
    from shuyaku.platform import naming

    with cloud_calls("revoke"):
        creds = keystone.revoke(admin_connection(), naming.project_name(site, system_id))
    vendor = handoff.vendor_name(system_id)
    dropped = False
    if op.on_postgres:
        state_db("vendor", "remove", vendor)
        dropped = True
    return creds, dropped


def update(op: Operator, directory: Path, site_data: Path | None) -> manifest.Update:
    """Re-publish the tenant's hand-off, then regenerate the bundle's project from the site data the manifest
    names (or `site_data`), keeping the vendor's edits or refusing, naming them."""
    info = bundle.load_info(directory)
    target = directory / bundle.PROJECT_DIR
    recorded = manifest.read(target)
    publish(op, info["tenant"])
    src = project.prepare(recorded.get("platform_stack") or op.platform_ref(), info["tenant"],
                          site_data or Path(recorded["site_data"]))
    up = manifest.plan(target, recorded["files"], src.render(target))
    if up.conflicts:
        raise manifest.ManifestError(manifest.refusal(target, up.conflicts))
    manifest.apply(target, up, src.about())
    bundle.lock_down(target)
    return up
