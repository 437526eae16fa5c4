"""`shuyaku verify`: prove with testinfra that the hosts are what the roles promised."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from shuyaku.cli.provision import CloudOpt, GuestUserOpt, StackExtras, VarsOpt, stack_inventory
from shuyaku.contracts.checked import load_model
from shuyaku.contracts.i18n import set_lang, t
from shuyaku.contracts.plan import Plan
from shuyaku.contracts.problems import ProblemsError
from shuyaku.contracts.source import clip
from shuyaku.contracts.verify import CASES_ENV, MIGRATED_GROUP, CaseSet, Proxy
from shuyaku.provision.guests import from_cloud
from shuyaku.provision.inventory import InventoryError, parse_outputs, read_outputs
from shuyaku.provision.runner import artifacts_root
from shuyaku.verify.matrix import DEFAULT_BOUND, DEFAULT_SEED, MatrixError, build_cases
from shuyaku.verify.migrated import from_outputs, tally, write_inventory
from shuyaku.verify.runner import SUITE_DIR, VerifyResult, run_verify

app = typer.Typer()
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


@app.command("verify")
def verify_cmd(
    inventory: Annotated[Path | None, typer.Option("--inventory", "-i", help="Ansible hosts file")] = None,
    stack: Annotated[str | None, typer.Option("--stack", "-s", help="Pulumi stack (ansible_inventory)")] = None,
    group: Annotated[str, typer.Option("--group", "-g", help="Ansible group to verify")] = "all",
    junit: Annotated[Path, typer.Option("--junit", help="JUnit XML output")] = Path("out/verify/junit.xml"),
    html: Annotated[Path, typer.Option("--html", help="HTML summary output")] = Path("out/verify/summary.html"),
    workers: Annotated[str, typer.Option("--workers", "-n", help="pytest-xdist workers (auto, N, 0)")] = "auto",
    suite: Annotated[list[Path] | None, typer.Option("--suite", help="test files/dirs (default tests/infra)")] = None,
    migrated: Annotated[bool, typer.Option("--migrated", help="移行したゲスト間の接続マトリクス / the connection "
                                           "matrix on the migrated guests (needs --stack and --plan)")] = False,
    plan: Annotated[Path | None, typer.Option("--plan", help="plan.json the stack was made from")] = None,
    outputs: Annotated[Path | None, typer.Option("--outputs", help="the stack's outputs as JSON (pulumi stack "
                                                 "output --json) instead of asking the engine")] = None,
    internet_host: Annotated[str | None, typer.Option("--internet-host", help="IP[:PORT] of the host playing "
                                                      "the internet (port 80 if none)")] = None,
    private_key: Annotated[Path | None, typer.Option("--private-key", help="operator's SSH key for the bastion "
                                                     "and the guests")] = None,
    max_cases: Annotated[int, typer.Option("--max-cases", help="bound on the cases")] = DEFAULT_BOUND,
    seed: Annotated[int, typer.Option("--seed", help="seed of the sampled refused pairs")] = DEFAULT_SEED,
    no_run: Annotated[bool, typer.Option("--no-run", help="write the cases and the inventory, run nothing")] = False,
    cloud: CloudOpt = None,
    vars_file: VarsOpt = None,
    guest_user: GuestUserOpt = "ansible",
    lang: Annotated[str | None, typer.Option("--lang", help="ja (既定) / en")] = None,
) -> None:
    """testinfra でホストを検証します / verify hosts with the testinfra suites (exit 0 pass, 1 fail, 2 bad input)."""
    set_lang(lang)
    if migrated:
        if inventory is not None:  # the guests come from the stack's outputs, never from a hand-given file
            raise typer.Exit(_bad([t("--migrated と --inventory は一緒に使えません（ゲストはスタックの出力から作ります）。",
                                     "--migrated and --inventory do not go together (the guests come from the "
                                     "stack's outputs).")]))
        opts = MigratedOptions(stack, plan, outputs, internet_host, private_key, max_cases, seed, no_run, workers,
                               cloud, guest_user)
        raise typer.Exit(verify_migrated(opts, junit.resolve(), html.resolve()))
    inv = stack_inventory(inventory, stack, artifacts_root(), StackExtras(cloud, plan, vars_file, guest_user))
    if group not in inv.groups or not inv.groups[group]:
        err.print(Text(t(f"グループ {group} にホストがありません（あるもの: {', '.join(sorted(inv.groups))}）。",
                         f"group {group} has no hosts (groups: {', '.join(sorted(inv.groups))})."), style="red"))
        raise typer.Exit(2)
    out.print(t(f"{len(inv.groups[group])} 台を検証します（{inv.path}）",
                f"verifying {len(inv.groups[group])} host(s) ({inv.path})"))
    result = run_verify(inv.path, hosts=inv.hosts, group=group, junit=junit.resolve(), html=html.resolve(), workers=workers,
                        suites=suite)
    print_hosts(result)
    if result.rc not in (0, 1) and not result.cases:
        err.print(Text(t(f"pytest が終了コード {result.rc} で失敗しました。", f"pytest failed with exit code {result.rc}."),
                       style="red"))
        raise typer.Exit(2 if result.rc in (4, 5) else 1)
    failed = [c for c in result.cases if c.outcome in ("failed", "error")]
    for c in failed:
        first = c.message.splitlines()[0] if c.message else ""
        err.print(Text(t(f"不合格: {c.host} {c.name}: {first}", f"FAILED: {c.host} {c.name}: {first}"), style="red"),
                  soft_wrap=True)
    raise typer.Exit(1 if failed or result.rc else 0)


def print_hosts(result: VerifyResult) -> None:
    table = Table(title=t("検証結果", "Verification"))
    table.add_column(t("ホスト", "host"))
    for col in ("passed", "failed", "error", "skipped"):
        table.add_column(col, justify="right")
    for host in result.hosts:
        cases = [c for c in result.cases if c.host == host]
        row = [sum(1 for c in cases if c.outcome == o) for o in ("passed", "failed", "error", "skipped")]
        table.add_row(host, *map(str, row), style="red" if row[1] or row[2] else "green")
    out.print(table)
    out.print(t(f"JUnit: {result.junit}  HTML: {result.html}  所要時間 {result.duration:.1f} 秒",
                f"JUnit: {result.junit}  HTML: {result.html}  took {result.duration:.1f} s"))


@dataclass
class MigratedOptions:
    stack: str | None
    plan: Path | None
    outputs: Path | None
    internet_host: str | None
    private_key: Path | None
    max_cases: int
    seed: int
    no_run: bool
    workers: str
    cloud: str | None = None
    guest_user: str = "ansible"


def _bad(lines: list[str]) -> int:
    for line in lines:
        err.print(Text(line, style="red"), soft_wrap=True)
    return 2


def _internet(spec: str | None) -> Proxy | None:
    """--internet-host IP[:PORT]: an address the operator types, checked like any other input."""
    if spec is None:
        return None
    host, _, port = spec.rpartition(":") if spec.count(":") == 1 else (spec, "", "")
    try:
        address = str(ipaddress.ip_address(host))
        return Proxy(address=address, port=int(port) if port else 80)
    except ValueError:
        raise InventoryError([t(f"--internet-host: IP アドレス[:ポート] が必要です（値: {clip(spec)}）。",
                                f"--internet-host: expected IP[:PORT] (got {clip(spec)}).")]) from None


def _inputs(o: MigratedOptions) -> tuple[Any, Proxy | None, dict[str, Any]]:
    """The plan, the internet host and the stack's outputs, every problem with the options and files at once."""
    problems: list[str] = []
    if o.stack is None or o.plan is None:
        problems.append(t("--migrated には --stack STACK と --plan plan.json が必要です。",
                          "--migrated needs --stack STACK and --plan plan.json."))
    if o.private_key is not None and not o.private_key.is_file():
        problems.append(t(f"--private-key {o.private_key}: ファイルがありません。",
                          f"--private-key {o.private_key}: no such file."))
    plan, internet, data = None, None, None
    if o.plan is not None:
        try:
            plan = load_model(Plan, o.plan)
        except ProblemsError as exc:
            problems += [p.render() for p in exc.problems]
    try:
        internet = _internet(o.internet_host)
    except InventoryError as exc:
        problems += exc.problems
    try:
        if o.outputs is not None and not o.outputs.is_file():
            problems.append(t(f"{o.outputs}: ファイルがありません。", f"{o.outputs}: no such file."))
        elif o.outputs is not None:
            data = parse_outputs(o.outputs.read_text(encoding="utf-8"), str(o.outputs))
        elif o.stack is not None and not problems:  # reading a stack runs the engine: only for sound options
            data = read_outputs(o.stack)
        if data is not None and o.cloud is not None and plan is not None:
            found = from_cloud(o.cloud, plan=plan, user=o.guest_user)(data)
            data["ansible_inventory"] = found.inventory
            for note in found.left_out:
                err.print(Text(t(f"対象外: {note}", f"left out: {note}"), style="yellow"), soft_wrap=True)
    except InventoryError as exc:
        problems += exc.problems
    if problems or plan is None or data is None:
        raise InventoryError(problems)
    return plan, internet, data


