"""What an operator reads when a run fails: host, task, cause and the fix, never a traceback."""

from __future__ import annotations

import pytest

from shuyaku.contracts.i18n import set_lang
from shuyaku.provision.messages import Failure, format_failure, is_input_error, result_message
from shuyaku.provision.runner import Progress
from shuyaku.verify.runner import host_of


@pytest.fixture(autouse=True)
def reset_lang():
    yield
    set_lang(None)


ARG_MSG = ("Validation of arguments failed:\nmissing required arguments: baseline_log_host found in baseline | "
           "missing required arguments: baseline_log_host")


def test_missing_role_variable_names_variable_role_and_spec():
    set_lang("en")
    f = Failure("base-1", "baseline : Validating arguments against arg spec 'main' - Hardened baseline", ARG_MSG,
                role="baseline", address="198.18.2.11")
    text = format_failure(f)
    assert "role baseline is missing required variable(s): baseline_log_host\n" in text
    assert "roles/baseline/meta/argument_specs.yml" in text
    assert "base-1 (198.18.2.11)" in text
    assert is_input_error(f)


def test_missing_role_variable_in_japanese():
    f = Failure("base-1", "baseline : Validating arguments against arg spec 'main'", ARG_MSG, role="baseline")
    assert "ロール baseline の必須変数がありません: baseline_log_host" in format_failure(f)


def test_unreachable_host_names_address_and_what_to_check():
    set_lang("en")
    f = Failure("ghost-1", "Gathering Facts", "Task failed: Failed to connect to the host via ssh: ssh: connect to "
                "host 198.18.2.250 port 22: No route to host", unreachable=True, address="198.18.2.250")
    text = format_failure(f)
    assert text.startswith("host ghost-1 (198.18.2.250) is unreachable (task \"Gathering Facts\"): Failed to connect")
    assert "ansible_host" in text and not is_input_error(f)


def test_task_failure_keeps_module_message():
    set_lang("en")
    res = {"msg": "Unable to start service auditd: Job for auditd.service failed", "changed": False}
    f = Failure("base-2", "MIC 6.1 | Audit | Keep auditd running", result_message(res))
    assert format_failure(f) == ('task "MIC 6.1 | Audit | Keep auditd running" failed on host base-2: '
                                 "Unable to start service auditd: Job for auditd.service failed")


def test_result_message_prefers_msg_and_adds_stderr_tail():
    assert result_message({"msg": "failed to validate", "stderr": "line1\nError: bad rule"}) == (
        "failed to validate | Error: bad rule")
    assert result_message({"msg": "", "results": [{"failed": True, "msg": "item broke"}]}) == "item broke"


def _ev(kind, **data):
    return {"event": kind, "event_data": data}


def test_progress_counts_and_serial_batches():
    import io

    from rich.console import Console

    p = Progress(Console(file=io.StringIO()), live=False)
    for batch in (["h1"], ["h2"]):
        p.handle(_ev("playbook_on_task_start", task="first", task_uuid="u1", play_uuid="p"))
        for h in batch:
            p.handle(_ev("runner_on_ok", host=h, task="first", res={"changed": False}))
        p.handle(_ev("playbook_on_task_start", task="second", task_uuid="u2", play_uuid="p"))
        for h in batch:
            p.handle(_ev("runner_on_ok", host=h, task="second", res={"changed": True}))
    p.handle(_ev("runner_on_failed", host="h2", task="third", res={"msg": "boom"}, ignore_errors=True))
    assert p.batches == [["h1"], ["h2"]]
    assert p.hosts["h1"].changed == 1 and p.hosts["h2"].ok == 2
    assert p.failures == []  # ignored errors are not failures


def test_verify_maps_parametrised_cases_to_hosts():
    known = ["base-1", "base-10", "vdi-1"]
    assert host_of("test_x[base-1]", known) == "base-1"
    assert host_of("test_x[base-10-MACs-weak1]", known) == "base-10"
    assert host_of("test_x[ansible://vdi-1]", known) == "vdi-1"
    assert host_of("test_x", known) == "-"


@pytest.mark.parametrize("msg", [
    # ansible-core's ssh connection
    "Failed to connect to the host via ssh: @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n"
    "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n... Host key verification failed.",
    # mitogen's
    "EOF on stream; last 100 lines received: ... Host key checking is enabled, and SSH reported an unrecognized or "
    "mismatching host key.",
])
def test_a_refused_host_key_is_named_as_such_not_as_unreachable(msg):
    set_lang("en")
    text = format_failure(Failure("base-2", "Gathering Facts", msg, unreachable=True, address="198.18.2.12"))
    assert text.startswith("host base-2 (198.18.2.12) was refused: its SSH host key does not match")
    assert "do not connect" in text
    set_lang("ja")
    text = format_failure(Failure("base-2", "Gathering Facts", msg, unreachable=True, address="198.18.2.12"))
    assert text.startswith("ホスト base-2 (198.18.2.12) の SSH ホスト鍵が記録")


def test_strategy_is_mitogen_when_installed_unless_asked_otherwise(monkeypatch):
    from shuyaku.provision.runner import strategy_env

    monkeypatch.delenv("SHUYAKU_ANSIBLE_STRATEGY", raising=False)
    env = strategy_env()
    assert env["ANSIBLE_STRATEGY"] == "mitogen_linear"
    assert env["ANSIBLE_STRATEGY_PLUGINS"].endswith("ansible_mitogen/plugins/strategy")
    monkeypatch.setenv("SHUYAKU_ANSIBLE_STRATEGY", "free")
    assert strategy_env() == {"ANSIBLE_STRATEGY": "free"}
    assert strategy_env("linear") == {"ANSIBLE_STRATEGY": "linear"}
