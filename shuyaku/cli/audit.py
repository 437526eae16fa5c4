"""`shuyaku audit --live --stack S`: the live cloud checked against the platform's invariants.

Exit status: 0 nothing found (info lines such as application credentials may still be listed), 1 an error or a
warning, 2 bad input (no stack config, a wrong one, the cloud unreachable or the login refused).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from shuyaku.cli.common import LangOpt, err, fail_on_problems
from shuyaku.contracts import i18n
from shuyaku.contracts.i18n import t

app = typer.Typer(add_completion=False)


class Format(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"


def _bad(message: str) -> typer.Exit:
    err.print(message, markup=False, soft_wrap=True)
    return typer.Exit(2)


@app.command("audit")
def audit_cmd(
    live: Annotated[bool, typer.Option("--live", help="稼働中のクラウドを監査する / audit the live cloud")] = False,
    stack: Annotated[str | None, typer.Option("--stack", "-s", help="stacks/Pulumi.<stack>.yaml のスタック名")] = None,
    config_file: Annotated[Path | None, typer.Option(
        "--stack-config", help="スタック設定ファイル（既定: stacks/Pulumi.<stack>.yaml）")] = None,
    root: Annotated[Path, typer.Option("--root", help="リポジトリのルート（Pulumi.yaml のある場所）")] = Path("."),
    cloud: Annotated[str | None, typer.Option(
        "--cloud", help="clouds.yaml のクラウド名（既定: OS_CLOUD / OS_* 環境変数）。管理者の読み取りが必要")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="出力先ファイル（既定: 標準出力）")] = None,
    lang: LangOpt = None,
) -> None:
    """稼働中のクラウドをプラットフォームの不変条件で監査します / audit the live cloud against the platform's invariants
    (exit 0 clean, 1 findings, 2 bad input)."""
    i18n.set_lang(lang)
    from shuyaku.audit import checks, render
    from shuyaku.audit import expect as expmod
    from shuyaku.audit.model import failing
    from shuyaku.audit.run import audit, connect
    from shuyaku.contracts.problems import ProblemsError

    if not live:
        raise _bad(t("--live を指定してください（Pulumi の状態の監査は `shuyaku policy audit` です）",
                     "give --live (auditing Pulumi state is `shuyaku policy audit`)"))
    if not stack:
        raise _bad(t("--stack を指定してください（例: --stack onprem）", "give --stack (e.g. --stack onprem)"))
    try:
        exp = expmod.load(stack, root, config_file)
    except ProblemsError as e:
        fail_on_problems(e)
        raise
    except OSError as e:
        where = e.filename or (config_file or root / "stacks" / f"Pulumi.{stack}.yaml")
        raise _bad(t(f"スタック設定を読めません: {where}（{e.strerror}）。--stack か --stack-config を確認してください",
                     f"cannot read the stack config {where} ({e.strerror}); check --stack or --stack-config")) from None
    try:
        conn = connect(cloud)
    except Exception as e:  # keystoneauth's ConnectFailure is not an SDKException; every failure here is the same advice
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        raise _bad(t(f"クラウドに接続できません（{cloud or 'OS_CLOUD'}）: {first}",
                     f"cannot reach the cloud ({cloud or 'OS_CLOUD'}): {first}")) from None
    try:
        result = audit(exp, conn)
    except Exception as e:
        from keystoneauth1 import exceptions as ksa
        from openstack import exceptions

        if isinstance(e, exceptions.SDKException | ksa.ClientException):
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
            raise _bad(t(f"クラウドを読めません: {first}", f"cannot read the cloud: {first}")) from None
        raise
    code = i18n.lang()
    source = str(config_file or Path("stacks") / f"Pulumi.{stack}.yaml")
    if fmt == Format.sarif:
        text = render.as_sarif(result.findings, code, source, checks.ALL, result.seconds)
    elif fmt == Format.json:
        text = render.as_json(result.findings, code, source, result.seconds)
    else:
        text = render.as_text(result.findings, code, source, result.seconds)
    if output:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as e:
            raise _bad(t(f"書き込めません: {output}: {e.strerror}", f"cannot write {output}: {e.strerror}")) from None
        err.print(render.summary(result.findings, code), markup=False)
    else:
        sys.stdout.write(text)
    raise typer.Exit(1 if failing(result.findings) else 0)
