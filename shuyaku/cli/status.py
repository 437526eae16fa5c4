"""`shuyaku status --stack S`: drift, rules, migration progress, cost now against the goal, operations; kept in
history; `--since` compares two runs; `--publish DIR` writes the goal sheet (目標管理シート).

Exit status (for a monitor): 0 nothing needs attention; 1 a rule finding, drift (or a stack whose drift could not be
read), a failed verification, or a certificate or credential expiring within --warn-days; 2 bad input (a missing or
wrong stack config, plan, inventory, catalogue, certificate or recorded run, an unknown --since, the cloud
unreachable), with the file, line and field where there is one. See docs/status.md.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from shuyaku.cli.common import LangOpt, err, fail_on_problems
from shuyaku.contracts import i18n
from shuyaku.contracts.i18n import t
from shuyaku.contracts.problems import ProblemsError

app = typer.Typer(add_completion=False)


class Format(StrEnum):
    text = "text"
    json = "json"


def _bad(message: str) -> typer.Exit:
    err.print(message, markup=False, soft_wrap=True)
    return typer.Exit(2)


@dataclass
class Where:
    """Where the run's inputs and history live."""

    stack: str
    root: Path
    config_file: Path | None
    state: Path
    backend: str | None
    history: str | None


def _store(w: Where) -> Any:
    from shuyaku.deploy import backend as backends
    from shuyaku.status import history

    try:
        return history.open_store(w.history, backends.resolve(w.backend, w.state), w.state)
    except ValueError as e:
        raise _bad(t(f"履歴の保存先を使えません: {e}", f"cannot use the history store: {e}")) from None


def _stored_runs(store: Any, stack: str) -> list[Any]:
    from shuyaku.status import history

    try:
        return history.runs(store, stack)
    except ProblemsError as e:
        fail_on_problems(e)
        raise
    except Exception as e:  # sqlite3 / psycopg errors: the store itself is unreadable
        raise _bad(t(f"履歴を読めません（{store.where}）: {type(e).__name__}: {str(e)[:200]}",
                     f"cannot read the history ({store.where}): {type(e).__name__}: {str(e)[:200]}")) from None


def _inputs(w: Where, opts: dict[str, Any]) -> Any:
    from shuyaku.deploy.engine import Stack
    from shuyaku.status.collect import Inputs, load_inputs

    try:
        exp, plan, inv, cat = load_inputs(w.stack, w.root, w.config_file, opts["plan"], opts["inventory"],
                                          opts["catalogue"])
    except ProblemsError as e:
        fail_on_problems(e)
        raise
    except OSError as e:
        where = e.filename or (w.config_file or w.root / "stacks" / f"Pulumi.{w.stack}.yaml")
        raise _bad(t(f"読めません: {where}（{e.strerror}）。--stack / --stack-config を確認してください",
                     f"cannot read {where} ({e.strerror}); check --stack or --stack-config")) from None
    stacks = [] if opts["no_drift"] else [Stack(n, w.state, backend_url=w.backend, config_source=c)
                                          for n, c in [(w.stack, w.config_file), *((d, None) for d in opts["drift_stack"])]]
    for cert in opts["cert"]:
        if not cert.is_file():
            raise _bad(t(f"証明書ファイルがありません: {cert}", f"no such certificate file: {cert}"))
    hosts = opts["vdi_hosts"]
    if hosts is not None and not hosts.is_file():
        raise _bad(t(f"--vdi-hosts: インベントリがありません: {hosts}", f"--vdi-hosts: no such inventory: {hosts}"))
    if hosts is None and (opts["artefacts"] / f"inventory-{w.stack}.yml").is_file():
        hosts = opts["artefacts"] / f"inventory-{w.stack}.yml"  # what provision/verify --stack last used
    return Inputs(stack=w.stack, exp=exp, plan=plan, inventory=inv, catalogue=cat, stacks=stacks, junit=opts["junit"],
                  artefacts=opts["artefacts"], certs=list(opts["cert"]), hosts=hosts, warn_days=opts["warn_days"],
                  period=opts["period"], vendors=None if opts["no_drift"] else _vendor_spaces(opts["vendor_state"], w),
                  vendor_passphrases=opts["vendor_passphrases"])


