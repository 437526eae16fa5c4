"""CI: what a `pulumi preview --json` would change, in a few lines for the job log.

Usage: python ci/preview_summary.py preview.json   (exit 0; 1 when the file is not a preview)
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path


def say(ja: str, en: str) -> str:
    return en if os.environ.get("SHUYAKU_LANG", "ja") == "en" else ja


def main(path: str) -> int:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(say(f"プレビューを読めません: {e}", f"cannot read the preview: {e}"), file=sys.stderr)
        return 1
    for d in doc.get("diagnostics") or []:
        print(f"[{d.get('severity', '?')}] {d.get('urn', '')} {str(d.get('message', '')).strip()}")
    summary = doc.get("changeSummary") or {}
    steps = Counter(s.get("op", "?") for s in doc.get("steps") or [])
    print(say("変更の概要: ", "change summary: ")
          + (", ".join(f"{op} {n}" for op, n in sorted(summary.items())) or say("なし", "none")))
    for s in doc.get("steps") or []:
        if s.get("op") in ("delete", "replace", "delete-replaced", "create-replacement"):
            print(f"  {s['op']}: {s.get('urn')}")
    return 0 if steps else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
