"""CI: is the plan data a stack deploys from the plan of the inventory as it is now?

Usage: python ci/plan_current.py stacks/Pulumi.<stack>.yaml DIR
Compares the site data file named by the stack config (`shuyaku:siteData`) with the file of the same name that
`shuyaku plan` has just written into DIR. Exit 0 current, 1 stale (re-plan and commit), 2 unreadable input.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import yaml


def say(ja: str, en: str) -> str:
    return en if os.environ.get("SHUYAKU_LANG", "ja") == "en" else ja


def main(argv: list[str]) -> int:
    stack_file, fresh_dir = Path(argv[0]), Path(argv[1])
    try:
        config = (yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}).get("config") or {}
        committed = stack_file.parent.parent / str(config["shuyaku:siteData"])
        fresh = fresh_dir / committed.name
        same = json.loads(committed.read_text(encoding="utf-8")) == json.loads(fresh.read_text(encoding="utf-8"))
    except (OSError, KeyError, ValueError, yaml.YAMLError) as e:
        print(say(f"計画データを比較できません: {e}", f"cannot compare the plan data: {e}"), file=sys.stderr)
        return 2
    if same:
        print(say(f"計画データは最新です: {committed.name}", f"the plan data is current: {committed.name}"))
        return 0
    print(say(f"{committed} は台帳の現在の計画と一致しません。`shuyaku plan` を再実行し、{fresh.name} をコミットしてください",
              f"{committed} is not the current plan of the inventory: re-run `shuyaku plan` and commit {fresh.name}"),
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