def _vendor_spaces(given: str | None, w: Any) -> Any:
    """Where the vendors' spaces are: the team database (a postgres URL, by default the state's own), or on the file
    backend the folder given (the parent of the vendors' folders, as `vendor publish --vendor-state` takes it)."""
    from shuyaku.deploy import backend as backends

    if given and "://" not in given:
        if not Path(given).is_dir():
            raise _bad(t(f"--vendor-state: フォルダがありません: {given}", f"--vendor-state: no such folder: {given}"))
        return backends.Backend(f"file://{Path(given).resolve()}")
    team = backends.resolve(given or w.backend, w.state)
    return team if team.kind in ("postgres", "postgresql") else None


def _passphrases(given: list[str], folder: Path | None = None) -> dict[str, Path]:
    """`V=FILE` or `V/project/stack=FILE`: the passphrase a vendor handed over for its own stacks; and from `folder`
    (the credentials systemd hands the monthly unit, `LoadCredential=vendor:DIR`) each file `vendor_<V>` as V's.
    Other files there are other credentials, not ours; a V=FILE given on the command line wins."""
    out: dict[str, Path] = {}
    if folder is not None:
        if not folder.is_dir():
            raise _bad(t(f"--vendor-passphrases: フォルダがありません: {folder}",
                         f"--vendor-passphrases: no such folder: {folder}"))
        out |= {f.name.removeprefix("vendor_"): f for f in sorted(folder.iterdir())
                if re.fullmatch(r"vendor_[a-z0-9_]{1,40}", f.name) and f.is_file()}
    for item in given:
        key, sep, file = item.partition("=")
        if not sep or not re.match(r"^[a-z0-9_]{1,40}(/[^/=]+/[^/=]+)?$", key) or not Path(file).is_file():
            raise _bad(t(f"--vendor-passphrase {key[:60]}=…: ベンダー名（または ベンダー/プロジェクト/スタック）と存在する"
                         "ファイルを V=FILE の形で指定してください",
                         f"--vendor-passphrase {key[:60]}=…: give V=FILE (or V/project/stack=FILE), with an "
                         "existing file holding that vendor's passphrase"))
        out[key] = Path(file)
    return out


def _measure(inputs: Any, cloud: str | None) -> Any:
    import shutil
    import tempfile

    from shuyaku.audit.run import connect
    from shuyaku.provision.inventory import InventoryError
    from shuyaku.status.collect import measure

    try:
        conn = connect(cloud)
    except Exception as e:  # every failure to log in is the same advice
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        raise _bad(t(f"クラウドに接続できません（{cloud or 'OS_CLOUD'}）: {first}",
                     f"cannot reach the cloud ({cloud or 'OS_CLOUD'}): {first}")) from None
    inputs.work = Path(tempfile.mkdtemp(prefix="shuyaku-status-"))  # vendor stacks' project files, removed after
    try:
        return measure(inputs, conn)
    except ValueError as e:  # a certificate that is not one
        raise _bad(str(e)) from None
    except InventoryError as e:  # --vdi-hosts that Ansible cannot read
        raise _bad("\n".join(e.problems)) from None
    finally:
        shutil.rmtree(inputs.work, ignore_errors=True)


def _since(store: Any, stack: str, spec: str, runs: list[Any]) -> Any:
    from shuyaku.status.compare import SinceError, find_since

    try:
        return find_since(store, stack, spec, runs)
    except ProblemsError as e:
        fail_on_problems(e)
        raise
    except SinceError:
        known = ", ".join(r.id for r in runs[-5:]) or t("なし", "none")
        raise _bad(t(f"--since {spec}: 該当する記録がありません（日付 YYYY-MM-DD、月 YYYY-MM、記録 ID、または記録の JSON "
                     f"ファイル）。最近の記録: {known}",
                     f"--since {spec}: no recorded run matches (a date YYYY-MM-DD, a month YYYY-MM, a run id or a "
                     f"run's JSON file). Recent runs: {known}")) from None


