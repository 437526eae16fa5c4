"""The per-tenant hand-off: the only thing of the platform a vendor's stacks can read.

The operator reads the platform stack's `tenants` output, checks one tenant against the typed contract
(`shuyaku.contracts.tenant_outputs`), keeps only the contract's fields (nothing secret: ids, names, addresses,
quotas, tags) and writes them as the outputs of a small stack, `organization/shuyaku-handoff/<site>-<system id>`,
in the vendor's own space: its PostgreSQL table (`table=vendor_<v>.pulumi_state`, written with the operator's
role, which owns every state table) or its own folder on the file backend. That stack's secrets provider is the
vendor's own passphrase, so the vendor opens it with what it was given and never with the platform's.

Both writing and reading go through Pulumi's Automation API with the engine built here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from shuyaku.contracts import tenant_outputs
from shuyaku.contracts.problems import Text, tx
from shuyaku.platform import naming

PROJECT = "shuyaku-handoff"
ORG = "organization"
OUTPUT = "tenant"
# Every variable through which the operator's own backend, passphrase or cloud could reach a hand-off command.
# (libpq's PG* variables are not blanked: an empty PGPASSWORD would stop the driver reading the pgpass file, so
# a postgres space always sets its own PGPASSWORD.)
_AMBIENT = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")


class HandoffError(Exception):
    """A hand-off that cannot be published or read; `text` says why and what to do, in both languages."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text

    def __str__(self) -> str:
        return str(self.text)


def stack_name(system_id: str, site: str = "onprem") -> str:
    """The hand-off stack's name inside the vendor's space: the tenant's Keystone project name."""
    return naming.project_name(site, system_id)


def reference(system_id: str, site: str = "onprem") -> str:
    """What the vendor's StackReference names."""
    return f"{ORG}/{PROJECT}/{stack_name(system_id, site)}"


def vendor_name(system_id: str) -> str:
    """The vendor space's name for scripts/state-db (role shuyaku_vendor_<name>, schema vendor_<name>): lower-case
    letters, digits and `_`, 40 at most. Ids that differ only in case get a hash so two tenants never share."""
    name = system_id.lower().replace("-", "_")
    if system_id != system_id.lower():
        name = f"{name[:31]}_{hashlib.sha256(system_id.encode()).hexdigest()[:8]}"
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
        raise HandoffError(tx(f"システムID {system_id!r} からベンダー名を作れません",
                              f"cannot make a vendor name from system id {system_id!r}"))
    return name


def select(tenants: Any, system_id: str, where: Text) -> tuple[dict[str, Any], list[str]]:
    """One tenant's hand-off from the platform's `tenants` output (read without --show-secrets): only the
    contract's fields, never a secret (shown as "[secret]"), then checked against the contract. Returns it and
    the names of the fields left out."""
    value = tenants.get(system_id) if isinstance(tenants, Mapping) else None
    if not isinstance(value, Mapping):
        known = ", ".join(sorted(tenants)) if isinstance(tenants, Mapping) else ""
        raise HandoffError(tx(f"{where.ja} にテナント {system_id} の出力がありません（あるもの: {known or '-'}）",
                              f"{where.en} exports no tenant {system_id} (it has: {known or '-'})"))
    fields = tenant_outputs.TenantOutputs.model_fields
    kept = {k: v for k, v in value.items() if k in fields and not _is_secret(v)}
    try:
        parsed = tenant_outputs.parse(kept, system_id=system_id, where=where)
    except tenant_outputs.TenantOutputsError as exc:
        raise HandoffError(exc.text) from None
    return parsed.model_dump(mode="json", exclude_none=True), sorted(set(value) - set(kept))


def _is_secret(value: Any) -> bool:
    # `pulumi stack output --json` shows a secret as this string; with --show-secrets a secret would pass as
    # plain text, so the caller never asks for them.
    return value == "[secret]"


@dataclass(frozen=True)
class Space:
    """A vendor's state space as the engine reaches it: the backend URL, the vendor's passphrase and the engine."""

    backend_url: str
    passphrase_file: Path
    engine_root: Path  # holds bin/pulumi
    env: dict[str, str] = field(default_factory=dict, repr=False)  # PULUMI_HOME, PULUMI_DIY_BACKEND_ZSTD, ...
    db_password: str | None = field(default=None, repr=False)  # the role's password (postgres spaces)

    def variables(self) -> dict[str, str]:
        passphrase = self.passphrase_file.read_text(encoding="utf-8").strip()
        env = {**self.env, "PULUMI_BACKEND_URL": self.backend_url, "PULUMI_CONFIG_PASSPHRASE": passphrase,
               "PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true"}
        # The Automation API starts the engine with this process's environment plus these; an operator's own
        # passphrase file or cloud must not be what the engine picks up (the passphrase wins over a file).
        for name in _AMBIENT:
            env.setdefault(name, "")
        if self.db_password is not None:
            env["PGPASSWORD"] = self.db_password  # wins over an operator's PGPASSWORD inherited by the engine
        return env


