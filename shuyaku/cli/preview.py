"""`shuyaku preview`: what a deploy would change, checked by the policy pack with the stack's own settings.

The pack's config is generated from the same stack config the engine gets (the platform's view of it, as
`shuyaku policy config --stack` makes it), so every rule checks the stack's real CIDRs, flows and volume types.
`shuyaku deploy` runs the same preview before it asks.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shuyaku.cli.common import fail_on_problems
from shuyaku.contracts.i18n import set_lang, t
from shuyaku.contracts.problems import ProblemsError
from shuyaku.deploy.engine import ROOT, EngineError, Stack, cache_dir

if TYPE_CHECKING:
    from shuyaku.deploy.auto import Changes, Flags

app = typer.Typer()
out = Console(highlight=False, emoji=False)
err = Console(stderr=True, highlight=False, emoji=False)

StackOpt = Annotated[str, typer.Option("--stack", "-s", help="local | onprem | dr")]
StateOpt = Annotated[Path | None, typer.Option("--state", help="Pulumi file backend directory")]
BackendOpt = Annotated[str | None, typer.Option(
    "--backend", help="状態の保存先 URL（既定: PULUMI_BACKEND_URL、なければ --state のファイル）。チームでは "
    "scripts/state-db env の postgres:// URL / state backend URL (default: PULUMI_BACKEND_URL, else the file "
    "backend in --state); for a team, the postgres:// URL from scripts/state-db env")]
StackConfigOpt = Annotated[Path | None, typer.Option(
    "--stack-config", help="スタック設定（既定: stacks/Pulumi.<stack>.yaml）/ the stack config (default: "
    "stacks/Pulumi.<stack>.yaml)")]
SiteDataOpt = Annotated[Path | None, typer.Option(
    "--site-data", help="shuyaku plan の site-*.json（このコマンドに限りスタック設定の shuyaku:siteData を置き換える）"
    " / site-*.json from shuyaku plan (replaces the stack config's shuyaku:siteData for this command only)")]
NoPolicyOpt = Annotated[bool, typer.Option(
    "--no-policy", help="ポリシーパックを適用しない（警告を表示）/ skip the policy pack (with a warning)")]
PackOpt = Annotated[Path | None, typer.Option(
    "--policy-pack", help="CrossGuard パック（既定: policies/）/ the CrossGuard pack (default: policies/)")]
PackConfigOpt = Annotated[Path | None, typer.Option(
    "--policy-pack-config", help="パックの設定（既定: スタック設定から生成）/ the pack's config (default: generated "
    "from the stack config)")]
RefreshOpt = Annotated[bool, typer.Option(
    "--refresh", help="先にクラウドの実際の状態を読み直す（手作業の変更やクラウドの再作成の後に）/ "
    "read the cloud's real state first (after out-of-band changes or a rebuilt cloud)")]
LangOpt = Annotated[str | None, typer.Option("--lang", help="ja (既定) / en")]

OP_NAMES = {"create": ("作成", "create"), "update": ("変更", "update"), "replace": ("置換", "replace"),
            "delete": ("削除", "delete")}
NAMES_SHOWN = 6
ADVISORY_SHOWN = 3


def open_stack(stack: str, state: Path | None, backend: str | None, site_data: Path | None,
               stack_config: Path | None = None) -> Stack:
    """The stack object for these options; bad site data is the user's to fix (exit 2, file:line:field)."""
    if site_data is not None:
        from shuyaku.contracts import checked, source
        from shuyaku.contracts.sitedata import SiteData

        try:
            _, problems = checked.check(SiteData, source.load(site_data))
            if problems:
                raise ProblemsError(problems)
        except ProblemsError as exc:
            fail_on_problems(exc)
    if stack_config is not None and not stack_config.is_file():
        err.print(t(f"{stack_config}: スタック設定がありません（--stack-config）", f"{stack_config}: no such stack config "
                    "(--stack-config)"), markup=False, soft_wrap=True)
        raise typer.Exit(2)
    st = Stack(stack, state or cache_dir() / "state", backend_url=backend,
               config_source=stack_config.resolve() if stack_config else None)
    if backend and st.backend.password:
        err.print(t("警告: --backend の URL にパスワードが含まれています（プロセス一覧から見えます）。"
                    "scripts/state-db env の passfile 付き URL を使ってください。",
                    "warning: the --backend URL holds a password (visible in the process list); use the URL with "
                    "a passfile from scripts/state-db env."), markup=False, soft_wrap=True)
    return st


