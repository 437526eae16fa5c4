"""The monthly unit under a real systemd: the vendors' passphrases reach `shuyaku status` as credentials only.

deploy/systemd/shuyaku-status.service, exactly as shipped, is installed on a real test host (scripts/test-hosts: a
systemd-booted Debian 12 container, reached over SSH) and started by its systemd. Root keeps the passphrases in a
root-only folder; `LoadCredential=vendor:DIR` must hand each file to the service's user as `vendor_<V>` in `%d`, and
`--vendor-passphrases %d` must name that folder. The command itself is replaced on that host by a probe that writes
down what it was given (the host has no shuyaku installed): it is systemd's side that is under test here, while
what `status` reads from such a folder is tested in tests/unit/test_status_cli.py. The probe also tries the root-only
folder itself, which must be refused, and the passphrase must not appear in the unit, its environment or its journal.

Run it under the shared lock: `flock /tmp/shuyaku-devcloud.lock .venv/bin/pytest tests/integration/test_status_unit.py`.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from shuyaku.deploy.engine import ROOT

pytestmark = pytest.mark.integration

TEST_HOSTS = ROOT / "scripts" / "test-hosts"
NAME = "stunit"
UNIT = ROOT / "deploy" / "systemd" / "shuyaku-status.service"
PROBE = """#!/bin/sh
# Stand-in for /opt/shuyaku/.venv/bin/shuyaku: writes down what systemd gave it.
out=/var/lib/shuyaku/status/probe.txt
dir=""; prev=""
for a in "$@"; do [ "$prev" = "--vendor-passphrases" ] && dir="$a"; prev="$a"; done
{
  echo "user=$(id -un)"
  echo "dir=$dir"
  echo "env=$CREDENTIALS_DIRECTORY"
  for f in "$dir"/*; do echo "file=$(basename "$f") $(cat "$f")"; done
  if cat /etc/shuyaku/vendor-passphrases/juki >/dev/null 2>&1; then echo "source=readable"; else echo "source=refused"; fi
} > "$out"
"""


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    up = subprocess.run([str(TEST_HOSTS), "up", "1", "--name", NAME], capture_output=True, text=True, timeout=1800)
    assert up.returncode == 0, up.stderr[-3000:]
    try:
        inventory = Path(up.stdout.strip().splitlines()[-1])
        assert yaml.safe_load(inventory.read_text(encoding="utf-8"))["all"]["children"]["servers"]["hosts"]
        env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
               "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
        yield inventory, env
    finally:
        subprocess.run([str(TEST_HOSTS), "down", "--name", NAME], capture_output=True, text=True, timeout=300)


def on_host(host: tuple[Path, dict[str, str]], module: str, args: str) -> str:
    inventory, env = host
    proc = subprocess.run(["ansible", "-i", str(inventory), "servers", "-b", "-m", module, "-a", args], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-1000:]
    return proc.stdout


def test_systemd_hands_each_vendor_passphrase_to_the_monthly_run_and_nowhere_else(
        host: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    juki, zaimu = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    probe = tmp_path / "shuyaku"
    probe.write_text(PROBE, encoding="utf-8")
    on_host(host, "ansible.builtin.shell", "id shuyaku || useradd --system --user-group shuyaku; "
            "install -d -m 0700 /etc/shuyaku/vendor-passphrases; install -d /opt/shuyaku/.venv/bin "
            "/var/lib/shuyaku /var/cache/shuyaku /srv/shuyaku; printf 'SHUYAKU_STACK=onprem\\nSHUYAKU_CLOUD=city\\n"
            "SHUYAKU_PUBLISH_DIR=/srv/shuyaku/goal-sheet\\n' > /etc/shuyaku/status.env")
    for vendor, secret in (("juki", juki), ("zaimu", zaimu)):  # as docs/status.md says root writes them
        on_host(host, "ansible.builtin.copy", f"content={secret} dest=/etc/shuyaku/vendor-passphrases/{vendor} "
                                              "owner=root group=root mode=0600")
    on_host(host, "ansible.builtin.copy", f"src={probe} dest=/opt/shuyaku/.venv/bin/shuyaku mode=0755")
    on_host(host, "ansible.builtin.copy", f"src={UNIT} dest=/etc/systemd/system/shuyaku-status.service mode=0644")
    on_host(host, "ansible.builtin.shell", "systemctl daemon-reload && timeout 300 systemctl start shuyaku-status.service")
    said = on_host(host, "ansible.builtin.shell", "cat /var/lib/shuyaku/status/probe.txt")
    lines = dict(line.split("=", 1) for line in said.splitlines() if "=" in line and line.split("=", 1)[0].isalpha())
    assert lines["user"] == "shuyaku" and lines["dir"] and lines["dir"] == lines["env"], said
    assert f"file=vendor_juki {juki}" in said and f"file=vendor_zaimu {zaimu}" in said, said
    assert lines["source"] == "refused", said  # the service's user cannot read root's folder itself
    shown = on_host(host, "ansible.builtin.shell", "systemctl cat shuyaku-status.service; systemctl show "
                    "shuyaku-status.service -p Environment -p ExecMainStatus -p Result; journalctl --no-pager "
                    "-u shuyaku-status.service")
    assert "ExecMainStatus=0" in shown and "Result=success" in shown, shown
    assert juki not in shown and zaimu not in shown
