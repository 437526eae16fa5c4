"""The host variables a stack output may set, checked before they reach an Ansible inventory.

Ansible trusts its inventory completely: `ansible_ssh_common_args` with a ProxyCommand runs on the operator's
machine, a `{{ lookup('pipe', ...) }}` in any string is templated there, and a role's `path` variable names a
file the controller reads or writes. A stack output is written by whoever can change the stack, so only the
variables below pass, each checked against its type:

- connection: `ansible_host` (an IP address), `ansible_user` (a plain account name), `ansible_port`;
- `shuyaku_ssh_host_keys`: the host's public SSH host keys, from which known_hosts is built;
- the platform's labels `shuyaku_layer`, `shuyaku_role`, `shuyaku_site`;
- the variables the roles' `meta/argument_specs.yml` declare, by their declared type and choices, except
  `path` ones (controller-side files belong in the operator's own group_vars, not in outputs).
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import re
from pathlib import Path
from typing import Any

import yaml

from shuyaku.contracts.i18n import t
from shuyaku.contracts.source import clip

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
HOST_KEYS_VAR = "shuyaku_ssh_host_keys"
USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
# Jinja delimiters: Ansible templates every inventory string on the controller before use.
JINJA_RE = re.compile(r"\{\{|\{%|\{#")
KEY_TYPES = frozenset({"ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                       "ssh-rsa", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"})


@functools.cache
def role_options() -> dict[str, dict[str, Any]]:
    """Every option any role declares, by name (the role prefix keeps names unique across roles)."""
    options: dict[str, dict[str, Any]] = {}
    for spec_file in sorted(ROLES_DIR.glob("*/meta/argument_specs.yml")):
        data = yaml.safe_load(spec_file.read_text(encoding="utf-8")) or {}
        for entry in (data.get("argument_specs") or {}).values():
            options.update((entry or {}).get("options") or {})
    return options


def parse_host_key(line: Any) -> tuple[str, str] | None:
    """(type, base64 blob) of an OpenSSH public key line whose blob really is a key of that type, else None."""
    if not isinstance(line, str) or "\n" in line or "\r" in line:
        return None
    parts = line.split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        return None
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return None
    # The blob starts with its own type as an SSH string (uint32 length, bytes).
    kind = parts[0].encode()
    if blob[:4] != len(kind).to_bytes(4, "big") or blob[4:4 + len(kind)] != kind:
        return None
    return parts[0], parts[1]


def shown_name(name: Any) -> str:
    """A key as it goes into an output path: plain when it is a plain name, else quoted and escaped."""
    return name if isinstance(name, str) and HOST_RE.match(name) else clip(name)


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    if kind == "dict":
        return isinstance(value, dict)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return kind == "raw" and (value is None or isinstance(value, (str, int, float, bool, list, dict)))


def check_role_value(value: Any, spec: dict[str, Any], where: str) -> list[str]:
    """Problems with one value against its argument_specs entry (type, elements, choices, sub-options)."""
    kind = str(spec.get("type") or "str")
    if kind == "path":
        return [t(f"{where}: コントローラー上のパス（type: path）はスタック出力から設定できません。"
                  "運用者の group_vars で設定してください。",
                  f"{where}: a controller-side path (type: path) cannot come from a stack output; "
                  "set it in the operator's own group_vars.")]
    if not _type_ok(value, kind):
        return [t(f"{where}: {kind} 型の値が必要です（値: {clip(value)}）。",
                  f"{where}: expected a value of type {kind} (got {clip(value)}).")]
    if "choices" in spec and value not in spec["choices"]:
        return [t(f"{where}: {clip(value)} は使えません。選べる値: {', '.join(map(str, spec['choices']))}。",
                  f"{where}: {clip(value)} is not allowed; choose one of: {', '.join(map(str, spec['choices']))}.")]
    problems: list[str] = []
    if kind == "list" and spec.get("elements"):
        element = {"type": spec["elements"], "options": spec.get("options")}
        for i, item in enumerate(value):
            problems += check_role_value(item, element, f"{where}[{i}]")
    elif kind == "dict" and spec.get("options"):
        for key, item in value.items():
            sub = spec["options"].get(key)
            if sub is None:
                problems.append(t(f"{where}.{shown_name(key)}: このロールの argument_specs にない項目です。",
                                  f"{where}.{shown_name(key)}: not an option the role's argument_specs declare."))
            else:
                problems += check_role_value(item, sub, f"{where}.{key}")
    return problems


def jinja_problems(value: Any, where: str) -> list[str]:
    """Strings that Ansible would template on the controller (anywhere inside lists and dicts)."""
    if isinstance(value, str):
        if JINJA_RE.search(value):
            return [t(f"{where}: テンプレート記法（{{{{ }}}}、{{% %}}）を含む値は受け付けません"
                      f"（値: {clip(value)}）。Ansible が運用者のマシンで評価するためです。",
                      f"{where}: values containing template syntax ({{{{ }}}}, {{% %}}) are refused "
                      f"(got {clip(value)}): Ansible would evaluate them on the operator's machine.")]
        return []
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in jinja_problems(v, f"{where}[{i}]")]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in jinja_problems(k, where) + jinja_problems(v, f"{where}.{k}")]
    return []


def _check_connection(name: str, value: Any, where: str) -> list[str]:
    if name == "ansible_host":
        try:
            ipaddress.ip_address(value if isinstance(value, str) else "")
        except ValueError:
            return [t(f"{where}: IP アドレスが必要です（値: {clip(value)}）。",
                      f"{where}: expected an IP address (got {clip(value)}).")]
    elif name == "ansible_user":
        if not isinstance(value, str) or not USER_RE.match(value):
            return [t(f"{where}: アカウント名は英小文字・数字・_・- で 32 文字までです（値: {clip(value)}）。",
                      f"{where}: an account name is lower-case letters, digits, _ and -, up to 32 characters "
                      f"(got {clip(value)}).")]
    elif name == "ansible_port":
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
            return [t(f"{where}: 1〜65535 のポート番号が必要です（値: {clip(value)}）。",
                      f"{where}: expected a port number 1-65535 (got {clip(value)}).")]
    elif name == HOST_KEYS_VAR:
        keys = value if isinstance(value, list) else [value]
        bad = [k for k in keys if parse_host_key(k) is None]
        if bad or not keys:
            return [t(f"{where}: OpenSSH 形式の公開ホスト鍵（例: ssh-ed25519 AAAA...）の一覧が必要です"
                      f"（値: {clip(bad[0] if bad else value)}）。",
                      f"{where}: expected a list of OpenSSH public host keys (e.g. ssh-ed25519 AAAA...) "
                      f"(got {clip(bad[0] if bad else value)}).")]
    elif not isinstance(value, str) or not LABEL_RE.match(value):  # shuyaku_layer / _role / _site
        return [t(f"{where}: 英小文字・数字・_・- の名前が必要です（値: {clip(value)}）。",
                  f"{where}: expected a name of lower-case letters, digits, _ and - (got {clip(value)}).")]
    return []


CONNECTION_VARS = frozenset({"ansible_host", "ansible_user", "ansible_port", HOST_KEYS_VAR,
                             "shuyaku_layer", "shuyaku_role", "shuyaku_site"})


def check_host_vars(hvars: dict[Any, Any], where: str) -> list[str]:
    """Every problem with one host's variables; an empty list means the whole mapping may be used."""
    problems: list[str] = []
    roles = role_options()
    for name, value in hvars.items():
        vwhere = f"{where}.{shown_name(name)}"
        if name in CONNECTION_VARS:
            problems += _check_connection(name, value, vwhere)
        elif isinstance(name, str) and name in roles:
            found = jinja_problems(value, vwhere)
            problems += found or check_role_value(value, roles[name], vwhere)
        else:
            problems.append(t(
                f"{vwhere}: スタック出力から設定できない変数です。使えるのは ansible_host、ansible_user、"
                f"ansible_port、{HOST_KEYS_VAR}、shuyaku_layer/role/site と roles/*/meta/argument_specs.yml の"
                "変数だけです（接続方法やコマンドを変える変数は運用者のマシンで実行されうるため）。",
                f"{vwhere}: not a variable a stack output may set. Allowed: ansible_host, ansible_user, "
                f"ansible_port, {HOST_KEYS_VAR}, shuyaku_layer/role/site and the variables in "
                "roles/*/meta/argument_specs.yml (connection and command variables could run code on the "
                "operator's machine)."))
    return problems


def known_hosts_lines(host: str, hvars: dict[str, Any]) -> list[str]:
    """known_hosts entries for one checked host: its address (what ssh connects to) and its inventory name."""
    keys = hvars.get(HOST_KEYS_VAR) or []
    keys = keys if isinstance(keys, list) else [keys]
    names = ",".join(dict.fromkeys([str(hvars["ansible_host"]), host]))
    port = hvars.get("ansible_port")
    if port and port != 22:
        names = ",".join(f"[{n}]:{port}" for n in names.split(","))
    lines = []
    for key in keys:
        parsed = parse_host_key(key)
        if parsed:
            lines.append(f"{names} {parsed[0]} {parsed[1]}")
    return lines
