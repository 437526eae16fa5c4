"""roles/baseline on real hosts: what an auditor or an attacker would notice.

`shuyaku verify --inventory FILE` runs this over an inventory; alone (`pytest -m hosts tests/infra/test_baseline.py`)
it brings up its own test hosts, converges the baseline and takes them down afterwards (see conftest.py).
"""

from __future__ import annotations

import errno
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.hosts

BANNER_TEXT = "許可された利用者"
WEAK_CIPHERS = ("3des-cbc", "aes128-cbc", "aes256-cbc", "arcfour")
WEAK_MACS = ("hmac-sha1", "hmac-md5", "umac-64@openssh.com", "hmac-sha2-256")  # non-ETM variants
WEAK_KEX = ("diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1")


def _ssh(hostvars: dict, user: str, *opts: str, password: str | None = None,
         command: str = "true") -> subprocess.CompletedProcess:
    """Try a real login from this machine, as an operator or attacker would."""
    # The host keys the inventory pins (or the operator's known_hosts): an attacker's login attempt and ours
    # both go to the real host, never to whoever answers first.
    base = ["ssh", "-o", "StrictHostKeyChecking=yes", *_host_key_pins(hostvars), "-o", "ConnectTimeout=5",
            "-o", "NumberOfPasswordPrompts=1", *opts, f"{user}@{hostvars['ansible_host']}", command]
    if password is not None:
        assert shutil.which("sshpass"), "sshpass is needed to try a password login (scripts/test-hosts installs it)"
        base = ["sshpass", "-p", password, *base]
    return subprocess.run(base, capture_output=True, text=True, timeout=30)


def _host_key_pins(hostvars: dict) -> list[str]:
    """The known_hosts and jump-host options of the inventory's ssh arguments: a guest behind the bastion is tried
    through it, as the operator and an attacker at the operator's desk reach it (the rest, e.g. LogLevel, would
    hide what the tests read from ssh's stderr)."""
    words = shlex.split(str(hostvars.get("ansible_ssh_common_args", "")))
    options = [w for prev, w in zip(["", *words], words, strict=False) if prev == "-o"]
    kept = ("userknownhostsfile", "globalknownhostsfile", "proxycommand")
    return [arg for o in options if o.split("=", 1)[0].lower() in kept for arg in ("-o", o)]


def _key(hostvars: dict) -> list[str]:
    key = hostvars.get("ansible_ssh_private_key_file")
    return ["-i", key, "-o", "IdentitiesOnly=yes"] if key else []


def _password(hostvars: dict) -> str:
    """The account's real password on test hosts, so a refusal proves sshd itself refuses passwords."""
    f = hostvars.get("test_hosts_password_file")
    return Path(f).read_text().strip() if f and Path(f).exists() else secrets.token_urlsafe(12)


# ------------------------------------------------------------------ SSH


def test_root_login_refused_with_a_valid_key(node, hostvars):
    # On test hosts root's authorized_keys holds the same key Ansible uses: only sshd's policy stops it.
    r = _ssh(hostvars, "root", *_key(hostvars), "-o", "BatchMode=yes")
    assert r.returncode == 255, f"root login was not refused: rc={r.returncode} {r.stdout} {r.stderr}"
    assert "Permission denied" in r.stderr


def test_admin_login_with_key_works(node, hostvars):
    r = _ssh(hostvars, hostvars.get("ansible_user", "ansible"), *_key(hostvars), "-o", "BatchMode=yes",
             command="id -un")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == hostvars.get("ansible_user", "ansible")


def test_password_login_refused_even_with_the_right_password(node, hostvars):
    user = hostvars.get("ansible_user", "ansible")
    r = _ssh(hostvars, user, "-o", "PreferredAuthentications=password,keyboard-interactive",
             "-o", "PubkeyAuthentication=no", password=_password(hostvars))
    assert r.returncode != 0, "a password login succeeded"
    # sshd does not even offer password or keyboard-interactive methods.
    assert "Permission denied (publickey)" in r.stderr, r.stderr


@pytest.mark.parametrize(("option", "weak"), [("Ciphers", WEAK_CIPHERS), ("MACs", WEAK_MACS),
                                              ("KexAlgorithms", WEAK_KEX)])
