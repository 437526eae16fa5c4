"""Safe deploys: the pack's config comes from the stack config, `deploy` asks before it changes anything, and the
stack config file is the one source of the stack's config.

The engine is the small stand-in `pulumi` of test_deploy_backend.py, driven through the real Automation API: it
writes engine events (steps, policy violations, the summary) to the event log the API reads. The real engine on
the dev cloud is exercised by tests/integration/test_safe_deploy.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_deploy_backend import EMIT, calls, fake_engine
from typer.testing import CliRunner

from shuyaku.cli import deploy as deploy_cli
from shuyaku.cli.main import app
from shuyaku.cli.preview import pack_config
from shuyaku.contracts.i18n import set_lang
from shuyaku.deploy.engine import ROOT, Stack
from shuyaku.policy import config as cfgmod
from shuyaku.policy.audit import missing_settings
from shuyaku.policy.registry import rule_ids

ENGINE = """\
if args[:1] == ['preview']:
    emit(*PREVIEW)
    sys.exit(CODE)
elif args[:2] == ['stack', 'ls']:
    print('[]')
elif args[:2] == ['stack', 'export']:
    print(json.dumps({'deployment': {'resources': [{'type': 't:m:Box'}]}}))
elif args[:2] == ['stack', 'output']:
    print('{}')
elif args[:2] == ['stack', 'history']:
    print(json.dumps([{'kind': 'update', 'startTime': '2026-12-03T10:00:00.000Z', 'message': '', 'environment': {},
                       'config': {}, 'result': 'succeeded'}]))
