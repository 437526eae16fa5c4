"""The vendor stacks the operator can see: every stack in each vendor's space of the team state database (or, on the
file backend, in each vendor's folder under `--vendor-state DIR`, where `shuyaku vendor publish` puts hand-offs).

With the PostgreSQL team backend (docs/team-state.md) each vendor V has its own table, `vendor_V.pulumi_state`,
owned by the operator's role: the operator publishes the vendor's hand-off there, and the vendor keeps its own
stacks there. The engine stores each stack as the row `<path>/.pulumi/stacks/<project>/<stack>.json[.zst]`, so the
stacks are listed from the keys, with the operator's own login, and each is refresh-previewed like the platform's.

A refresh must decrypt the stack's state, which needs that stack's passphrase: the vendor's. The operator keeps the
one it generated for the vendor (to publish hand-offs the vendor can open, `$SHUYAKU_CACHE/vendors/<V>/passphrase`);
`--vendor-passphrase V=FILE` gives another (a vendor that chose its own for its own stacks and handed it over).
A stack that none of these opens is reported *not checked: no passphrase*, never clean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shuyaku.contracts.status import StackDrift
from shuyaku.deploy import backend as backends
from shuyaku.deploy.engine import Stack
from shuyaku.status import drift, handoffs
from shuyaku.status.history import pg_target

SCHEMA = re.compile(r"^vendor_[a-z0-9_]{1,40}$")
STACK_KEY = re.compile(r"/\.pulumi/stacks/(?P<project>[^/]+)/(?P<stack>[^/]+?)\.json(?:\.zst|\.gz)?$")
# What the engine says when the passphrase it was given does not open the stack's secrets.
WRONG_PASSPHRASE = ("incorrect passphrase", "passphrase must be set", "PULUMI_CONFIG_PASSPHRASE")


@dataclass(frozen=True)
class VendorStack:
    vendor: str  # V of the schema vendor_V
    project: str
    stack: str

    @property
    def table(self) -> str:
        return f"vendor_{self.vendor}.pulumi_state"

    @property
    def label(self) -> str:
        return f"vendor_{self.vendor}:{self.project}/{self.stack}"


def _connect(backend: backends.Backend) -> Any:
    import psycopg

    conninfo, _ = pg_target(backend.url)
    if backend.password:
        return psycopg.connect(conninfo, password=backend.password)
    return psycopg.connect(conninfo)


def listed(backend: backends.Backend) -> list[VendorStack]:
    """Every stack in every vendor space the backend's login can read (the operator's: all of them)."""
    if backend.is_file:
        return listed_folder(Path(backend.url.removeprefix("file://")))
    out: list[VendorStack] = []
    with _connect(backend) as db:
        schemas = [str(r[0]) for r in db.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'vendor\\_%' "
            "AND to_regclass(quote_ident(nspname) || '.pulumi_state') IS NOT NULL "
            "AND has_table_privilege(quote_ident(nspname) || '.pulumi_state', 'SELECT') ORDER BY nspname")]
        for schema in schemas:
            if not SCHEMA.match(schema):
                continue  # state-db makes only these names; anything else is not a vendor space
            for (key,) in db.execute(f"SELECT key FROM {schema}.pulumi_state WHERE key LIKE %s ORDER BY key",
                                     ("%/.pulumi/stacks/%",)):
                m = STACK_KEY.search(str(key))
                if m:
                    out.append(VendorStack(schema.removeprefix("vendor_"), m["project"], m["stack"]))
    return sorted(set(out), key=lambda v: v.label)


def listed_folder(root: Path) -> list[VendorStack]:
    """On the file backend, the vendor spaces are folders `<root>/<V>` (what `vendor publish --vendor-state` writes)."""
    out: list[VendorStack] = []
    for space in sorted(p for p in root.iterdir() if p.is_dir() and SCHEMA.match(f"vendor_{p.name}")):
        for f in (space / ".pulumi" / "stacks").glob("*/*"):
            m = STACK_KEY.search("/" + f.relative_to(space).as_posix())
            if m:
                out.append(VendorStack(space.name, m["project"], m["stack"]))
    return sorted(set(out), key=lambda v: v.label)


def vendor_url(backend: backends.Backend, vendor: str) -> str:
    """The operator's URL pointed at the vendor's table (same login, passfile and TLS settings), as `vendor publish`
    reaches it; on the file backend, the vendor's folder."""
    from shuyaku.vendor.handoff import vendor_table_url

    if backend.is_file:
        return f"{backend.url.rstrip('/')}/{vendor}"
    return vendor_table_url(backend.url, vendor)


