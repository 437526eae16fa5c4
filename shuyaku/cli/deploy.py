"""`shuyaku deploy`: preview with the policy pack, show what would change, ask, then update and say what was made.

Without a terminal to ask on, it needs `--yes` (CI, scripts/main) and otherwise refuses before changing anything.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from shuyaku.cli.preview import (
    BackendOpt,
    LangOpt,
    NoPolicyOpt,
    PackConfigOpt,
    PackOpt,
    RefreshOpt,
    SiteDataOpt,
    StackConfigOpt,
    StackOpt,
    StateOpt,
    open_stack,
    policy_flags,
    previewed,
    print_plan,
)
from shuyaku.contracts.i18n import set_lang, t
from shuyaku.deploy.engine import ROOT, EngineError, Stack

app = typer.Typer()
out = Console(highlight=False, emoji=False)
err = Console(stderr=True, highlight=False, emoji=False)


def summarise(resources: list[dict]) -> Table:
    table = Table(title=t("作成されたリソース", "Resources created"))
    table.add_column(t("種類", "type"))
    table.add_column(t("数", "count"), justify="right")
    counts = Counter(r["type"] for r in resources)
    for kind, n in sorted(counts.items()):
        table.add_row(kind, str(n))
    table.add_row(t("合計", "total"), str(sum(counts.values())), style="bold")
    return table


def interactive() -> bool:
    """Whether a person can answer: standard input is a terminal."""
    return sys.stdin.isatty()


def confirm(question: str, yes: bool) -> None:
    """Go on with --yes or a person's "y"; refuse without a terminal (exit 2), stop on "no" (exit 1)."""
    if yes:
        return
    if not interactive():
        err.print(t("確認できません: 標準入力が端末ではありません。何も変更していません。内容を確認したうえで自動実行"
                    "（CI など）するには --yes を付けてください。",
                    "cannot ask for confirmation: standard input is not a terminal. Nothing was changed. To run "
                    "unattended (CI and the like) after reviewing the preview, pass --yes."), markup=False, soft_wrap=True)
        raise typer.Exit(2)
    if not typer.confirm(question, default=False):
        err.print(t("中止しました。何も変更していません。", "Cancelled. Nothing was changed."), markup=False, soft_wrap=True)
        raise typer.Exit(1)


@app.command("deploy")
def deploy_cmd(
    stack: StackOpt = "local",
    stack_config: StackConfigOpt = None,
    state: StateOpt = None,
    backend: BackendOpt = None,
    site_data: SiteDataOpt = None,
    yes: Annotated[bool, typer.Option(
        "--yes", "-y", help="確認せずに実行する（CI・自動実行用）/ do not ask (CI, unattended runs)")] = False,
    no_policy: NoPolicyOpt = False,
    policy_pack: PackOpt = None,
    policy_pack_config: PackConfigOpt = None,
    destroy: Annotated[bool, typer.Option("--destroy", help="削除する / tear the stack down")] = False,
    refresh: RefreshOpt = False,
    fresh_if_rebuilt: Annotated[bool, typer.Option(
        "--fresh-if-cloud-rebuilt", help="状態のプロジェクトがクラウドに一つもなければ（開発クラウドの作り直し後）、"
        "状態を退避して新しく構築する / when the cloud knows none of the state's projects (a rebuilt dev cloud), "
        "set the state aside and deploy afresh")] = False,
    lang: LangOpt = None,
) -> None:
    """基盤を構築します（プレビュー・ポリシー確認・確認のうえ pulumi up）/ deploy the platform stack: preview with
    the policy pack, confirm, then update."""
    set_lang(lang)
    st = open_stack(stack, state, backend, site_data, stack_config)
    try:
        prepare(st, site_data, fresh_if_rebuilt)
        if destroy:
            confirm(t(f"スタック {stack} のリソース {len(st.resources())} 件をすべて削除します。よろしいですか？",
                      f"Delete all {len(st.resources())} resources of stack {stack}?"), yes)
            st.destroy()
            out.print(t(f"スタック {stack} を削除しました。", f"Stack {stack} destroyed."))
            return
        flags = policy_flags(st, no_policy=no_policy, pack=policy_pack, config=policy_pack_config, refresh=refresh)
        changes = previewed(st, flags)
        print_plan(stack, changes)
        if changes.nothing_to_do:
            return
        confirm(t(f"スタック {stack} にこの変更を適用しますか？", f"Apply these changes to stack {stack}?"), yes)
        st.operate("up", flags, check=True)
        resources = st.resources()
    except EngineError as exc:
        err.print(str(exc), markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    report(st, resources)


def prepare(st: Stack, site_data: Path | None, fresh_if_rebuilt: bool) -> None:
    """The stack exists, its state is not one of a rebuilt cloud (when asked), and this run's site data is set."""
    st.ensure()
    try:
        rebuilt = fresh_if_rebuilt and st.describes_a_rebuilt_cloud()
    except EngineError:
        raise
    except Exception as exc:  # any failure to ask the cloud is the same instruction to the user
        raise EngineError(t(f"クラウドに接続できません（{exc}）。OS_CLOUD と clouds.yaml を確認してください。",
                            f"cannot reach the cloud ({exc}); check OS_CLOUD and clouds.yaml.")) from None
    if rebuilt:
        aside = st.set_aside()
        out.print(t(f"状態のプロジェクトはこのクラウドにありません（クラウドが作り直されています）。"
                    f"古い状態を {aside} に退避し、新しく構築します。",
                    f"None of the state's projects exist in this cloud (it was rebuilt). The old state is kept in "
                    f"{aside}; deploying afresh."))
    if site_data is not None:  # for this run only; stacks/Pulumi.<stack>.yaml stays the stack's config
        st.set_config("shuyaku:siteData", str(site_data.resolve()))


def report(st: Stack, resources: list[dict]) -> None:
    out.print(summarise(resources))
    outputs = st.outputs()
    tenants = outputs.get("tenants", {})
    out.print(t(f"スタック {st.name}: {len(resources)} リソース、テナント {len(tenants)} 件。",
                f"Stack {st.name}: {len(resources)} resources, {len(tenants)} tenants."))
    where = st.state_dir if st.backend.is_file else st.backend.display
    out.print(t(f"状態: {where}  出力: pulumi stack output --stack {st.name}（作業ディレクトリ {ROOT}）",
                f"state: {where}  outputs: pulumi stack output --stack {st.name} (in {ROOT})"))
