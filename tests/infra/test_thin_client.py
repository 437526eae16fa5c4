"""Thin client (roles/thin_client): a kiosk that only ever shows a full-screen RDP session, keeps nothing,
and takes no USB storage."""

from __future__ import annotations

import re
import time

import pytest
from vdi_env import VdiEnv, get_env

pytestmark = pytest.mark.hosts


@pytest.fixture(scope="module")
def env(request) -> VdiEnv:
    e = get_env(request.config)
    if not e.groups.get("thin_clients"):
        pytest.skip(f"inventory {e.inventory} has no thin_clients group: nothing to verify here")
    return e


@pytest.fixture(scope="module")
def tc(env):
    return env.host("thin_clients")


def _kiosk_rdp_cmdline(tc, timeout: float = 40) -> str:
    """The running xfreerdp's command line (the unit restarts it after each session or failed attempt)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = tc.run("ps -u kiosk -o args=").stdout
        for line in out.splitlines():
            if line.startswith("/usr/bin/xfreerdp "):
                return line
        time.sleep(1)
    return ""


def test_kiosk_unit_runs_x_and_a_fullscreen_rdp_client_as_the_kiosk_user(env, tc):
    svc = tc.service("shuyaku-kiosk")
    assert svc.is_enabled
    assert tc.run("systemctl show -p User --value shuyaku-kiosk").stdout.strip() == "kiosk"
    cmd = _kiosk_rdp_cmdline(tc)
    assert cmd, "no xfreerdp running for the kiosk user: " + tc.run(
        "journalctl -u shuyaku-kiosk --no-pager -n 30 -o cat").stdout
    vdi_target = env.extravars["thin_client_vdi_host"]
    args = cmd.split()
    assert f"/v:{vdi_target}:3389" in args, cmd
    for flag in ("/f", "/sec:tls", "/cert:deny", "-clipboard", "-drives", "-home-drive"):
        assert flag in args, f"{flag} missing from {cmd}"
    assert not any(a.startswith(("/drive:", "/printer", "/smartcard", "/serial", "/usb")) for a in args)
    xorg = tc.run("ps -u kiosk -o args=").stdout
    assert "/usr/lib/xorg/Xorg :0" in xorg and "-nolisten tcp" in xorg, xorg


def test_kiosk_session_reaches_the_vdi_pool(env, tc):
    """The kiosk connects to the configured VDI host. Where the test network lets the thin client reach
    the VDI host, xrdp itself must record the TLS connection from the thin client; otherwise the client's
    own log must show the attempt to the configured host and nowhere else."""
    vdi_target = env.extravars["thin_client_vdi_host"]
    vdi_addr = env.addr("vdi_hosts")
    tc_addr = env.addr("thin_clients")
    reachable = tc.run(f"timeout 3 bash -c 'echo > /dev/tcp/{vdi_addr}/3389'").rc == 0
    if reachable:
        vdi = env.host("vdi_hosts")
        deadline, log = time.monotonic() + 60, ""
        while time.monotonic() < deadline:
            log = vdi.file("/var/log/xrdp.log").content_string
            if re.search(rf"TLS connection established from ::ffff:{re.escape(tc_addr)}\b", log):
                break
            time.sleep(2)
        assert re.search(rf"TLS connection established from ::ffff:{re.escape(tc_addr)}\b", log), log[-2000:]
    else:
        deadline, journal = time.monotonic() + 90, ""
        while time.monotonic() < deadline:
            journal = tc.run("journalctl -u shuyaku-kiosk --no-pager -o cat").stdout
            if f"failed to connect to {vdi_target}" in journal:
                break
            time.sleep(3)
        assert f"failed to connect to {vdi_target}" in journal, journal[-2000:]


def test_kiosk_user_has_no_shell_and_no_password(tc):
    user = tc.user("kiosk")
    assert user.shell in ("/usr/sbin/nologin", "/bin/false")
    assert user.password.startswith(("!", "*"))
    assert tc.run("id -nG kiosk").stdout.split() == ["kiosk"], "kiosk must not be in sudo/plugdev/... groups"


def test_no_local_storage(tc):
    mnt = tc.run("findmnt -n -o FSTYPE,OPTIONS /home/kiosk").stdout
    assert mnt.startswith("tmpfs"), f"kiosk home is not in memory: {mnt!r}"
    assert "noexec" in mnt and "nosuid" in mnt
    # Everything outside the in-memory home is read-only for the kiosk session.
    show = tc.run("systemctl show -p ProtectSystem -p ReadWritePaths -p NoNewPrivileges shuyaku-kiosk").stdout
    assert "ProtectSystem=strict" in show and "NoNewPrivileges=yes" in show, show
    # The running session's view: its root file system is mounted read-only.
    pid = tc.run("systemctl show -p MainPID --value shuyaku-kiosk").stdout.strip()
    if pid and pid != "0":
        root_opts = tc.run(f"findmnt -n -o OPTIONS -N {pid} /").stdout
        assert root_opts.startswith("ro"), f"kiosk sees / as {root_opts!r}"


def test_usb_mass_storage_blocked(tc):
    for mod in ("usb-storage", "uas"):
        out = tc.run(f"modprobe -n -v {mod}")
        assert "install /bin/false" in out.stdout, f"{mod} would load: {out.stdout}{out.stderr}"
    conf = tc.file("/etc/modprobe.d/shuyaku-usb-storage.conf").content_string
    assert "blacklist usb-storage" in conf and "blacklist uas" in conf
    rule = tc.file("/etc/udev/rules.d/10-shuyaku-usb-storage.rules").content_string
    assert re.search(r'ATTR\{bInterfaceClass\}=="08".*ATTR\{authorized\}="0"', rule)
    assert tc.run("udevadm --version").rc == 0


def test_vt_switch_and_zap_disabled(tc):
    conf = tc.file("/etc/X11/xorg.conf.d/10-shuyaku-kiosk.conf").content_string
    assert 'Option "DontVTSwitch" "on"' in conf and 'Option "DontZap" "on"' in conf
