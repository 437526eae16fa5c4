"""Thin client (roles/thin_client): a kiosk that only ever shows a full-screen RDP session, keeps nothing,
and takes no USB storage."""

from __future__ import annotations

import re
import time

import pytest
from vdi_env import VdiEnv, get_env, unused_code

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


def _kiosk_connection(tc, vdi_addr: str, timeout: float = 60) -> str:
    """The kiosk's established RDP connection to the VDI host as `local_port`, or "" if there is none."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = tc.run(f"ss -Htnp state established 'dst {vdi_addr}:3389'").stdout
        for line in out.splitlines():
            if '"xfreerdp"' in line:
                return line.split()[2].rsplit(":", 1)[1]
        time.sleep(2)
    return ""


def test_kiosk_session_reaches_the_vdi_pool(env, tc):
    """The kiosk's xfreerdp holds a TLS connection to the VDI host, and xrdp records that very connection
    (the thin client's address and source port) as TLS: the kiosk shows the pool's login screen."""
    vdi_addr, tc_addr = env.addr("vdi_hosts"), env.addr("thin_clients")
    port = _kiosk_connection(tc, vdi_addr)
    assert port, "the kiosk holds no connection to the VDI host: " + tc.run(
        "journalctl -u shuyaku-kiosk --no-pager -n 30 -o cat").stdout
    log = env.host("vdi_hosts").file("/var/log/xrdp.log").content_string
    assert re.search(rf"TLS connection established from ::ffff:{re.escape(tc_addr)} port {port}: TLSv1\.[23]", log), \
        log[-2000:]


def test_a_person_at_the_kiosk_opens_a_desktop_on_the_vdi_host(env, tc):
    """End to end: someone types user name, then password followed by the TOTP code, into the login screen
    the kiosk shows; the VDI host starts a desktop for that user from the thin client's connection.

    xdotool (installed for this test, removed after) stands in for the keyboard: it sends the keys to the
    kiosk's X display through XTEST, exactly as typed keys reach xfreerdp."""
    vdi = env.host("vdi_hosts")
    vdi_addr, tc_addr = env.addr("vdi_hosts"), env.addr("thin_clients")
    user = env.creds["user"]
    port = _kiosk_connection(tc, vdi_addr)
    assert port, "the kiosk holds no connection to the VDI host"
    install = tc.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends xdotool")
    assert install.rc == 0, install.stdout[-2000:] + install.stderr[-2000:]
    x = "env DISPLAY=:0 XAUTHORITY=/home/kiosk/.Xauthority xdotool"
    log = "/var/log/xrdp.log"
    start = int(vdi.run(f"stat -c %s {log}").stdout.strip() or 0)
    uid = vdi.run(f"id -u {user}").stdout.strip()
    try:
        # The login screen has the user-name field first; it is empty (the kiosk sends no user name).
        secret = env.creds["password"] + unused_code(env)
        for keys in (f"type --delay 50 {user}", "key Tab", f"type --delay 50 {secret}", "key Return"):
            r = tc.run(f"{x} {keys}")
            assert r.rc == 0, r.stderr
        # xrdp ties the kiosk's very connection (address and source port) to the user's X server, whether
        # sesman created a desktop or gave back the user's disconnected one.
        pattern = (rf"lib_mod_log_peer: xrdp_pid=\d+ connected to X11rdp_pid=(\d+) X11rdp_uid={uid} "
                   rf"X11rdp_gid=\d+ client_ip=::ffff:{re.escape(tc_addr)} client_port={port}\b")
        deadline, new, m = time.monotonic() + 60, "", None
        while time.monotonic() < deadline and not m:
            new = vdi.run(f"tail -c +{start + 1} {log}").stdout
            m = re.search(pattern, new)
            time.sleep(1)
        sesman = vdi.run("tail -n 20 /var/log/xrdp-sesman.log").stdout
        assert m, f"no desktop for {user} on the kiosk's connection :{port}:\n{new[-1500:]}\n{sesman}"
        xorg = vdi.run(f"ps -o user=,args= -p {m.group(1)}").stdout
        assert xorg.startswith(user) and "Xorg :" in xorg, xorg
        deadline, procs = time.monotonic() + 30, ""
        while time.monotonic() < deadline:
            procs = vdi.run(f"ps -u {user} -o args=").stdout
            if "xfce4-panel" in procs:
                break
            time.sleep(1)
        assert "xfce4-panel" in procs, procs
        # Still the same connection: the desktop is on the kiosk's screen, not a new attempt.
        assert _kiosk_connection(tc, vdi_addr, timeout=5) == port
    finally:
        # Leave both hosts as the roles made them: end the desktop and give the kiosk a fresh screen.
        tc.run("apt-get purge -y -q --autoremove xdotool")
        tc.run("systemctl restart shuyaku-kiosk")
        vdi.run(f"pkill -TERM -u {user}")


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