def test_weak_algorithms_refused(node, hostvars, option, weak):
    offered = subprocess.run(["ssh", "-Q", {"Ciphers": "cipher", "MACs": "mac", "KexAlgorithms": "kex"}[option]],
                             capture_output=True, text=True).stdout.split()
    usable = [a for a in weak if a in offered]
    assert usable, f"this ssh client offers none of {weak}"
    # With an AEAD cipher no MAC is negotiated at all, so the MAC case pins a CTR cipher.
    pin = ["-o", "Ciphers=aes128-ctr"] if option == "MACs" else []
    r = _ssh(hostvars, hostvars.get("ansible_user", "ansible"), *_key(hostvars), "-o", "BatchMode=yes", *pin,
             "-o", f"{option}={','.join(usable)}")
    assert r.returncode == 255
    assert "no matching" in r.stderr, r.stderr


def test_sshd_effective_settings(node):
    cfg = dict(line.split(" ", 1) for line in node.check_output("sshd -T").splitlines() if " " in line)
    assert cfg["permitrootlogin"] == "no"
    assert cfg["passwordauthentication"] == "no"
    assert cfg["kbdinteractiveauthentication"] == "no"
    assert cfg["authenticationmethods"] == "publickey"
    assert cfg["banner"] == "/etc/issue.net"
    assert not any("cbc" in c for c in cfg["ciphers"].split(","))
    assert all(m.endswith("-etm@openssh.com") for m in cfg["macs"].split(","))


def test_japanese_banner_shown_before_login(node, hostvars):
    assert BANNER_TEXT in node.file("/etc/issue.net").content_string
    r = _ssh(hostvars, hostvars.get("ansible_user", "ansible"), *_key(hostvars), "-o", "BatchMode=yes")
    assert BANNER_TEXT in r.stderr, f"banner not shown on ssh login: {r.stderr!r}"


# ------------------------------------------------------------------ firewall


def test_nftables_default_drop(node, hostvars):
    ruleset = node.check_output("nft list ruleset")
    assert "hook input priority filter; policy drop;" in ruleset
    assert "hook forward priority filter; policy drop;" in ruleset
    for cidr in hostvars["baseline_mgmt_cidrs"]:
        addr = cidr.removesuffix("/32")
        assert f"saddr {addr}" in ruleset and "tcp dport 22 accept" in ruleset
    assert node.service("nftables").is_enabled


def test_metadata_service_is_refused_to_users_other_than_root(node):
    # The user data holds the host's SSH host key (docs/threat-model.md): a local user must not fetch it.
    probe = ("import socket,sys\ns=socket.socket();s.settimeout(3)\n"
             "try:\n    s.connect(('169.254.169.254',80))\nexcept OSError as e:\n    print(type(e).__name__)")
    out = node.check_output(f"runuser -u nobody -- python3 -c {shlex.quote(probe)}")
    # reject answers at once (refused / not permitted); a timeout would mean the packet left the host
    assert out.strip() in {"ConnectionRefusedError", "PermissionError"}, out


def test_unlisted_port_is_dropped_from_outside(node, hostvars):
    # A service that listens but is not in the zone's flows must be unreachable from the network.
    port = 18080
    node.run(f"systemctl stop probe{port}.service 2>/dev/null; systemctl reset-failed probe{port}.service 2>/dev/null")
    node.check_output(f"systemd-run --unit=probe{port} python3 -m http.server {port} --bind 0.0.0.0")
    try:
        for _ in range(50):
            if node.run(f"python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), 1)'").rc == 0:
                break
            time.sleep(0.2)
        else:
            pytest.fail("probe listener did not start")
        s = socket.socket()
        s.settimeout(2)
        # dropped: no reset, just silence; or, for a guest on a tenant network, no route at all from this desk
        with pytest.raises(OSError) as tried:
            s.connect((hostvars["ansible_host"], port))
        s.close()
        assert isinstance(tried.value, TimeoutError) or tried.value.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH), \
            f"port {port} answered ({tried.value!r}): the packet reached the host and was not dropped"
    finally:
        node.run(f"systemctl stop probe{port}.service")


# ------------------------------------------------------------------ time, updates, audit, logs


