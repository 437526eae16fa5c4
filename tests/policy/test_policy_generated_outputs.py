"""Found on a real deploy: Nova returns a generated adminPass for every server; only a configured one counts."""

from __future__ import annotations

from shuyaku.policy.audit import audit_resources
from shuyaku.policy.loader import from_state

URN = "urn:pulumi:local::vendor::openstack:compute/instance:Instance::ap-01"


def findings(inputs: dict, outputs: dict) -> list[str]:
    resources = from_state([{"urn": URN, "type": "openstack:compute/instance:Instance",
                             "inputs": inputs, "outputs": outputs}], "export.json")
    return [f.rule.id for f in audit_resources(resources, {}) if f.rule.id == "instance-no-admin-pass"]


def test_a_password_nova_generated_is_not_a_violation() -> None:
    assert findings({"name": "ap-01"}, {"name": "ap-01", "adminPass": "Xy7generated"}) == []


def test_a_password_the_program_set_is() -> None:
    assert findings({"name": "ap-01", "adminPass": "hunter22"}, {"adminPass": "hunter22"}) == ["instance-no-admin-pass"]
