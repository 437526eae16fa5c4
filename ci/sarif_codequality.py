"""CI: SARIF 2.1.0 -> GitLab's code quality report (the merge request widget and the pipeline's tab).

Usage: python ci/sarif_codequality.py shuyaku-policy.sarif gl-code-quality-report.json
Each SARIF result becomes one issue with its rule, message, repository-relative path and line, a severity from
the result's level and the rule's security-severity, and a stable fingerprint (rule + resource), so GitLab can
say which findings a change added or fixed. An unreadable SARIF file writes an empty report and exits 2.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any


def severity(level: str, score: str | None) -> str:
    """GitLab's scale: info, minor, major, critical, blocker."""
    if level == "error":
        return "blocker" if score and float(score) >= 9.0 else "critical" if score and float(score) >= 7.0 else "major"
    return "minor" if level == "warning" else "info"


def issues(sarif: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for run in sarif.get("runs") or []:
        rules = (run.get("tool") or {}).get("driver", {}).get("rules") or []
        for r in run.get("results") or []:
            rule = rules[r["ruleIndex"]] if isinstance(r.get("ruleIndex"), int) and r["ruleIndex"] < len(rules) else {}
            loc = (r.get("locations") or [{}])[0]
            phys = loc.get("physicalLocation") or {}
            logical = (loc.get("logicalLocations") or [{}])[0].get("fullyQualifiedName", "")
            key = next(iter((r.get("partialFingerprints") or {}).values()), f"{r.get('ruleId')}:{logical}")
            out.append({
                "type": "issue",
                "check_name": r.get("ruleId", "?"),
                "description": r.get("message", {}).get("text", ""),
                "categories": ["Security"],
                "severity": severity(r.get("level", "warning"), (rule.get("properties") or {}).get("security-severity")),
                "fingerprint": hashlib.sha256(key.encode()).hexdigest()[:32],
                "location": {"path": phys.get("artifactLocation", {}).get("uri", ""),
                             "lines": {"begin": int(phys.get("region", {}).get("startLine", 1))}},
            })
    return out


def main(argv: list[str]) -> int:
    src, dest = Path(argv[0]), Path(argv[1])
    try:
        found = issues(json.loads(src.read_text(encoding="utf-8")))
        status = 0
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"sarif_codequality: SARIF を読めません / cannot read the SARIF file {src}: {e}", file=sys.stderr)
        found, status = [], 2
    dest.write_text(json.dumps(found, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
