"""SSH host keys for the servers the platform creates: made once, kept in the stack's state, handed to the guest.

Ansible checks host keys (`host_key_checking = True`), and `shuyaku provision --stack` builds known_hosts only
from keys the stack publishes; a key learnt from whatever answers first on the network would let a man in the
middle in. So each server's key must be known before the server first boots: `HostKey` generates an Ed25519 key
pair when it is created (a Pulumi dynamic resource, so the key is made by the engine's provider process, not on
every run of the program), keeps the private half as a secret in the state, and later `up`s leave it as it is.
The guest gets it at first boot through cloud-init's `ssh_keys` (user data, itself a secret); the public half
goes into the `ansible_inventory` output as `shuyaku_ssh_host_keys`.
"""

from __future__ import annotations

from typing import Any

import pulumi
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

ALGORITHM = "ed25519"
PRIVATE = "private_key"


def generate() -> tuple[str, str]:
    """(OpenSSH private key, OpenSSH public key line) of a fresh Ed25519 key."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return private, public


class HostKeyProvider(ResourceProvider):
    """Create makes the key; nothing but a change of algorithm makes another (a renamed host keeps its key)."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        private, public = generate()
        # The public key's blob is unique and not secret: a stable id that says which key this is.
        return CreateResult(id_=public.split()[1][-32:], outs={
            "host": props["host"], "algorithm": ALGORITHM, "public_key": public, PRIVATE: private})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = ["algorithm"] if olds.get("algorithm") != news.get("algorithm") else []
        return DiffResult(changes=bool(replaces) or olds.get("host") != news.get("host"), replaces=replaces,
                          delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs={**olds, "host": news["host"]})


class HostKey(Resource, module="shuyaku", name="HostKey"):
    """One server's SSH host key. `public_key` is an OpenSSH line; `private_key` is a secret output."""

    public_key: pulumi.Output[str]
    private_key: pulumi.Output[str]

    def __init__(self, name: str, *, host: str, opts: pulumi.ResourceOptions | None = None) -> None:
        # additional_secret_outputs: the engine encrypts it in the state; Output.secret: the program treats it so
        # whatever the engine answers (Pulumi's mocks, for one, ignore the option).
        secret = pulumi.ResourceOptions(additional_secret_outputs=[PRIVATE])
        super().__init__(HostKeyProvider(), name, {"host": host, "algorithm": ALGORITHM, "public_key": None,
                                                   PRIVATE: None},
                         pulumi.ResourceOptions.merge(opts, secret))
        self.private_key = pulumi.Output.secret(self.private_key)


def cloud_config(private_key: str, public_key: str) -> str:
    """cloud-init user data installing exactly this host key: the image's own keys are deleted and no other
    type is generated, so the host shows sshd no key but the published one."""
    # Written by hand for a literal block (a YAML dumper folds the key into a quoted string); the key is
    # base64 armour and the public line one word pair, so neither needs quoting. Checked by parsing it back.
    block = "".join(f"    {line}\n" for line in private_key.strip().splitlines())
    text = ("#cloud-config\nssh_deletekeys: true\nssh_genkeytypes: []\nssh_keys:\n"
            f"  {ALGORITHM}_private: |\n{block}  {ALGORITHM}_public: {public_key.strip()}\n")
    parsed = yaml.safe_load(text)["ssh_keys"]
    if parsed != {f"{ALGORITHM}_private": private_key.strip() + "\n", f"{ALGORITHM}_public": public_key.strip()}:
        raise ValueError("host key does not round-trip through cloud-config")  # not an OpenSSH key: a bug here
    return text


def user_data(key: HostKey) -> pulumi.Output[str]:
    """The server's user data, a secret (it holds the private key) whatever the SDK would infer."""
    return pulumi.Output.secret(pulumi.Output.all(key.private_key, key.public_key).apply(lambda kv: cloud_config(*kv)))
