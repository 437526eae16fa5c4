"""The dev cloud: Keystone, Placement, Glance, Nova (fake virt driver), Neutron (ML2/linuxbridge) and
Cinder (fake driver) from Debian 12's packages, with MariaDB and RabbitMQ, on 127.0.0.1 only.

Runs with /usr/bin/python3 (Debian's OpenStack libraries are not importable from other interpreters).
PID 1 is not systemd here, so every daemon is started by this script, recorded in a PID file under
${SHUYAKU_CACHE}/dev-cloud/run/ and stopped by that PID only.
"""

from __future__ import annotations

import argparse
import contextlib
import grp
import http.client
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import qemucompute  # beside this file (sys.path[0])
import spoofchains

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
ROOT = HERE.parents[1]
CACHE = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku")) / "dev-cloud"
RUN = CACHE / "run"
LOG = CACHE / "log"
SECRETS = CACHE / "secrets.json"
CLOUDS = CACHE / "clouds.yaml"
HOST = "shuyaku-dev"  # one name for nova-compute, the linuxbridge agent and cinder-volume (port binding needs it)
# One more compute host per business layer, each with its own L2 agent (a port binds only to a host whose agent
# is alive). The platform's stack `local` puts each in its layer's aggregate, so the scheduler's isolation filters
# are exercised as in production; HOST stays outside every aggregate, for the operator.
LAYER_HOSTS = {layer: f"shuyaku-dev-{layer}" for layer in ("mynumber", "lgwan", "internet")}
REGION = "RegionOne"

PKGS = [
    # infra
    "mariadb-server", "python3-pymysql", "rabbitmq-server",
    # OpenStack Zed. Not nova-compute: it pulls libvirt/qemu; the python3-nova entry point runs the fake driver.
    "keystone", "python3-openstackclient", "glance-api", "placement-api", "nova-api", "nova-conductor",
    "nova-scheduler", "python3-nova", "neutron-server", "neutron-linuxbridge-agent", "cinder-api",
    "cinder-scheduler", "cinder-volume", "uwsgi", "uwsgi-plugin-python3", "python3-osc-placement",
    "python3-openstacksdk",
]
# Bump when register(), content() or the database set-up change what the databases hold: `up` then redoes
# the content and `--reset` stops restoring the old snapshot.
CONTENT_VERSION = "2"  # 2: the layer hosts
DATABASES = ["keystone", "glance", "placement", "nova_api", "nova", "nova_cell0", "neutron", "cinder"]

# --------------------------------------------------------------------------------------------- messages

LANG = "ja"
MSG = {
    "apt_skip": ("パッケージは導入済みです", "packages already installed"),
    "apt_run": ("Debian パッケージを導入しています ({n} 個)…", "installing Debian packages ({n})…"),
    "already": ("開発クラウドは既に稼働しています (健全性確認済み, {t:.1f} 秒)",
                "dev cloud already up and healthy (checked in {t:.1f} s)"),
    "repair": ("一部のサービスが停止しているため修復します: {names}", "repairing, not healthy: {names}"),
    "restart": ("{name} がルータを構成しないため再起動します", "restarting {name}: it does not plug routers"),
    "phase": ("段階 {name}: {t:.1f} 秒", "phase {name}: {t:.1f} s"),
    "ready": ("開発クラウドの準備ができました (合計 {t:.1f} 秒)。clouds.yaml: {clouds}",
              "dev cloud ready (total {t:.1f} s). clouds.yaml: {clouds}"),
    "env_hint": ("使い方: eval \"$(scripts/dev-cloud env)\"", "use: eval \"$(scripts/dev-cloud env)\""),
    "stopped": ("停止しました: {name} (PID {pid})", "stopped {name} (pid {pid})"),
    "not_running": ("記録された PID がありません。停止するものはありません", "nothing recorded; nothing to stop"),
    "started": ("起動: {name} (PID {pid})", "started {name} (pid {pid})"),
    "start_fail": ("{name} が起動しませんでした。ログ: {log}\n{tail}",
                   "{name} did not come up. Log: {log}\n{tail}"),
    "wait_fail": ("{what} が {t} 秒以内に準備できませんでした: {why}",
                  "{what} not ready within {t} s: {why}"),
    "cmd_fail": ("コマンドが失敗しました (終了コード {rc}): {cmd}\n{out}",
                 "command failed (exit {rc}): {cmd}\n{out}"),
    "not_root": ("root で実行してください (パッケージ導入とデーモン起動のため)",
                 "run as root (it installs packages and starts daemons)"),
    "locked": ("別の scripts/dev-cloud up/down の終了を待っています…",
               "waiting for another scripts/dev-cloud up/down to finish…"),
    "reset": ("--reset: データベースを作り直します", "--reset: recreating the databases"),
    "memory": ("メモリ: PSS {pss:.0f} MiB, RSS {rss:.0f} MiB ({n} プロセス)",
               "memory: PSS {pss:.0f} MiB, RSS {rss:.0f} MiB, {n} processes"),
    "status_ok": ("健全", "healthy"),
    "status_bad": ("異常", "NOT healthy"),
    "status_summary_ok": ("すべてのサービスが健全です", "all services healthy"),
    "status_summary_bad": ("健全でないサービスがあります: {names}。修復: scripts/dev-cloud up",
                           "not healthy: {names}. Repair with: scripts/dev-cloud up"),
    "usage_err": ("使い方: scripts/dev-cloud up [--reset] [--compute fake|qemu] | down | status | env [--lang en]",
                  "usage: scripts/dev-cloud up [--reset] [--compute fake|qemu] | down | status | env [--lang en]"),
    "qemu_accel": ("実機の計算ノード (QEMU): アクセラレータ {accel}、Nova の virt_type = {virt_type}",
                   "real compute host (QEMU): accelerator {accel}, Nova virt_type = {virt_type}"),
    "policy_skip": ("OpenStack ポリシー (roles/openstack_policy) は適用済みです",
                    "OpenStack policy (roles/openstack_policy) already applied"),
    "policy_run": ("OpenStack ポリシーを適用しています (ansible-playbook {playbook})…",
                   "applying the OpenStack policy (ansible-playbook {playbook})…"),
    "no_ansible": ("{path} がありません。先に scripts/setup-python を実行してください (OpenStack ポリシーの適用に必要)",
                   "{path} is missing; run scripts/setup-python first (it applies the OpenStack policy)"),
    "no_clouds": ("{path} がありません。先に scripts/dev-cloud up を実行してください",
                  "{path} is missing; run scripts/dev-cloud up first"),
}


def msg(key: str, **kw: object) -> str:
    ja, en = MSG[key]
    return (en if LANG == "en" else ja).format(**kw)


def say(key: str, **kw: object) -> None:
    print(msg(key, **kw), flush=True)


class Failure(Exception):
    """A failure the user can act on; printed without a traceback."""


# --------------------------------------------------------------------------------------------- helpers


def run(cmd: list[str], *, user: str | None = None, env: dict[str, str] | None = None,
        check: bool = True, timeout: float = 900, input: str | None = None) -> subprocess.CompletedProcess:
    full = list(cmd)
    if user and user != "root":
        full = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *full]
    # a clean environment: PATH may lead to pyenv's python3, which cannot import Debian's OpenStack
    home = pwd.getpwnam(user).pw_dir if user else "/root"
    e = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": home}
    if env:
        e.update(env)
    p = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=e,
                       timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise Failure(msg("cmd_fail", rc=p.returncode, cmd=" ".join(cmd), out=p.stdout[-3000:]))
    return p


def timed(phases: dict[str, float], name: str):
    @contextlib.contextmanager
    def cm():
        t0 = time.monotonic()
        yield
        phases[name] = phases.get(name, 0.0) + time.monotonic() - t0
        say("phase", name=name, t=phases[name])
    return cm()


def wanted_packages() -> list[str]:
    # the qemu host's packages (libvirt, the QEMU system emulators) only when it is enabled: the fake
    # driver needs none of them, and they stay out of the snapshot fingerprint (PKGS)
    return [*PKGS, *(qemucompute.PKGS if QEMU["on"] else [])]


def packages_missing() -> list[str]:
    pkgs = wanted_packages()
    p = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\n", *pkgs],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ok = {line.split()[0] for line in p.stdout.splitlines() if line.split()[1:2] == ["ii"]}
    return [pkg for pkg in pkgs if pkg not in ok]


