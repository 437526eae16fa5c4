"""Setting the dev cloud up: configuration files, the operator's policy, databases, Keystone's content and the
clouds.yaml that the tests and the platform read."""

from __future__ import annotations

import grp
import http.client
import json
import os
import pwd
import string
from pathlib import Path

import qemucompute  # beside this file (sys.path[0])
from basics import CACHE, CLOUDS, DATABASES, HOST, QEMU, REGION, ROOT, RUN, TEMPLATES, Failure, msg, run, say
from services import CINDER, ERL_ENV, NEUTRON, NOVA, SYS_ENV, UWSGI_INIS, admin_conn, layer_host_texts

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
