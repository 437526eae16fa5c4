"""`shuyaku provision` and `shuyaku patch`: converge hosts with the roles and say what happened."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from shuyaku.contracts.checked import load_model
from shuyaku.contracts.i18n import set_lang, t
from shuyaku.contracts.plan import Plan
from shuyaku.contracts.problems import ProblemsError
from shuyaku.contracts.source import clip
from shuyaku.provision.guests import from_cloud
from shuyaku.provision.hostvars import USER_RE as HOST_USER_RE
from shuyaku.provision.inventory import InventoryError, ResolvedInventory, resolve
from shuyaku.provision.operator_vars import load_vars
from shuyaku.provision.runner import artifacts_root, playbook_path, report, run_playbook

app = typer.Typer()
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

InventoryOpt = Annotated[Path | None, typer.Option("--inventory", "-i", help="Ansible hosts file (YAML/INI)")]
StackOpt = Annotated[str | None, typer.Option("--stack", "-s", help="Pulumi stack whose ansible_inventory to use")]
LimitOpt = Annotated[str | None, typer.Option("--limit", "-l", help="Ansible host pattern")]
LangOpt = Annotated[str | None, typer.Option("--lang", help="ja (既定) / en")]
ArtifactsOpt = Annotated[Path | None, typer.Option("--artifacts", help="directory for ansible-runner artifacts")]


CloudOpt = Annotated[str | None, typer.Option("--cloud", help="clouds.yaml の名前: テナントのサーバと共通サービスのポート上の"
                                              "サーバを加える / add the tenants' servers and those on the service "
                                              "ports, found with this cloud's admin credentials (needs --stack)")]
PlanOpt = Annotated[Path | None, typer.Option("--plan", help="plan.json: the migrated servers' host firewall admits "
                                              "their planned links (with --cloud)")]
VarsOpt = Annotated[Path | None, typer.Option("--vars", help="運用者の変数 (YAML) / the operator's variables, e.g. "
                                              "baseline_log_ca_cert, ansible_ssh_private_key_file (with --stack)")]
GuestUserOpt = Annotated[str, typer.Option("--guest-user", help="login on the servers found with --cloud")]


@dataclass
class StackExtras:
    cloud: str | None = None
    plan: Path | None = None
    vars: Path | None = None
    guest_user: str = "ansible"


def _extras(stack: str | None, extras: StackExtras) -> dict[str, Any]:
    """resolve()'s keyword arguments for --cloud/--plan/--vars; every problem with them at once (exit 2)."""
    problems: list[str] = []
    kwargs: dict[str, Any] = {}
    if stack is None and (extras.cloud or extras.vars or extras.plan):
        problems.append(t("--cloud、--plan、--vars は --stack と一緒に使います。",
                          "--cloud, --plan and --vars go with --stack."))
    if extras.plan is not None and extras.cloud is None:
        problems.append(t("--plan は --cloud と一緒に使います（見つけたサーバの許可する連携）。",
                          "--plan goes with --cloud (the planned links the servers found admit)."))
    plan = None
    try:
        plan = load_model(Plan, extras.plan) if extras.plan is not None else None
    except ProblemsError as exc:
        problems += [p.render() for p in exc.problems]
    try:
        kwargs["operator_vars"] = load_vars(extras.vars) if extras.vars is not None else None
    except ProblemsError as exc:
        problems += [p.render() for p in exc.problems]
    if not HOST_USER_RE.match(extras.guest_user):
        problems.append(t(f"--guest-user {clip(extras.guest_user)}: アカウント名は英小文字・数字・_・- です。",
                          f"--guest-user {clip(extras.guest_user)}: an account name is lower-case letters, digits, "
                          "_ and -."))
    if problems:
        raise InventoryError(problems)
    if extras.cloud is not None:
        kwargs["guests"] = from_cloud(extras.cloud, plan=plan, user=extras.guest_user)
    return kwargs


def stack_inventory(inventory: Path | None, stack: str | None, workdir: Path,
               extras: StackExtras | None = None) -> ResolvedInventory:
    try:
        inv = resolve(inventory, stack, workdir, **_extras(stack, extras or StackExtras()))
    except InventoryError as exc:
        for p in exc.problems:
            err.print(Text(p, style="red"), soft_wrap=True)
        raise typer.Exit(2) from None
    for note in inv.notes:
        err.print(Text(t(f"対象外: {note}", f"left out: {note}"), style="yellow"), soft_wrap=True)
    return inv


