"""Inventory from the platform stack's `ansible_inventory` output, and from hosts files, as Ansible reads them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from shuyaku.contracts.i18n import set_lang
from shuyaku.provision.inventory import InventoryError, outputs_to_inventory, resolve

# Public host keys (made once with ssh-keygen for these tests; public keys are not secrets).
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICDVJqehk1K3QK1mHlpPBFGTeELQzP/FXNUMJuJMDw8N"
ECDSA = ("ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBBELjVic2p+kD4PQGqdR06dY2cqPKBRbqXw"
         "EbgrEgn3tSC2mWbXYedzajzn+Wr7+eW1nmqcCQMT7/QgliwCUJ1o=")
KEYS = {"shuyaku_ssh_host_keys": [ED25519]}
SAMPLE = {
    "shared": {"mgmt-1": {"ansible_host": "198.18.4.11", "baseline_log_host": "198.18.4.11", **KEYS}},
    "vdi_hosts": {
        "vdi-1": {"ansible_host": "198.18.4.21", "shuyaku_layer": "internet", **KEYS},
        "vdi-2": {"ansible_host": "198.18.4.22", "shuyaku_layer": "internet",
                  "shuyaku_ssh_host_keys": [ED25519, ECDSA + " root@vdi-2"]},
    },
    "thin_clients": {"tc-1": {"ansible_host": "198.18.4.31", **KEYS}},
}


@pytest.fixture(autouse=True)
def english():
    set_lang("en")
    yield
    set_lang(None)


def fake_pulumi(payload: str, rc: int = 0, seen: list | None = None):
    def run(cmd, **kwargs):
        if seen is not None:
            seen.append(cmd)
        return subprocess.CompletedProcess(cmd, rc, stdout=payload, stderr="" if rc == 0 else "error: no stack named 'x'")
    return run


def test_stack_outputs_become_an_ansible_inventory_ansible_accepts(tmp_path):
    seen: list = []
    inv = resolve(None, "onprem", tmp_path, state_dir=tmp_path / "state", run=fake_pulumi(json.dumps(SAMPLE), seen=seen))
    # the exact command the brief promises
    assert seen[0][1:] == ["stack", "output", "ansible_inventory", "--json", "--show-secrets", "--stack", "onprem"]
    assert inv.groups["vdi_hosts"] == ["vdi-1", "vdi-2"]
    assert inv.groups["all"] == ["mgmt-1", "tc-1", "vdi-1", "vdi-2"]
    assert inv.hostvars["vdi-1"]["ansible_host"] == "198.18.4.21"
    assert inv.hostvars["vdi-2"]["shuyaku_layer"] == "internet"
    written = yaml.safe_load(inv.path.read_text())
    assert written["all"]["children"]["thin_clients"]["hosts"]["tc-1"]["ansible_host"] == "198.18.4.31"
    # testinfra runs the suites' root-only commands (sshd -T, nft, auditctl) through sudo only when told so
    assert written["all"]["vars"]["ansible_become"] is True


def test_every_problem_is_reported_with_its_place():
    bad = {"vdi hosts": {"a": {"ansible_host": "1.2.3.4"}}, "servers": {"s1": {}, "s2": "10.0.0.1"}}
    with pytest.raises(InventoryError) as exc:
        outputs_to_inventory(bad)
    text = "\n".join(exc.value.problems)
    assert len(exc.value.problems) == 3
    assert "ansible_inventory.'vdi hosts': a group name must be" in text
    assert "ansible_inventory.servers.s1.ansible_host: missing" in text
    assert "ansible_inventory.servers.s2: expected a mapping of variables" in text


def test_same_host_in_two_groups_must_agree():
    ok = outputs_to_inventory({"a": {"h": {"ansible_host": "1.1.1.1"}}, "b": {"h": {"ansible_host": "1.1.1.1"}}})
    assert set(ok["all"]["children"]) == {"a", "b"}
    with pytest.raises(InventoryError, match="different vars"):
        outputs_to_inventory({"a": {"h": {"ansible_host": "1.1.1.1"}}, "b": {"h": {"ansible_host": "2.2.2.2"}}})


def test_empty_or_wrong_shape_output():
    for value in ({}, [], "text", None):
        with pytest.raises(InventoryError, match="expected a mapping group"):
            outputs_to_inventory(value)


def test_stack_errors_are_clear(tmp_path):
    with pytest.raises(InventoryError, match="cannot read output ansible_inventory of stack 'x'"):
        resolve(None, "x", tmp_path, state_dir=tmp_path, run=fake_pulumi("", rc=255))
    with pytest.raises(InventoryError, match="is not JSON"):
        resolve(None, "x", tmp_path, state_dir=tmp_path, run=fake_pulumi("{oops"))


def test_japanese_by_default(tmp_path):
    set_lang(None)
    with pytest.raises(InventoryError) as exc:
        outputs_to_inventory({"servers": {"s1": {}}})
    assert "接続先アドレスがありません" in exc.value.problems[0]


def test_hosts_files_yaml_and_ini(tmp_path: Path):
    ini = tmp_path / "hosts.ini"
    ini.write_text("[vdi_hosts]\nvdi-1 ansible_host=198.18.4.21\n\n[servers]\nsrv-1 ansible_host=198.18.4.41\n")
    inv = resolve(ini, None, tmp_path)
    assert inv.groups["vdi_hosts"] == ["vdi-1"] and inv.hosts == ["srv-1", "vdi-1"]
    yml = tmp_path / "hosts.yml"
    yml.write_text(yaml.safe_dump({"all": {"children": {"servers": {"hosts": {"srv-1": {"ansible_host": "198.18.4.41"}}}}}}))
    assert resolve(yml, None, tmp_path).hostvars["srv-1"]["ansible_host"] == "198.18.4.41"


def test_bad_hosts_files(tmp_path: Path):
    with pytest.raises(InventoryError, match="no such file"):
        resolve(tmp_path / "missing.yml", None, tmp_path)
    empty = tmp_path / "empty.yml"
    empty.write_text("all:\n  children: {}\n")
    with pytest.raises(InventoryError, match="no hosts found"):
        resolve(empty, None, tmp_path)
    with pytest.raises(InventoryError, match="exactly one of"):
        resolve(None, None, tmp_path)
