"""Test environment for the VDI roles: real test hosts, run-time secrets, converges, and RDP helpers.

Two ways in:
- self-contained (no inventory given): `scripts/test-hosts up 3 --name vdi` starts a VDI host, a web
  gateway and a thin client, the three playbooks converge with secrets generated for this run, and the
  hosts go down when the pytest session ends;
- an existing, converged set: SHUYAKU_VDI_INVENTORY (or testinfra's --ansible-inventory) names the
  inventory and SHUYAKU_VDI_WORKDIR the directory holding the run's secrets (creds.json, certificates).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import testinfra
import yaml

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku")) / "vdi-tests"
# Another set name (SHUYAKU_VDI_SET) lets a second checkout or a developer run beside the test suite's set.
SET_NAME = os.environ.get("SHUYAKU_VDI_SET", "vdi")
SET_GROUPS = "vdi_hosts:1,vdi_web:1,thin_clients:1"
PLAYBOOKS = ("vdi_host", "vdi_web", "thin_client")
TEST_USER = "tanaka"
VENV_BIN = str(Path(sys.executable).parent)

# RDP_NEG_REQ requestedProtocols / RDP_NEG_RSP selectedProtocol values ([MS-RDPBCGR] 2.2.1.1.1).
PROTOCOL_RDP, PROTOCOL_SSL, PROTOCOL_HYBRID = 0, 1, 2
TYPE_RDP_NEG_RSP, TYPE_RDP_NEG_FAILURE = 2, 3
SSL_REQUIRED_BY_SERVER = 1


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env["ANSIBLE_ROLES_PATH"] = str(REPO / "roles")
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    # ansible-runner would otherwise set ANSIBLE_HOST_KEY_CHECKING=False; the test hosts' keys are known.
    env["ANSIBLE_HOST_KEY_CHECKING"] = "True"
    return env


# ---------------------------------------------------------------- secrets made at run time


def _self_signed(workdir: Path, stem: str, cn: str, ip: str) -> tuple[Path, Path]:
    cert, key = workdir / f"{stem}-cert.pem", workdir / f"{stem}-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "7", "-subj", f"/CN={cn}",
         "-addext", f"subjectAltName=DNS:{cn},IP:{ip}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    key.chmod(0o600)
    return cert, key


def _sha512_crypt(password: str) -> str:
    return subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password, capture_output=True,
                          text=True, check=True).stdout.strip()


def make_run_secrets(workdir: Path, groups: dict[str, list[tuple[str, str]]]) -> tuple[dict, dict]:
    """Certificates, a desktop user's password and TOTP secret; returns (extravars, creds)."""
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o700)
    (vdi_name, vdi_addr) = groups["vdi_hosts"][0]
    (web_name, web_addr) = groups["vdi_web"][0]
    rdp_cert, rdp_key = _self_signed(workdir, "rdp", vdi_name, vdi_addr)
    web_cert, web_key = _self_signed(workdir, "web", web_name, web_addr)
    # Letters, digits and "-" only: the kiosk test types the password on the thin client, whose session
    # uses the Japanese keyboard layout, where "_" sits on a key a US keymap does not have.
    password = "Pw-" + secrets.token_hex(12)
    totp_secret = pyotp.random_base32()
    creds = {"user": TEST_USER, "password": password, "totp_secret": totp_secret,
             "rdp_cert": str(rdp_cert), "web_cert": str(web_cert)}
    extravars = {
        "vdi_host_tls_cert_file": str(rdp_cert),
        "vdi_host_tls_key_file": str(rdp_key),
        "vdi_host_users": [{"name": TEST_USER, "totp_secret": totp_secret,
                            "password_hash": _sha512_crypt(password)}],
        # The tests make four logins inside one 30 s window on purpose (success, replay, password only,
        # wrong code); the default of 3 would turn the fourth into a rate-limit refusal.
        "vdi_host_totp_rate_limit_attempts": 10,
        "vdi_web_tls_cert_file": str(web_cert),
        "vdi_web_tls_key_file": str(web_key),
        "vdi_web_targets": [{"token": vdi_name, "host": vdi_addr, "port": 5900}],
        # By name: the certificate names the host, and FreeRDP 2 checks DNS names only, never IP addresses
        # (the kiosk refused the address with "No certificate stored, automatically denying").
        "thin_client_vdi_host": vdi_name,
        "thin_client_vdi_ca_file": str(rdp_cert),
        # Test hosts are containers without a GPU or VT.
        "thin_client_display": "virtual",
    }
    for name, data in (("creds.json", creds), ("extravars.json", extravars)):
        p = workdir / name
        p.write_text(json.dumps(data, indent=1))
        p.chmod(0o600)
    return extravars, creds


