"""The servers `provision/verify --cloud` add: host keys read from a console log, the host firewall's flows from the
plan, the baseline settings the platform's outputs decide, and the operator's own variables file.
(The collection itself, through the real API, runs in tests/integration/test_migrated_wave.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from shuyaku.cli.main import app
from shuyaku.contracts.plan import LinkPlan
from shuyaku.contracts.problems import ProblemsError
from shuyaku.provision.guests import allowed_flows, console_host_keys, platform_vars
from shuyaku.provision.operator_vars import load_vars


def a_key(tmp_path: Path, name: str = "k") -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / name)], check=True)
    return " ".join((tmp_path / f"{name}.pub").read_text().split()[:2])


def block(*lines: str) -> str:
    return "\n".join(["-----BEGIN SSH HOST KEY KEYS-----", *lines, "-----END SSH HOST KEY KEYS-----"])


def test_host_keys_come_from_the_last_block_on_the_console(tmp_path: Path) -> None:
    old, new = a_key(tmp_path, "old"), a_key(tmp_path, "new")
    console = "\n".join(["[    2.1] Booting", block(old), "login:", "[    1.0] reboot", block(f"{new} root@guest"), "ok"])
    assert console_host_keys(console) == [new]  # the latest boot's key; the comment is not part of it


def test_no_block_or_no_real_key_gives_nothing(tmp_path: Path) -> None:
    key = a_key(tmp_path)
    assert console_host_keys(f"shuyaku: host key {key}\n") == []  # outside the block: not trusted
    forged = key.split()[0] + " " + "QUFBQQ=="  # base64, but not an ed25519 key blob
    assert console_host_keys(block(forged, "ssh-rsa not-base64!")) == []
    assert console_host_keys("") == []


def link(source: str, target: str, port: int, path: str) -> LinkPlan:
    return LinkPlan(source=source, target=target, protocol="tcp", port=port, source_layer="lgwan",
                    target_layer="lgwan", path=path)


OUTPUTS = {
    "tenants": {"atena": {"cidr": "10.20.1.0/24"}, "zeimu": {"cidr": "10.20.2.0/24"}},
    "shared_services": {"hub": {"cidr": "10.50.0.32/28", "ips": ["10.50.0.33"]},
                        "bastion": {"cidr": "10.50.0.0/28", "ips": ["10.50.0.1"]},
                        "ntp": {"cidr": "10.50.0.16/28", "ips": ["10.50.0.17", "10.50.0.18"]},
                        "patch_mirror": {"cidr": "10.50.0.48/28", "ips": ["10.50.0.49"]},
                        "logs": {"cidr": "10.50.0.64/28", "ips": ["10.50.0.65"]}},
}


def test_the_host_firewall_admits_the_planned_links_from_where_they_come() -> None:
    plan = SimpleNamespace(links=[link("zeimu", "atena", 5432, "direct"), link("hub-user", "atena", 443, "hub"),
                                  link("x", "atena", 3389, "screen"), link("atena", "zeimu", 80, "direct"),
                                  link("y", "atena", 21, "forbidden")])
    flows = allowed_flows(plan, OUTPUTS, "atena")  # type: ignore[arg-type]
    assert [(f["port"], f["from"]) for f in flows] == [(443, "10.50.0.32/28"), (5432, "10.20.2.0/24")]
    assert allowed_flows(None, OUTPUTS, "atena") == []


def test_the_platform_decides_ssh_time_patches_and_logs() -> None:
    assert platform_vars(OUTPUTS) == {
        "baseline_mgmt_cidrs": ["10.50.0.0/28"], "baseline_ntp_servers": ["10.50.0.17", "10.50.0.18"],
        "baseline_patch_mirror_url": "http://10.50.0.49/debian", "baseline_log_host": "10.50.0.65"}
    assert platform_vars({}) == {}


def test_the_operators_vars_file_is_checked_with_every_problem_at_its_line(tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text("baseline_log_ca_cert: |\n  -----BEGIN CERTIFICATE-----\nansible_ssh_private_key_file: /k\n")
    assert set(load_vars(good)) == {"baseline_log_ca_cert", "ansible_ssh_private_key_file"}
    bad = tmp_path / "bad.yml"
    bad.write_text("baseline_ssh_port: twenty-two\nbaseline_log_port: 6514\nansible_ssh_common_args: -oProxyCommand=x\n"
                   "Bad-Name: 1\n")
    with pytest.raises(ProblemsError) as exc:
        load_vars(bad)
    where = {(p.line, p.field) for p in exc.value.problems}
    assert where == {(1, "baseline_ssh_port"), (3, "ansible_ssh_common_args"), (4, "Bad-Name")}
    assert all(p.file == str(bad) for p in exc.value.problems)
    (tmp_path / "list.yml").write_text("- a\n")
    with pytest.raises(ProblemsError):
        load_vars(tmp_path / "list.yml")


def test_cli_names_every_bad_option_and_file_at_once(tmp_path: Path) -> None:
    bad = tmp_path / "vars.yml"
    bad.write_text("baseline_ssh_port: no\n")
    r = CliRunner().invoke(app, ["provision", "--stack", "onprem", "--plan", str(tmp_path / "missing.json"), "--vars",
                                 str(bad), "--guest-user", "Root;x", "--lang", "en"])
    assert r.exit_code == 2, r.output
    text = " ".join(r.output.split())
    assert "--plan goes with --cloud" in text and "missing.json" in text
    assert "baseline_ssh_port" in text and "--guest-user 'Root;x'" in text
    r = CliRunner().invoke(app, ["provision", "--inventory", str(bad), "--cloud", "dev-admin", "--lang", "en"])
    assert r.exit_code == 2 and "go with --stack" in " ".join(r.output.split())


def test_a_vendor_cannot_name_its_server_after_a_platform_host() -> None:
    from shuyaku.provision.guests import _name

    taken = {"onprem-bastion-01"}
    assert _name(SimpleNamespace(name="onprem-bastion-01", id="0123456789ab"), "atena", taken) == "atena-01234567"
    assert _name(SimpleNamespace(name="x; rm -rf /", id="fedcba987654"), "atena", taken) == "atena-fedcba98"
    assert _name(SimpleNamespace(name="atena-db-1", id="fedcba987654"), "atena", taken) == "atena-db-1"
