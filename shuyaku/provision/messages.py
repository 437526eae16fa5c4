"""What the operator reads when a run fails: host, task and Ansible's own message, in Japanese or English."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shuyaku.contracts.i18n import t

ARG_SPEC_TASK = re.compile(r"Validating arguments against arg spec '(?P<entry>[^']+)'")
MISSING_REQ = re.compile(r"missing required arguments?: (?P<names>[A-Za-z0-9_, ]+?)(?: found in (?P<role>[\w.]+))?(?=$|\s*\||\n)",
                         re.M)


@dataclass
class Failure:
    host: str
    task: str
    msg: str
    role: str = ""
    unreachable: bool = False
    address: str = ""


# ssh's own words (and mitogen's) when the key a host shows is not the one recorded for it, or none is recorded.
HOST_KEY_REFUSED = re.compile(r"host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|"
                              r"mismatching host key|No \S+ host key is known", re.I)


def is_input_error(f: Failure) -> bool:
    """A role's argument_specs rejected the variables: the user's input is wrong, not the host."""
    return not f.unreachable and bool(ARG_SPEC_TASK.search(f.task) or MISSING_REQ.search(f.msg or ""))


def clean(msg: str, limit: int = 600) -> str:
    msg = " ".join(str(msg).split())
    msg = msg.removeprefix("Task failed: ").removeprefix("Module failed: ")
    return msg if len(msg) <= limit else msg[: limit - 1] + "…"


def format_failure(f: Failure) -> str:
    """One paragraph per failure, naming host, task and cause, with the fix where we know it."""
    where = f"{f.host} ({f.address})" if f.address and f.address != f.host else f.host
    if f.unreachable and HOST_KEY_REFUSED.search(f.msg or ""):
        return t(
            f"ホスト {where} の SSH ホスト鍵が記録（known_hosts）と一致しないか、記録がないため接続を拒否しました。"
            "中間者攻撃の可能性があります。\n"
            "  → ホストを作り直した場合は、作成時に記録した鍵で known_hosts を更新してください（scripts/test-hosts up、"
            "またはスタック出力の shuyaku_ssh_host_keys）。鍵の変更に心当たりがなければ接続しないでください。",
            f"host {where} was refused: its SSH host key does not match the one recorded in known_hosts, or none "
            "is recorded. This may be a man-in-the-middle.\n"
            "  → if the host was rebuilt, update known_hosts from the keys recorded when it was made "
            "(scripts/test-hosts up, or the stack output's shuyaku_ssh_host_keys); if you do not know why the key "
            "changed, do not connect.",
        )
    if f.unreachable:
        return t(
            f"ホスト {where} に接続できません（タスク「{f.task}」）: {clean(f.msg)}\n"
            "  → 起動しているか、インベントリの ansible_host、SSH 鍵、管理ネットワークからの経路を確認してください。",
            f"host {where} is unreachable (task \"{f.task}\"): {clean(f.msg)}\n"
            "  → check that it is running, its ansible_host in the inventory, the SSH key and the route from the "
            "management network.",
        )
    m = MISSING_REQ.search(f.msg or "")
    if ARG_SPEC_TASK.search(f.task) or m:
        role = f.role or (m.group("role") if m and m.group("role") else "")
        names = m.group("names").strip() if m else ""
        spec = f"roles/{role}/meta/argument_specs.yml" if role else "meta/argument_specs.yml"
        if names:
            return t(
                f"ホスト {where}: ロール {role} の必須変数がありません: {names}\n"
                f"  → インベントリか group_vars で設定してください（説明は {spec}）。",
                f"host {where}: role {role} is missing required variable(s): {names}\n"
                f"  → set them in the inventory or group_vars (documented in {spec}).",
            )
        return t(
            f"ホスト {where}: ロール {role} の変数が不正です: {clean(f.msg)}\n  → {spec} を参照してください。",
            f"host {where}: invalid variable(s) for role {role}: {clean(f.msg)}\n  → see {spec}.",
        )
    return t(
        f"ホスト {where} でタスク「{f.task}」が失敗しました: {clean(f.msg)}",
        f"task \"{f.task}\" failed on host {where}: {clean(f.msg)}",
    )


def result_message(res: dict) -> str:
    """The most useful text out of a module result."""
    if not isinstance(res, dict):
        return str(res)
    parts = [str(res.get("msg") or "")]
    if res.get("argument_errors"):
        parts.append("; ".join(map(str, res["argument_errors"])))
    for key in ("stderr", "module_stderr"):
        if res.get(key) and str(res[key]).strip() not in parts[0]:
            parts.append(str(res[key]).strip().splitlines()[-1])
    if res.get("results") and not parts[0]:
        for item in res["results"]:
            if isinstance(item, dict) and item.get("failed"):
                parts.append(str(item.get("msg", "")))
                break
    return " | ".join(p for p in parts if p)