def test_chrony_uses_the_configured_ntp_only(node, hostvars):
    conf = node.file("/etc/chrony/chrony.conf").content_string
    for server in hostvars["baseline_ntp_servers"]:
        assert f"server {server} iburst" in conf
    assert "pool " not in conf
    assert node.service("chrony").is_running
    sources = node.check_output("chronyc -n sources")
    for server in hostvars["baseline_ntp_servers"]:
        assert server in sources


def test_apt_and_unattended_upgrades_use_the_patch_mirror(node, hostvars):
    mirror = hostvars["baseline_patch_mirror_url"]
    assert f"deb {mirror} " in node.file("/etc/apt/sources.list").content_string
    policy = node.check_output("apt-cache policy")
    assert mirror in policy
    assert "deb.debian.org" not in policy
    auto = node.file("/etc/apt/apt.conf.d/20auto-upgrades").content_string
    assert 'APT::Periodic::Unattended-Upgrade "1";' in auto
    # A fresh host runs apt-daily right after the timers are enabled; wait for it like an operator would.
    for _ in range(120):
        if node.run("systemctl is-active --quiet apt-daily.service apt-daily-upgrade.service").rc != 0:
            break
        time.sleep(1)
    dry = node.run("unattended-upgrade --dry-run --debug")
    assert dry.rc == 0, dry.stderr
    out = dry.stdout + dry.stderr
    assert "Allowed origins are:" in out and "label=Debian-Security" in out
    assert node.service("apt-daily-upgrade.timer").is_enabled


def test_audit_rules_for_logins_and_privilege_use(node):
    rules = node.file("/etc/audit/rules.d/50-shuyaku.rules").content_string
    for key in ("-k logins", "-k session", "-k privileged", "-k privilege-escalation", "-k privilege-config"):
        assert key in rules
    enabled = node.run("systemctl is-enabled auditd")
    assert enabled.stdout.strip() == "enabled", f"auditd not enabled: {enabled.stdout} {enabled.stderr}"
    in_container = node.run("systemd-detect-virt --container").rc == 0
    if in_container:
        # The kernel accepts audit control only from the initial PID namespace; a container cannot run auditd.
        status = node.run("auditctl -s")
        assert status.rc != 0, f"audit works in this container after all; start auditd here too: {status.stdout}"
        # What a VM would load: the compiled /etc/audit/audit.rules agrees with the rule files.
        check = node.run("augenrules --check")
        assert "No change" in check.stdout, check.stdout + check.stderr
        compiled = node.file("/etc/audit/audit.rules").content_string
        assert "-k logins" in compiled and "-k privileged" in compiled
    else:
        assert node.service("auditd").is_running
        # The kernel lists a watch's key as `-k K` and a syscall rule's as `-F key=K`: every key of the rule files
        # must be loaded (a rule the kernel refused would stop augenrules at that line).
        loaded = node.check_output("auditctl -l")
        assert set(re.findall(r"-k (\S+)", rules)) <= set(re.findall(r"(?:-k |-F key=)(\S+)", loaded)), loaded


def test_logs_forwarded_to_the_log_host(node, hostvars):
    fwd = node.file("/etc/rsyslog.d/90-shuyaku-forward.conf").content_string
    assert f'target="{hostvars["baseline_log_host"]}"' in fwd
    # over TLS only, to a host whose certificate the platform's CA signed and that carries the log host's name
    assert 'StreamDriver="gtls"' in fwd and 'StreamDriverMode="1"' in fwd and 'StreamDriverAuthMode="x509/name"' in fwd
    peer = hostvars.get("baseline_log_peer") or hostvars["baseline_log_host"]
    assert f'StreamDriverPermittedPeers="{peer}"' in fwd
    ca = node.file("/etc/ssl/shuyaku/log-ca.pem")
    assert ca.exists and "BEGIN CERTIFICATE" in ca.content_string
    assert node.package("rsyslog-gnutls").is_installed
    assert node.service("rsyslog").is_running
    assert "ForwardToSyslog=yes" in node.file("/etc/systemd/journald.conf.d/50-shuyaku-forward.conf").content_string
    check = node.run("rsyslogd -N1")
    assert check.rc == 0, check.stderr