def install_packages() -> None:
    missing = packages_missing()
    if not missing:
        say("apt_skip")
        return
    say("apt_run", n=len(missing))
    # Postinst scripts must not try to start services: PID 1 is not systemd and we start daemons ourselves.
    prc = Path("/usr/sbin/policy-rc.d")
    if not prc.exists():
        prc.write_text("#!/bin/sh\n# written by shuyaku scripts/dev-cloud: daemons are started by it\nexit 101\n")
        prc.chmod(0o755)
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=600"]
    run(["apt-get", *lock, "update", "-q"], env=env)
    run(["apt-get", *lock, "install", "-y", "-q", "--no-install-recommends",
         "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", *missing],
        env=env, timeout=1800)



# --------------------------------------------------------------------------------------------- secrets


def load_secrets() -> dict[str, str]:
    """Generated once per machine, kept in the cache dir (0600), never in the repo."""
    # the directory stays traversable: service users read their uwsgi inis under it; secrets are 0600
    CACHE.mkdir(parents=True, exist_ok=True)
    data: dict[str, str] = {}
    if SECRETS.exists():
        data = json.loads(SECRETS.read_text())
    wanted = ["db_password", "rabbit_password", "admin_password", "vendor-a_password", "vendor-b_password",
              "auditor_password", "auditor_credential_secret",
              *(f"pw_{s}" for s in ("glance", "placement", "nova", "neutron", "cinder"))]
    changed = False
    for key in wanted:
        if key not in data:
            # hex only: oslo.config interpolates '$' and URLs need no quoting
            data[key] = secrets.token_hex(16)
            changed = True
    if "fixed_key" not in data:
        data["fixed_key"] = secrets.token_hex(32)  # 256-bit key for the ConfKeyManager (no Barbican)
        changed = True
    if changed:
        tmp = SECRETS.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1)
        tmp.replace(SECRETS)
    SECRETS.chmod(0o600)
    return data


# --------------------------------------------------------------------------------------------- services

SYS_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
COMPUTE_MAIN = ('import sys; sys.argv[0] = "nova-compute"; from nova.cmd.compute import main; '
                'sys.exit(main())')


@dataclass
class Svc:
    name: str
    user: str
    cmd: list[str]
    port: int | None = None
    path: str = "/"  # HTTP GET health check path (API services)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str = "/"
    configs: tuple[str, ...] = ()  # rendered files whose change requires a restart
    umask: int = 0o027


def uwsgi(name: str, port: int, user: str, wsgi_file: str, path: str, configs: tuple[str, ...],
          extra: str = "", processes: int = 1, threads: int = 8) -> Svc:
    ini = CACHE / "etc" / "uwsgi" / f"{name}.ini"
    UWSGI_INIS[name] = {"name": name, "port": str(port), "wsgi_file": wsgi_file, "processes": str(processes),
                        "chdir": f"/var/lib/{user}", "threads": str(threads), "extra": extra}
    return Svc(name, user, ["/usr/bin/uwsgi", "--ini", str(ini)], port=port, path=path,
               cwd=f"/var/lib/{user}", configs=(*configs, str(ini)))


UWSGI_INIS: dict[str, dict[str, str]] = {}
NOVA = "/etc/nova/nova.conf"
NEUTRON = ("/etc/neutron/neutron.conf", "/etc/neutron/plugins/ml2/ml2_conf.ini")
LB_AGENT = ("/etc/neutron/neutron.conf", "/etc/neutron/plugins/ml2/linuxbridge_agent.ini")
CINDER = "/etc/cinder/cinder.conf"
ERL_ENV = {"ERL_EPMD_ADDRESS": "127.0.0.1", "HOME": "/var/lib/rabbitmq"}

def layer_host_conf(layer: str, service: str) -> Path:
    return Path(f"/etc/{service}/{service}-host-{layer}.conf")


def layer_host_services(layer: str) -> list[Svc]:
    """nova-compute and the linuxbridge agent for one layer's host: the shared files, then the host's name.
    Nothing is ever plugged (fake driver), so the extra agents need no firewall of their own."""
    nova_host, agent_host = str(layer_host_conf(layer, "nova")), str(layer_host_conf(layer, "neutron"))
    return [
        Svc(f"nova-compute-{layer}", "nova", ["/usr/bin/python3", "-c", COMPUTE_MAIN, "--config-file",
                                              "/etc/nova/nova-compute.conf", "--config-file", nova_host],
            cwd="/var/lib/nova", configs=("/etc/nova/nova-compute.conf", nova_host)),
        Svc(f"neutron-linuxbridge-agent-{layer}", "root",
            ["/usr/bin/neutron-linuxbridge-agent", "--config-file", LB_AGENT[0], "--config-file", LB_AGENT[1],
             "--config-file", agent_host], cwd="/var/lib/neutron", configs=(*LB_AGENT, agent_host)),
    ]


def layer_host_texts() -> dict[Path, str]:
    head = "# Generated by shuyaku scripts/dev-cloud; edits here are overwritten.\n"
    out: dict[Path, str] = {}
    for layer, host in LAYER_HOSTS.items():
        out[layer_host_conf(layer, "nova")] = f"{head}[DEFAULT]\nhost = {host}\n"
        out[layer_host_conf(layer, "neutron")] = (f"{head}[DEFAULT]\nhost = {host}\n"
                                                  "[securitygroup]\nfirewall_driver = noop\n")
    return out


INFRA = [
    Svc("mariadb", "root", ["/usr/sbin/mariadbd", "--user=mysql", "--bind-address=127.0.0.1", "--port=3306",
                            "--skip-name-resolve", "--max-connections=1000",
                            # a throw-away test cloud: no fsync per commit, no doublewrite; schema migrations
                            # and --reset (thousands of DDL statements) are several times faster
                            "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0"], port=3306),
    # epmd started here (not by rabbitmq-server as a stray daemon) so that it is recorded and stopped too
    Svc("epmd", "rabbitmq", ["/usr/bin/epmd"], port=4369, env=ERL_ENV, cwd="/var/lib/rabbitmq"),
    Svc("rabbitmq", "rabbitmq", ["/usr/lib/rabbitmq/bin/rabbitmq-server"], port=5672, env=ERL_ENV,
        cwd="/var/lib/rabbitmq", configs=("/etc/rabbitmq/rabbitmq-env.conf", "/etc/rabbitmq/rabbitmq.conf")),
]
# Processes, not threads: with 8 threads in one process, a vendor user's POST of an application credential once
# took its roles from a concurrent request's token (the services' "service" role; keystone.log, CI of 2026-12-04,
# "Could not find role assignment with role: <service>"). A request alone in its process cannot see another's.
KEYSTONE = uwsgi("keystone", 5000, "keystone", "/usr/bin/keystone-wsgi-public", "/v3",
                 ("/etc/keystone/keystone.conf",), processes=4, threads=1)
GLANCE_CHUNKED = "\n".join(["http-auto-chunked = true", "http-chunked-input = true", "http-raw-body = true",
                            "wsgi-manage-chunked-input = true", "socket-timeout = 10"])
