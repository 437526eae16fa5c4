"""Hostile stack outputs: only allow-listed host variables reach the Ansible inventory, and ssh trusts only the
host keys the outputs publish."""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest
from test_provision_inventory import ECDSA, ED25519, KEYS

from shuyaku.contracts.i18n import set_lang
from shuyaku.provision.hostvars import parse_host_key
from shuyaku.provision.inventory import InventoryError, outputs_to_inventory, resolve


@pytest.fixture(autouse=True)
def english():
    set_lang("en")
    yield
    set_lang(None)


def problems_for(hvars: dict, host: str = "vdi-1") -> list[str]:
    with pytest.raises(InventoryError) as exc:
        outputs_to_inventory({"vdi_hosts": {host: {"ansible_host": "198.18.4.21", **KEYS, **hvars}}})
    return exc.value.problems


def pulumi_returning(payload: dict):
    def run(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 0, stdout=json.dumps(payload), stderr="")
    return run


@pytest.mark.parametrize("name, value", [
    ("ansible_ssh_common_args", "-o ProxyCommand='touch /tmp/pwned'"),
    ("ansible_ssh_extra_args", "-o ProxyCommand=sh -c 'id'"),
    ("ansible_connection", "local"),
    ("ansible_python_interpreter", "/bin/sh -c 'id' #"),
    ("ansible_become_exe", "sh -c id"),
    ("ansible_ssh_private_key_file", "/home/operator/.ssh/id_ed25519"),
    ("zone", "internet"),
])
def test_variables_outside_the_allow_list_are_refused_without_echoing_them(name, value):
    problems = problems_for({name: value})
    assert len(problems) == 1
    assert problems[0].startswith(f"ansible_inventory.vdi_hosts.vdi-1.{name}: not a variable a stack output may set")
    assert value not in problems[0]


@pytest.mark.parametrize("name, value, expect", [
    ("ansible_host", "198.18.4.21 -oProxyCommand=id", "expected an IP address"),
    ("ansible_host", "vdi-1.example", "expected an IP address"),
    ("ansible_user", "root -o ProxyCommand=id", "an account name is"),
    ("ansible_port", "22", "expected a port number"),
    ("ansible_port", 70000, "expected a port number"),
    ("shuyaku_layer", "internet\nextra: 1", "expected a name"),
    ("shuyaku_ssh_host_keys", ["ssh-ed25519 bm90LWEta2V5"], "expected a list of OpenSSH public host keys"),
    ("shuyaku_ssh_host_keys", [ED25519.replace("ssh-ed25519", "ssh-rsa")], "OpenSSH public host keys"),
    ("shuyaku_ssh_host_keys", [ED25519 + "\n@cert-authority * " + ED25519], "OpenSSH public host keys"),
    ("baseline_log_port", "6514; rm -rf /", "expected a value of type int"),
    ("baseline_mgmt_cidrs", ["10.0.0.0/8", 5], "[1]: expected a value of type str"),
    ("thin_client_display", "wayland", "is not allowed; choose one of"),
    ("baseline_allowed_flows", [{"proto": "tcp", "port": 22, "from": "10.0.0.0/8", "cmd": "id"}],
     "baseline_allowed_flows[0].cmd: not an option"),
    ("baseline_allowed_flows", [{"proto": "icmp", "port": 22, "from": "10.0.0.0/8"}],
     "baseline_allowed_flows[0].proto: 'icmp' is not allowed"),
    ("vdi_host_tls_key_file", "/home/operator/.ssh/id_ed25519", "a controller-side path (type: path)"),
    ("patching_report_dir", "/etc/cron.d", "a controller-side path"),
    ("baseline_banner", "{{ lookup('pipe', 'id') }}", "template syntax"),
    ("baseline_allowed_flows", [{"proto": "tcp", "port": 22, "from": "{% for x in y %}"}], "template syntax"),
])
def test_allowed_variables_are_checked_against_their_type(name, value, expect):
    problems = problems_for({name: value})
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"ansible_inventory.vdi_hosts.vdi-1.{name}"), problems[0]
    assert expect in problems[0]


def test_values_and_names_are_shown_escaped_and_clipped():
    hostile = "\x1b[2J\x1b[31mOK\nall good" + "x" * 500
    problems = problems_for({"ansible_host": hostile})
    problems += problems_for({}, host="vdi\x1b]0;pwned\x07")
    with pytest.raises(InventoryError) as exc:
        outputs_to_inventory({"grp\n- evil": {}})
    problems += exc.value.problems
    for p in problems:
        assert "\x1b" not in p and "\x07" not in p and "\n" not in p, p
        assert len(p) < 400
    assert "\\x1b[2J" in problems[0]


def test_role_variables_of_the_right_type_pass_unchanged():
    good = {"ansible_user": "ansible", "ansible_port": 2222, "shuyaku_layer": "lgwan", "shuyaku_role": "vdi",
            "shuyaku_site": "onprem", "baseline_log_port": 6514, "baseline_mgmt_cidrs": ["198.18.0.0/15"],
            "baseline_unattended_reboot": False, "thin_client_display": "virtual",
            "baseline_allowed_flows": [{"proto": "tcp", "port": "6000-6010", "from": "10.0.0.0/8"}],
            "shuyaku_ssh_host_keys": [ED25519, ECDSA]}
    out = outputs_to_inventory({"vdi_hosts": {"vdi-1": {"ansible_host": "198.18.4.21", **good}}})
    assert out["all"]["children"]["vdi_hosts"]["hosts"]["vdi-1"] == {"ansible_host": "198.18.4.21", **good}


