"""SSH host keys of the platform's servers (shuyaku.platform.hostkeys) under Pulumi's mocks.

The mocks run the dynamic provider's `create` as the engine would, so each key here is a real Ed25519 key made
by the program's own code. What an operator would notice: a server without a published key (provision refuses
it), a key that changes on every `up` (ssh would cry "REMOTE HOST IDENTIFICATION HAS CHANGED" and every server
would be rebuilt, since user data cannot change in place), or a private key in a plain output.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from shuyaku.contracts.sitedata import SiteData
from shuyaku.platform import config, hostkeys, mocks, program, synthetic
from shuyaku.provision.hostvars import HOST_KEYS_VAR, parse_host_key
from shuyaku.provision.inventory import InventoryError, outputs_to_inventory, pin_host_keys

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "examples/small-town/platform/site-onprem.json"
INSTANCE = "openstack:compute/instance:Instance"
HOSTKEY = "pulumi-python:dynamic/shuyaku:HostKey"
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's wire marker of a secret value


@cache
def deployed() -> tuple[mocks.RecordingMocks, dict[str, Any], dict[str, bool]]:
    site = (SiteData.model_validate_json(SMALL.read_text(encoding="utf-8")) if SMALL.is_file()
            else synthetic.site(23, model="beta"))
    cfg = config.from_site(site)
    secrets: dict[str, bool] = {}
    keys: list[hostkeys.HostKey] = []

    # The components keep no handle on their keys; this run's are noted here (same type token as the real one).
    class Recorded(hostkeys.HostKey, module="shuyaku", name="HostKey"):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            keys.append(self)

    def build() -> Any:
        platform = program.build(cfg)

        async def secret_flags() -> int:
            for i, key in enumerate(keys):
                secrets[f"private-{i}"] = await key.private_key.is_secret()
                secrets[f"public-{i}"] = await key.public_key.is_secret()
            return len(keys)

        return {**platform.outputs, "_checked": pulumi.Output.from_input(secret_flags())}

    original = hostkeys.HostKey
    hostkeys.HostKey = Recorded  # type: ignore[misc]
    try:
        m, out = mocks.run(build)
    finally:
        hostkeys.HostKey = original  # type: ignore[misc]
    return m, out, secrets


def plain_parts(value: Any) -> Any:
    """`value` with every secret (as the mock monitor passes them) taken out."""
    if isinstance(value, dict):
        return None if SECRET_SIG in value else {k: plain_parts(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_parts(v) for v in value]
    return value


def inventory_hosts(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {h: v for hosts in out["ansible_inventory"].values() for h, v in hosts.items()}


def test_every_server_has_one_key_and_publishes_its_public_half() -> None:
    m, out, _ = deployed()
    servers = {r.inputs["name"]: r for r in m.of_type(INSTANCE)}
    keys = m.of_type(HOSTKEY)
    hosts = inventory_hosts(out)
    assert servers and len(keys) == len(servers) == len(hosts)
    assert set(hosts) == set(servers)
    published = {}
    for host, hvars in hosts.items():
        assert len(hvars[HOST_KEYS_VAR]) == 1
        kind, blob = parse_host_key(hvars[HOST_KEYS_VAR][0]) or ("", "")
        assert kind == "ssh-ed25519", hvars[HOST_KEYS_VAR]
        published[host] = f"{kind} {blob}"
    assert len(set(published.values())) == len(published), "two servers share a host key"
    # the guest gets the private half of exactly the key published for it
    for host, server in servers.items():
        # a secret input, as the mock monitor passes one: {signature: ..., "value": ...}
        sealed = server.inputs["userData"]
        assert isinstance(sealed, dict) and SECRET_SIG in sealed, "the user data holding the key is not a secret"
        text = sealed["value"]
        doc = yaml.safe_load(text)
        assert text.startswith("#cloud-config\n")
        private = serialization.load_ssh_private_key(doc["ssh_keys"]["ed25519_private"].encode(), password=None)
        public = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                   serialization.PublicFormat.OpenSSH).decode()
        assert public == published[host] == doc["ssh_keys"]["ed25519_public"]
        assert doc["ssh_deletekeys"] is True and doc["ssh_genkeytypes"] == []


def test_the_private_key_is_a_secret_and_in_no_plain_output() -> None:
    m, out, secrets = deployed()
    assert secrets and all(v for k, v in secrets.items() if k.startswith("private-"))
    # no resource gets it as a plain input either (the state would then hold it in clear)
    assert not [r.name for r in m.resources if "PRIVATE KEY" in json.dumps(plain_parts(r.inputs))]
    assert not any(v for k, v in secrets.items() if k.startswith("public-"))
    outputs = json.dumps({k: v for k, v in out.items() if k != "_checked"})
    assert "PRIVATE KEY" not in outputs
    assert "ssh-ed25519 " in outputs


def test_a_key_is_made_once_and_kept_by_later_ups() -> None:
    provider = hostkeys.HostKeyProvider()
    inputs = {"host": "onprem-vdi-01", "algorithm": "ed25519", "public_key": None, "private_key": None}
    made = provider.create(inputs)
    state = made.outs or {}
    assert made.id and made.id in state["public_key"]
    again = provider.diff(made.id, state, inputs)
    assert not again.changes and not again.replaces  # a second `up`: no change, the same key
    renamed = provider.diff(made.id, state, {**inputs, "host": "onprem-vdi-09"})
    assert renamed.changes and not renamed.replaces
    kept = provider.update(made.id, state, {**inputs, "host": "onprem-vdi-09"}).outs or {}
    assert (kept["public_key"], kept["private_key"], kept["host"]) == (state["public_key"], state["private_key"],
                                                                       "onprem-vdi-09")
    other = provider.diff(made.id, state, {**inputs, "algorithm": "ecdsa"})
    assert other.replaces == ["algorithm"]
    assert provider.create(inputs).outs != state  # a new server gets a new key


def test_provision_builds_known_hosts_from_the_published_keys(tmp_path: Path) -> None:
    _, out, _ = deployed()
    data = pin_host_keys(outputs_to_inventory(out["ansible_inventory"]), tmp_path / "known_hosts", "test")
    lines = (tmp_path / "known_hosts").read_text(encoding="utf-8").splitlines()
    hosts = inventory_hosts(out)
    assert len(lines) == len(hosts)
    for host, hvars in hosts.items():
        assert f"{hvars['ansible_host']},{host} {hvars[HOST_KEYS_VAR][0]}" in lines
    assert "StrictHostKeyChecking=yes" in data["all"]["vars"]["ansible_ssh_common_args"]
    # one host whose key is not published is still refused, by name
    first = next(iter(out["ansible_inventory"]))
    host = next(iter(out["ansible_inventory"][first]))
    stripped = json.loads(json.dumps(out["ansible_inventory"]))
    for group in stripped.values():
        if host in group:
            del group[host][HOST_KEYS_VAR]
    with pytest.raises(InventoryError) as refused:
        pin_host_keys(outputs_to_inventory(stripped), tmp_path / "known_hosts-2", "test")
    assert [p for p in refused.value.problems if host in p] and len(refused.value.problems) == 1