APIS = [
    uwsgi("glance-api", 9292, "glance", "/usr/bin/glance-wsgi-api", "/", ("/etc/glance/glance-api.conf",),
          GLANCE_CHUNKED),
    uwsgi("placement-api", 8778, "placement", "/usr/bin/placement-api", "/", ("/etc/placement/placement.conf",)),
    # nova.api monkey-patches eventlet: with several uwsgi threads RPC replies get lost (MessagingTimeout on
    # volume attach), so processes instead of threads, as Debian's own ini does
    uwsgi("nova-api", 8774, "nova", "/usr/bin/nova-api-wsgi", "/", (NOVA,), processes=2, threads=1),
    uwsgi("cinder-api", 8776, "cinder", "/usr/bin/cinder-wsgi", "/", (CINDER,), "http-raw-body = true"),
    Svc("neutron-server", "neutron", ["/usr/bin/neutron-server", "--config-file", NEUTRON[0], "--config-file",
                                      NEUTRON[1]], port=9696, cwd="/var/lib/neutron", configs=NEUTRON),
]
WORKERS = [
    Svc("nova-conductor", "nova", ["/usr/bin/nova-conductor", "--config-file", NOVA], cwd="/var/lib/nova",
        configs=(NOVA,)),
    Svc("nova-scheduler", "nova", ["/usr/bin/nova-scheduler", "--config-file", NOVA], cwd="/var/lib/nova",
        configs=(NOVA,)),
    # python3-nova's entry point: the nova-compute package would pull in libvirt/qemu for nothing
    Svc("nova-compute", "nova", ["/usr/bin/python3", "-c", COMPUTE_MAIN, "--config-file",
                                 "/etc/nova/nova-compute.conf"], cwd="/var/lib/nova",
        configs=("/etc/nova/nova-compute.conf",)),
    # root: it manages bridges and iptables through rootwrap/privsep
    Svc("neutron-linuxbridge-agent", "root", ["/usr/bin/neutron-linuxbridge-agent", "--config-file",
                                              LB_AGENT[0], "--config-file", LB_AGENT[1]],
        cwd="/var/lib/neutron", configs=LB_AGENT),
    *(svc for layer in LAYER_HOSTS for svc in layer_host_services(layer)),
    Svc("cinder-scheduler", "cinder", ["/usr/bin/cinder-scheduler", "--config-file", CINDER],
        cwd="/var/lib/cinder", configs=(CINDER,)),
    Svc("cinder-volume", "cinder", ["/usr/bin/cinder-volume", "--config-file", CINDER],
        cwd="/var/lib/cinder", configs=(CINDER,)),
]
ALL = [*INFRA, KEYSTONE, *APIS, *WORKERS]
BY_NAME = {s.name: s for s in ALL}
# The real compute host (`up --compute qemu`): its services join INFRA (libvirtd, which nova-compute needs up
# first) and WORKERS only while it is enabled; `down` stops them whatever the setting.
# nova-compute-qemu and the DHCP agent with Debian's usual umask: QEMU runs as libvirt-qemu and must traverse the
# instance directories nova creates (libvirt hands it the disk files themselves, not their directories), and
# dnsmasq, once it has dropped to `nobody`, must read the host files the agent writes (with 027: "cannot read
# .../host: Permission denied", and every guest "no address available").
UMASK_022 = ("nova-compute-qemu", "neutron-dhcp-agent-qemu")
QEMU_SVCS = [Svc(name, user, cmd, cwd="/var/lib/nova" if user == "nova" else "/", configs=configs,
                 umask=0o022 if name in UMASK_022 else 0o027)
             for name, (user, cmd, configs) in qemucompute.commands().items()]
QEMU = {"on": False, "virt_type": "qemu"}


def restart_qemu_l3() -> None:
    svc = next(s for s in QEMU_SVCS if s.name == "neutron-l3-agent-qemu")
    say("restart", name=svc.name)
    stop(svc.name)
    start(svc)


def enable_qemu() -> None:
    QEMU["on"] = True
    INFRA.append(QEMU_SVCS[0])
    WORKERS.extend(QEMU_SVCS[1:])
    ALL[:] = [*INFRA, KEYSTONE, *APIS, *WORKERS]
    BY_NAME.update({s.name: s for s in QEMU_SVCS})

# --------------------------------------------------------------------------------------------- processes


def proc_stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # fields from 'state' on; comm may contain spaces


def pidfile(name: str) -> Path:
    return RUN / f"{name}.pid"


def recorded(name: str) -> dict | None:
    try:
        return json.loads(pidfile(name).read_text())
    except (OSError, ValueError):
        return None


def alive(rec: dict | None) -> bool:
    """True only for the very process we started: same PID *and* same start time, not a zombie."""
    if not rec:
        return False
    st = proc_stat(rec["pid"])
    return bool(st) and st[0] not in ("Z", "X") and st[19] == rec["start"]


CHILDREN: dict[int, subprocess.Popen] = {}


def start(svc: Svc) -> int:
    RUN.mkdir(parents=True, exist_ok=True)
    LOG.mkdir(parents=True, exist_ok=True)
    pw = pwd.getpwnam(svc.user)
    env = {**SYS_ENV, "HOME": pw.pw_dir, "USER": svc.user, "LOGNAME": svc.user, **svc.env}
    log = open(LOG / f"{svc.name}.log", "ab")  # noqa: SIM115 - handed to the child
    log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} shuyaku dev-cloud starts {svc.name}\n".encode())
    log.flush()
    kw: dict = {}
    if svc.user != "root":
        kw = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": os.getgrouplist(svc.user, pw.pw_gid)}
    p = subprocess.Popen(svc.cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=svc.cwd,
                         env=env, start_new_session=True, umask=svc.umask, **kw)
    log.close()
    CHILDREN[p.pid] = p
    st = proc_stat(p.pid)
    rec = {"pid": p.pid, "start": st[19] if st else "?", "cmd": svc.cmd, "user": svc.user}
    pidfile(svc.name).write_text(json.dumps(rec) + "\n")
    say("started", name=svc.name, pid=p.pid)
    return p.pid


def reap() -> None:
    for p in CHILDREN.values():
        p.poll()


def stop(name: str) -> bool:
    return bool(stop_many([name]))


def stop_many(names: list[str]) -> list[str]:
    """SIGTERM every named service's process group at once, then wait; SIGKILL what is left after 30 s."""
    live: dict[str, dict] = {}
    for name in names:
        rec = recorded(name)
        if alive(rec):
            assert rec is not None
            live[name] = rec
        else:
            pidfile(name).unlink(missing_ok=True)
    # Each service got its own session and process group at start, so the group holds only what it spawned
    # (uwsgi workers, oslo.service children, privsep helpers).
    for rec in live.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(rec["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 30
    pending = dict(live)
    while pending and time.monotonic() < deadline:
        time.sleep(0.2)
        reap()
        pending = {n: r for n, r in pending.items() if alive(r) or group_exists(r["pid"])}
    for rec in pending.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(rec["pid"], signal.SIGKILL)
    if pending:
        time.sleep(0.5)
        reap()
    for name, rec in live.items():
        pidfile(name).unlink(missing_ok=True)
        say("stopped", name=name, pid=rec["pid"])
    return list(live)


def group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # members may be zombies of an exited leader; count only live ones
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            st = proc_stat(int(d.name))
            if st and st[2] == str(pgid) and st[0] not in ("Z", "X"):
                return True
    return False


def log_tail(name: str, n: int = 25) -> str:
    try:
        lines = (LOG / f"{name}.log").read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def session_members(sid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            st = proc_stat(int(d.name))
            if st and st[3] == str(sid) and st[0] not in ("Z", "X"):
                out.append(int(d.name))
    return out


def memory() -> tuple[int, int, int]:
    """PSS and RSS (KiB) and process count of everything in the sessions the dev cloud started."""
    pss = rss = n = 0
    for svc in ALL:
        rec = recorded(svc.name)
        if not alive(rec):
            continue
        assert rec is not None
        for pid in session_members(rec["pid"]):
            try:
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1])
                n += 1
            except OSError:
                pass
    return pss, rss, n


# --------------------------------------------------------------------------------------------- health


def http_status(port: int, path: str, timeout: float = 15) -> int | None:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers={"Accept": "application/json"})
        return c.getresponse().status
    except OSError:
        return None
    finally:
        c.close()


def mysql_answers() -> bool:
    """SELECT 1 as root over the socket (unix_socket auth): no password, no failed-login noise in its log."""
    import pymysql

    try:
        c = pymysql.connect(unix_socket="/run/mysqld/mysqld.sock", user="root", connect_timeout=3)
    except pymysql.err.MySQLError:
        return False
    try:
        with c.cursor() as cur:
            cur.execute("SELECT 1")
            return cur.fetchone() == (1,)
    finally:
        c.close()


def amqp_greets() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=3) as s:
            s.sendall(b"AMQP\x00\x00\x09\x01")
            data = s.recv(7)
            return len(data) == 7 and data[0] == 1  # method frame carrying connection.start
    except OSError:
        return False


def epmd_greets() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 4369), timeout=3) as s:
            s.sendall(b"\x00\x01n")  # NAMES_REQ
            return len(s.recv(4)) == 4
    except OSError:
        return False


def basic_check(svc: Svc) -> tuple[bool, str]:
    """Process alive and its port answering with its own protocol."""
    if not alive(recorded(svc.name)):
        return False, "not running" if LANG == "en" else "停止中"
    if svc.name == "mariadb":
        return mysql_answers(), "SELECT 1"
    if svc.name == "epmd":
        return epmd_greets(), "epmd NAMES"
    if svc.name == "rabbitmq":
        return amqp_greets(), "AMQP 0-9-1 handshake"
    if svc.name == "libvirtd":
        return qemucompute.libvirt_answers(), str(qemucompute.LIBVIRT_SOCK)
    if svc.port:
        code = http_status(svc.port, svc.path)
        return code is not None and code < 500, f"GET http://127.0.0.1:{svc.port}{svc.path} -> {code}"
    return True, "process alive"


