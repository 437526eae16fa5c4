"""The hand-off's field filtering, the vendor's URLs, and `vendor update`'s manifest: keep the vendor's edits or
refuse naming them (the engine and cloud parts are in tests/integration/test_vendor_bundle.py)."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from shuyaku.cli import app as shuyaku_app
from shuyaku.contracts.problems import tx
from shuyaku.platform import config, mocks, program, synthetic
from shuyaku.vendor import handoff, manifest

WHERE = tx("基盤スタック onprem", "platform stack onprem")
OPERATOR_URL = ("postgres://shuyaku_operator@127.0.0.1:55432/shuyaku_state?table=platform.pulumi_state"
                "&sslmode=verify-full&sslrootcert=/c/tls/ca.crt&passfile=/c/secrets/operator.pgpass&connect_timeout=10")


@cache
def tenants() -> dict:
    _, out = mocks.run(lambda: program.build(config.from_site(synthetic.site(15))))
    return out["tenants"]


def test_publish_keeps_only_the_contracts_fields_and_never_a_secret() -> None:
    value = copy.deepcopy(tenants())
    mine = value["T0003"]
    mine["admin_password"] = "[secret]"  # a secret output, as `pulumi stack output --json` shows it
    mine["internal_note"] = "routers of the platform"  # a field the contract does not know
    chosen, dropped = handoff.select(value, "T0003", WHERE)
    assert dropped == ["admin_password", "internal_note"]
    assert "admin_password" not in chosen and "internal_note" not in chosen
    assert chosen["system_id"] == "T0003" and chosen["network_id"] == mine["network_id"]
    assert set(chosen) <= set(mine)
    assert not [k for k, v in chosen.items() if v == "[secret]"]
    # nothing of another tenant travels
    others = {t["network_id"] for sid, t in value.items() if sid != "T0003"}
    assert not others & {str(v) for v in chosen.values()}


def test_publish_refuses_a_tenant_that_breaks_the_contract_or_is_absent() -> None:
    value = copy.deepcopy(tenants())
    value["T0003"]["network_id"] = "[secret]"  # a contract field made secret cannot be handed on
    with pytest.raises(handoff.HandoffError) as exc:
        handoff.select(value, "T0003", WHERE)
    assert "network_id" in exc.value.text.en and "T0003" in exc.value.text.en
    with pytest.raises(handoff.HandoffError) as absent:
        handoff.select(value, "T9999", WHERE)
    assert "exports no tenant T9999" in absent.value.text.en and "T9999 の出力がありません" in absent.value.text.ja


def test_vendor_names_and_urls_name_its_own_role_and_table_only() -> None:
    assert handoff.vendor_name("juki") == "juki"
    assert handoff.vendor_name("tax-2") == "tax_2"
    upper, lower = handoff.vendor_name("Juki"), handoff.vendor_name("juki")
    assert upper != lower and upper.startswith("juki_")
    assert handoff.reference("S001", "dr") == "organization/shuyaku-handoff/dr-S001"
    url = handoff.vendor_login_url(OPERATOR_URL, "juki", Path("/b/state-db.pgpass"), Path("/b/ca.crt"))
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.username == "shuyaku_vendor_juki" and parts.password is None
    assert query["table"] == ["vendor_juki.pulumi_state"] and query["passfile"] == ["/b/state-db.pgpass"]
    assert query["sslrootcert"] == ["/b/ca.crt"] and query["sslmode"] == ["verify-full"]
    assert "operator" not in url and "platform" not in url
    op = parse_qs(urlsplit(handoff.vendor_table_url(OPERATOR_URL, "juki")).query)
    assert op["table"] == ["vendor_juki.pulumi_state"] and op["passfile"] == ["/c/secrets/operator.pgpass"]


def generated(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    target = tmp_path / "project"
    target.mkdir()
    files = {"__main__.py": "SERVERS = [1]\n", "workload.py": "v1\n", "README.md": "readme v1\n"}
    for name, text in files.items():
        (target / name).write_text(text, encoding="utf-8")
    manifest.write(target, files, {"tenant": "T0003"})
    return target, files


def test_update_replaces_untouched_files_and_keeps_the_vendors_edits(tmp_path: Path) -> None:
    target, files = generated(tmp_path)
    (target / "__main__.py").write_text("SERVERS = [1, 2]  # the vendor's own\n", encoding="utf-8")
    (target / "notes.md").write_text("the vendor's file\n", encoding="utf-8")
    new = {**files, "workload.py": "v2\n", "schema.json": "{}\n"}  # __main__.py's generation is unchanged
    up = manifest.plan(target, manifest.read(target)["files"], new)
    assert up.conflicts == [] and up.kept == ["__main__.py"] and sorted(up.write) == ["schema.json", "workload.py"]
    manifest.apply(target, up, {"tenant": "T0003"})
    assert (target / "workload.py").read_text() == "v2\n" and (target / "schema.json").read_text() == "{}\n"
    assert "the vendor's own" in (target / "__main__.py").read_text()
    assert (target / "notes.md").read_text() == "the vendor's file\n"
    # the kept file is still recorded as the tool's old version, so a later change to it is still caught
    again = manifest.plan(target, manifest.read(target)["files"], {**new, "__main__.py": "SERVERS = [3]\n"})
    assert again.conflicts == ["__main__.py"]


def test_update_refuses_naming_the_vendors_files_it_would_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    target, files = generated(tmp_path)
    (target / "README.md").write_text("my readme\n", encoding="utf-8")
    (target / "workload.py").unlink()  # removed by the vendor
    new = {**files, "README.md": "readme v2\n", "workload.py": "v2\n", "__main__.py": "SERVERS = [9]\n"}
    up = manifest.plan(target, manifest.read(target)["files"], new)
    assert up.conflicts == ["README.md", "workload.py"]
    text = manifest.refusal(target, up.conflicts)
    assert "README.md, workload.py" in text.en and "README.md, workload.py" in text.ja and "Nothing was written" in text.en
    assert (target / "__main__.py").read_text() == "SERVERS = [1]\n"  # plan alone changes nothing


def test_update_of_a_directory_without_a_bundle_is_a_clear_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(shuyaku_app, ["vendor", "update", "--dir", str(tmp_path), "--stack", "onprem", "--lang", "en"])
    assert res.exit_code == 2 and "bundle.json" in res.output and "vendor grant" in res.output
    with pytest.raises(manifest.ManifestError, match="not a project made by shuyaku vendor"):
        manifest.read(tmp_path)


def test_init_without_the_vendors_backend_says_what_to_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)
    site = tmp_path / "site-onprem.json"
    site.write_text(synthetic.site(15).model_dump_json(), encoding="utf-8")
    res = CliRunner().invoke(shuyaku_app, ["vendor", "init", "--platform-stack", "organization/shuyaku-platform/onprem",
                                           "--tenant", "T0003", "--dir", str(tmp_path / "p"), "--site-data", str(site),
                                           "--lang", "en"])
    assert res.exit_code == 2 and "env.sh" in res.output and "PULUMI_BACKEND_URL" in res.output
    assert not (tmp_path / "p").exists()
