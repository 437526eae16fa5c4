"""`shuyaku status`: vendor stacks found in the team database, and the VDI hosts' certificates read from the hosts.

The database and the engine parts run for real in tests/integration/test_status.py; here: how a state row names a
stack, how the operator's URL is pointed at a vendor's table, what a stack without its passphrase means for the
exit code, the risks and the text, and how the certificates' hosts and paths come out of an Ansible inventory (read
by Ansible itself) and what an unreachable host gives (a real SSH attempt refused on 127.0.0.1).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from test_status import run_of, town  # noqa: F401 - the module fixture is shared

from shuyaku.contracts.status import StackDrift
from shuyaku.deploy.backend import Backend
from shuyaku.status import hostcerts, operations, vendorstacks
from shuyaku.status.collect import exit_code

NOW = datetime(2026, 12, 3, tzinfo=UTC)
URL = ("postgres://shuyaku_operator@127.0.0.1:55432/shuyaku_state?table=platform.pulumi_state&sslmode=verify-full"
       "&sslrootcert=/c/tls/ca.crt&passfile=/c/secrets/operator.pgpass&connect_timeout=10")


@pytest.mark.parametrize(("key", "found"), [
    ("shuyaku_state/.pulumi/stacks/juki-app/dev.json", ("juki-app", "dev")),
    ("shuyaku_state/.pulumi/stacks/handoff-juki/onprem.json.zst", ("handoff-juki", "onprem")),
    ("shuyaku_state/.pulumi/stacks/juki-app/dev.json.bak", None),
    ("shuyaku_state/.pulumi/history/juki-app/dev/dev-1700000000.history.json", None),
    ("shuyaku_state/.pulumi/locks/organization/juki-app/dev/abc.json", None),
])
def test_a_vendor_stack_is_named_by_its_state_row(key: str, found: tuple[str, str] | None) -> None:
    m = vendorstacks.STACK_KEY.search(key)
    assert (None if m is None else (m["project"], m["stack"])) == found


def test_the_operators_url_is_pointed_at_the_vendors_table_with_the_same_login() -> None:
    url = vendorstacks.vendor_url(Backend(URL), "juki")
    q = parse_qs(urlsplit(url).query)
    assert q["table"] == ["vendor_juki.pulumi_state"]
    assert q["passfile"] == ["/c/secrets/operator.pgpass"] and q["sslmode"] == ["verify-full"]
    assert urlsplit(url).netloc == "shuyaku_operator@127.0.0.1:55432"


def test_a_vendor_stack_without_its_passphrase_is_not_checked_never_clean_and_no_alarm(town: dict[str, Any]) -> None:  # noqa: F811
    from shuyaku.status import risks

    locked = StackDrift(stack="vendor_juki:juki-app/dev", vendor="juki", checked=False, why="no_passphrase",
                        resources=0, error="no passphrase for this stack")
    clean = StackDrift(stack="platform", checked=True, resources=10)
    failed = StackDrift(stack="vendor_juki:handoff/onprem", vendor="juki", checked=False, why="failed", resources=0,
                        error="refresh preview failed")
    assert exit_code([clean, locked], [], [], False) == 0
    assert exit_code([clean, locked, failed], [], [], False) == 1
    run = run_of(town, {}, "2026-12", NOW).model_copy(update={"drift": [clean, locked]})
    said = [r.text.en for r in risks.open_risks(town["plan"], run, NOW.date()) if r.kind == "drift"]
    assert said == ["vendor stacks not checked for drift (no passphrase): vendor_juki:juki-app/dev"]
    from shuyaku.status.render import as_text

    assert "vendor_juki:juki-app/dev: not checked (no passphrase)" in as_text(run, "en")
    assert "確認できません（パスフレーズなし）" in as_text(run, "ja")


def test_vdi_hosts_and_their_certificate_paths_come_from_the_inventory(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  children:\n    vdi_hosts:\n      hosts:\n        vdi-1: {ansible_host: 198.18.3.11}\n"
                   "        vdi-2: {ansible_host: 198.18.3.12, vdi_host_tls_cert_path: /etc/xrdp/tls/city.pem}\n"
                   "    vdi_web:\n      hosts:\n        vdi-1: {}\n    servers:\n      hosts:\n"
                   "        app-1: {ansible_host: 198.18.3.20}\n", encoding="utf-8")
    assert hostcerts.targets(inv) == [
        hostcerts.Target("vdi-1", "/etc/shuyaku-novnc/tls/cert.pem"), hostcerts.Target("vdi-1", "/etc/xrdp/tls/cert.pem"),
        hostcerts.Target("vdi-2", "/etc/xrdp/tls/city.pem")]


def test_an_unreachable_vdi_host_is_unreadable_and_needs_attention(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.yml"
    # Port 9 on the loopback: nothing listens, so SSH is refused at once (a real attempt, no stand-in).
    inv.write_text("all:\n  children:\n    vdi_hosts:\n      hosts:\n        vdi-1: {ansible_host: 127.0.0.1, "
                   "ansible_port: 9, ansible_user: root}\n", encoding="utf-8")
    [e] = hostcerts.from_hosts(inv, NOW, 30)
    assert e.owner == "vdi-1:/etc/xrdp/tls/cert.pem" and e.soon and e.expires is None and e.error
    # --cert files replace the reading from the hosts (the monitor may not be allowed to log in)
    pem = tmp_path / "vdi-1.pem"
    pem.write_bytes(_cert("vdi-1.city.example", NOW + timedelta(days=90)))
    ops = operations.operations(None, None, [pem], NOW, 30, inv)
    assert [(e.name, e.days_left, e.soon, e.error) for e in ops.expiries] == [("CN=vdi-1.city.example", 90.0, False,
                                                                               None)]


def _cert(cn: str, not_after: datetime) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_after - timedelta(days=400))
            .not_valid_after(not_after).sign(key, hashes.SHA256()))
    return cert.public_bytes(Encoding.PEM)


def test_each_host_shows_its_own_last_patch_when_groups_are_patched_in_separate_runs(tmp_path: Path) -> None:
    """`shuyaku patch --limit vdi_hosts` one week and `--limit servers` the next: both groups keep their last run."""
    import json

    for stamp, host, changes, health in (("20261101T010000000000", "vdi-1", 9, "ok"),
                                         ("20261108T010000000000", "app-1", 3, "ok"),
                                         ("20261201T010000000000", "vdi-1", 2, "failed: xrdp")):
        d = tmp_path / f"patch-reports-{stamp}"
        d.mkdir()
        (d / f"{host}.json").write_text(json.dumps({"host": host, "changes": [{"package": "p"}] * changes,
                                                    "rebooted": False, "reboot_required": False, "health": health}),
                                        encoding="utf-8")
    run, hosts = operations.last_patch_run(tmp_path)
    assert run == "patch-reports-20261201T010000000000"
    assert [(h.host, h.run, h.packages, h.health) for h in hosts] == [
        ("app-1", "patch-reports-20261108T010000000000", 3, "ok"),
        ("vdi-1", "patch-reports-20261201T010000000000", 2, "failed: xrdp")]


def test_a_handoff_is_stale_when_the_cloud_no_longer_bears_out_what_it_tells_the_vendor(town: dict[str, Any]) -> None:  # noqa: F811
    """A hand-off holds no resource, so a refresh would call it clean whatever happened: it is held against the
    cloud instead. Published as `vendor publish` writes it (the contract's fields of the platform's output)."""
    from types import SimpleNamespace as NS

    from test_status import snapshot

    from shuyaku.contracts.problems import tx
    from shuyaku.status import handoffs
    from shuyaku.vendor import handoff

    published, _ = handoff.select(town["outputs"]["tenants"], "zaimu", tx("基盤", "platform"))
    q = published["quotas"]
    snap = snapshot(town, {})
    m = town["mocks"]
    snap.networks = [NS(id=r.id) for r in m.of_type("openstack:networking/network:Network")]
    snap.subnets = [NS(id=r.id) for r in m.of_type("openstack:networking/subnet:Subnet")]
    snap.security_groups = [NS(id=r.id) for r in m.of_type("openstack:networking/secGroup:SecGroup")]
    pid = published["project_id"]
    snap.compute_quotas[pid] = NS(instances=q["instances"], cores=q["cores"], ram=q["ram_mb"])
    read = StackDrift(stack="vendor_zaimu:shuyaku-handoff/onprem-zaimu", vendor="zaimu", checked=True, resources=1)
    assert handoffs.judge(read, published, snap) == read  # as published: clean
    snap.compute_quotas[pid] = NS(instances=q["instances"] + 5, cores=q["cores"], ram=q["ram_mb"])  # raised by hand
    snap.networks = [n for n in snap.networks if n.id != published["network_id"]]  # the tenant network deleted
    stale = handoffs.judge(read, published, snap)
    assert [(i.type, i.name, i.op, i.keys) for i in stale.changed] == [
        ("shuyaku:vendor:Handoff", "zaimu", "stale", ["network_id", "quotas.instances"])]
    assert exit_code([stale], [], [], False) == 1


def test_on_the_file_backend_each_vendor_folder_is_a_space_and_its_stacks_are_listed(tmp_path: Path) -> None:
    """What `vendor publish --vendor-state DIR` leaves (DIR/<V>/.pulumi/stacks/<project>/<stack>.json) is what
    `status --vendor-state DIR` lists; backups, history and folders that are no vendor name are not stacks."""
    for rel in ("zaimu/.pulumi/stacks/shuyaku-handoff/onprem-zaimu.json", "zaimu/.pulumi/stacks/app/dev.json",
                "zaimu/.pulumi/stacks/app/dev.json.bak", "zaimu/.pulumi/history/app/dev/dev-1.history.json",
                "Not-A-Vendor/.pulumi/stacks/app/dev.json"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}", encoding="utf-8")
    spaces = Backend(f"file://{tmp_path}")
    assert [v.label for v in vendorstacks.listed(spaces)] == [
        "vendor_zaimu:app/dev", "vendor_zaimu:shuyaku-handoff/onprem-zaimu"]
    assert vendorstacks.vendor_url(spaces, "zaimu") == f"file://{tmp_path}/zaimu"