def wait_for(what: str, pred, timeout: float, svc: Svc | None = None, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    why = ""
    while True:
        reap()
        try:
            r = pred()
            if r:
                return r
        except Exception as e:  # keep polling; report the last reason on timeout
            why = f"{type(e).__name__}: {e}"
        if svc and not alive(recorded(svc.name)):
            raise Failure(msg("start_fail", name=svc.name, log=LOG / f"{svc.name}.log",
                              tail=log_tail(svc.name)))
        if time.monotonic() > deadline:
            raise Failure(msg("wait_fail", what=what, t=int(timeout), why=why or "-"))
        time.sleep(interval)


def admin_conn():
    import openstack  # from python3-openstacksdk (Debian's, with /usr/bin/python3)

    s = load_secrets()
    return openstack.connect(auth_url="http://127.0.0.1:5000/v3", username="admin", password=s["admin_password"],
                             project_name="admin", user_domain_name="Default", project_domain_name="Default",
                             region_name=REGION, identity_api_version="3", interface="public")


def compute_hosts() -> dict[str, str]:
    """The extra compute hosts by service suffix: the layer hosts, and the real one when enabled."""
    return {**LAYER_HOSTS, **({"qemu": qemucompute.QEMU_HOST} if QEMU["on"] else {})}


def cloud_checks(conn) -> dict[str, tuple[bool, str]]:
    """Liveness as the control plane sees it: nova/cinder service heartbeats, neutron agent alive."""
    out: dict[str, tuple[bool, str]] = {}
    nova = {(s.binary, s.host): s for s in conn.compute.services()}
    wanted = [(b, HOST, b) for b in ("nova-conductor", "nova-scheduler", "nova-compute")]
    wanted += [("nova-compute", host, f"nova-compute-{layer}") for layer, host in compute_hosts().items()]
    for b, host, name in wanted:
        s = nova.get((b, host))
        out[name] = (bool(s) and s.state == "up" and s.status == "enabled",
                     f"compute service {b}@{host}: {s.state if s else 'absent'}")
    agents = [a for a in conn.network.agents() if a.binary == "neutron-linuxbridge-agent"]
    for host, name in [(HOST, ""), *((h, f"-{la}") for la, h in compute_hosts().items())]:
        mine = [a for a in agents if a.host == host]
        ok = bool(mine) and all(a.is_alive for a in mine)
        out[f"neutron-linuxbridge-agent{name}"] = (ok, f"network agent {host} alive={mine[0].is_alive if mine else 'absent'}")
    # the router namespaces and dnsmasq for guests on tenant networks (admin-down on purpose: see qemucompute)
    for binary in qemucompute.PLACED_AGENTS if QEMU["on"] else ():
        mine = [a for a in conn.network.agents(binary=binary) if a.host == qemucompute.QEMU_HOST]
        out[f"{binary}-qemu"] = (bool(mine) and all(a.is_alive for a in mine),
                                 f"{binary} {qemucompute.QEMU_HOST} alive={mine[0].is_alive if mine else 'absent'}")
    # the SDK from Debian (0.101) has no block_storage.services(): read /os-services directly
    r = conn.block_storage.get("/os-services")
    if r.status_code != 200:
        raise RuntimeError(f"GET /os-services -> {r.status_code}")
    cinder = {v["binary"]: v for v in r.json()["services"] if v["host"].split("@")[0] == HOST}
    for b in ("cinder-scheduler", "cinder-volume"):
        v = cinder.get(b)
        out[b] = (bool(v) and v["state"] == "up", f"volume service {b}: {v['state'] if v else 'absent'}")
    return out


def health(with_cloud: bool = True) -> dict[str, tuple[bool, str]]:
    res = {svc.name: basic_check(svc) for svc in ALL}
    if with_cloud and all(res[s.name][0] for s in (*INFRA, KEYSTONE, *APIS)):
        try:
            for name, (ok, detail) in cloud_checks(admin_conn()).items():
                res[name] = (res[name][0] and ok, detail if res[name][0] else res[name][1])
        except Exception as e:
            for svc in WORKERS:
                res[svc.name] = (False, f"{type(e).__name__}: {e}")
    elif with_cloud:
        for svc in WORKERS:
            if res[svc.name][0]:
                res[svc.name] = (False, "APIs down; cannot confirm" if LANG == "en" else "API 停止中のため確認不可")
    return res

# --------------------------------------------------------------------------------------------- configuration

OWNER = {"keystone": "keystone", "glance": "glance", "placement": "placement", "nova": "nova",
         "neutron": "neutron", "cinder": "cinder", "rabbitmq": "rabbitmq"}


def write_if_changed(dest: Path, text: str, group: str | None, mode: int) -> bool:
    try:
        if dest.read_text() == text:
            return False
    except OSError:
        pass
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".shuyaku-tmp")
    tmp.write_text(text)
    os.chown(tmp, 0, grp.getgrnam(group).gr_gid if group else 0)
    tmp.chmod(mode)
    tmp.replace(dest)
    return True


def render_configs(sec: dict[str, str]) -> set[str]:
    """Write every template to its place; return the paths whose content changed."""
    vals = {**sec, "host": HOST}
    changed: set[str] = set()
    etc = TEMPLATES / "etc"
    for src in sorted(etc.rglob("*")):
        if src.is_dir():
            continue
        dest = Path("/") / src.relative_to(TEMPLATES)
        svc_dir = dest.parts[2]
        text = string.Template(src.read_text()).substitute(vals)
        # configs hold passwords: readable by the service's group only, as Debian ships them
        if write_if_changed(dest, text, OWNER.get(svc_dir), 0o640):
            changed.add(str(dest))
    for dest, text in layer_host_texts().items():
        if write_if_changed(dest, text, OWNER.get(dest.parts[2]), 0o640):
            changed.add(str(dest))
    if QEMU["on"]:
        for dest, (text, group) in qemucompute.config_texts(str(QEMU["virt_type"])).items():
            if write_if_changed(dest, text, group, 0o640):
                changed.add(str(dest))
    tpl = string.Template((TEMPLATES / "uwsgi" / "service.ini").read_text())
    for name, v in UWSGI_INIS.items():
        dest = CACHE / "etc" / "uwsgi" / f"{name}.ini"
        if write_if_changed(dest, tpl.substitute(v), None, 0o644):
            changed.add(str(dest))
    return changed


def prepare_host() -> None:
    for user, dirs in {"nova": ["instances", "tmp"], "neutron": ["tmp"], "cinder": ["tmp"],
                       "glance": ["images", "staging", "tasks", "tmp"], "keystone": [], "placement": []}.items():
        pw = pwd.getpwnam(user)
        for d in [Path(f"/var/lib/{user}"), *(Path(f"/var/lib/{user}") / x for x in dirs)]:
            d.mkdir(parents=True, exist_ok=True)
            os.chown(d, pw.pw_uid, pw.pw_gid)
    rd = Path("/run/mysqld")
    rd.mkdir(exist_ok=True)
    my = pwd.getpwnam("mysql")
    os.chown(rd, my.pw_uid, my.pw_gid)
    if not Path("/var/lib/mysql/mysql").is_dir():
        run(["mariadb-install-db", "--user=mysql", "--datadir=/var/lib/mysql", "--skip-test-db"])
    # Each physical network needs an interface; 'dummy' links are not in this kernel, so one end of a veth
    # pair with no address and no IPv6 stands in (the other end is where a test joins the "wire").
    for near, far in WIRES.values():
        if run(["ip", "link", "show", near], check=False).returncode != 0:
            run(["ip", "link", "add", near, "type", "veth", "peer", "name", far])
            for dev in (near, far):
                run(["sysctl", "-q", "-w", f"net.ipv6.conf.{dev}.disable_ipv6=1"], check=False)
                run(["ip", "link", "set", dev, "up"])
            (RUN / "veth.created").touch()


# --------------------------------------------------------------------------------------------- policy

# The operator's policy overrides are the Ansible role the controllers get; the dev cloud runs the same role
# through the same playbook on this machine (connection local), so the tests meet the production files.
POLICY_ROLE = ROOT / "roles" / "openstack_policy"
POLICY_PLAYBOOK = ROOT / "playbooks" / "openstack-policy.yml"
POLICY_FILES = [Path(f"/etc/{s}/policy.yaml") for s in ("keystone", "nova", "neutron", "glance", "cinder")]
POLICY_CHECKER = Path("/usr/local/sbin/shuyaku-policy-check")
POLICY_PKGS = ["python3-keystone", "python3-nova", "python3-neutron", "python3-glance", "python3-cinder"]


