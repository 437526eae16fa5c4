"""`shuyaku vendor init|publish|grant|revoke|update`: vendors get their own tenant and nothing else.

- `init` writes a vendor's Pulumi project whose StackReference reads the tenant's hand-off (checked up front).
- `publish` (the operator) writes one tenant's hand-off into the vendor's own state space.
- `grant` creates the vendor's logins (Keystone application credential, database role), publishes and writes
  the bundle; `revoke` removes the logins; `update` re-publishes and regenerates a bundle's project.

Exit status: 0 done, 2 bad input or a refusal (unknown tenant, non-empty directory, missing hand-off, files the
vendor changed), 1 a failure of the engine, the cloud or the database. No secret is printed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from shuyaku.contracts.i18n import set_lang, t
from shuyaku.contracts.problems import ProblemsError
from shuyaku.vendor import bundle, handoff, keystone, manifest
from shuyaku.vendor.project import FILES, InitError, StackRef, find_site_data, init, render

__all__ = ["FILES", "InitError", "StackRef", "app", "find_site_data", "init", "render"]

app = typer.Typer(help="ベンダー向けプロジェクト / vendor projects", no_args_is_help=True)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

LangOpt = Annotated[str | None, typer.Option("--lang", help="ja (既定) / en")]
StackOpt = Annotated[str, typer.Option("--stack", help="基盤スタック名 / the platform stack, e.g. onprem")]
TenantOpt = Annotated[str, typer.Option("--tenant", help="システムID / system id, e.g. S001")]
StateOpt = Annotated[Path | None, typer.Option("--state", help="基盤のファイル方式の状態 / the platform's file backend")]
BackendOpt = Annotated[str | None, typer.Option(
    "--backend", help="基盤の状態の URL（既定: PULUMI_BACKEND_URL、なければ --state）/ the platform's backend URL")]
VendorStateOpt = Annotated[Path | None, typer.Option(
    "--vendor-state", help="ファイル方式: ベンダーごとの状態フォルダの親 / file backend: parent of the vendors' folders")]
SiteDataOpt = Annotated[Path | None, typer.Option("--site-data", help="site-*.json（省略時は基盤スタックの設定から）")]


def say(ja: str, en: str) -> None:
    out.print(t(ja, en), markup=False, soft_wrap=True)


@contextmanager
def refusals() -> Iterator[None]:
    """Every known refusal as a plain bilingual message and exit 2; a failure of the engine or cloud, exit 1."""
    from shuyaku.deploy.engine import EngineError

    try:
        yield
    except (InitError, handoff.HandoffError, manifest.ManifestError, bundle.BundleError,
            keystone.KeystoneError) as exc:
        err.print(f"{t('エラー', 'error')}: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except ProblemsError as exc:
        for p in exc.problems:
            err.print(p.render(), markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except EngineError as exc:
        err.print(f"{t('エラー', 'error')}: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _checker(backend: str | None) -> Callable[[str, str], Any]:
    """The hand-off as the project will read it: the given backend (else PULUMI_BACKEND_URL) and the passphrase
    of the environment (PULUMI_CONFIG_PASSPHRASE_FILE or PULUMI_CONFIG_PASSPHRASE). Called once the tenant is
    known, so a wrong tenant or site data is reported first."""

    def check(system_id: str, site: str) -> Any:
        from shuyaku.deploy.engine import cache_dir, engine_bin, engine_env

        url = backend or os.environ.get("PULUMI_BACKEND_URL")
        phrase_file = os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
        if not url or not (phrase_file or os.environ.get("PULUMI_CONFIG_PASSPHRASE")):
            raise InitError(t(
                "引き渡しを確認するため、ベンダーの状態バックエンド（--backend または PULUMI_BACKEND_URL）と"
                "パスフレーズ（PULUMI_CONFIG_PASSPHRASE_FILE）が必要です。バンドルの env.sh を読み込んでください",
                "checking the hand-off needs the vendor's backend (--backend or PULUMI_BACKEND_URL) and passphrase "
                "(PULUMI_CONFIG_PASSPHRASE_FILE): source the bundle's env.sh"))
        env = {"PULUMI_HOME": engine_env(cache_dir() / "state")["PULUMI_HOME"]}
        with tempfile.TemporaryDirectory(prefix="shuyaku-check-") as tmp:
            phrase = Path(phrase_file) if phrase_file else bundle.write_private(
                Path(tmp) / "passphrase", os.environ["PULUMI_CONFIG_PASSPHRASE"])
            space = handoff.Space(url, phrase, engine_bin().parent, env, os.environ.get("PGPASSWORD"))
            return handoff.read(space, system_id, site)

    return check


@app.command("init")
def init_cmd(
    platform_stack: Annotated[str, typer.Option("--platform-stack", help="基盤スタック ORG/PROJECT/STACK")],
    tenant: TenantOpt,
    directory: Annotated[Path, typer.Option("--dir", help="作成するディレクトリ（空であること）/ new directory")],
    site_data: SiteDataOpt = None,
    backend: Annotated[str | None, typer.Option(
        "--backend", help="引き渡しのある、ベンダーの状態 URL（既定: PULUMI_BACKEND_URL）/ the vendor's backend")] = None,
    check: Annotated[bool, typer.Option(
        "--check/--no-check", help="引き渡しスタックを先に確認する（既定）/ check the hand-off first (default)")] = True,
    lang: LangOpt = None,
) -> None:
    """ベンダー向け Pulumi プロジェクトを生成します / write a vendor's Pulumi project for one tenant."""
    set_lang(lang)
    with refusals():
        checker = _checker(backend) if check else None
        if not check:
            err.print(t("警告: 引き渡しスタックを確認せずに生成します（--no-check）",
                        "warning: writing the project without checking its hand-off (--no-check)"), markup=False)
        written = init(platform_stack, tenant, directory, site_data, check=checker)
    say(f"{directory} に {tenant} 用のプロジェクトを作成しました（{len(written)} ファイル）。"
        "README.md の手順でデプロイしてください。",
        f"wrote a project for {tenant} in {directory} ({len(written)} files); README.md says how to deploy.")