def vendor_table_url(operator_url: str, vendor: str) -> str:
    """The operator's postgres URL pointed at the vendor's table (same login, same TLS settings)."""
    parts = urlsplit(operator_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "table"]
    query.insert(0, ("table", f"vendor_{vendor}.pulumi_state"))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query, safe="/:,"), parts.fragment))


def vendor_login_url(operator_url: str, vendor: str, passfile: Path, ca: Path | None) -> str:
    """The URL the vendor itself uses: its own role, its own table, its own pgpass file (and the CA given)."""
    parts = urlsplit(vendor_table_url(operator_url, vendor))
    host = parts.netloc.rpartition("@")[2]
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query["passfile"] = str(passfile)
    if ca is not None and "sslrootcert" in query:
        query["sslrootcert"] = str(ca)
    return urlunsplit((parts.scheme, f"shuyaku_vendor_{vendor}@{host}", parts.path, urlencode(query, safe="/:,"),
                       parts.fragment))


def _workspace(space: Space) -> Any:
    from pulumi import automation as auto

    return auto.LocalWorkspaceOptions(
        pulumi_command=auto.PulumiCommand(root=str(space.engine_root), skip_version_check=True),
        env_vars=space.variables(), secrets_provider="passphrase",
        project_settings=auto.ProjectSettings(name=PROJECT, runtime="python"))


def publish(space: Space, handoff: dict[str, Any]) -> dict[str, Any]:
    """Write (or update) the hand-off stack in the vendor's space; returns the outputs the engine recorded."""
    import pulumi
    from pulumi import automation as auto

    name = stack_name(handoff["system_id"], handoff["site"])

    def program() -> None:
        pulumi.export(OUTPUT, handoff)

    try:
        stack = auto.create_or_select_stack(stack_name=name, project_name=PROJECT, program=program,
                                            opts=_workspace(space))
        result = stack.up(color="never")
    except auto.CommandError as exc:
        raise HandoffError(_engine_failed(space, name, exc)) from None
    return {k: v.value for k, v in result.outputs.items()}


def read(space: Space, system_id: str, site: str = "onprem") -> dict[str, Any]:
    """The published hand-off for one tenant, as the vendor's StackReference will see it; a clear error when the
    stack is absent, unreadable with this passphrase or holds another tenant."""
    from pulumi import automation as auto

    name = stack_name(system_id, site)
    try:
        stack = auto.select_stack(stack_name=name, project_name=PROJECT, program=lambda: None, opts=_workspace(space))
        outputs = {k: v.value for k, v in stack.outputs().items()}
    except auto.StackNotFoundError:
        raise HandoffError(tx(
            f"引き渡しスタック {reference(system_id, site)} が {display(space)} にありません。"
            f"運用者が `shuyaku vendor publish --stack <基盤スタック> --tenant {system_id}` を実行してください",
            f"no hand-off stack {reference(system_id, site)} in {display(space)}: the operator runs "
            f"`shuyaku vendor publish --stack <platform stack> --tenant {system_id}` first")) from None
    except auto.CommandError as exc:
        raise HandoffError(_engine_failed(space, name, exc)) from None
    got = outputs.get(OUTPUT)
    if not isinstance(got, Mapping) or got.get("system_id") != system_id:
        holds = got.get("system_id") if isinstance(got, Mapping) else None
        raise HandoffError(tx(
            f"引き渡しスタック {reference(system_id, site)} はテナント {system_id} のものではありません（{holds or '出力なし'}）",
            f"hand-off stack {reference(system_id, site)} does not hold tenant {system_id} ({holds or 'no output'})"))
    return dict(got)


def display(space: Space) -> str:
    """The backend as a user may see it: no login, and of the query only the table."""
    parts = urlsplit(space.backend_url)
    table = dict(parse_qsl(parts.query)).get("table")
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path,
                       f"table={table}" if table else "", ""))


def _engine_failed(space: Space, name: str, exc: Exception) -> Text:
    # The engine's message names the cause (wrong passphrase, permission denied, unreachable database); its last
    # lines are enough, and they never hold the passphrase (it travels in the environment only).
    lines = [ln for ln in str(exc).splitlines() if ln.strip() and "PULUMI_CONFIG_PASSPHRASE" not in ln][-4:]
    detail = "\n  ".join(lines)
    return tx(f"引き渡しスタック {name}（{display(space)}）を処理できません:\n  {detail}",
              f"cannot process hand-off stack {name} ({display(space)}):\n  {detail}")
