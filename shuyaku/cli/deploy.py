"""`shuyaku deploy`: run the platform program with the locally built engine and say what was created."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from shuyaku.contracts import checked
from shuyaku.contracts.i18n import set_lang, t
from shuyaku.deploy.engine import ROOT, EngineError, Stack, cache_dir

app = typer.Typer()
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def summarise(resources: list[dict]) -> Table:
    table = Table(title=t("作成されたリソース", "Resources created"))
    table.add_column(t("種類", "type"))
    table.add_column(t("数", "count"), justify="right")
    counts = Counter(r["type"] for r in resources)
    for kind, n in sorted(counts.items()):
        table.add_row(kind, str(n))
    table.add_row(t("合計", "total"), str(sum(counts.values())), style="bold")
    return table


@app.command("deploy")
def deploy_cmd(
    stack: Annotated[str, typer.Option("--stack", "-s", help="local | onprem | dr")] = "local",
    state: Annotated[Path | None, typer.Option("--state", help="Pulumi file backend directory")] = None,
    backend: Annotated[str | None, typer.Option(
        "--backend", help="状態の保存先 URL（既定: PULUMI_BACKEND_URL、なければ --state のファイル）。チームでは "
        "scripts/state-db env の postgres:// URL / state backend URL (default: PULUMI_BACKEND_URL, else the file "
        "backend in --state); for a team, the postgres:// URL from scripts/state-db env")] = None,
    site_data: Annotated[Path | None, typer.Option("--site-data", help="shuyaku plan の site-*.json")] = None,
    policy_pack: Annotated[Path | None, typer.Option("--policy-pack", help="CrossGuard pack to apply")] = None,
    destroy: Annotated[bool, typer.Option("--destroy", help="削除する / tear the stack down")] = False,
    refresh: Annotated[bool, typer.Option(
        "--refresh", help="先にクラウドの実際の状態を読み直す（手作業の変更やクラウドの再作成の後に）/ "
        "read the cloud's real state first (after out-of-band changes or a rebuilt cloud)")] = False,
    fresh_if_rebuilt: Annotated[bool, typer.Option(
        "--fresh-if-cloud-rebuilt", help="状態のプロジェクトがクラウドに一つもなければ（開発クラウドの作り直し後）、"
        "状態を退避して新しく構築する / when the cloud knows none of the state's projects (a rebuilt dev cloud), "
        "set the state aside and deploy afresh")] = False,
    lang: Annotated[str | None, typer.Option("--lang")] = None,
) -> None:
    """基盤を構築します（pulumi up）/ deploy the platform stack with the locally built engine."""
    set_lang(lang)
    if site_data is not None:
        # Bad data is the user's to fix (exit 2, file:line:field), not an engine failure (exit 1).
        from shuyaku.cli.common import fail_on_problems
        from shuyaku.contracts import source
        from shuyaku.contracts.problems import ProblemsError
        from shuyaku.contracts.sitedata import SiteData

        try:
            _, problems = checked.check(SiteData, source.load(site_data))
            if problems:
                raise ProblemsError(problems)
        except ProblemsError as exc:
            fail_on_problems(exc)
    st = Stack(stack, state or cache_dir() / "state", backend_url=backend)
    if backend and st.backend.password:
        err.print(t("警告: --backend の URL にパスワードが含まれています（プロセス一覧から見えます）。"
                    "scripts/state-db env の passfile 付き URL を使ってください。",
                    "warning: the --backend URL holds a password (visible in the process list); use the URL with "
                    "a passfile from scripts/state-db env."), markup=False)
    try:
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
        if site_data is not None:  # after any set-aside: the stack config lives with the state
            st.set_config("shuyaku:siteData", str(site_data.resolve()))
        if destroy:
            st.destroy()
            out.print(t(f"スタック {stack} を削除しました。", f"Stack {stack} destroyed."))
            return
        extra = ["--policy-pack", str(policy_pack)] if policy_pack else []
        if refresh:
            extra.append("--refresh")
        st.up(*extra)
        resources = st.resources()
    except EngineError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    out.print(summarise(resources))
    outputs = st.outputs()
    tenants = outputs.get("tenants", {})
    out.print(t(f"スタック {stack}: {len(resources)} リソース、テナント {len(tenants)} 件。",
                f"Stack {stack}: {len(resources)} resources, {len(tenants)} tenants."))
    where = st.state_dir if st.backend.is_file else st.backend.display
    out.print(t(f"状態: {where}  出力: pulumi stack output --stack {stack}（作業ディレクトリ {ROOT}）",
                f"state: {where}  outputs: pulumi stack output --stack {stack} (in {ROOT})"))