def _addresses(inv: ResolvedInventory) -> dict[str, str]:
    return {h: str(v.get("ansible_host", h)) for h, v in inv.hostvars.items()}


@app.command("provision")
def provision_cmd(
    inventory: InventoryOpt = None,
    stack: StackOpt = None,
    limit: LimitOpt = None,
    check: Annotated[bool, typer.Option("--check", help="変更せず差分だけ表示 / dry run")] = False,
    playbook: Annotated[str, typer.Option("--playbook", "-p", help="site | baseline | vdi_host | ... | path")] = "site",
    artifacts: ArtifactsOpt = None,
    cloud: CloudOpt = None,
    plan: PlanOpt = None,
    vars_file: VarsOpt = None,
    guest_user: GuestUserOpt = "ansible",
    lang: LangOpt = None,
) -> None:
    """ホストを Ansible で構成します / converge hosts with the Ansible roles (exit 0 ok, 1 failed, 2 bad input)."""
    set_lang(lang)
    book = playbook_path(playbook)
    if not book.is_file():
        err.print(t(f"プレイブック {book} がありません。site、baseline、patch などを指定してください。",
                    f"playbook {book} not found; use site, baseline, patch or a path."), style="red")
        raise typer.Exit(2)
    root = artifacts or artifacts_root()
    inv = stack_inventory(inventory, stack, root, StackExtras(cloud, plan, vars_file, guest_user))
    out.print(t(f"{book.name} を {len(inv.hosts)} 台に適用します（インベントリ {inv.path}）"
                + ("、チェックモード" if check else ""),
                f"applying {book.name} to {len(inv.hosts)} host(s) (inventory {inv.path})"
                + (", check mode" if check else "")))
    result = run_playbook(book, inv.path, limit=limit, check=check, artifacts_dir=root, console=out,
                          addresses=_addresses(inv))
    raise typer.Exit(report(result, out, err))


@app.command("patch")
def patch_cmd(
    inventory: InventoryOpt = None,
    stack: StackOpt = None,
    limit: LimitOpt = None,
    batch: Annotated[int, typer.Option("--batch", "-b", min=1, help="hosts per batch (serial)")] = 1,
    artifacts: ArtifactsOpt = None,
    lang: LangOpt = None,
) -> None:
    """パッチを順次適用し、ホストごとの変更を報告します / rolling patch in batches with a per-host report."""
    set_lang(lang)
    root = artifacts or artifacts_root()
    inv = stack_inventory(inventory, stack, root)
    from datetime import UTC, datetime

    # The role writes one JSON per host on the controller; keep them with this run's artifacts.
    report_dir = root / f"patch-reports-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}"
    result = run_playbook(playbook_path("patch"), inv.path, limit=limit, artifacts_dir=root, console=out,
                          extravars={"patch_batch": batch, "patching_report_dir": str(report_dir)},
                          addresses=_addresses(inv))
    reports = load_reports(report_dir)
    out.print(t(f"バッチ: {' → '.join('[' + ', '.join(b) + ']' for b in result.batches)}",
                f"batches: {' → '.join('[' + ', '.join(b) + ']' for b in result.batches)}"))
    out.print(patch_table(reports))
    raise typer.Exit(report(result, out, err))


def load_reports(directory: Path) -> list[dict]:
    if not directory.is_dir():
        return []
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.json"))]


def patch_table(reports: list[dict]) -> Table:
    table = Table(title=t("パッチ適用の報告", "Patch report"))
    table.add_column(t("ホスト", "host"))
    table.add_column(t("更新したパッケージ", "packages changed"))
    table.add_column(t("再起動", "reboot"))
    table.add_column(t("ヘルスチェック", "health"))
    for r in reports:
        changes = r.get("changes") or []
        text = "\n".join(f"{c['package']} {c['from'] or '-'} → {c['to'] or '-'}" for c in changes) or t("なし", "none")
        if r.get("rebooted"):
            reboot = t("実施", "done")
        elif r.get("reboot_required"):
            reboot = t("必要（未実施）", "required (not done)")
        else:
            reboot = t("不要", "not needed")
        table.add_row(str(r.get("host")), text, reboot, str(r.get("health")))
    return table