# ---------------------------------------------------------------- hosts and converges


def inventory_groups(inventory: Path) -> dict[str, list[tuple[str, str]]]:
    data = yaml.safe_load(inventory.read_text()) or {}
    out: dict[str, list[tuple[str, str]]] = {}

    def walk(name: str, node: dict) -> None:
        node = node or {}
        for host, hv in (node.get("hosts") or {}).items():
            out.setdefault(name, []).append((host, (hv or {}).get("ansible_host", host)))
        for child, cv in (node.get("children") or {}).items():
            walk(child, cv)

    walk("all", data.get("all", {}))
    return out


def hosts_up() -> Path:
    t0 = time.monotonic()
    proc = subprocess.run(
        [str(REPO / "scripts/test-hosts"), "up", "3", "--name", SET_NAME, "--groups", SET_GROUPS],
        capture_output=True, text=True, env=_env(),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"scripts/test-hosts up failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    path = Path(proc.stdout.strip().splitlines()[-1])
    print(f"[vdi] test hosts up in {time.monotonic() - t0:.0f} s: {path}", file=sys.stderr)
    return path


def hosts_down() -> None:
    subprocess.run([str(REPO / "scripts/test-hosts"), "down", "--name", SET_NAME],
                   capture_output=True, text=True, env=_env())


@dataclass
class Converge:
    playbook: str
    rc: int
    status: str
    seconds: float
    stats: dict
    stdout: str

    def changed(self) -> dict:
        return self.stats.get("changed", {}) or {}

    def failed_hosts(self) -> dict:
        return {**(self.stats.get("failures") or {}), **(self.stats.get("dark") or {})}


def run_playbook(playbook: str, inventory: Path, extravars: dict, workdir: Path, tag: str) -> Converge:
    """Runs playbooks/<playbook>.yml through ansible-runner (artifacts kept under workdir)."""
    import ansible_runner  # imported late: it reads PATH and ANSIBLE_* at import time

    from shuyaku.provision.runner import strategy_env

    pdd = workdir / "runner" / f"{playbook}-{tag}"
    if pdd.exists():
        shutil.rmtree(pdd)
    pdd.mkdir(parents=True)
    t0 = time.monotonic()
    r = ansible_runner.run(
        private_data_dir=str(pdd), project_dir=str(REPO), playbook=str(REPO / "playbooks" / f"{playbook}.yml"),
        inventory=str(inventory), extravars=extravars, quiet=True,
        # The strategy `shuyaku provision` uses (mitogen when installed), so these runs prove the same path.
        envvars={**{k: v for k, v in _env().items() if k.startswith("ANSIBLE_")}, **strategy_env()},
    )
    seconds = time.monotonic() - t0
    stdout = r.stdout.read() if r.stdout else ""
    return Converge(playbook, r.rc, r.status, seconds, r.stats or {}, stdout)


@dataclass
class VdiEnv:
    inventory: Path
    workdir: Path
    groups: dict[str, list[tuple[str, str]]]
    creds: dict
    extravars: dict
    started_hosts: bool = False
    first_converge: dict[str, Converge] = field(default_factory=dict)

    def inventory_vars(self) -> dict:
        data = yaml.safe_load(self.inventory.read_text()) or {}
        return (data.get("all") or {}).get("vars") or {}

    def addr(self, group: str) -> str:
        return self.groups[group][0][1]

    def host(self, group: str) -> testinfra.host.Host:
        name = self.groups[group][0][0]
        return testinfra.get_host(f"ansible://{name}?ansible_inventory={self.inventory}")

    def hosts(self, group: str) -> list[testinfra.host.Host]:
        return [testinfra.get_host(f"ansible://{n}?ansible_inventory={self.inventory}")
                for n, _ in self.groups.get(group, [])]


def _build_env(config) -> VdiEnv:
    # testinfra's ansible backend calls ansible-inventory; ansible-runner calls ansible-playbook.
    os.environ.update({k: v for k, v in _env().items() if k in ("PATH", "ANSIBLE_CONFIG", "ANSIBLE_ROLES_PATH")})
    given = os.environ.get("SHUYAKU_VDI_INVENTORY") or (config.getoption("ansible_inventory", None))
    if given:
        inventory = Path(given)
        workdir = Path(os.environ.get("SHUYAKU_VDI_WORKDIR", CACHE / "current"))
        creds_file, vars_file = workdir / "creds.json", workdir / "extravars.json"
        if not creds_file.exists():
            raise RuntimeError(
                f"inventory {inventory} given but no test credentials at {creds_file}; "
                "set SHUYAKU_VDI_WORKDIR to the directory the converge wrote them to"
            )
        return VdiEnv(inventory, workdir, inventory_groups(inventory), json.loads(creds_file.read_text()),
                      json.loads(vars_file.read_text()))

    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Each xdist worker would start, converge and tear down the same host set under the others.
        raise RuntimeError(
            "the VDI suites start their own test hosts only in a single pytest process: run them without -n, "
            "or give converged hosts with SHUYAKU_VDI_INVENTORY and SHUYAKU_VDI_WORKDIR"
        )
    subprocess.run([str(REPO / "scripts/test-deps")], check=True)
    inventory = hosts_up()
    CACHE.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=CACHE))
    groups = inventory_groups(inventory)
    extravars, creds = make_run_secrets(workdir, groups)
    env = VdiEnv(inventory, workdir, groups, creds, extravars, started_hosts=True)
    t0 = time.monotonic()
    env.first_converge = converge_all(inventory, extravars, workdir, "first")
    print(f"[vdi] first converge of all three playbooks: {time.monotonic() - t0:.0f} s wall", file=sys.stderr)
    for pb, res in env.first_converge.items():
        if res.rc != 0:
            raise RuntimeError(f"converge of playbooks/{pb}.yml failed (rc={res.rc}):\n{res.stdout[-6000:]}")
    return env