def _operator(stack: str, state: Path | None, backend: str | None, vendor_state: Path | None) -> Any:
    from shuyaku.cli.vendor_ops import Operator

    return Operator(stack, state, backend, vendor_state)


@app.command("publish")
def publish_cmd(stack: StackOpt, tenant: TenantOpt, state: StateOpt = None, backend: BackendOpt = None,
                vendor_state: VendorStateOpt = None, lang: LangOpt = None) -> None:
    """テナントの引き渡しをベンダーの状態領域に公開します / publish one tenant's hand-off into the vendor's space."""
    from shuyaku.cli import vendor_ops

    set_lang(lang)
    with refusals():
        chosen, dropped, space = vendor_ops.publish(_operator(stack, state, backend, vendor_state), tenant)
    where = handoff.display(space)
    say(f"引き渡しスタック {handoff.reference(tenant, chosen['site'])} を {where} に公開しました（{len(chosen)} 項目）。",
        f"published hand-off stack {handoff.reference(tenant, chosen['site'])} to {where} ({len(chosen)} fields).")
    if dropped:
        say(f"契約外または秘密のため除いた項目: {', '.join(dropped)}",
            f"left out (not in the contract, or secret): {', '.join(dropped)}")


@app.command("grant")
def grant_cmd(stack: StackOpt, tenant: TenantOpt,
              directory: Annotated[Path, typer.Option("--out", help="バンドルを作る新しいディレクトリ / new bundle dir")],
              expires_days: Annotated[int, typer.Option("--expires-days", min=1, max=366,
                                                        help="認証情報の有効日数 / credential lifetime (days)")] = 90,
              state: StateOpt = None, backend: BackendOpt = None, vendor_state: VendorStateOpt = None,
              site_data: SiteDataOpt = None, lang: LangOpt = None) -> None:
    """ベンダーに認証情報とバンドルを渡します / give a vendor its credential, database role and bundle."""
    from shuyaku.cli import vendor_ops

    set_lang(lang)
    with refusals():
        info = vendor_ops.grant(_operator(stack, state, backend, vendor_state), tenant, directory, expires_days,
                                site_data)
    say(f"{directory} にテナント {tenant} のバンドルを作成しました（認証情報の期限 {info['expires_at']}、"
        f"引き渡し {info['handoff_stack']}）。安全な経路でベンダーに渡してください。",
        f"wrote the bundle for tenant {tenant} in {directory} (credential expires {info['expires_at']}, hand-off "
        f"{info['handoff_stack']}); hand it to the vendor over a secure channel.")


@app.command("revoke")
def revoke_cmd(tenant: TenantOpt,
               site: Annotated[str, typer.Option("--site", help="onprem（既定）/ dr")] = "onprem",
               stack: Annotated[str, typer.Option("--stack", help="基盤スタック名 / platform stack")] = "onprem",
               state: StateOpt = None, backend: BackendOpt = None, lang: LangOpt = None) -> None:
    """ベンダーの認証情報とデータベースロールを削除します / remove a vendor's credential, user and database role."""
    from shuyaku.cli import vendor_ops

    set_lang(lang)
    with refusals():
        creds, dropped = vendor_ops.revoke(_operator(stack, state, backend, None), tenant, site)
    db = t("、データベースロールも削除（状態は残します）", "; database role removed (its state is kept)") if dropped else ""
    say(f"テナント {tenant} のベンダー利用者とアプリケーション認証情報 {creds} 件を削除しました{db}。",
        f"removed tenant {tenant}'s vendor user and {creds} application credential(s){db}.")


@app.command("update")
def update_cmd(directory: Annotated[Path, typer.Option("--dir", help="grant で作ったバンドル / the bundle")],
               stack: StackOpt, state: StateOpt = None, backend: BackendOpt = None,
               vendor_state: VendorStateOpt = None, site_data: SiteDataOpt = None, lang: LangOpt = None) -> None:
    """引き渡しを公開し直し、プロジェクトを更新します / re-publish the hand-off and regenerate the project."""
    from shuyaku.cli import vendor_ops

    set_lang(lang)
    with refusals():
        up = vendor_ops.update(_operator(stack, state, backend, vendor_state), directory, site_data)
    say(f"更新: {len(up.write)} ファイル、変更なし: {len(up.unchanged)}、ベンダーの変更を保持: "
        f"{', '.join(up.kept) or 'なし'}",
        f"updated {len(up.write)} file(s), {len(up.unchanged)} unchanged, kept the vendor's: {', '.join(up.kept) or 'none'}")