def test_every_hostile_variable_is_reported_at_once():
    with pytest.raises(InventoryError) as exc:
        outputs_to_inventory({"vdi_hosts": {
            "vdi-1": {"ansible_host": "198.18.4.21", "ansible_ssh_common_args": "-oProxyCommand=id"},
            "vdi-2": {"ansible_host": "not-an-ip", "baseline_banner": "{{ 7*7 }}"},
        }})
    assert len(exc.value.problems) == 3


def test_known_hosts_is_built_from_the_published_keys_and_ssh_pins_it(tmp_path):
    outputs = {"vdi_hosts": {"vdi-1": {"ansible_host": "198.18.4.21", "shuyaku_ssh_host_keys": [ED25519, ECDSA]},
                             "vdi-2": {"ansible_host": "198.18.4.22", "ansible_port": 2222, **KEYS}}}
    inv = resolve(None, "onprem", tmp_path, state_dir=tmp_path, run=pulumi_returning(outputs))
    known = (tmp_path / "known_hosts-onprem").read_text().splitlines()
    assert known == [f"198.18.4.21,vdi-1 {' '.join(ED25519.split()[:2])}",
                     f"198.18.4.21,vdi-1 {' '.join(ECDSA.split()[:2])}",
                     f"[198.18.4.22]:2222,[vdi-2]:2222 {' '.join(ED25519.split()[:2])}"]
    # Ansible itself reads the pinning from the written inventory, for every host.
    for host in ("vdi-1", "vdi-2"):
        args = inv.hostvars[host]["ansible_ssh_common_args"]
        assert "StrictHostKeyChecking=yes" in args and f"UserKnownHostsFile={tmp_path}/known_hosts-onprem" in args


def test_a_host_without_a_published_key_is_refused_by_name(tmp_path):
    outputs = {"vdi_hosts": {"vdi-1": {"ansible_host": "198.18.4.21", **KEYS},
                             "vdi-2": {"ansible_host": "198.18.4.22"}}}
    with pytest.raises(InventoryError) as exc:
        resolve(None, "onprem", tmp_path, state_dir=tmp_path, run=pulumi_returning(outputs))
    assert exc.value.problems == [exc.value.problems[0]]
    assert "host vdi-2 has no SSH host key in the output" in exc.value.problems[0]
    assert not (tmp_path / "inventory-onprem.yml").exists()
    set_lang("ja")
    with pytest.raises(InventoryError) as exc:
        resolve(None, "onprem", tmp_path, state_dir=tmp_path, run=pulumi_returning(outputs))
    assert "ホスト vdi-2 の SSH ホスト鍵が出力にありません" in exc.value.problems[0]


def test_host_key_parsing():
    assert parse_host_key(ED25519 + " comment") == tuple(ED25519.split())
    assert parse_host_key("ssh-ed25519") is None
    assert parse_host_key(ED25519.replace("AAAAC3", "AAAAC4")) is None  # blob names another type
    assert parse_host_key(42) is None


HOSTILE = {"vdi_hosts": {"vdi-1": {"ansible_host": "198.18.4.21", **KEYS,
                                   "ansible_ssh_common_args": "-o ProxyCommand='touch /tmp/pwned'"}}}


@pytest.mark.parametrize("command", ["provision", "verify", "patch"])
def test_cli_refuses_hostile_outputs_with_exit_2_before_ansible_runs(command, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from shuyaku.cli.main import app
    from shuyaku.provision import inventory

    monkeypatch.setattr(inventory, "stack_outputs", lambda stack, state_dir=None, run=None: HOSTILE)
    monkeypatch.setenv("SHUYAKU_ARTIFACTS", str(tmp_path))
    for lang, expect in (("en", "not a variable a stack output may set"), ("ja", "スタック出力から設定できない変数です")):
        result = CliRunner().invoke(app, [command, "--stack", "onprem", "--lang", lang])
        assert result.exit_code == 2, result.output
        assert f"stack onprem: ansible_inventory.vdi_hosts.vdi-1.ansible_ssh_common_args: {expect}" in result.output
        assert "touch /tmp/pwned" not in result.output
    assert not list(tmp_path.glob("inventory-*.yml")), "an inventory was written from refused outputs"


def test_with_a_bastion_every_other_host_is_reached_through_it_with_the_same_pinned_keys(tmp_path):
    """Inside the cloud only the bastion admits SSH from the administrators: provision --stack goes through it,
    with a jump command built from its checked address and the same known_hosts for both hops."""
    outputs = {"bastion": {"onprem-bastion-01": {"ansible_host": "10.40.0.26", "ansible_user": "ansible", **KEYS}},
               "shared": {"onprem-bastion-01": {"ansible_host": "10.40.0.26", "ansible_user": "ansible", **KEYS},
                          "onprem-hub-01": {"ansible_host": "10.40.0.30", **KEYS}},
               "vdi_hosts": {"vdi-1": {"ansible_host": "10.30.8.10", **KEYS}}}
    inv = resolve(None, "onprem", tmp_path, state_dir=tmp_path, run=pulumi_returning(outputs))
    known = tmp_path.resolve() / "known_hosts-onprem"
    assert "ProxyCommand" not in inv.hostvars.get("onprem-bastion-01", {}).get("ansible_ssh_common_args", "")
    for host in ("onprem-hub-01", "vdi-1"):
        args = shlex.split(inv.hostvars[host]["ansible_ssh_common_args"])
        proxy = next(a for a in args if a.startswith("ProxyCommand="))
        hop = shlex.split(proxy.removeprefix("ProxyCommand="))
        assert hop[:3] == ["ssh", "-W", "%h:%p"] and hop[-1] == "10.40.0.26" and "ansible" in hop
        assert f"UserKnownHostsFile={known}" in hop and f"UserKnownHostsFile={known}" in args
