"""The dev cloud's names, paths and messages, and the helpers every part uses: commands, packages, secrets."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import subprocess
import time
from pathlib import Path

import qemucompute  # beside this file (sys.path[0])

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
# Whether the real compute host is on (`up --compute qemu`, or kept from an earlier `up`) and its virt type.
QEMU = {"on": False, "virt_type": "qemu"}
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
