"""no-plaintext-secrets and the platform's SSH host keys: a server may be given its own host key through
cloud-init (the pack reads the secret and sees that and nothing else; an audit that cannot read it sees that the
engine made it from the host key alone); anything more in the same user data, or any other secret, is refused."""

from __future__ import annotations

from shuyaku.platform import hostkeys
from shuyaku.policy import context as C
from shuyaku.policy.model import UNKNOWN, Resource, SecretValue
from shuyaku.policy.registry import get

KEY_URN = "urn:pulumi:s::p::shuyaku:platform:SharedServices$pulumi-python:dynamic/shuyaku:HostKey::ntp-01-host-key"
PASSWORD_URN = "urn:pulumi:s::p::random:index/randomPassword:RandomPassword::pw"


def vm(user_data: object, deps: list[str] | None = None) -> Resource:
    return Resource(urn="urn:pulumi:s::p::openstack:compute/instance:Instance::vm", type=C.T_INSTANCE, name="vm",
                    props={"userData": user_data}, deps={"userData": deps} if deps is not None else {})


def messages(user_data: object, deps: list[str] | None = None) -> list[str]:
    return [v.message.en for v in get("no-plaintext-secrets").check(vm(user_data, deps), {})]


def test_the_platforms_host_key_user_data_passes_when_the_pack_can_read_it() -> None:
    text = hostkeys.cloud_config(*hostkeys.generate())
    assert messages(SecretValue(text)) == []


def test_more_than_a_host_key_or_an_unreadable_secret_is_still_refused() -> None:
    text = hostkeys.cloud_config(*hostkeys.generate())
    refused = "userData contains a secret (Pulumi secret)."
    assert messages(SecretValue(None)) == [refused]  # preview JSON / state export: cannot look inside
    assert messages(SecretValue(text + "chpasswd:\n  list: |\n    root:hunter22\n")) == [refused]
    assert messages(SecretValue(text + "runcmd:\n  - echo hi\n")) == [refused]
    assert messages(SecretValue("#cloud-config\nssh_keys: {}\n")) == [refused]
    assert messages(text) == ["userData contains a secret (private key)."]  # in clear: never


def test_user_data_not_known_at_preview_is_judged_during_the_up() -> None:
    """A new server's user data is made from a key the same `up` creates: unknown at preview (the pack sees it
    again, known, during the up). Known, anything but a host key is refused."""
    assert messages(SecretValue(UNKNOWN)) == []
    assert messages(SecretValue("#cloud-config\npassword: hunter22\n")) == ["userData contains a secret (Pulumi secret)."]


def test_an_unreadable_user_data_made_from_the_host_key_alone_passes_the_offline_audit() -> None:
    """A preview JSON or a state export shows `[secret]`; the engine records what the value was made from."""
    refused = ["userData contains a secret (Pulumi secret)."]
    assert messages(SecretValue(None), [KEY_URN]) == []
    assert messages(SecretValue(None), [KEY_URN, PASSWORD_URN]) == refused  # the key and something else
    assert messages(SecretValue(None), [PASSWORD_URN]) == refused
    assert messages(SecretValue(None), []) == refused
    # a readable value is judged by what it holds, whatever it was made from
    assert messages(SecretValue("#cloud-config\npassword: hunter22\n"), [KEY_URN]) == refused