def policy_fingerprint() -> str:
    """The role, its playbook and ansible.cfg, the services' packages, and the files as installed now: equal to
    the stamp only if the role already ran with exactly this and nobody changed its output since."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted([*POLICY_ROLE.rglob("*"), POLICY_PLAYBOOK, ROOT / "ansible.cfg"]):
        if f.is_file():
            h.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes())
    for f in [*POLICY_FILES, POLICY_CHECKER]:
        try:
            st = f.stat()
            h.update(f"{f}:{st.st_mode:o}:{st.st_uid}:{st.st_gid}\0".encode() + f.read_bytes())
        except OSError:
            h.update(f"{f}: missing\0".encode())
    h.update(run(["dpkg-query", "-W", *POLICY_PKGS], check=False).stdout.encode())
    return h.hexdigest()[:16]


def apply_policy() -> None:
    """Run roles/openstack_policy here unless it already ran on these very files. No restart: oslo.policy
    re-reads a changed policy file on the next request (tests/integration/test_vendor_attempts.py runs
    against services started before the files changed)."""
    stamp = STATE / "policy.done"
    try:
        if stamp.read_text() == policy_fingerprint():
            say("policy_skip")
            return
    except OSError:
        pass
    playbook = ROOT / ".venv" / "bin" / "ansible-playbook"
    if not playbook.exists():
        raise Failure(msg("no_ansible", path=playbook))
    say("policy_run", playbook=POLICY_PLAYBOOK.relative_to(ROOT))
    # become is off (we are root already); Debian's python3 is the interpreter the controllers' modules use
    run([str(playbook), "-i", "localhost,", "-c", "local", "-e", "openstack_policy_hosts=localhost",
         "-e", "ansible_become=false", "-e", "ansible_python_interpreter=/usr/bin/python3",
         str(POLICY_PLAYBOOK)],
        env={"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
             "ANSIBLE_LOCAL_TEMP": str(CACHE / "ansible-tmp")})
    STATE.mkdir(parents=True, exist_ok=True)
    stamp.write_text(policy_fingerprint())


# --------------------------------------------------------------------------------------------- set-up steps

STATE = CACHE / "state"


def done(step: str) -> bool:
    return (STATE / f"{step}.done").exists()


def mark(step: str) -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / f"{step}.done").touch()


def mysql_root(sql: str) -> None:
    run(["mariadb", "--protocol=socket", "-u", "root", "-e", sql])


def setup_databases(sec: dict[str, str], reset: bool) -> None:
    pw = sec["db_password"]
    stmts = []
    if reset:
        stmts += [f"DROP DATABASE IF EXISTS `{db}`;" for db in DATABASES]
    stmts += [f"CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8;" for db in DATABASES]
    stmts += [f"CREATE USER IF NOT EXISTS 'os'@'127.0.0.1' IDENTIFIED BY '{pw}';",
              f"ALTER USER 'os'@'127.0.0.1' IDENTIFIED BY '{pw}';"]
    stmts += [f"GRANT ALL PRIVILEGES ON `{db}`.* TO 'os'@'127.0.0.1';" for db in DATABASES]
    mysql_root("\n".join(stmts))


def setup_rabbit(sec: dict[str, str]) -> None:
    ctl = ["/usr/sbin/rabbitmqctl", "-n", "rabbit@localhost"]
    env = {**SYS_ENV, **ERL_ENV}
    users = run([*ctl, "-q", "list_users"], user="rabbitmq", env=env).stdout
    if any(line.split()[:1] == ["openstack"] for line in users.splitlines()):
        ok = run([*ctl, "authenticate_user", "openstack", sec["rabbit_password"]], user="rabbitmq", env=env,
                 check=False).returncode == 0
        if not ok:
            run([*ctl, "change_password", "openstack", sec["rabbit_password"]], user="rabbitmq", env=env)
    else:
        run([*ctl, "add_user", "openstack", sec["rabbit_password"]], user="rabbitmq", env=env)
        run([*ctl, "set_permissions", "openstack", ".*", ".*", ".*"], user="rabbitmq", env=env)


def nova_manage(*args: str, ok_codes: tuple[int, ...] = (0,)) -> None:
    p = run(["/usr/bin/nova-manage", "--config-file", NOVA, *args], user="nova", check=False)
    if p.returncode not in ok_codes:
        raise Failure(msg("cmd_fail", rc=p.returncode, cmd="nova-manage " + " ".join(args), out=p.stdout[-3000:]))


def db_syncs() -> None:
    from concurrent.futures import ThreadPoolExecutor

    def nova() -> None:
        nova_manage("api_db", "sync")
        nova_manage("cell_v2", "map_cell0")
        nova_manage("cell_v2", "create_cell", "--name=cell1", ok_codes=(0, 2))  # 2: exists already
        nova_manage("db", "sync")

    steps = {
        "keystone": lambda: run(["/usr/bin/keystone-manage", "db_sync"], user="keystone"),
        "nova": nova,
        "neutron": lambda: run(["/usr/bin/neutron-db-manage", "--config-file", NEUTRON[0], "--config-file",
                                NEUTRON[1], "upgrade", "heads"], user="neutron"),
        "glance": lambda: run(["/usr/bin/glance-manage", "--config-file", "/etc/glance/glance-api.conf",
                               "db_sync"], user="glance"),
        "placement": lambda: run(["/usr/bin/placement-manage", "--config-file", "/etc/placement/placement.conf",
                                  "db", "sync"], user="placement"),
        "cinder": lambda: run(["/usr/bin/cinder-manage", "--config-file", CINDER, "db", "sync"], user="cinder"),
    }
    todo = {k: f for k, f in steps.items() if not done(f"dbsync-{k}")}

    def one(k: str) -> None:
        todo[k]()
        mark(f"dbsync-{k}")

    # three at a time: the syncs are CPU-bound Python start-ups on a 2-core machine
    with ThreadPoolExecutor(max_workers=3) as ex:
        for f in [ex.submit(one, k) for k in todo]:
            f.result()


def keystone_setup(sec: dict[str, str]) -> None:
    for what in ("fernet", "credential"):
        if not Path(f"/etc/keystone/{what}-keys/0").exists():
            run(["/usr/bin/keystone-manage", f"{what}_setup", "--keystone-user", "keystone",
                 "--keystone-group", "keystone"])
    if not done("keystone-bootstrap"):
        url = "http://127.0.0.1:5000/v3/"
        run(["/usr/bin/keystone-manage", "bootstrap", "--bootstrap-password", sec["admin_password"],
             "--bootstrap-username", "admin", "--bootstrap-project-name", "admin",
             "--bootstrap-role-name", "admin", "--bootstrap-service-name", "keystone",
             "--bootstrap-region-id", REGION, "--bootstrap-admin-url", url, "--bootstrap-internal-url", url,
             "--bootstrap-public-url", url], user="keystone")
        mark("keystone-bootstrap")

# --------------------------------------------------------------------------------------------- content

CATALOG = [  # name, type, URL
    ("glance", "image", "http://127.0.0.1:9292"),
    ("placement", "placement", "http://127.0.0.1:8778"),
    ("nova", "compute", "http://127.0.0.1:8774/v2.1"),
    ("neutron", "network", "http://127.0.0.1:9696"),
    ("cinderv3", "volumev3", "http://127.0.0.1:8776/v3/%(project_id)s"),
]
SERVICE_USERS = ["glance", "placement", "nova", "neutron", "cinder"]
VENDORS = {"vendor-a": "vendor-a-sandbox", "vendor-b": "vendor-b-sandbox"}
FLAVORS = [("m1.nano", 1, 128, 1), ("m1.tiny", 1, 512, 1), ("m1.small", 1, 2048, 10), ("m1.medium", 2, 4096, 20)]
IMAGE = "debian-12-tiny"
NETWORKS = [
    # name, type, physical network, shared, cidr (RFC 5737 documentation ranges: never routed anywhere).
    # Each on its own wire: LGWAN and the internet never share one, and a VLAN could not carry packets here
    # (this kernel has no 8021q links: "Error: Unknown device type.").
    ("public", "flat", "physnet1", False, "203.0.113.0/24"),
    ("lgwan", "flat", "physnet2", True, "198.51.100.0/24"),
]
# physical network -> (the agents' end of its veth, the far end a test joins to reach the wire)
WIRES = {"physnet1": ("osphys0", "osphys1"), "physnet2": ("oslgwan0", "oslgwan1")}


# Lookups list by name: the SDK's find_*() first GETs the name as an ID, and Keystone logs every such 404
# as an ERROR with a traceback.
def _one(items):
    return next(iter(items), None)


def _password_works(name: str, password: str) -> bool:
    body = json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"id": "default"}, "password": password}}}}})
    c = http.client.HTTPConnection("127.0.0.1", 5000, timeout=30)
    try:
        c.request("POST", "/v3/auth/tokens", body=body, headers={"Content-Type": "application/json"})
        return c.getresponse().status == 201
    finally:
        c.close()


def ensure_user(conn, name: str, password: str, project=None):
    u = _one(conn.identity.users(name=name, domain_id="default"))
    attrs = {"password": password}
    if project is not None:
        attrs["default_project_id"] = project.id
    if u is None:
        return conn.identity.create_user(name=name, domain_id="default", **attrs)
    # Setting a password, even the same one, revokes every token of the user: the running services'
    # (nova-conductor's service token among them) would then fail until restarted. Set it only when it differs.
    if _password_works(name, password):
        attrs.pop("password")
        if project is None or getattr(u, "default_project_id", None) == project.id:
            return u
    return conn.identity.update_user(u, **attrs)


def ensure_project(conn, name: str, description: str):
    p = _one(conn.identity.projects(name=name, domain_id="default"))
    return p or conn.identity.create_project(name=name, domain_id="default", description=description)


def ensure_role(conn, name: str):
    return _one(conn.identity.roles(name=name)) or conn.identity.create_role(name=name)


def grant(conn, project, user, role) -> None:
    if not conn.identity.validate_user_has_project_role(project, user, role):
        conn.identity.assign_project_role_to_user(project, user, role)


def register(sec: dict[str, str]) -> None:
    """Keystone content: service users and catalog, roles, the two vendors. Idempotent."""
    conn = admin_conn()
    roles = {r: ensure_role(conn, r) for r in ("admin", "member", "reader", "service")}
    service = ensure_project(conn, "service", "OpenStack service users")
    for name in SERVICE_USERS:
        u = ensure_user(conn, name, sec[f"pw_{name}"])
        grant(conn, service, u, roles["admin"])
        grant(conn, service, u, roles["service"])
    existing = {s.type: s for s in conn.identity.services()}
    endpoints = {(e.service_id, e.interface): e for e in conn.identity.endpoints()}
    for name, stype, url in CATALOG:
        s = existing.get(stype) or conn.identity.create_service(name=name, type=stype, is_enabled=True)
        for iface in ("public", "internal"):
            e = endpoints.get((s.id, iface))
            if e is None:
                conn.identity.create_endpoint(service_id=s.id, interface=iface, url=url, region_id=REGION)
            elif e.url != url:
                conn.identity.update_endpoint(e, url=url)
    for user, project in VENDORS.items():
        p = ensure_project(conn, project, f"sandbox of {user} (dev cloud)")
        u = ensure_user(conn, user, sec[f"{user}_password"], p)
        grant(conn, p, u, roles["member"])


def content() -> None:
    """Flavors, the tiny image, provider networks, volume types. Idempotent."""
    conn = admin_conn()
    have = {f.name for f in conn.compute.flavors()}
    for name, vcpus, ram, disk in FLAVORS:
        if name not in have:
            conn.compute.create_flavor(name=name, vcpus=vcpus, ram=ram, disk=disk, is_public=True)
    if conn.image.find_image(IMAGE) is None:
        # Not bootable: 1 MiB of zeros. The fake virt driver never reads it; it only has to exist in Glance.
        conn.image.create_image(name=IMAGE, data=b"\0" * 1024 * 1024, disk_format="raw", container_format="bare",
                                visibility="public", allow_duplicates=False, validate_checksum=False,
                                shuyaku_note="not bootable: 1 MiB of zeros for the fake virt driver")
    admin_project = _one(conn.identity.projects(name="admin", domain_id="default"))
    for name, ntype, physnet, shared, cidr in NETWORKS:
        net = conn.network.find_network(name)
        # an older dev cloud's VLAN `lgwan`: replaced while nothing uses it (else `up --reset`)
        if (net is not None and (net.provider_network_type, net.provider_physical_network) != (ntype, physnet)
                and not list(conn.network.ports(network_id=net.id))):
            conn.network.delete_network(net)
            net = None
        if net is None:
            attrs = {"provider_network_type": ntype, "provider_physical_network": physnet}
            net = conn.network.create_network(name=name, is_router_external=True, is_shared=shared,
                                              project_id=admin_project.id, **attrs)
        if not list(conn.network.subnets(network_id=net.id)):
            base = cidr.rsplit(".", 1)[0]
            conn.network.create_subnet(network_id=net.id, name=f"{name}-subnet", ip_version=4, cidr=cidr,
                                       gateway_ip=f"{base}.1", is_dhcp_enabled=False,
                                       allocation_pools=[{"start": f"{base}.10", "end": f"{base}.250"}])
    # The operator's own project holds the platform's shared services (many ports, security group rules,
    # networks); how big it may grow is the cloud builder's call, so it is unlimited here. Tenant quotas stay
    # at the defaults: the platform program sets those per project.
    conn.set_network_quotas(admin_project.id, network=-1, subnet=-1, port=-1, router=-1, floatingip=-1,
                            security_group=-1, security_group_rule=-1)
    conn.set_compute_quotas(admin_project.id, instances=-1, cores=-1, ram=-1, server_groups=-1,
                            server_group_members=-1)
    conn.set_volume_quotas(admin_project.id, volumes=-1, gigabytes=-1, snapshots=-1)
    for name in ("standard", "encrypted"):
        vt = conn.block_storage.find_type(name)
        if vt is None:
            vt = conn.block_storage.create_type(name=name, extra_specs={"volume_backend_name": "fake"},
                                                description=f"{name} volumes (fake backend)")
        if name == "encrypted":
            try:
                conn.block_storage.get_type_encryption(vt.id)
                has = bool(conn.block_storage.get_type_encryption(vt.id).provider)
            except Exception:
                has = False
            if not has:
                conn.block_storage.create_type_encryption(vt, provider="luks", control_location="front-end",
                                                          cipher="aes-xts-plain64", key_size=256)


AUDITOR = "shuyaku-auditor"
AUDITOR_CREDENTIAL = "shuyaku-audit-get-only"
# GET only, on every service the audit reads. keystonemiddleware enforces these rules in Nova, Neutron, Glance,
# Cinder and Placement (each names its service_type); Keystone does not apply access rules to its own API.
AUDITOR_RULES = [{"service": t, "method": "GET", "path": "/**"}
                 for t in ("compute", "network", "image", "volumev3", "placement", "identity")]


def ensure_auditor(sec: dict[str, str]) -> str:
    """The live audit's login: a user holding admin on the admin project (cross-project listings need it in Zed),
    used only through an application credential restricted to GET requests. Returns the credential's id."""
    import openstack

    conn = admin_conn()
    admin_project = _one(conn.identity.projects(name="admin", domain_id="default"))
    user = ensure_user(conn, AUDITOR, sec["auditor_password"], admin_project)
    grant(conn, admin_project, user, ensure_role(conn, "admin"))
    me = openstack.connect(auth_url="http://127.0.0.1:5000/v3", username=AUDITOR, password=sec["auditor_password"],
                           project_name="admin", user_domain_name="Default", project_domain_name="Default",
                           region_name=REGION, identity_api_version="3", load_envvars=False)
    # Raw calls: Debian's openstacksdk (0.101) drops `access_rules` silently, which would leave an unrestricted
    # admin credential; one found without the rules is replaced.
    url = f"/users/{user.id}/application_credentials"
    listed = me.identity.get(url, params={"name": AUDITOR_CREDENTIAL})
    listed.raise_for_status()
    for cred in listed.json()["application_credentials"]:
        rules = {(r["service"], r["method"], r["path"]) for r in cred.get("access_rules") or []}
        if rules == {(r["service"], r["method"], r["path"]) for r in AUDITOR_RULES}:
            return str(cred["id"])
        me.identity.delete(f"{url}/{cred['id']}").raise_for_status()
    made = me.identity.post(url, json={"application_credential": {
        "name": AUDITOR_CREDENTIAL, "secret": sec["auditor_credential_secret"], "access_rules": AUDITOR_RULES,
        "description": "shuyaku audit --live: GET requests only"}})
    made.raise_for_status()
    return str(made.json()["application_credential"]["id"])


