"""The pack as the engine drives it: policies/__main__.py started as a process, spoken to over gRPC.

No engine and no cloud: the test plays the engine's part (GetAnalyzerInfo, Configure with the pack config,
ConfigureStack with the stack config, Analyze per resource, AnalyzeStack once) on every corpus file and
expects exactly what the audit expects.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grpc
import policy_harness
import pytest
from google.protobuf import empty_pb2, struct_pb2
from google.protobuf.json_format import MessageToDict
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from shuyaku.policy.registry import all_rules

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests/policy/corpus"
CONFIG = json.loads((ROOT / "policies/config.local.json").read_text())
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
LEVEL = {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY, "disabled": analyzer_pb2.DISABLED}


@pytest.fixture(scope="module")
def pack():
    proc = subprocess.Popen([sys.executable, str(ROOT / "policies/__main__.py")], cwd=ROOT / "policies",
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert port.isdigit(), proc.stderr.read() if proc.poll() is not None else port  # type: ignore[union-attr]
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _struct(d: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(d)
    return s


def _configure(stub) -> None:
    """As the engine reconciles it: schema defaults, then `all`, then each policy's entry."""
    info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    req = analyzer_pb2.ConfigureAnalyzerRequest()
    for p in info.policies:
        level = policy_harness.level(CONFIG, p.name, "mandatory" if p.enforcementLevel == LEVEL["mandatory"]
                                     else "advisory")
        schema = MessageToDict(p.configSchema).get("properties", {})
        props = {k: v["default"] for k, v in schema.items() if "default" in v}
        props.update(policy_harness.pack_settings(CONFIG, p.name))
        req.policyConfig[p.name].CopyFrom(analyzer_pb2.PolicyConfig(enforcementLevel=LEVEL[level],
                                                                      properties=_struct(props)))
    stub.Configure(req)


def test_pack_describes_every_rule(pack):
    info = pack.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "shuyaku"
    assert [p.name for p in info.policies] == [r.id for r in all_rules()]
    by_name = {p.name: p for p in info.policies}
    for r in all_rules():
        p = by_name[r.id]
        assert p.remediation_steps and p.description
        assert set(p.configSchema.properties) == set(r.config_keys)
        assert p.policy_type == (analyzer_pb2.POLICY_TYPE_RESOURCE if r.scope == "resource"
                                 else analyzer_pb2.POLICY_TYPE_STACK)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pack_over_grpc_reports_what_the_audit_reports(pack, name):
    _configure(pack)
    doc = json.loads((CORPUS / name).read_text())
    # As the engine does right after starting the pack: the stack, its decrypted config, the secret keys.
    values, secret_keys = policy_harness.engine_config(policy_harness.stack_config_of(doc))
    pack.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(
        stack="onprem", project="shuyaku", organization="organization", dry_run=True, config=values,
        config_secret_keys=secret_keys))
    states = policy_harness.states(doc)
    found: set[tuple[str, str]] = set()
    stack_urn = next(s["urn"] for s in states if s["type"] == "pulumi:pulumi:Stack")
    resources = []
    for s in states:
        wire = policy_harness._wire
        res = analyzer_pb2.AnalyzerResource(
            type=s["type"], urn=s["urn"], name=s["urn"].rsplit("::", 1)[-1],
            properties=_struct(wire({**(s.get("outputs") or {}), **(s.get("inputs") or {})})),
            parent=s.get("parent") or "")
        for k, urns in (s.get("propertyDependencies") or {}).items():
            res.propertyDependencies[k].urns.extend(urns)
        resources.append(res)
        r = pack.Analyze(analyzer_pb2.AnalyzeRequest(type=s["type"], urn=s["urn"], name=res.name,
                                                     properties=_struct(wire(s.get("inputs") or {}))))
        found |= {(d.policyName, d.urn or s["urn"]) for d in r.diagnostics}
    r = pack.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
    found |= {(d.policyName, d.urn or stack_urn) for d in r.diagnostics}
    also = {(rule, stack_urn) for rule, _ in policy_harness.FROM_PROVIDER_CONFIG.get(name, ())}
    assert found == {tuple(v) for v in EXPECTED[name]} | also
