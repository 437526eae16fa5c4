"""Ansible inventories for `shuyaku provision/verify/patch`: a hosts file, or the platform stack's outputs.

The platform program exports `ansible_inventory` as {group: {host: {ansible_host: ip, ...vars}}}; this module
turns that into Ansible's YAML inventory so every later stage reads one file, whatever its origin.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from shuyaku.contracts.i18n import t
from shuyaku.contracts.source import clip
from shuyaku.provision.hostvars import HOST_KEYS_VAR, HOST_RE, check_host_vars, known_hosts_lines

if TYPE_CHECKING:
    from shuyaku.provision.guests import Found

ROOT = Path(__file__).resolve().parents[2]
GROUP_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class InventoryError(Exception):
    """Bad or unreadable inventory input; `problems` lists every one found (exit status 2)."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def venv_env() -> dict[str, str]:
    """Environment where ansible-* and pulumi from the project are found first."""
    env = dict(os.environ)
    paths = [str(ROOT / ".venv" / "bin")]
    cache = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku"))
    paths.append(str(cache / "engine" / "bin"))
    env["PATH"] = os.pathsep.join([*paths, env.get("PATH", "")])
    env.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))
    return env


def outputs_to_inventory(outputs: Any, source: str = "ansible_inventory") -> dict[str, Any]:
    """Convert the stack output {group: {host: {ansible_host, ...}}} into an Ansible YAML inventory dict.

    Only allow-listed host variables pass (shuyaku.provision.hostvars); values are quoted clipped and escaped."""
    problems: list[str] = []
    if not isinstance(outputs, dict) or not outputs:
        raise InventoryError([t(
            f"{source}: グループ → ホスト → 変数 の辞書が必要です（例: {{\"vdi_hosts\": {{\"vdi-1\": "
            f"{{\"ansible_host\": \"198.18.3.11\"}}}}}}）。",
            f"{source}: expected a mapping group → host → vars, e.g. {{\"vdi_hosts\": {{\"vdi-1\": "
            f"{{\"ansible_host\": \"198.18.3.11\"}}}}}}.")])
    children: dict[str, Any] = {}
    seen: dict[str, tuple[str, dict]] = {}
    for group, hosts in outputs.items():
        if not isinstance(group, str) or not GROUP_RE.match(group):
            problems.append(t(f"{source}.{clip(group)}: グループ名は英数字と _ だけで書いてください。",
                              f"{source}.{clip(group)}: a group name must be letters, digits and _ only."))
            continue
        where = f"{source}.{group}"
        if not isinstance(hosts, dict):
            problems.append(t(f"{where}: ホスト名 → 変数 の辞書が必要です（値: {clip(hosts)}）。",
                              f"{where}: expected a mapping host → vars (got {clip(hosts)})."))
            continue
        group_hosts: dict[str, Any] = {}
        for host, hvars in hosts.items():
            if not isinstance(host, str) or not HOST_RE.match(host):
                problems.append(t(f"{where}.{clip(host)}: ホスト名は英数字・.・_・- で 63 文字までです。",
                                  f"{where}.{clip(host)}: a host name is letters, digits, ., _ and -, up to 63 "
                                  "characters."))
                continue
            hwhere = f"{where}.{host}"
            hvars = hvars if hvars is not None else {}
            if not isinstance(hvars, dict):
                problems.append(t(f"{hwhere}: 変数の辞書が必要です（値: {clip(hvars)}）。",
                                  f"{hwhere}: expected a mapping of variables (got {clip(hvars)})."))
                continue
            if "ansible_host" not in hvars:
                problems.append(t(f"{hwhere}.ansible_host: 接続先アドレスがありません。"
                                  "プラットフォームの出力に ansible_host（IP アドレス）を含めてください。",
                                  f"{hwhere}.ansible_host: missing; the platform output must give each host "
                                  "its ansible_host (IP address)."))
                continue
            found = check_host_vars(hvars, hwhere)
            if found:
                problems += found
                continue
            if host in seen and seen[host][1] != hvars:
                problems.append(t(f"{hwhere}: 同じホストが {seen[host][0]} にも異なる変数で出ています。",
                                  f"{hwhere}: the same host appears in {seen[host][0]} with different vars."))
                continue
            seen[host] = (where, hvars)
            group_hosts[host] = dict(hvars)
        children[group] = {"hosts": group_hosts}
    if problems:
        raise InventoryError(problems)
    return {"all": {"children": children}}