def converge_all(inventory: Path, extravars: dict, workdir: Path, tag: str) -> dict[str, Converge]:
    """The three playbooks target disjoint groups, so they run side by side (the wall time is the
    slowest one, mostly package downloads and unpacking)."""
    with ThreadPoolExecutor(max_workers=len(PLAYBOOKS)) as pool:
        futures = {pb: pool.submit(run_playbook, pb, inventory, extravars, workdir, tag) for pb in PLAYBOOKS}
        results = {pb: f.result() for pb, f in futures.items()}
    for pb, res in results.items():
        print(f"[vdi] {tag} converge of {pb}: {res.seconds:.0f} s, rc={res.rc}, changed={res.changed()}",
              file=sys.stderr)
    return results


def get_env(config) -> VdiEnv:
    """One environment per pytest session, shared by every VDI test module; torn down at the end."""
    env = getattr(config, "_shuyaku_vdi_env", None)
    if isinstance(env, VdiEnv):
        return env
    if isinstance(env, Exception):
        raise env
    try:
        env = _build_env(config)
    except Exception as exc:
        config._shuyaku_vdi_env = exc
        if os.environ.get("SHUYAKU_VDI_KEEP") != "1" and not os.environ.get("SHUYAKU_VDI_INVENTORY"):
            config.add_cleanup(hosts_down)
        raise
    config._shuyaku_vdi_env = env
    if env.started_hosts and os.environ.get("SHUYAKU_VDI_KEEP") != "1":
        config.add_cleanup(hosts_down)
        # The run's passwords, TOTP secret and keys are throwaway; do not leave them lying around.
        config.add_cleanup(lambda: shutil.rmtree(env.workdir, ignore_errors=True))
    return env


# ---------------------------------------------------------------- RDP helpers


def x224_negotiate(addr: str, requested: int, port: int = 3389, sock: socket.socket | None = None):
    """Sends an X.224 Connection Request with RDP_NEG_REQ; returns (type, value, socket)."""
    neg = struct.pack("<BBHI", 0x01, 0, 8, requested)
    x224 = bytes([6 + len(neg), 0xE0, 0, 0, 0, 0, 0]) + neg
    s = sock or socket.create_connection((addr, port), timeout=10)
    s.sendall(struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224)
    resp = b""
    while len(resp) < 4 or len(resp) < struct.unpack(">H", resp[2:4])[0]:
        chunk = s.recv(4096)
        if not chunk:
            break
        resp += chunk
    if len(resp) < 19:
        return None, None, s
    neg_type, _flags, _length, value = struct.unpack("<BBHI", resp[11:19])
    return neg_type, value, s


class RdpTlsBridge:
    """Lets `openssl s_client` do the TLS handshake with xrdp: RDP negotiates TLS inside X.224 first,
    which s_client cannot do, so this local relay does the X.224 exchange and then passes bytes through."""

    def __init__(self, addr: str, port: int = 3389):
        self.addr, self.port = addr, port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.local_port = self.listener.getsockname()[1]
        self.selected: int | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        client, _ = self.listener.accept()
        neg_type, value, upstream = x224_negotiate(self.addr, PROTOCOL_SSL, self.port)
        self.selected = value if neg_type == TYPE_RDP_NEG_RSP else None
        upstream.settimeout(None)

        def pump(a: socket.socket, b: socket.socket) -> None:
            try:
                while data := a.recv(65536):
                    b.sendall(data)
            except OSError:
                pass
            finally:
                for s in (a, b):
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)

        t = threading.Thread(target=pump, args=(upstream, client), daemon=True)
        t.start()
        pump(client, upstream)
        t.join(5)

    def close(self) -> None:
        self.listener.close()