def _emit(run: Any, comparison: Any, fmt: Format, output: Path | None, html: Path | None) -> None:
    from shuyaku.status import render

    lang = i18n.lang()
    text = render.as_json(run, comparison) if fmt == Format.json else render.as_text(run, lang, comparison)
    try:
        if output:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        if html:
            for language in ("ja", "en"):
                render.write_html(run, html, language, comparison)
    except OSError as e:
        raise _bad(t(f"書き込めません: {e.filename}: {e.strerror}", f"cannot write {e.filename}: {e.strerror}")) from None


def _publish(run: Any, runs: list[Any], out_dir: Path, pdf: bool) -> None:
    from shuyaku.report.pdf import PdfError
    from shuyaku.status.sheet import publish

    try:
        written = publish(run, runs, out_dir, pdf=pdf)
    except PdfError as e:
        raise _bad(t(e.ja, e.en)) from None
    except OSError as e:
        raise _bad(t(f"書き込めません: {e.filename}: {e.strerror}", f"cannot write {e.filename}: {e.strerror}")) from None
    err.print(t(f"目標管理シート: {written[1]}（英語版 {written[2]}、データ {written[0]}）",
                f"goal sheet: {written[2]} (Japanese {written[1]}, data {written[0]})"), markup=False, soft_wrap=True)


PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
Opt = typer.Option