def pack_config(st: Stack) -> dict[str, Any]:
    """The pack's per-rule config from the stack config the engine gets (the copy, overrides included).

    Problems are reported at the lines of the stack config file the user edits. Raises ProblemsError.
    """
    from shuyaku.contracts import policy_settings as ps
    from shuyaku.contracts import source
    from shuyaku.contracts.source import Source
    from shuyaku.platform import config as pconfig
    from shuyaku.policy import config as cfgmod
    from shuyaku.policy.registry import all_rules, rule_ids
    from shuyaku.policy.sitecfg import settings_from_platform

    st.sync_config()
    loaded = source.load(st.config_file if st.config_file.is_file() else st.config_path).data
    doc = loaded if isinstance(loaded, dict) else {}
    prefix = pconfig.NAMESPACE + ":"
    values = {k[len(prefix):]: v for k, v in (doc.get("config") or {}).items() if k.startswith(prefix)}
    cfg = pconfig.load(values, stack=st.name, project_root=st.project_dir, config_file=st.config_path)
    settings = {"enforcement": {}, "settings": settings_from_platform(cfg)}
    checked = ps.check_document(Source(st.config_path, settings), tuple(rule_ids()), flat_only=True)
    return cfgmod.expand_checked(checked, all_rules())


def policy_flags(st: Stack, *, no_policy: bool, pack: Path | None, config: Path | None,
                 refresh: bool = False) -> Flags:
    """The engine flags for the pack (on unless --no-policy, which is said out loud)."""
    from shuyaku.deploy.auto import Flags

    if no_policy:
        err.print(t("警告: --no-policy のためポリシーパックを適用しません。三層分離・テナント・秘密情報の規則は確認されません。",
                    "warning: --no-policy: the policy pack is not applied; the three-layer separation, tenancy and "
                    "secrets rules are not checked."), markup=False, soft_wrap=True, style="bold yellow")
        return Flags(refresh=refresh)
    if config is None:
        try:
            generated = pack_config(st)
        except ProblemsError as exc:
            fail_on_problems(exc)
        config = st.shadow_dir / f"policy-pack-config.{st.name}.json"
        config.write_text(json.dumps(generated, ensure_ascii=False, indent=2), encoding="utf-8")
    return Flags(refresh=refresh, policy_packs=(str((pack or ROOT / "policies").resolve()),),
                 policy_pack_configs=(str(config.resolve()),))


def changes_table(changes: Changes) -> Table:
    """Planned changes by kind, type and name (names cut after a few, with how many more)."""
    table = Table(title=t("予定される変更", "Planned changes"))
    table.add_column(t("操作", "action"))
    table.add_column(t("種類", "type"), overflow="fold")  # a type cut short ("secGro…") names nothing
    table.add_column(t("数", "count"), justify="right")
    table.add_column(t("名前", "names"), overflow="fold")
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for s in changes.changed():
        grouped[(s.op, s.type)].append(s.name)
    order = list(OP_NAMES)
    for (op, kind), names in sorted(grouped.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])):
        more = len(names) - NAMES_SHOWN
        shown = ", ".join(names[:NAMES_SHOWN]) + (t(f" ほか {more} 件", f" and {more} more") if more > 0 else "")
        table.add_row(t(*OP_NAMES[op]), kind, str(len(names)), shown)
    return table


def counts_line(changes: Changes) -> str:
    c = changes.counts()
    return t(f"作成 {c['create']}、変更 {c['update']}、置換 {c['replace']}、削除 {c['delete']}",
             f"{c['create']} to create, {c['update']} to update, {c['replace']} to replace, {c['delete']} to delete")