sys.exit(0)
"""
CREATE = "PREVIEW = [step('create', 't:m:Box', 'box-1'), step('same', 't:m:Box', 'box-0'), summary(create=1, same=1)]\n"
SAME = "PREVIEW = [step('same', 't:m:Box', 'box-0'), summary(same=1)]\n"
VIOLATION = ("PREVIEW = [step('create', 'openstack:networking/secGroupRule:SecGroupRule', 'ssh-world'), "
             "{'policyEvent': {'policyName': 'secgroup-no-world-ssh', 'enforcementLevel': 'mandatory', "
             "'message': 'SSH open to 0.0.0.0/0', 'policyPackName': 'shuyaku', "
             "'resourceUrn': 'urn:pulumi:dev::p::openstack:networking/secGroupRule:SecGroupRule::ssh-world'}}, "
             "summary(create=1)]\n")


@pytest.fixture(autouse=True)
def english():
    set_lang("en")
    yield
    set_lang(None)


@pytest.fixture
def given_pack_config(tmp_path: Path) -> Path:
    path = tmp_path / "pack-config.json"
    path.write_text('{"all": "mandatory"}')
    return path


def engine(tmp_path: Path, monkeypatch, preview: str, code: int = 0) -> Path:
    return fake_engine(tmp_path, monkeypatch, f"{EMIT}{preview}CODE = {code}\n{ENGINE}")


def ops(log: Path, op: str) -> list[list[str]]:
    return [c["args"] for c in calls(log) if c["args"][1:2] == [op]]  # the API puts --non-interactive first


def deploy(tmp_path: Path, *args: str, input: str | None = None):
    return CliRunner().invoke(app, ["deploy", "--stack", "dev", "--state", str(tmp_path / "state"), "--lang", "en", *args],
                              input=input)


def test_pack_config_comes_from_the_stack_config_and_follows_its_edits(tmp_path: Path) -> None:
    source = tmp_path / "Pulumi.local.yaml"
    shutil.copyfile(ROOT / "stacks" / "Pulumi.local.yaml", source)
    st = Stack("local", tmp_path / "state", config_source=source)
    st.shadow_dir.mkdir(parents=True)
    config = pack_config(st)
    assert config["internet-egress-only-proxy"]["proxy_cidrs"] == ["203.0.113.80/32"]
    assert config["port-not-on-external-network"]["provider_networks"] == {"lgwan": ["lgwan"], "internet": ["public"]}
    # Every rule gets the settings it needs: none checks only part of itself.
    assert missing_settings(cfgmod.parse(config, str(source), rule_ids())) == {}
    source.write_text(source.read_text().replace("203.0.113.80/32", "203.0.113.90/32"))
    assert pack_config(st)["internet-egress-only-proxy"]["proxy_cidrs"] == ["203.0.113.90/32"]


def test_the_stack_config_file_is_the_one_source_overrides_and_salt_kept(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "conf").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text("name: p\nruntime: python\nstackConfigDir: conf\n")
    source = project / "conf" / "Pulumi.dev.yaml"
    source.write_text("config:\n  p:size: small\n  p:site: a.json\n")
    st = Stack("dev", tmp_path / "state", project_dir=project)
    st.shadow_dir.mkdir(parents=True)
    st.sync_config()
    st.config_file.write_text(st.config_file.read_text() + "encryptionsalt: v1:engine-salt\n")  # as `stack init` does
    st.overrides["p:site"] = "this-run.json"
    source.write_text("config:\n  p:size: large\n  p:site: a.json\n")  # the user's edit
    st.sync_config()
    copy = st.config_file.read_text()
    assert "p:size: large" in copy and "p:site: this-run.json" in copy and "encryptionsalt: v1:engine-salt" in copy
    assert source.read_text() == "config:\n  p:size: large\n  p:site: a.json\n"  # the checkout is never written
    fresh = Stack("dev", tmp_path / "state", project_dir=project)  # the next command: no override of its own
    fresh.sync_config()
    assert "p:site: a.json" in fresh.config_file.read_text()


def test_deploy_refuses_without_a_terminal_and_changes_nothing(tmp_path, monkeypatch, given_pack_config) -> None:
    log = engine(tmp_path, monkeypatch, CREATE)
    result = deploy(tmp_path, "--policy-pack-config", str(given_pack_config))
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert "standard input is not a terminal" in flat and "Nothing was changed" in flat and "--yes" in flat
    assert "1 to create" in flat and "box-1" in flat  # the summary was shown first
    (preview,) = ops(log, "preview")
    assert preview[preview.index("--policy-pack") + 1] == str(ROOT / "policies")  # the pack is on by default
    assert preview[preview.index("--policy-pack-config") + 1] == str(given_pack_config)
    assert ops(log, "up") == []


def test_a_person_who_answers_no_changes_nothing(tmp_path, monkeypatch, given_pack_config) -> None:
    log = engine(tmp_path, monkeypatch, CREATE)
    monkeypatch.setattr(deploy_cli, "interactive", lambda: True)
    result = deploy(tmp_path, "--policy-pack-config", str(given_pack_config), input="\n")  # the default is No
    assert result.exit_code == 1 and "Apply these changes to stack dev? [y/N]" in result.output
    assert "Cancelled. Nothing was changed." in result.output and ops(log, "up") == []
    result = deploy(tmp_path, "--policy-pack-config", str(given_pack_config), input="y\n")
    assert result.exit_code == 0, result.output
    (up,) = ops(log, "up")
    assert "--policy-pack" in up and str(given_pack_config) in up  # the update runs with the previewed pack


def test_yes_deploys_unattended(tmp_path, monkeypatch, given_pack_config) -> None:
    log = engine(tmp_path, monkeypatch, CREATE)
    result = deploy(tmp_path, "--policy-pack-config", str(given_pack_config), "--yes")
    assert result.exit_code == 0, result.output
    assert len(ops(log, "up")) == 1 and "Stack dev: 1 resources" in result.output


def test_no_changes_says_so_and_does_not_ask(tmp_path, monkeypatch, given_pack_config) -> None:
    log = engine(tmp_path, monkeypatch, SAME)
    result = deploy(tmp_path, "--policy-pack-config", str(given_pack_config))
    assert result.exit_code == 0, result.output
    assert "Stack dev: no changes." in result.output and "[y/N]" not in result.output
    assert ops(log, "up") == []


def test_a_policy_violation_stops_the_deploy_before_it_asks(tmp_path, monkeypatch, given_pack_config) -> None:
    log = engine(tmp_path, monkeypatch, VIOLATION, code=255)
    result = deploy(tmp_path, "--policy-pack-config", str(given_pack_config), "--yes")
    assert result.exit_code == 1, result.output
    flat = " ".join(result.output.split())
    assert "[mandatory] secgroup-no-world-ssh ssh-world: SSH open to 0.0.0.0/0" in flat
    assert "stopped by policy violations (nothing was changed): secgroup-no-world-ssh" in flat
    assert ops(log, "up") == []


def test_no_policy_warns_and_leaves_the_pack_out(tmp_path, monkeypatch) -> None:
    log = engine(tmp_path, monkeypatch, CREATE)
    result = CliRunner().invoke(app, ["preview", "--stack", "dev", "--state", str(tmp_path / "state"), "--no-policy",
                                      "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "warning: --no-policy: the policy pack is not applied" in " ".join(result.output.split())
    (preview,) = ops(log, "preview")
    assert "--policy-pack" not in preview and ops(log, "up") == []


def test_a_stack_config_the_pack_cannot_be_made_from_is_bad_input(tmp_path, monkeypatch) -> None:
    engine(tmp_path, monkeypatch, CREATE)
    source = tmp_path / "Pulumi.local.yaml"
    source.write_text((ROOT / "stacks" / "Pulumi.local.yaml").read_text().replace("203.0.113.80/32", "not-a-cidr"))
    result = CliRunner().invoke(app, ["preview", "--stack", "local", "--stack-config", str(source), "--state",
                                      str(tmp_path / "state"), "--lang", "en"])
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert f"{source}:" in flat and "shuyaku:proxyCidr" in flat


@pytest.mark.parametrize("file_name", ["my-town.yaml", "Pulumi.town.yaml"])
def test_a_missing_setting_names_the_stack_the_user_gave(tmp_path, monkeypatch, file_name: str) -> None:
    """The fix names `--stack town`, never the file's stem; a file not named for the stack is the one to edit
    (`pulumi config set -s` would write stacks/Pulumi.town.yaml instead)."""
    engine(tmp_path, monkeypatch, CREATE)
    source = tmp_path / file_name
    source.write_text("\n".join(line for line in (ROOT / "stacks" / "Pulumi.local.yaml").read_text().splitlines()
                                if "shuyaku:proxyCidr" not in line))
    result = CliRunner().invoke(app, ["preview", "--stack", "town", "--stack-config", str(source), "--state",
                                      str(tmp_path / "state"), "--lang", "en"])
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert "shuyaku:proxyCidr" in flat and "my-town" not in flat.replace(str(source), "")
    if file_name == "my-town.yaml":
        assert f"add `shuyaku:proxyCidr: <value>` under config: in {source} (stack town)" in flat, flat
    else:
        assert "set it with `pulumi config set shuyaku:proxyCidr <value> -s town`" in flat, flat


def test_generated_pack_config_is_what_the_engine_gets(tmp_path, monkeypatch) -> None:
    log = engine(tmp_path, monkeypatch, SAME)
    source = tmp_path / "Pulumi.local.yaml"
    shutil.copyfile(ROOT / "stacks" / "Pulumi.local.yaml", source)
    result = CliRunner().invoke(app, ["preview", "--stack", "local", "--stack-config", str(source), "--state",
                                      str(tmp_path / "state")])
    assert result.exit_code == 0, result.output
    (preview,) = ops(log, "preview")
    given = json.loads(Path(preview[preview.index("--policy-pack-config") + 1]).read_text())
    assert given == pack_config(Stack("local", tmp_path / "state", config_source=source))


def test_destroy_asks_too(tmp_path, monkeypatch) -> None:
    log = engine(tmp_path, monkeypatch, SAME)
    refused = deploy(tmp_path, "--destroy")
    assert refused.exit_code == 2 and "Delete all 1 resources of stack dev?" not in refused.output
    assert "standard input is not a terminal" in " ".join(refused.output.split()) and ops(log, "destroy") == []
    done = deploy(tmp_path, "--destroy", "--yes")
    assert done.exit_code == 0 and "Stack dev destroyed." in done.output, done.output
    assert len(ops(log, "destroy")) == 1


def test_advisory_findings_are_shown_a_few_per_rule_and_do_not_stop_the_deploy(tmp_path, monkeypatch,
                                                                               given_pack_config) -> None:
    advisories = ", ".join(
        f"{{'policyEvent': {{'policyName': 'secgroup-description-required', 'enforcementLevel': 'advisory', "
        f"'message': 'no description', 'resourceUrn': 'urn:pulumi:dev::p::t:m:Box::box-{i}'}}}}" for i in range(5))
    log = engine(tmp_path, monkeypatch, f"PREVIEW = [step('create', 't:m:Box', 'box-1'), {advisories}, "
                                        "summary(create=1)]\n")
    result = deploy(tmp_path, "--policy-pack-config", str(given_pack_config), "--yes")
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert flat.count("[advisory] secgroup-description-required box-") == 3
    assert "[advisory] secgroup-description-required: 2 more (5 in all)" in flat and len(ops(log, "up")) == 1
