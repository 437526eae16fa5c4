"""The separation table and the settings model are the one source the rules and the pack read.

What a user would notice: a path the table forbids stays forbidden however it is listed or declared; the
model changes only what the table says it changes (α' breakout, where screen-transfer servers sit); and a
pack config is checked the same way by the engine (generated schema) and by the audit (the model).
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from policy_harness import from_model, run
from test_policy_rules import SETTINGS, W, direct, rule, settings_for

from shuyaku.contracts import policy_settings as ps
from shuyaku.contracts import separation as sep
from shuyaku.contracts.problems import ProblemsError
from shuyaku.contracts.source import parse
from shuyaku.contracts.vocabulary import LAYERS, Layer, SeparationModel
from shuyaku.policy import config as cfgmod
from shuyaku.policy.crossguard import policies
from shuyaku.policy.registry import all_rules, get, rule_ids

ROOT = Path(__file__).resolve().parents[2]


def test_the_table_is_symmetric_and_shared_serves_every_layer():
    for a in LAYERS:
        assert sep.link_path(a, a) == "direct"
        assert sep.link_path(a, Layer.shared) == sep.link_path(Layer.shared, a) == "direct"
        for b in LAYERS:
            if "screen" not in (sep.link_path(a, b, 3389), sep.link_path(b, a, 3389)):
                assert sep.link_path(a, b, 3389) == sep.link_path(b, a, 3389)
    assert sep.link_path(Layer.mynumber, Layer.internet, 443) == "forbidden"
    assert sep.link_path(Layer.lgwan, Layer.internet, 3389) == "screen"
    assert sep.link_path(Layer.internet, Layer.lgwan, 3389) == "relay"  # a data link, under every model
    assert {layer for layer in LAYERS if sep.never_internet(layer)} == {Layer.mynumber}


def test_the_model_changes_screen_servers_and_breakout_only():
    assert sep.screen_servers("alpha") == sep.screen_servers("alpha_prime") == {Layer.internet}
    assert sep.screen_servers("beta") == sep.screen_servers("beta_prime") == {Layer.internet, Layer.lgwan}
    assert {m: sep.breakout_layers(m) for m in SeparationModel} == {
        SeparationModel.alpha: frozenset(), SeparationModel.beta: frozenset(),
        SeparationModel.beta_prime: frozenset(), SeparationModel.alpha_prime: {Layer.lgwan}}


@pytest.mark.parametrize(("model", "allowed"), [("alpha", False), ("beta_prime", False), ("alpha_prime", True),
                                                ("α'", True)])
def test_lgwan_breakout_follows_the_model(model, allowed):
    rid = "lgwan-no-direct-internet"
    res = [*W, rule("r", "sg-zeimu", "egress", port=443, remote="52.94.1.0/24")]
    want = set() if allowed else {(rid, res[-1].urn)}
    assert direct(rid, res, {**settings_for(rid), "separation_model": model}) == want


def test_a_listed_exception_cannot_open_a_forbidden_path():
    """The internet layer never reaches My Number, even when someone lists the flow as an exception."""
    rid = "mynumber-ingress-only-listed"
    listed = {**settings_for(rid), "mynumber_ingress_exceptions": [
        {"source_cidr": "10.30.8.0/24", "protocol": "tcp", "port": 443},
        {"source_cidr": "10.20.1.0/24", "protocol": "tcp", "port": 443}]}
    from_internet = [*W, rule("r", "sg-juki", "ingress", port=443, remote="10.30.8.0/24")]
    from_lgwan = [*W, rule("r", "sg-juki", "ingress", port=443, remote="10.20.1.0/24")]
    assert direct(rid, from_internet, listed) == {(rid, from_internet[-1].urn)}
    assert direct(rid, from_lgwan, listed) == set()  # the hub path: a listed exception is allowed
    assert direct(rid, from_lgwan, settings_for(rid)) == {(rid, from_lgwan[-1].urn)}
    assert run(from_model(from_internet), {rid: listed}, only=rid) == {(rid, from_internet[-1].urn)}
    found = get(rid).check_stack(from_internet, listed)
    assert "no exception can allow it" in found[0].message.en


def test_a_declared_link_cannot_open_a_forbidden_path():
    rid = "cross-tenant-rule-declared"
    res = [*W, rule("r", "sg-juki", "ingress", port=5432, group="sg-vdi")]
    declared = {"data_links": [{"source_system": "vdi", "target_system": "juki", "protocol": "tcp", "port": 5432}]}
    assert direct(rid, res, declared) == {(rid, res[-1].urn)}
    assert "three-layer separation forbids" in get(rid).check_stack(res, declared)[0].message.en
    # The same declaration between LGWAN and My Number (the hub path) is fine.
    ok = [*W, rule("r", "sg-juki", "ingress", port=5432, group="sg-zeimu")]
    assert direct(rid, ok, {"data_links": [{**declared["data_links"][0], "source_system": "zeimu"}]}) == set()


def test_each_pack_policy_schema_is_cut_from_the_settings_model():
    for policy, r in zip(policies(), all_rules(), strict=True):
        got = policy.config_schema.properties if policy.config_schema else {}
        assert got == ps.rule_config_schema(r.config_keys)
        # Standalone: the engine gets each property schema on its own, so no $ref may remain.
        assert "$ref" not in json.dumps(got)
        schema = {"type": "object", "properties": got}
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.validate({k: SETTINGS[k] for k in r.config_keys}, schema)


def test_the_engine_schema_refuses_what_the_audit_refuses():
    """A CIDR typo fails the same way in `pulumi preview` (schema) and `shuyaku policy audit` (model)."""
    schema = {"type": "object", "properties": ps.rule_config_schema(("proxy_cidrs", "screen_transfer_ports"))}
    for bad in ({"proxy_cidrs": ["10.0.0.300/32"]}, {"screen_transfer_ports": [0]}, {"screen_transfer_ports": ["443"]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
        with pytest.raises(ProblemsError):
            cfgmod.parse({"internet-egress-only-proxy": bad}, "c.json", rule_ids())


def test_settings_resolve_to_defaults_and_normalised_models():
    got = cfgmod.parse({"lgwan-no-direct-internet": {"separation_model": "α'"}}, "c.json", rule_ids())
    s = got.settings("lgwan-no-direct-internet", get("lgwan-no-direct-internet").config_keys)
    assert s["separation_model"] == "alpha_prime" and s["lgwan_breakout_cidrs"] == []
    assert got.settings("instance-no-admin-pass", ()) == {}
    assert ps.resolved({}, ["admin_role_names"]) == {"admin_role_names": ["admin"]}


def test_config_problems_point_at_the_line_in_either_format():
    text = '{\n  "enforcement": {"all": "mandatory"},\n  "settings": {\n    "layer_cidrs": {"dmz": []}\n  }\n}\n'
    with pytest.raises(ProblemsError) as e:
        ps.check_document(parse(text, Path("s.json")), rule_ids())
    [p] = e.value.problems
    assert (p.line, p.field, p.code) == (4, "settings.layer_cidrs.dmz", "schema.not_allowed")
    yaml_text = "all: advisory\nsecgroup-no-public-ssh:\n  enforcementLevel: disabled\n  proxy_cidrs: [10.0.0.0/33]\n"
    with pytest.raises(ProblemsError) as e:
        ps.check_document(parse(yaml_text, Path("c.yaml")), rule_ids())
    assert [(p.line, p.field, p.code) for p in e.value.problems] == [
        (4, "secgroup-no-public-ssh.proxy_cidrs[0]", "schema.cidr")]


def test_every_setting_a_rule_reads_is_in_the_model():
    assert {k for r in all_rules() for k in r.config_keys} <= set(ps.SETTING_KEYS)
    assert set(ps.SETTING_KEYS) == {k for r in all_rules() for k in r.config_keys}  # no setting nobody reads


def test_a_tab_indented_json_config_reads_like_any_other(tmp_path):
    """JSON editors indent with tabs, which YAML refuses; the config is still read, problems at the right line."""
    f = tmp_path / "c.json"
    f.write_text('{\n\t"all": "advisory",\n\t"secgroup-no-public-ssh": {\n\t\t"proxy_cidrs": ["10.0.0.0/33"]\n\t}\n}\n')
    with pytest.raises(ProblemsError) as e:
        cfgmod.load(f, rule_ids())
    assert [(p.line, p.column, p.code) for p in e.value.problems] == [(4, 19, "schema.cidr")]
    f.write_text('{\n\t"all": "advisory"\n}\n')
    assert cfgmod.load(f, rule_ids()).all_level == "advisory"