def show_violations(changes: Changes) -> None:
    """Every mandatory violation (each is to be fixed); advisory ones a few per rule, with how many there are."""
    advisory: dict[str, int] = defaultdict(int)
    for v in changes.violations:
        if v.level != "mandatory":
            advisory[v.rule] += 1
            if advisory[v.rule] > ADVISORY_SHOWN:
                continue
        mark = t("必須", "mandatory") if v.level == "mandatory" else t("勧告", "advisory")
        where = f" {v.resource}" if v.resource else ""
        err.print(f"  [{mark}] {v.rule}{where}: {v.message}", markup=False, soft_wrap=True)
    for rule, n in sorted(advisory.items()):
        if n > ADVISORY_SHOWN:
            err.print(t(f"  [勧告] {rule}: ほか {n - ADVISORY_SHOWN} 件（計 {n} 件）",
                        f"  [advisory] {rule}: {n - ADVISORY_SHOWN} more ({n} in all)"), markup=False, soft_wrap=True)


def previewed(st: Stack, flags: Flags) -> Changes:
    """Run the preview and print what it found; a violation or an engine failure exits 1 (nothing changed)."""
    pack = t("ポリシーパック付き", "with the policy pack") if flags.policy_packs else t("ポリシーパックなし", "no policy pack")
    out.print(t(f"スタック {st.name} をプレビューしています（{pack}）…", f"Previewing stack {st.name} ({pack})…"))
    try:
        outcome = st.operate("preview", flags, show=False)
    except EngineError as exc:
        err.print(str(exc), markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    changes = outcome.changes
    show_violations(changes)
    if changes.mandatory():
        rules = sorted({v.rule for v in changes.mandatory()})
        err.print(t(f"ポリシー違反のため停止しました（何も変更していません）: {', '.join(rules)}",
                    f"stopped by policy violations (nothing was changed): {', '.join(rules)}"), markup=False, soft_wrap=True)
        raise typer.Exit(1)
    if outcome.proc.returncode != 0:
        tail = "\n".join(changes.errors) or (outcome.proc.stderr + outcome.proc.stdout)[-4000:]
        err.print(tail, markup=False, soft_wrap=True)
        err.print(t(f"プレビューに失敗しました（終了コード {outcome.proc.returncode}）。何も変更していません。",
                    f"the preview failed (exit {outcome.proc.returncode}); nothing was changed."), markup=False, soft_wrap=True)
        raise typer.Exit(1)
    return changes


def print_plan(stack: str, changes: Changes) -> None:
    if changes.nothing_to_do:
        out.print(t(f"スタック {stack}: 変更はありません。", f"Stack {stack}: no changes."))
        return
    if changes.changed():
        # In a log (CI, a pipe) a terminal's 80 columns would break type and resource names across lines.
        wide = out if out.is_terminal else Console(highlight=False, emoji=False, width=max(out.width, 160))
        wide.print(changes_table(changes))
    out.print(t(f"スタック {stack}: {counts_line(changes)}", f"Stack {stack}: {counts_line(changes)}")
              + (t("（出力の変更あり）", " (outputs change)") if changes.outputs_changed else ""))


@app.command("preview")
def preview_cmd(
    stack: StackOpt = "local", stack_config: StackConfigOpt = None, state: StateOpt = None,
    backend: BackendOpt = None, site_data: SiteDataOpt = None, no_policy: NoPolicyOpt = False,
    policy_pack: PackOpt = None, policy_pack_config: PackConfigOpt = None,
    refresh: RefreshOpt = False, lang: LangOpt = None,
) -> None:
    """変更内容を確認します（何も変更しません。ポリシー違反は終了コード 1）/ show what a deploy would change
    (changes nothing; exit 1 on a policy violation)."""
    set_lang(lang)
    st = open_stack(stack, state, backend, site_data, stack_config)
    try:
        st.ensure()
        if site_data is not None:
            st.set_config("shuyaku:siteData", str(site_data.resolve()))
    except EngineError as exc:
        err.print(str(exc), markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    flags = policy_flags(st, no_policy=no_policy, pack=policy_pack, config=policy_pack_config, refresh=refresh)
    print_plan(stack, previewed(st, flags))