def s_client(port: int, *args: str, host: str = "127.0.0.1", servername: str | None = None) -> str:
    cmd = ["openssl", "s_client", "-connect", f"{host}:{port}", *args]
    if servername:
        cmd += ["-servername", servername]
    p = subprocess.run(cmd, input="", capture_output=True, text=True, timeout=30)
    return p.stdout + p.stderr


def cert_sha256(cert_file: str) -> str:
    pem = Path(cert_file).read_text()
    der = base64.b64decode("".join(line for line in pem.splitlines() if "-----" not in line))
    # FreeRDP compares against its own rendering: lower-case hex pairs joined by colons.
    return ":".join(f"{b:02x}" for b in hashlib.sha256(der).digest())


def unused_code(env: VdiEnv) -> str:
    """The current code, unless an earlier test run already logged in with it: pam_google_authenticator
    refuses a code twice (DISALLOW_REUSE), so then wait for the next 30 s step."""
    used_file = env.workdir / "used-codes.json"
    used = set(json.loads(used_file.read_text())) if used_file.exists() else set()
    totp = pyotp.TOTP(env.creds["totp_secret"])
    while (step := int(time.time() // 30)) in used:
        time.sleep(30 - time.time() % 30 + 0.5)
    used.add(step)
    used_file.write_text(json.dumps(sorted(used)[-20:]))
    return totp.at(step * 30)


def wrong_code(secret: str, window: int = 3) -> str:
    """A 6-digit code that is valid for no time step near now."""
    totp, now = pyotp.TOTP(secret), time.time()
    valid = {totp.at(now + 30 * k) for k in range(-window - 1, window + 2)}
    while True:
        code = f"{secrets.randbelow(10**6):06d}"
        if code not in valid:
            return code


@dataclass
class LoginOutcome:
    verdict: str  # "session" | "refused" | "timeout"
    sesman_log: str
    client_log: str


def rdp_login(env: VdiEnv, user: str, secret_text: str, timeout: float = 40) -> LoginOutcome:
    """A real RDP login from this machine with xfreerdp (under Xvfb) and the server's verdict.

    `xfreerdp +auth-only` cannot be used for this. xrdp offers TLS security only (no NLA/CredSSP), so no
    credential is checked while the connection is set up: the password reaches sesman's PAM stack only
    after the TLS connection is up, when auth-only has already stopped. Measured here (FreeRDP 2.11.7,
    xrdp 0.9.21): `xfreerdp /v:VDI /u:tanaka /p:definitely-wrong-password /sec:tls /cert:ignore +auth-only`
    exits 0 ("Authentication only, exit status 0") while xrdp-sesman logs `AUTHFAIL: user=tanaka` for that
    very attempt. So the test makes a full session attempt and reads the verdict where xrdp records it:
    xrdp-sesman's log.
    """
    vdi = env.host("vdi_hosts")
    log = "/var/log/xrdp-sesman.log"
    start = int(vdi.run(f"stat -c %s {log}").stdout.strip() or 0)
    fp = cert_sha256(env.creds["rdp_cert"])
    cmd = ["xvfb-run", "-a", "xfreerdp", f"/v:{env.addr('vdi_hosts')}", f"/u:{user}", f"/p:{secret_text}",
           "/sec:tls", f"/cert:name:{env.groups['vdi_hosts'][0][0]},fingerprint:sha256:{fp}", "/log-level:WARN"]
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        verdict, new = "timeout", ""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                new = vdi.run(f"tail -c +{start + 1} {log}").stdout
                # A user who still has a (disconnected) desktop gets it back instead of a new one.
                if re.search(rf"Session started successfully for user {re.escape(user)}\b"
                             rf"|reconnected session: username {re.escape(user)}\b", new):
                    verdict = "session"
                    break
                if re.search(rf"AUTHFAIL: user={re.escape(user)}\b", new):
                    verdict = "refused"
                    break
                if proc.poll() is not None:
                    new = vdi.run(f"tail -c +{start + 1} {log}").stdout
                    break
                time.sleep(0.5)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, 9)
                    proc.wait(5)
        out.seek(0)
        client = out.read().decode(errors="replace")
    return LoginOutcome(verdict, new, client[-3000:])


def tls_context_trusting(cert_file: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=cert_file)
    return ctx
