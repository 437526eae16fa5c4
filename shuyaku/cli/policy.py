"""`shuyaku policy ...`: audit exported state, list the rules, write the docs page and pack config."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel

from shuyaku.cli.common import fail_on_problems
from shuyaku.contracts import i18n
from shuyaku.contracts.i18n import t

app = typer.Typer(help="ポリシー（三層分離・テナント・秘密情報）の確認 / policy checks", no_args_is_help=True,
                  add_completion=False)


class Format(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"


class ListFormat(StrEnum):
    table = "table"
    json = "json"


LangOpt = Annotated[str | None, typer.Option("--lang", help="ja | en（既定: SHUYAKU_LANG または ja）")]


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(2)


@app.command()
def audit(
    file: Annotated[Path, typer.Argument(
        help="pulumi stack export または pulumi preview --json --show-sames の出力（- は標準入力）")],
    config: Annotated[Path | None, typer.Option("--config", "-c", help="ポリシー設定（pack config か settings 形式）")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="出力先ファイル（既定: 標準出力）")] = None,
    lang: LangOpt = None,
) -> None:
    """スタックの状態を監査する。必須の違反があれば終了コード 1、読めないファイルは 2。"""
    i18n.set_lang(lang)
    from shuyaku.contracts.problems import ProblemsError
    from shuyaku.policy import config as cfgmod
    from shuyaku.policy import report
    from shuyaku.policy.audit import audit_resources, has_mandatory, missing_settings
    from shuyaku.policy.loader import load_file
    from shuyaku.policy.registry import rule_ids

    code = i18n.lang()
    try:
        loaded = load_file(file)
        cfg = cfgmod.load(config, rule_ids()) if config else cfgmod.PolicyConfig()
    except ProblemsError as e:  # an unreadable input or config: every problem, where, code, fix; exit 2
        fail_on_problems(e)
        raise
    if loaded.missing:
        typer.echo(t(f"注意: プレビューが参照先のリソース {loaded.missing} 件を含みません。変更のないリソースも含めるには "
                     "`pulumi preview --json --show-sames` で作成してください（スタック全体の規則が一部しか確認できません）",
                     f"warning: the preview lacks {loaded.missing} resources its resources refer to; make it with "
                     "`pulumi preview --json --show-sames` so unchanged resources are included (stack-wide rules "
                     "check only part of the stack)"), err=True)
    for rule_id, keys in missing_settings(cfg).items():
        typer.echo(t(f"注意: {rule_id} は設定 {', '.join(keys)} が空のため一部しか確認できません（--config を指定）",
                     f"warning: {rule_id} checks only part of its rule: {', '.join(keys)} not set (use --config)"),
                   err=True)
    findings = audit_resources(loaded.resources, cfg, loaded.stack_config)
    render = {Format.text: report.as_text, Format.json: report.as_json, Format.sarif: report.as_sarif}[fmt]
    out = render(findings, code, "stdin" if str(file) == "-" else str(file))
    if output:
        try:
            output.write_text(out, encoding="utf-8")
        except OSError as e:
            raise _fail(t(f"書き込めません: {output}: {e.strerror}", f"cannot write {output}: {e.strerror}")) from None
        typer.echo(report.summary(findings, code), err=True)
    else:
        sys.stdout.write(out)
    raise typer.Exit(1 if has_mandatory(findings) else 0)


@app.command("list")
def list_rules(fmt: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.table,
               lang: LangOpt = None) -> None:
    """ルールの一覧を表示する。"""
    i18n.set_lang(lang)
    from shuyaku.policy.registry import all_rules

    code = i18n.lang()
    rules = all_rules()
    if fmt == ListFormat.json:
        typer.echo(json.dumps([{
            "id": r.id, "title": r.title.lang(code), "severity": r.severity, "enforcement": r.enforcement,
            "scope": r.scope, "sources": list(r.sources), "resource_types": list(r.resource_types),
            "config_keys": list(r.config_keys), "remediation": r.remediation.lang(code),
        } for r in rules], ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=t("shuyaku ポリシー一覧", "shuyaku policy rules"), show_lines=False)
    for col in (t("ID", "id"), t("内容", "title"), t("重大度", "severity"), t("既定", "default"),
                t("範囲", "scope"), t("出典", "source")):
        table.add_column(col, overflow="fold")
    for r in rules:
        table.add_row(r.id, r.title.lang(code), r.severity, r.enforcement, r.scope, "\n".join(r.sources))
    Console(width=200 if not sys.stdout.isatty() else None).print(table)


@app.command()
def docs() -> None:
    """docs/policies.md の内容を出力する（shuyaku policy docs > docs/policies.md）。"""
    from shuyaku.policy.docs import markdown

    sys.stdout.write(markdown())


@app.command("schema")
def schema() -> None:
    """設定ファイル（SETTINGS）の JSON Schema を出力する（shuyaku policy schema > policies/settings.schema.json）。"""
    from shuyaku.contracts.policy_settings import settings_schema
    from shuyaku.policy.registry import rule_ids

    typer.echo(json.dumps(settings_schema(rule_ids()), ensure_ascii=False, indent=2))


@app.command("config")
def make_config(
    settings: Annotated[Path | None, typer.Argument(help='{"enforcement": {...}, "settings": {...}} 形式の JSON')] = None,
    stack: Annotated[
        str | None, typer.Option("--stack", "-s", help="stacks/Pulumi.<stack>.yaml と計画データから設定を作る")
    ] = None,
    root: Annotated[Path, typer.Option("--root", help="リポジトリのルート（stacks/ がある場所）")] = Path("."),
    lang: LangOpt = None,
) -> None:
    """--policy-pack-config 用の JSON（ルールごとの設定）を出力する。

    --stack を付けると、プラットフォームと同じスタック設定・計画データから CIDR やデータ連携を読み取り、
    SETTINGS の内容（強制レベル、個別の設定）をその上に重ねる。
    """
    i18n.set_lang(lang)
    from shuyaku.contracts.problems import ProblemsError
    from shuyaku.policy import config as cfgmod
    from shuyaku.policy.registry import all_rules

    if settings is None and stack is None:
        raise _fail(t("SETTINGS か --stack を指定してください", "give SETTINGS or --stack"))
    try:
        doc = _settings_document(settings, stack, root)
    except ProblemsError as e:
        fail_on_problems(e)
        raise
    typer.echo(json.dumps(cfgmod.expand_checked(doc, all_rules()), ensure_ascii=False, indent=2))


def _settings_document(settings: Path | None, stack: str | None, root: Path) -> BaseModel:
    """The checked settings document: SETTINGS as written, or laid over what the stack's platform config says."""
    from shuyaku.contracts import policy_settings as ps
    from shuyaku.contracts.source import Source
    from shuyaku.policy import config as cfgmod
    from shuyaku.policy.registry import rule_ids

    ids = tuple(rule_ids())
    doc = ps.load_document(settings, ids, flat_only=True) if settings is not None else None
    if stack is None:
        assert doc is not None
        return doc
    from shuyaku.contracts.problems import ProblemsError
    from shuyaku.policy.sitecfg import settings_for_stack

    try:
        derived = settings_for_stack(root, stack)
    except OSError as e:
        raise _fail(t(f"スタック {stack} の設定を読めません: {e}", f"cannot read stack {stack}: {e}")) from None
    except ProblemsError as e:  # the stack file or its config: every problem, with file, line and field
        raise _fail(str(e)) from None
    given = cfgmod.given_settings(doc) if doc is not None else {}
    enforcement = doc.enforcement.model_dump(exclude_none=True) if doc is not None else {}  # type: ignore[attr-defined]
    merged = {"enforcement": enforcement, "settings": {**derived, **given}}
    return ps.check_document(Source(root / "stacks" / f"Pulumi.{stack}.yaml", merged), ids, flat_only=True)


def main() -> None:
    app()