def _prepare(o: MigratedOptions, workdir: Path) -> tuple[Any, Any, Path]:
    """Cases and inventory from the plan and the stack's outputs; InventoryError / MatrixError."""
    plan, internet, data = _inputs(o)
    assert o.stack is not None  # _inputs refuses a missing --stack
    mig = from_outputs(o.stack, data, plan, internet=internet)
    cases = build_cases(mig.matrix, seed=o.seed, bound=o.max_cases)
    key = o.private_key.resolve() if o.private_key else None
    inventory = write_inventory(mig, [c.source_host for c in cases.cases], workdir, key=key)
    return mig, cases, inventory


def print_matrix(cases: CaseSet, path: Path) -> None:
    cov = cases.coverage
    allow = sum(1 for c in cases.cases if c.expect == "allow")
    out.print(t(f"接続ケース {len(cases.cases)} 件（許可 {allow}、拒否 {len(cases.cases) - allow}、上限 {cases.bound}、"
                f"シード {cases.seed}）: {path}",
                f"{len(cases.cases)} connection cases ({allow} allow, {len(cases.cases) - allow} refuse, bound "
                f"{cases.bound}, seed {cases.seed}): {path}"), soft_wrap=True)
    out.print(t(f"計画された連携: {cov.planned_tried} / {cov.planned_links} 件を試行。連携のない組み合わせ: "
                f"{cov.unlinked_tried} / {cov.unlinked_possible} 件を試行。",
                f"planned links: {cov.planned_tried} of {cov.planned_links} tried; pairs with no planned link: "
                f"{cov.unlinked_tried} of {cov.unlinked_possible} tried."))
    table = Table(title=t("連携のない組み合わせ（系の組ごと）", "pairs with no planned link, by layer pair"))
    for col in (t("送信元の系", "source layer"), t("宛先の系", "target layer"), t("試行", "tried"), t("全体", "possible")):
        table.add_column(col)
    for pc in cov.unlinked_by_layer:
        table.add_row(pc.source_layer, pc.target_layer, str(pc.tried), str(pc.possible))
    out.print(table)
    for u in cov.untried:
        out.print(Text(t(f"試さないもの: {u.what}: {u.ja}", f"not tried: {u.what}: {u.en}"), style="yellow"),
                  soft_wrap=True)


