"""The `shuyaku` command. Each stage of the flow keeps its own commands in its folder; this file wires them.

Exit status: 0 success, 1 a check found problems (policy violations, failed hosts), 2 bad input.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from shuyaku.cli import assess, audit, deploy, plan, policy, preview, provision, status, vendor, verify
from shuyaku.cli.common import LangOpt, StrictOpt, err, exit_if_strict, load_inventory, out, print_links
from shuyaku.contracts.i18n import set_lang, t
from shuyaku.contracts.problems import ProblemsError

app = typer.Typer(
    name="shuyaku",
    help="集約 — 業務システムの共通基盤への集約を計画・構築・検証します / consolidate legacy systems onto a shared platform",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
class SchemaName(StrEnum):
    inventory = "inventory"
    catalogue = "catalogue"
    plan = "plan"
    site = "site"
    tenant_outputs = "tenant-outputs"
    stack_config = "stack-config"


def json_schema(name: SchemaName) -> dict:
    from pydantic import BaseModel

    from shuyaku.contracts.catalogue import Catalogue
    from shuyaku.contracts.inventory import Inventory
    from shuyaku.contracts.plan import Plan
    from shuyaku.contracts.sitedata import SiteData
    from shuyaku.contracts.stack_config import StackConfig
    from shuyaku.contracts.tenant_outputs import TenantOutputs

    models: dict[str, type[BaseModel]] = {"inventory": Inventory, "catalogue": Catalogue, "plan": Plan, "site": SiteData,
                                          "tenant-outputs": TenantOutputs, "stack-config": StackConfig}
    model = models[name.value]
    # The stack config's keys are its aliases (`shuyaku:siteData`), as written in stacks/Pulumi.<stack>.yaml.
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


@app.command("schema")
def schema_cmd(
    name: Annotated[SchemaName, typer.Argument(help="inventory | catalogue | plan | site | tenant-outputs | stack-config")],
) -> None:
    """JSON Schema を出力します（エディタ補完用）/ print a JSON Schema for editors."""
    print(json.dumps(json_schema(name), ensure_ascii=False, indent=2))


@app.command("validate")
def validate_cmd(
    file: Annotated[Path, typer.Argument(help="inventory YAML")],
    catalogue: Annotated[Path | None, typer.Option("--catalogue", "-c", help="cost catalogue YAML")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text | json")] = "text",
    strict: StrictOpt = False,
    lang: LangOpt = None,
) -> None:
    """台帳を検証します / validate an inventory (exit 0 valid, 1 forbidden links with --strict, 2 invalid)."""
    set_lang(lang)
    from shuyaku.inventory.links import cross_layer

    loaded = load_inventory(file, catalogue, fmt)
    inv = loaded.inventory
    servers = sum(s.count for sys_ in inv.systems for s in sys_.servers)
    links = cross_layer(inv, loaded.source, str(file))
    forbidden = sum(1 for p in links if p.code == "link.forbidden")
    if fmt == "json":
        print(json.dumps({"ok": True, "systems": len(inv.systems), "servers": servers,
                          "problems": [p.as_dict() for p in links]}, ensure_ascii=False, indent=2))
        exit_if_strict(strict, forbidden)
        return
    else:
        out.print(t(f"OK: {file} — {len(inv.systems)} システム、{servers} サーバ",
                    f"OK: {file} — {len(inv.systems)} systems, {servers} servers"))
        if loaded.catalogue is None:
            out.print(t("注意: 費用カタログが指定されていないため、ホスト容量との比較は行っていません（--catalogue）",
                        "note: no cost catalogue given, so server sizes were not checked against a host (--catalogue)"))
        print_links(links)
        exit_if_strict(strict, forbidden)


def _register_stage_commands() -> None:
    """Each stage keeps its commands in its own module of this package; this wires them into one command."""
    for mod, name in [(assess, None), (plan, None), (preview, None), (deploy, None), (vendor, "vendor"),
                      (policy, "policy"), (provision, None), (verify, None), (audit, None), (status, None)]:
        if name:
            app.add_typer(mod.app, name=name)
        else:
            app.registered_commands.extend(mod.app.registered_commands)


_register_stage_commands()


def main() -> None:
    try:
        app()
    except ProblemsError as exc:  # a stage that raised instead of handling its own input errors
        for p in exc.problems:
            err.print(p.render(), markup=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