def pin_host_keys(data: dict[str, Any], known_hosts: Path, source: str) -> dict[str, Any]:
    """Write known_hosts from the hosts' published keys and make ssh check against it alone.

    A host without a published key is refused: trusting whatever key answers first on the network is
    exactly what a man in the middle needs."""
    hosts: dict[str, dict[str, Any]] = {}
    for group in data["all"]["children"].values():
        hosts.update(group["hosts"])
    missing = sorted(h for h, v in hosts.items() if not v.get(HOST_KEYS_VAR))
    if missing:
        raise InventoryError([t(
            f"{source}.*.{h}.{HOST_KEYS_VAR}: ホスト {h} の SSH ホスト鍵が出力にありません。鍵が分からない"
            "ホストには接続しません（初回接続で届いた鍵を信用すると中間者攻撃を防げないため）。"
            "ホストを作成したときの公開ホスト鍵をプラットフォームの出力に含めてください。",
            f"{source}.*.{h}.{HOST_KEYS_VAR}: host {h} has no SSH host key in the output. A host whose key is "
            "not known is not contacted (trusting the first key that answers lets a man in the middle in); "
            "publish the host's public keys, recorded when it was created, in the platform's output.")
            for h in missing])
    lines = [line for h, v in sorted(hosts.items()) for line in known_hosts_lines(h, v)]
    known_hosts.parent.mkdir(parents=True, exist_ok=True)
    known_hosts.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    data["all"]["vars"] = {"ansible_ssh_common_args": ssh_pin_args(known_hosts)}
    return data


def ssh_pin_args(known_hosts: Path) -> str:
    """ssh options that accept exactly the keys in known_hosts (Ansible and testinfra split them like a shell)."""
    return (f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={shlex.quote(str(known_hosts))} "
            "-o GlobalKnownHostsFile=/dev/null")


Runner = Callable[..., subprocess.CompletedProcess]


BASTION_GROUP = "bastion"
JUMP_TIMEOUT = 60