def verify_migrated(o: MigratedOptions, junit: Path, html: Path) -> int:
    """`verify --migrated`: 0 when every case behaved as planned, 1 on anything unexpected or not run, 2 bad input."""
    workdir = junit.parent
    try:
        _, cases, inventory = _prepare(o, workdir)
    except InventoryError as exc:
        return _bad(exc.problems)
    except ProblemsError as exc:
        return _bad([p.render() for p in exc.problems])
    except MatrixError as exc:
        return _bad([str(exc)])
    path = workdir / "migrated-cases.json"
    path.write_text(cases.model_dump_json(indent=1), encoding="utf-8")
    print_matrix(cases, path)
    if o.no_run:
        out.print(t(f"--no-run: 実行しません（インベントリ: {inventory}）。", f"--no-run: nothing run (inventory: {inventory})."),
                  soft_wrap=True)
        return 0
    hosts = sorted({c.source_host for c in cases.cases})
    result = run_verify(inventory, hosts=hosts, group=MIGRATED_GROUP, junit=junit, html=html, workers=o.workers,
                        suites=[SUITE_DIR / "test_migrated.py"], extra=["--dist", "loadgroup"],
                        env={CASES_ENV: str(path.resolve())})
    print_hosts(result)
    got = tally(cases, result.cases)
    out.print(t(f"試行 {got.tried} / {got.cases} 件: 計画どおり許可 {got.allowed}、計画どおり拒否 {got.refused}、"
                f"想定外 {len(got.unexpected)}、未実行 {len(got.not_run)}",
                f"tried {got.tried} of {got.cases}: allowed as planned {got.allowed}, refused as planned "
                f"{got.refused}, unexpected {len(got.unexpected)}, not run {len(got.not_run)}"),
              style="green" if got.proven else "red")
    for cid, message in got.unexpected:
        err.print(Text(t(f"想定外: {cid}: {message}", f"UNEXPECTED: {cid}: {message}"), style="red"), soft_wrap=True)
    if got.not_run:
        err.print(Text(t(f"未実行のケースがあります（例: {got.not_run[0]}）。実行されなかったケースは何も証明しません。",
                         f"cases not run (e.g. {got.not_run[0]}): a case not run proves nothing."), style="red"))
    return 0 if got.proven else 1
