"""The dev cloud: Keystone, Placement, Glance, Nova (fake virt driver), Neutron (ML2/linuxbridge) and
Cinder (fake driver) from Debian 12's packages, with MariaDB and RabbitMQ, on 127.0.0.1 only.

Runs with /usr/bin/python3 (Debian's OpenStack libraries are not importable from other interpreters).
PID 1 is not systemd here, so every daemon is started by this script, recorded in a PID file under
${SHUYAKU_CACHE}/dev-cloud/run/ and stopped by that PID only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import basics
import qemucompute  # beside this file (sys.path[0])
import spoofchains
from basics import (
    CACHE,
    CLOUDS,
    CONTENT_VERSION,
    DATABASES,
    HERE,
    HOST,
    LAYER_HOSTS,
    LOG,
    PKGS,
    QEMU,
    ROOT,
    RUN,
    TEMPLATES,
    Failure,
    install_packages,
    load_secrets,
    msg,
    run,
    say,
    timed,
)
from services import (
    ALL,
    APIS,
    BY_NAME,
    INFRA,
    KEYSTONE,
    QEMU_SVCS,
    WORKERS,
    Svc,
    admin_conn,
    alive,
    basic_check,
    cloud_checks,
    enable_qemu,
    health,
    memory,
    recorded,
    restart_qemu_l3,
    start,
    stop,
    stop_many,
    wait_for,
)
from setup_steps import (
    STATE,
    WIRES,
    apply_policy,
    content,
    db_syncs,
    done,
    keystone_setup,
    mark,
    nova_manage,
    prepare_host,
    register,
    render_configs,
    setup_databases,
    setup_rabbit,
    write_clouds,
)

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
                       f"stop it or free the port ({svc.name})") if basics.LANG == "en" else
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


def prepare(compute: str | None, phases: dict[str, float]) -> tuple[dict[str, str], set[str]]:
    """Packages, the qemu probe, configuration files, the host's links and the policy; returns the secrets and
    the configuration files that changed."""
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
    return sec, changed


def content_current(sec: dict[str, str]) -> bool:
    """Whether the content (Keystone's, the cell mapping, flavors, image, networks) was made by this script."""
    try:
        return (STATE / "content.done").read_text() == fingerprint(sec)
    except OSError:
        return False


def already_up(sec: dict[str, str], t_all: float) -> bool:
    """True when everything is healthy and current (nothing to do); else says what it repairs."""
    bad = [n for n, (ok, _) in health().items() if not ok]
    if not content_current(sec):  # a set-up interrupted after the services came up, or an older script's
        bad.append("content")
    if not bad:
        write_clouds(sec)
        if QEMU["on"]:  # the aggregate, flavor and images are gone after another session's --reset
            qemucompute.content(admin_conn(), ROOT, restart_qemu_l3)
        say("already", t=time.monotonic() - t_all)
        return True
    say("repair", names=", ".join(bad))
    return False


def reset_state(sec: dict[str, str], phases: dict[str, float]) -> bool:
    """Stops the services for --reset; returns whether the golden snapshot can restore the databases."""
    say("reset")
    with timed(phases, "stop"):
        stop_many([s.name for s in reversed([KEYSTONE, *APIS, *WORKERS])])
    restored = golden_matches(sec)
    if not restored:
        for f in STATE.glob("*.done"):
            f.unlink()
        for f in GLANCE_STORE.glob("*"):
            f.unlink()
    return restored


def start_infra(sec: dict[str, str], reset: bool, restored: bool, phases: dict[str, float]) -> None:
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


def start_openstack(sec: dict[str, str], populated: bool, phases: dict[str, float]) -> None:
    with timed(phases, "db sync"):
        db_syncs()
    with timed(phases, "keystone"):
        keystone_setup(sec)
        ensure_started(KEYSTONE)
        wait_port(KEYSTONE)
        wait_for("keystone token", lambda: admin_conn().identity.get_token() is not None, 60)
        if not populated:
            register(sec)
        write_clouds(sec)
    with timed(phases, "services"):
        spoofchains.clear()  # before any Linux bridge agent starts: else they race to delete the same chains
        for svc in [*APIS, *WORKERS]:
            ensure_started(svc)
        for svc in APIS:
            wait_port(svc)


def make_ready(sec: dict[str, str], populated: bool, fresh: bool) -> None:
    """Waits for every compute host and worker, makes the content if missing, checks the health."""
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
    if not populated:
        content()
    if QEMU["on"]:
        qemucompute.content(conn, ROOT, restart_qemu_l3)
    mark("content")
    (STATE / "content.done").write_text(fingerprint(sec))  # what the content was made by
    if fresh:
        save_golden(sec)
    bad = [f"{n} ({d})" for n, (ok, d) in health().items() if not ok]
    if bad:
        raise Failure(msg("status_summary_bad", names=", ".join(bad)))


def cmd_up(reset: bool, compute: str | None = None) -> int:
    if os.geteuid() != 0:
        raise Failure(msg("not_root"))
    t_all = time.monotonic()
    phases: dict[str, float] = {}
    sec, changed = prepare(compute, phases)
    if not reset and not changed and already_up(sec, t_all):
        return 0
    stop_many([svc.name for svc in ALL if set(svc.configs) & changed])
    # Keystone content, cell mapping and flavors/image/networks persist in the databases: once a set-up got
    # through them, repairing crashed services need not redo them (--reset or a changed script does).
    populated = not reset and content_current(sec)
    restored = reset_state(sec, phases) if reset else False
    start_infra(sec, reset, restored, phases)
    fresh = not done("dbsync-keystone")
    start_openstack(sec, restored or populated, phases)
    with timed(phases, "ready"):
        make_ready(sec, restored or populated, fresh)
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
    basics.LANG = "en" if os.environ.get("SHUYAKU_LANG", "").startswith("en") else "ja"
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
        basics.LANG = "en"
    args = ap.parse_args(argv)
    lang = getattr(args, "lang2", None) or args.lang
    if lang:
        basics.LANG = lang
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