def write_clouds(sec: dict[str, str]) -> None:
    def entry(cloud: str, user: str, password: str, project: str) -> str:
        q = json.dumps
        return (f"  {cloud}:\n    auth:\n      auth_url: {q('http://127.0.0.1:5000/v3')}\n"
                f"      username: {q(user)}\n      password: {q(password)}\n      project_name: {q(project)}\n"
                f"      user_domain_name: Default\n      project_domain_name: Default\n"
                f"    region_name: {REGION}\n    identity_api_version: 3\n    interface: public\n")
    text = "# Generated by shuyaku scripts/dev-cloud; passwords are generated per machine.\nclouds:\n"
    text += entry("dev-admin", "admin", sec["admin_password"], "admin")
    for user, project in VENDORS.items():
        text += entry(f"dev-{user}", user, sec[f"{user}_password"], project)
    q = json.dumps
    text += (f"  dev-auditor:\n    auth_type: v3applicationcredential\n    auth:\n"
             f"      auth_url: {q('http://127.0.0.1:5000/v3')}\n      application_credential_id: {q(ensure_auditor(sec))}\n"
             f"      application_credential_secret: {q(sec['auditor_credential_secret'])}\n"
             f"    region_name: {REGION}\n    identity_api_version: 3\n    interface: public\n")
    fd = os.open(CLOUDS, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    CLOUDS.chmod(0o600)

# --------------------------------------------------------------------------------------------- commands


def port_busy(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def ensure_started(svc: Svc) -> bool:
    """Start svc unless the process we recorded is alive and answering. True if it was (re)started."""
    rec = recorded(svc.name)
    if alive(rec):
        if basic_check(svc)[0]:
            return False
        if svc.port:
            # on a busy machine a live API can miss one check: give it 30 s before calling it deaf
            try:
                wait_for(svc.name, lambda: basic_check(svc)[0], 30, svc, interval=2)
                return False
            except Failure:
                stop(svc.name)
    if svc.port and port_busy(svc.port):
        raise Failure((f"127.0.0.1:{svc.port} is in use by a process dev-cloud did not start; "
                       f"stop it or free the port ({svc.name})") if LANG == "en" else
                      f"127.0.0.1:{svc.port} は dev-cloud が起動していないプロセスが使用中です。"
                      f"停止するかポートを空けてください ({svc.name})")
    start(svc)
    return True


def wait_port(svc: Svc, timeout: float = 120) -> None:
    wait_for(svc.name, lambda: basic_check(svc)[0], timeout, svc)


def rabbit_login_works(sec: dict[str, str]) -> bool:
    # The broker's users live in /var/lib/rabbitmq, shared by every cache directory (a CI clone and a working copy
    # each have their own secrets), so a stamp in this cache cannot say whether our password is the current one.
    import amqp

    conn = amqp.Connection(host="127.0.0.1:5672", userid="openstack", password=sec["rabbit_password"],
                           connect_timeout=5)
    try:
        conn.connect()
        return True
    except Exception:  # refused login, or no such user yet
        return False
    finally:
        with contextlib.suppress(Exception):
            conn.collect()


GOLDEN = CACHE / "golden"


def fingerprint(sec: dict[str, str]) -> str:
    """What the databases' content depends on: the templates, CONTENT_VERSION, the secrets, the packages."""
    import hashlib

    h = hashlib.sha256(CONTENT_VERSION.encode())
    for f in sorted(TEMPLATES.rglob("*")):
        if f.is_file():
            h.update(str(f.relative_to(HERE)).encode() + b"\0" + f.read_bytes())
    h.update(json.dumps(sec, sort_keys=True).encode())
    h.update(run(["dpkg-query", "-W", *PKGS]).stdout.encode())
    return h.hexdigest()[:16]


GLANCE_STORE = Path("/var/lib/glance/images")


def golden_matches(sec: dict[str, str]) -> bool:
    # Glance's store is shared by every cache directory, so the golden copy keeps its own image files; a golden
    # copy from before that (no images/ beside it) is not trusted.
    try:
        images = json.loads((GOLDEN / "images.json").read_text())
        return ((GOLDEN / "fingerprint").read_text() == fingerprint(sec) and (GOLDEN / "db.sql").exists()
                and all((GOLDEN / "images" / name).is_file() for name in images))
    except (OSError, ValueError):
        return False


def save_golden(sec: dict[str, str]) -> None:
    """Dump the databases of a freshly set-up cloud, so that --reset restores them instead of re-running
    every schema migration (the slowest part of a set-up)."""
    GOLDEN.mkdir(mode=0o700, exist_ok=True)
    tmp = GOLDEN / "db.sql.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds password hashes
    with os.fdopen(fd, "w") as f:
        p = subprocess.run(["mariadb-dump", "--protocol=socket", "-u", "root", "--single-transaction",
                            "--databases", *DATABASES], stdout=f, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise Failure(msg("cmd_fail", rc=p.returncode, cmd="mariadb-dump", out=p.stderr[-2000:]))
    tmp.replace(GOLDEN / "db.sql")
    images = sorted(f.name for f in GLANCE_STORE.iterdir())
    (GOLDEN / "images").mkdir(exist_ok=True)
    for name in images:
        shutil.copy2(GLANCE_STORE / name, GOLDEN / "images" / name)
    (GOLDEN / "images.json").write_text(json.dumps(images))
    (GOLDEN / "fingerprint").write_text(fingerprint(sec))


def restore_golden(sec: dict[str, str]) -> None:
    setup_databases(sec, reset=True)
    with open(GOLDEN / "db.sql") as f:
        p = subprocess.run(["mariadb", "--protocol=socket", "-u", "root"], stdin=f, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        raise Failure(msg("cmd_fail", rc=p.returncode, cmd="mariadb < golden/db.sql", out=p.stdout[-2000:]))
    keep = set(json.loads((GOLDEN / "images.json").read_text()))
    for f in GLANCE_STORE.iterdir():
        if f.name not in keep:
            f.unlink()
    glance = pwd.getpwnam("glance")
    for name in keep:
        shutil.copy2(GOLDEN / "images" / name, GLANCE_STORE / name)
        os.chown(GLANCE_STORE / name, glance.pw_uid, glance.pw_gid)


QEMU_MARK = STATE / "compute-qemu"  # kept across `up`, `down` and `--reset`: the cloud comes back as it was


def choose_compute(compute: str | None) -> None:
    """--compute qemu adds the real host and remembers it; --compute fake stops it and forgets it; no flag keeps
    what was chosen last, so another session's plain `up` neither adds real guests nor kills running ones."""
    if compute == "qemu":
        STATE.mkdir(parents=True, exist_ok=True)
        QEMU_MARK.write_text("qemu\n")
    elif compute == "fake" and QEMU_MARK.exists():
        QEMU_MARK.unlink()
        for name in qemucompute.destroy_domains():
            say("stopped", name=f"guest {name}", pid="-")
        stop_many([s.name for s in reversed(QEMU_SVCS)])
    if QEMU_MARK.exists() and not QEMU["on"]:
        enable_qemu()


def cmd_up(reset: bool, compute: str | None = None) -> int:
    if os.geteuid() != 0:
        raise Failure(msg("not_root"))
    t_all = time.monotonic()
    phases: dict[str, float] = {}
    choose_compute(compute)
    with timed(phases, "apt"):
        install_packages()
    if QEMU["on"]:
        with timed(phases, "qemu probe"):
            found = qemucompute.probe(STATE, ROOT)
            QEMU["virt_type"] = found["nova_virt_type"]
            say("qemu_accel", accel=found["accel"], virt_type=found["nova_virt_type"])
        qemucompute.prepare()
    for d in (RUN, LOG):
        d.mkdir(parents=True, exist_ok=True)
    sec = load_secrets()
    changed = render_configs(sec)
    prepare_host()
    with timed(phases, "policy"):
        apply_policy()
    if not reset and not changed:
        h = health()
        bad = [n for n, (ok, _) in h.items() if not ok]
        try:  # content missing (a set-up interrupted after the services came up) or made by an older script
            current = (STATE / "content.done").read_text() == fingerprint(sec)
        except OSError:
            current = False
        if not current:
            bad.append("content")
        if not bad:
            write_clouds(sec)
            if QEMU["on"]:  # the aggregate, flavor and images are gone after another session's --reset
                qemucompute.content(admin_conn(), ROOT, restart_qemu_l3)
            say("already", t=time.monotonic() - t_all)
            return 0
        say("repair", names=", ".join(bad))
    stop_many([svc.name for svc in ALL if set(svc.configs) & changed])
    restored = False
    # Keystone content, cell mapping and flavors/image/networks persist in the databases: once a set-up got
    # through them, repairing crashed services need not redo them (--reset or a changed script does).
    try:
        populated = not reset and (STATE / "content.done").read_text() == fingerprint(sec)
    except OSError:
        populated = False
    if reset:
        say("reset")
        with timed(phases, "stop"):
            stop_many([s.name for s in reversed([KEYSTONE, *APIS, *WORKERS])])
        restored = golden_matches(sec)
        if not restored:
            for f in STATE.glob("*.done"):
                f.unlink()
            for f in GLANCE_STORE.glob("*"):
                f.unlink()

    with timed(phases, "infra"):
        for svc in INFRA:
            ensure_started(svc)
            wait_port(svc, 120)
        if restored:
            restore_golden(sec)  # the databases exactly as a fresh set-up left them
        else:
            setup_databases(sec, reset)
        if not rabbit_login_works(sec):
            setup_rabbit(sec)
        if reset and QEMU["on"]:
            for name in qemucompute.destroy_domains(forget=True):
                say("stopped", name=f"guest {name}", pid="-")
    fresh = not done("dbsync-keystone")
    with timed(phases, "db sync"):
        db_syncs()
    with timed(phases, "keystone"):
        keystone_setup(sec)
        ensure_started(KEYSTONE)
        wait_port(KEYSTONE)
        wait_for("keystone token", lambda: admin_conn().identity.get_token() is not None, 60)
        if not (restored or populated):
            register(sec)
        write_clouds(sec)
    with timed(phases, "services"):
        spoofchains.clear()  # before any Linux bridge agent starts: else they race to delete the same chains
        for svc in [*APIS, *WORKERS]:
            ensure_started(svc)
        for svc in APIS:
            wait_port(svc)
    with timed(phases, "ready"):
        conn = admin_conn()

        def compute_up():
            # its resource provider exists once the compute node record does: discover_hosts can map it
            checks = cloud_checks(conn)
            # a node is named by its driver: the fake driver uses the host's name, libvirt the machine's
            # (the hypervisor list cannot say: it shows only hosts already mapped to a cell)
            names = [HOST, *LAYER_HOSTS.values(), *([socket.gethostname()] if QEMU["on"] else [])]
            return all(checks[n][0] for n in checks if n.startswith("nova-compute")) and all(
                any(r.name == h for r in conn.placement.resource_providers(name=h)) for h in names)

        wait_for("nova-compute", compute_up, 240, BY_NAME["nova-compute"], interval=2)
        # every compute host must be mapped to cell1 before anything can be scheduled on it; a host already
        # mapped (the snapshot holds the mappings) is left as it is
        nova_manage("cell_v2", "discover_hosts")

        def all_workers_up():
            checks = cloud_checks(conn)
            bad = [n for n, (ok, _) in checks.items() if not ok]
            if bad:
                raise RuntimeError(", ".join(f"{n}: {checks[n][1]}" for n in bad))
            return True

        wait_for("workers", all_workers_up, 180, interval=2)
        if not (restored or populated):
            content()
        if QEMU["on"]:
            qemucompute.content(conn, ROOT, restart_qemu_l3)
        mark("content")
        (STATE / "content.done").write_text(fingerprint(sec))  # what the content was made by
        if fresh:
            save_golden(sec)
        h = health()
        bad = [f"{n} ({d})" for n, (ok, d) in h.items() if not ok]
        if bad:
            raise Failure(msg("status_summary_bad", names=", ".join(bad)))
    say("ready", t=time.monotonic() - t_all, clouds=CLOUDS)
    say("env_hint")
    return 0


def cmd_down() -> int:
    # Guests first (QEMU processes outlive libvirtd), then the OpenStack services (all at once), then the
    # broker, then the database they talk to
    for name in qemucompute.destroy_domains():
        say("stopped", name=f"guest {name}", pid="-")
    stopped = stop_many([s.name for s in reversed([KEYSTONE, *APIS, *WORKERS, *QEMU_SVCS[1:]])])
    stopped += stop_many([QEMU_SVCS[0].name])
    stopped += stop_many(["rabbitmq"]) + stop_many(["epmd"]) + stop_many(["mariadb"])
    marker = RUN / "veth.created"
    if marker.exists():
        for near, _ in WIRES.values():
            run(["ip", "link", "del", near], check=False)
        marker.unlink()
    if not stopped:
        say("not_running")
    return 0


def cmd_status() -> int:
    h = health()
    width = max(len(n) for n in h)
    for svc in ALL:
        ok, detail = h[svc.name]
        rec = recorded(svc.name)
        pid = rec["pid"] if rec and alive(rec) else "-"
        print(f"{svc.name:<{width}}  {pid!s:>7}  {msg('status_ok') if ok else msg('status_bad'):<10}  {detail}")
    pss, rss, n = memory()
    say("memory", pss=pss / 1024, rss=rss / 1024, n=n)
    bad = [n for n, (ok, _) in h.items() if not ok]
    if bad:
        say("status_summary_bad", names=", ".join(bad))
        return 1
    say("status_summary_ok")
    return 0


def cmd_env() -> int:
    if not CLOUDS.exists():
        print(msg("no_clouds", path=CLOUDS), file=sys.stderr)
        return 1
    print(f"export OS_CLIENT_CONFIG_FILE={CLOUDS}")
    print("export OS_CLOUD=dev-admin")
    return 0


def main(argv: list[str]) -> int:
    global LANG
    LANG = "en" if os.environ.get("SHUYAKU_LANG", "").startswith("en") else "ja"
    ap = argparse.ArgumentParser(prog="scripts/dev-cloud", description="dev cloud on 127.0.0.1")
    ap.add_argument("--lang", choices=["ja", "en"])
    sub = ap.add_subparsers(dest="cmd")
    up = sub.add_parser("up", help="install, configure and start everything; repair if half-up")
    up.add_argument("--reset", action="store_true", help="recreate the databases for a clean cloud")
    up.add_argument("--compute", choices=["fake", "qemu"],
                    help="qemu: add the real compute host (libvirt, QEMU guests); fake: remove it; default: as last")
    up.add_argument("--lang", choices=["ja", "en"], dest="lang2")
    for name in ("down", "status", "env", "install"):
        sub.add_parser(name).add_argument("--lang", choices=["ja", "en"], dest="lang2")
    def usage_error(message: str) -> None:
        print(f"{msg('usage_err')}\n({message})", file=sys.stderr)
        sys.exit(2)

    ap.error = usage_error  # type: ignore[method-assign]
    for p in sub.choices.values():
        p.error = usage_error  # type: ignore[method-assign]
    if "--lang" in argv and argv[argv.index("--lang") + 1:][:1] == ["en"]:
        LANG = "en"
    args = ap.parse_args(argv)
    lang = getattr(args, "lang2", None) or args.lang
    if lang:
        LANG = lang
    if not args.cmd:
        print(msg("usage_err"), file=sys.stderr)
        return 2
    try:
        if args.cmd in ("up", "down"):
            if os.geteuid() != 0:
                raise Failure(msg("not_root"))
            # two `up`s at once (CI and a developer, two test sessions) would start everything twice
            import fcntl

            RUN.mkdir(parents=True, exist_ok=True)
            lock = open(RUN / "lock", "w")  # noqa: SIM115 - held until the process exits
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                say("locked")
                fcntl.flock(lock, fcntl.LOCK_EX)
        if args.cmd != "up" and QEMU_MARK.exists():
            enable_qemu()
        if args.cmd == "up":
            return cmd_up(args.reset, args.compute)
        if args.cmd == "down":
            return cmd_down()
        if args.cmd == "status":
            return cmd_status()
        if args.cmd == "env":
            return cmd_env()
        if args.cmd == "install":
            t0 = time.monotonic()
            install_packages()
            say("phase", name="apt", t=time.monotonic() - t0)
            return 0
    except Failure as e:
        print(f"dev-cloud: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