@app.command("status")
def status_cmd(
    stack: Annotated[str, Opt("--stack", "-s", help="stacks/Pulumi.<stack>.yaml のスタック名")],
    config_file: Annotated[Path | None, Opt("--stack-config", help="スタック設定（既定: stacks/Pulumi.<stack>.yaml）")] = None,
    root: Annotated[Path, Opt("--root", help="リポジトリのルート")] = Path("."),
    cloud: Annotated[str | None, Opt("--cloud", help="clouds.yaml のクラウド名（管理者の読み取り）")] = None,
    plan: Annotated[Path | None, Opt("--plan", help="plan.json（既定: サイトデータの隣）")] = None,
    inventory: Annotated[Path | None, Opt("--inventory", help="台帳（既定: スタック設定の shuyaku:inventory）")] = None,
    catalogue: Annotated[Path | None, Opt("--catalogue", help="費用カタログ（既定: 台帳が指すもの）")] = None,
    state: Annotated[Path | None, Opt("--state", help="Pulumi の状態ディレクトリ（deploy と同じ）")] = None,
    backend: Annotated[str | None, Opt("--backend", help="状態の URL（既定: PULUMI_BACKEND_URL）")] = None,
    drift_stack: Annotated[list[str] | None, Opt("--drift-stack", help="ドリフトを見る他のスタック（例: dr）")] = None,
    no_drift: Annotated[bool, Opt("--no-drift", help="ドリフトとパックを確認しない")] = False,
    junit: Annotated[Path | None, Opt("--junit", help="最新の verify の JUnit XML")] = Path("out/verify/junit.xml"),
    artefacts: Annotated[Path | None, Opt("--artefacts", help="patch の成果物ディレクトリ")] = None,
    cert: Annotated[list[Path] | None, Opt("--cert", help="期限を見る PEM 証明書（複数可、ホストから読む代わり）")] = None,
    vdi_hosts: Annotated[Path | None, Opt("--vdi-hosts", help="VDI ホストの証明書を読む Ansible インベントリ（verify と同じ。"
                                                           "既定: 成果物の inventory-<stack>.yml）")] = None,
    vendor_state: Annotated[str | None, Opt("--vendor-state", help="ベンダーの状態があるチームの PostgreSQL の URL"
                                                                "（既定: 状態の URL が PostgreSQL ならそれ）、またはファイル方式"
                                                                "のベンダー領域の親フォルダ")] = None,
    vendor_passphrase: Annotated[list[str] | None, Opt("--vendor-passphrase", help="ベンダーのスタックのパスフレーズ "
                                                                                "V=FILE（複数可）")] = None,
    vendor_passphrases: Annotated[Path | None, Opt("--vendor-passphrases", help=(
        "ベンダーごとのパスフレーズのフォルダ（ファイル名 vendor_<V>。LoadCredential=vendor:DIR の資格情報）"))] = None,
    warn_days: Annotated[int, Opt("--warn-days", min=0, help="期限切れ間近とみなす日数")] = 30,
    period: Annotated[str | None, Opt("--period", help="この記録の対象月 YYYY-MM（既定: 今月）")] = None,
    history_opt: Annotated[str | None, Opt("--history", help="履歴の SQLite ファイル（既定: 状態の隣、"
                                                           "PostgreSQL の状態なら同じデータベース）")] = None,
    show: Annotated[str | None, Opt("--show", help="計測せず記録を表示（記録 ID か latest）")] = None,
    no_record: Annotated[bool, Opt("--no-record", help="履歴に残さない")] = False,
    since: Annotated[str | None, Opt("--since", help="比較する記録: 日付・月・記録 ID・JSON ファイル")] = None,
    fmt: Annotated[Format, Opt("--format", "-f")] = Format.text,
    output: Annotated[Path | None, Opt("--output", "-o", help="出力先ファイル")] = None,
    html: Annotated[Path | None, Opt("--html", help="HTML を書き出すディレクトリ")] = None,
    publish: Annotated[Path | None, Opt("--publish", help="目標管理シートを書き出すディレクトリ")] = None,
    pdf: Annotated[bool, Opt("--pdf", help="目標管理シートを PDF にも（Chromium）")] = False,
    lang: LangOpt = None,
) -> None:
    """基盤の状況（ドリフト・ルール・移行の進捗・費用・運用）/ drift, rules, progress, cost against the goal,
    operations (exit 0 ok, 1 needs attention, 2 bad input)."""
    i18n.set_lang(lang)
    from shuyaku.deploy.engine import cache_dir

    if period is not None and not PERIOD.match(period):
        raise _bad(t(f"--period は YYYY-MM で指定してください（{period[:20]}）", f"--period takes YYYY-MM (got {period[:20]})"))
    if pdf and publish is None:
        raise _bad(t("--pdf は --publish と一緒に指定してください", "--pdf goes with --publish"))
    handed = _passphrases(vendor_passphrase or [], vendor_passphrases)  # named before anything is read
    w = Where(stack, root, config_file, state or cache_dir() / "state", backend, history_opt)
    store = _store(w)
    runs = _stored_runs(store, stack)
    if show is not None:
        run = _pick(runs, show)
    else:
        from shuyaku.provision.runner import artifacts_root

        opts = {"plan": plan, "inventory": inventory, "catalogue": catalogue, "no_drift": no_drift,
                "drift_stack": drift_stack or [], "junit": junit, "artefacts": artefacts or artifacts_root(),
                "cert": cert or [], "warn_days": warn_days, "period": period, "vdi_hosts": vdi_hosts,
                "vendor_passphrases": handed, "vendor_state": vendor_state}
        run = _measure(_inputs(w, opts), cloud)
        if not no_record:
            _record(store, run)
    comparison = None
    if since is not None:
        from shuyaku.status.compare import compare

        comparison = compare(_since(store, stack, since, [r for r in runs if r.id != run.id]), run)
    _emit(run, comparison, fmt, output, html)
    if publish is not None:
        _publish(run, runs, publish, pdf)
    raise typer.Exit(run.exit_code)


def _pick(runs: list[Any], show: str) -> Any:
    chosen = runs[-1:] if show == "latest" else [r for r in runs if r.id == show]
    if not chosen:
        raise _bad(t(f"--show {show}: 記録がありません（記録 {len(runs)} 件）",
                     f"--show {show}: no such run ({len(runs)} recorded)"))
    return chosen[0]


def _record(store: Any, run: Any) -> None:
    try:
        store.save(run)
    except Exception as e:  # the status itself is measured; losing its record is a warning, not a failure
        err.print(t(f"警告: 履歴に残せませんでした（{store.where}）: {type(e).__name__}: {str(e)[:200]}",
                    f"warning: the run was not recorded ({store.where}): {type(e).__name__}: {str(e)[:200]}"),
                  markup=False, soft_wrap=True)
        return
    err.print(t(f"記録しました: {run.id}（{store.where}）", f"recorded {run.id} ({store.where})"), markup=False,
              soft_wrap=True)