def jump_args(known_hosts: Path, bastion: dict[str, Any], key: Path | None) -> str:
    """ssh options for a guest: its pinned host keys, and a ProxyCommand through the bastion built here from
    the bastion's checked address, user and port, pinned to the same known_hosts."""
    address = str(ipaddress.ip_address(str(bastion["ansible_host"])))  # checked again: it goes into a command
    hop = ["ssh", "-W", "%h:%p", "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts}",
           "-o", "GlobalKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
    if key is not None:
        hop += ["-i", str(key), "-o", "IdentitiesOnly=yes"]
    if bastion.get("ansible_port"):
        hop += ["-p", str(int(bastion["ansible_port"]))]
    if bastion.get("ansible_user"):
        hop += ["-l", str(bastion["ansible_user"])]
    hop.append(address)
    return f"{ssh_pin_args(known_hosts)} -o {shlex.quote('ProxyCommand=' + shlex.join(hop))}"


def through_bastion(data: dict[str, Any], known_hosts: Path, key: Path | None = None) -> dict[str, Any]:
    """Every host but the bastion reached through it, when the inventory has one: inside the cloud only the
    bastion admits SSH from the administrators' addresses (the platform's security groups)."""
    groups = data["all"]["children"]
    bastions = sorted(groups.get(BASTION_GROUP, {}).get("hosts", {}))
    if not bastions:
        return data
    hop = jump_args(known_hosts, groups[BASTION_GROUP]["hosts"][bastions[0]], key)
    for group in groups.values():
        for host, hv in group["hosts"].items():
            if host not in bastions:
                hv["ansible_ssh_common_args"] = hop
                # two SSH handshakes, and Ansible's interpreter starting on the far side: nine guests at once
                # through one bastion (all under TCG on the dev cloud) timed out at Ansible's default 10 s
                hv["ansible_timeout"] = JUMP_TIMEOUT
    return data


def stack_outputs(stack: str, state_dir: Path | None = None, run: Runner = subprocess.run) -> Any:
    """`pulumi stack output ansible_inventory --json --stack STACK` with the project's engine settings."""
    return read_outputs(stack, state_dir, run, name="ansible_inventory")


def read_outputs(stack: str, state_dir: Path | None = None, run: Runner = subprocess.run, *,
                 name: str | None = None) -> Any:
    """The stack's outputs (`pulumi stack output --json`), or the one called `name`."""
    env, cwd = venv_env(), ROOT
    try:
        from shuyaku.deploy.engine import Stack, cache_dir

        st = Stack(stack, state_dir or cache_dir() / "state")
        env = st.env()
        cwd = st.shadow_dir if st.shadow_dir.exists() else ROOT
    except ImportError:  # pragma: no cover - the deploy stage is part of the package
        pass
    exe = shutil.which("pulumi", path=env.get("PATH")) or "pulumi"
    what = t(f"出力 {name}", f"output {name}") if name else t("出力", "the outputs")
    try:
        proc = run([exe, "stack", "output", *([name] if name else []), "--json", "--show-secrets", "--stack", stack],
                   cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise InventoryError([t("pulumi が見つかりません。scripts/build-engine を実行するか、--inventory（ホストファイル）"
                                "または --outputs（出力の JSON）を指定してください。",
                                "pulumi not found: run scripts/build-engine, or pass a hosts file with --inventory "
                                "or the outputs' JSON with --outputs.")]) from None
    if proc.returncode != 0:
        detail = " ".join((proc.stderr or proc.stdout or "").strip().splitlines()[-3:])
        raise InventoryError([t(f"スタック '{stack}' の{what}を読めません: {detail}",
                                f"cannot read {what} of stack '{stack}': {detail}")])
    if name:
        try:
            return json.loads(proc.stdout)
        except json.JSONDecodeError as exc:
            raise InventoryError([t(f"スタック '{stack}' の {name} が JSON ではありません: {exc}",
                                    f"{name} of stack '{stack}' is not JSON: {exc}")]) from None
    return parse_outputs(proc.stdout, f"stack {stack}")


def parse_outputs(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InventoryError([t(f"{where}: 出力が JSON ではありません（{exc.lineno} 行 {exc.colno} 列: {exc.msg}）。",
                                f"{where}: the outputs are not JSON (line {exc.lineno}, column {exc.colno}: "
                                f"{exc.msg}).")]) from None
    if not isinstance(data, dict):
        raise InventoryError([t(f"{where}: 出力名 → 値 の辞書が必要です。", f"{where}: expected a mapping name → value.")])
    return data


@dataclass
class ResolvedInventory:
    path: Path
    groups: dict[str, list[str]] = field(default_factory=dict)
    hostvars: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # servers found but left out, and why

    @property
    def hosts(self) -> list[str]:
        return sorted(self.hostvars)


def describe(path: Path) -> ResolvedInventory:
    """Ask Ansible itself to parse the file, so YAML and INI behave exactly as in a real run."""
    proc = subprocess.run(["ansible-inventory", "-i", str(path), "--list"], env=venv_env(),
                          capture_output=True, text=True, timeout=120)
    problems = [line.strip() for line in proc.stderr.splitlines()
                if "unable to parse" in line.lower() or "error" in line.lower()]
    if proc.returncode != 0:
        raise InventoryError([t(f"{path}: インベントリを読めません: {' '.join(problems) or proc.stderr.strip()}",
                                f"{path}: cannot read the inventory: {' '.join(problems) or proc.stderr.strip()}")])
    data = json.loads(proc.stdout or "{}")
    hostvars = data.get("_meta", {}).get("hostvars", {})
    groups: dict[str, list[str]] = {}

    def collect(group: str) -> list[str]:
        node = data.get(group, {})
        hosts = list(node.get("hosts", []))
        for child in node.get("children", []):
            hosts += collect(child)
        return sorted(set(hosts))

    for group in data:
        if group != "_meta":
            groups[group] = collect(group)
    if not hostvars and not groups.get("all"):
        detail = " ".join(problems)
        raise InventoryError([t(f"{path}: ホストが 1 台もありません。{detail} YAML の例: all: {{children: "
                                "{servers: {hosts: {srv-1: {ansible_host: 198.18.2.11}}}}}",
                                f"{path}: no hosts found. {detail} YAML example: all: {{children: "
                                "{servers: {hosts: {srv-1: {ansible_host: 198.18.2.11}}}}}")])
    return ResolvedInventory(path=path, groups=groups, hostvars=hostvars)


def resolve(inventory: Path | None, stack: str | None, workdir: Path, *,
            state_dir: Path | None = None, run: Runner = subprocess.run,
            guests: Callable[[dict[str, Any]], Found] | None = None,
            operator_vars: dict[str, Any] | None = None) -> ResolvedInventory:
    """One inventory file for the run: the given hosts file, or one written from the stack's outputs; with
    `guests`, also the servers it finds beside the stack's own (shuyaku.provision.guests), and `operator_vars`
    (the operator's own file) for every host."""
    if (inventory is None) == (stack is None):
        raise InventoryError([t("--inventory FILE か --stack STACK のどちらか一方を指定してください。",
                                "give exactly one of --inventory FILE or --stack STACK.")])
    if inventory is not None:
        if not inventory.is_file():
            raise InventoryError([t(f"{inventory}: ファイルがありません。", f"{inventory}: no such file.")])
        return describe(inventory.resolve())
    assert stack is not None
    source = f"stack {clip(stack)[1:-1]}: ansible_inventory"
    notes: list[str] = []
    if guests is None:
        raw = stack_outputs(stack, state_dir, run)
    else:
        found = guests(read_outputs(stack, state_dir, run))
        raw, notes = found.inventory, found.left_out
    data = outputs_to_inventory(raw, source=source)
    workdir.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", stack)
    known_hosts = (workdir / f"known_hosts-{safe}").resolve()
    extra = dict(operator_vars or {})
    key = extra.get("ansible_ssh_private_key_file")
    data = through_bastion(pin_host_keys(data, known_hosts, source), known_hosts, Path(str(key)) if key else None)
    # The pinned host keys are not the operator's to change. Every host is reached as its login user with sudo for
    # what needs root: the playbooks say `become` themselves, but testinfra reads it only from the inventory.
    data["all"]["vars"] = {**extra, **data["all"]["vars"], "ansible_become": True}
    path = workdir / f"inventory-{safe}.yml"
    path.write_text("# Written by shuyaku from the stack's ansible_inventory output.\n"
                    + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    resolved = describe(path)
    resolved.notes = notes
    return resolved
