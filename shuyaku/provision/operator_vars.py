"""The operator's own variables for a stack-based run (`provision --vars FILE`): what the platform's outputs do
not decide, e.g. the log host's CA certificate, the SSH key for the bastion and the guests.

The file is the operator's, trusted like a hosts file given with --inventory; it is still checked, so that a typo
is named with its line before anything runs: a mapping of variable names, and each variable a role declares
(roles/*/meta/argument_specs.yml) of the declared type.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from shuyaku.contracts.problems import ProblemsError, tx
from shuyaku.contracts.source import clip, load
from shuyaku.provision.hostvars import check_role_value, role_options

NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,99}$")
CONNECTION = frozenset({"ansible_ssh_private_key_file", "ansible_user", "ansible_become_method"})


def load_vars(path: Path) -> dict[str, Any]:
    """The variables, or ProblemsError naming every bad one (file, line, variable, how to fix it)."""
    src = load(path)
    data = src.data
    if not isinstance(data, dict):
        raise ProblemsError([src.problem((), tx("変数名 → 値 の辞書が必要です", "expected a mapping variable → value"),
                                         tx("例: baseline_log_ca_cert: |\n  -----BEGIN CERTIFICATE-----...",
                                            "e.g. baseline_log_ca_cert: |\n  -----BEGIN CERTIFICATE-----..."))])
    problems = []
    roles = role_options()
    for name, value in data.items():
        if not isinstance(name, str) or not NAME_RE.match(name):
            problems.append(src.problem((str(name),), tx(f"変数名 {clip(name)} は使えません",
                                                         f"{clip(name)} is not a variable name"),
                                        tx("英小文字・数字・_ で書いてください", "use lower-case letters, digits and _"),
                                        key=True))
        elif name in roles:
            spec = {**roles[name], "type": "str"} if roles[name].get("type") == "path" else roles[name]
            for message in check_role_value(value, spec, name):
                problems.append(src.problem((name,), tx(message, message),
                                            tx("roles/*/meta/argument_specs.yml の型と値に合わせてください",
                                               "match the type and choices in roles/*/meta/argument_specs.yml")))
        elif name not in CONNECTION:
            problems.append(src.problem((name,), tx(f"{name} はどのロールの変数でもありません",
                                                    f"{name} is not a variable of any role"),
                                        tx(f"綴りを確かめてください（接続用に使えるのは {', '.join(sorted(CONNECTION))}）",
                                           f"check the spelling (for the connection: {', '.join(sorted(CONNECTION))})"),
                                        key=True))
    if problems:
        raise ProblemsError(problems)
    return dict(data)