def stack_for(v: VendorStack, backend: backends.Backend, work: Path, passphrase: Path | None) -> Stack:
    """A `Stack` that reaches the vendor's stack: a project file of its name (the refresh runs no program) and an
    empty config (the provider reads the cloud from the status's own login, GET only)."""
    import sys

    project_dir = work / f"vendor_{v.vendor}" / v.project
    project_dir.mkdir(parents=True, exist_ok=True)
    (project_dir / "Pulumi.yaml").write_text(
        f"name: {v.project}\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {sys.prefix}\n",
        encoding="utf-8")
    extra = {"PULUMI_CONFIG_PASSPHRASE_FILE": str(passphrase)} if passphrase else {}
    if backend.password:  # the URL never carries it (backend.resolve took it out); libpq reads it from here
        extra["PGPASSWORD"] = backend.password
    st = Stack(v.stack, work / f"vendor_{v.vendor}" / "state", project_dir=project_dir, env_extra=extra,
               backend_url=vendor_url(backend, v.vendor))
    st.shadow_dir.mkdir(parents=True, exist_ok=True)
    if not st.config_file.exists():
        st.config_file.write_text("config: {}\n", encoding="utf-8")
    return st


@dataclass(frozen=True)
class Checked:
    drift: StackDrift
    handoff: dict[str, Any] | None = None  # a hand-off's published `tenant`, judged once the cloud is read


def check(v: VendorStack, backend: backends.Backend, work: Path, passphrase: Path | None) -> Checked:
    """One vendor stack's drift; a stack whose passphrase the operator lacks is `no_passphrase`, not clean. A
    hand-off is read rather than refreshed (it holds no resource; `handoffs` judges it against the cloud)."""
    if v.project == handoffs.PROJECT:
        return Checked(*handoffs.read(stack_for(v, backend, work, passphrase), v.label, v.vendor))
    return Checked(_refreshed(v, backend, work, passphrase))


def _refreshed(v: VendorStack, backend: backends.Backend, work: Path, passphrase: Path | None) -> StackDrift:
    result = drift.stack_drift(stack_for(v, backend, work, passphrase))
    result = result.model_copy(update={"stack": v.label, "vendor": v.vendor})
    if not result.checked and any(w in (result.error or "") for w in WRONG_PASSPHRASE):
        given = f"the passphrase in {passphrase} does not open it" if passphrase else "no passphrase for this stack"
        return result.model_copy(update={"why": "no_passphrase", "error": (
            f"{given} (a vendor's stack is encrypted with the vendor's passphrase; give it with "
            f"--vendor-passphrase {v.vendor}=FILE to check it)")})
    return result


def all_checked(backend: backends.Backend, work: Path, passphrases: dict[str, Path]) -> list[Checked]:
    """Every vendor stack's drift; a database that cannot be listed is one unchecked entry naming why."""
    try:
        found = listed(backend)
    except Exception as e:  # psycopg's errors (refused, permission): say so in the run rather than stop it
        return [Checked(StackDrift(stack="vendor_*", checked=False, why="failed", resources=0, vendor=None,
                                   error=f"cannot list the vendor stacks in {backend.display}: {type(e).__name__}: "
                                         f"{backends.mask(str(e), backend.hidden())[:300]}"))]
    return [check(v, backend, work, passphrases.get(f"{v.vendor}/{v.project}/{v.stack}") or passphrases.get(v.vendor)
                  or kept(v.vendor)) for v in found]


def kept(vendor: str) -> Path | None:
    """The vendor's passphrase as the operator keeps it to publish hand-offs the vendor can open
    (`$SHUYAKU_CACHE/vendors/<V>/passphrase`, made by `shuyaku vendor grant`; see shuyaku/vendor/bundle.py)."""
    from shuyaku.deploy.engine import cache_dir
    from shuyaku.vendor.bundle import PASSPHRASE

    path = cache_dir() / "vendors" / vendor / PASSPHRASE
    return path if path.is_file() else None
