"""Findings as text for people, JSON for scripts, SARIF 2.1.0 for code-scanning views.

The SARIF structure follows `shuyaku.policy.report` (one run, the rules in the driver, a result per finding with
a logical location); it is a copy of that small shape, not an import, because the policy package sits on the
same floor as this one.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shuyaku.audit.model import Check, Finding

TOOL = "shuyaku-audit-live"
VERSION = "0.1.0"
INFO_URI = "https://github.com/shuyaku/shuyaku/blob/main/docs/audit-live.md"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_SCORE = {"error": "8.0", "warning": "5.5", "info": "2.0"}


def summary(findings: Sequence[Finding], lang: str) -> str:
    if not findings:
        return "問題はありません。" if lang == "ja" else "No findings."
    c = Counter(f.level for f in findings)
    if lang == "ja":
        return f"{len(findings)} 件（エラー {c['error']}、警告 {c['warning']}、情報 {c['info']}）"
    return f"{len(findings)} finding(s) ({c['error']} error, {c['warning']} warning, {c['info']} info)"


def as_text(findings: Sequence[Finding], lang: str, source: str, seconds: float | None = None) -> str:
    label = {"ja": ("対象", "内容", "対処", "テナント"), "en": ("resource", "problem", "fix", "tenant")}[lang]
    lines: list[str] = []
    for f in findings:
        lines.append(f"[{f.level}] {f.check.id}: {f.check.title.pick(lang)}")
        lines.append(f"  {label[0]}: {f.resource()}" + (f"  ({label[3]} {f.system_id})" if f.system_id else ""))
        lines.append(f"  {label[1]}: {f.message.pick(lang)}")
        lines.append(f"  {label[2]}: {f.remedy.pick(lang)}")
        lines.append("")
    took = "" if seconds is None else (f"（{seconds:.1f} 秒）" if lang == "ja" else f" ({seconds:.1f} s)")
    lines.append(f"{source}: {summary(findings, lang)}{took}")
    return "\n".join(lines) + "\n"


def _finding_dict(f: Finding, lang: str) -> dict[str, Any]:
    return {
        "check": f.check.id,
        "severity": f.level,
        "title": f.check.title.pick(lang),
        "kind": f.kind,
        "resource_id": f.resource_id,
        "resource_name": f.resource_name,
        "project_id": f.project_id,
        "system_id": f.system_id,
        "message": f.message.pick(lang),
        "message_ja": f.message.ja,
        "message_en": f.message.en,
        "fix": f.remedy.pick(lang),
        "details": f.details,
    }


def as_json(findings: Sequence[Finding], lang: str, source: str, seconds: float | None = None) -> str:
    c = Counter(f.level for f in findings)
    doc = {"source": source, "seconds": None if seconds is None else round(seconds, 2),
           "summary": {"findings": len(findings), "error": c["error"], "warning": c["warning"], "info": c["info"]},
           "findings": [_finding_dict(f, lang) for f in findings]}
    return json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n"


def _sarif_rule(c: Check, lang: str) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": "".join(p.capitalize() for p in c.id.replace(".", "_").split("_")),
        "shortDescription": {"text": c.title.pick(lang)},
        "fullDescription": {"text": c.why.pick(lang)},
        "help": {"text": c.fix.pick(lang), "markdown": f"**{c.title.pick(lang)}**\n\n{c.fix.pick(lang)}"},
        "helpUri": f"{INFO_URI}#{c.id.replace('.', '')}",
        "defaultConfiguration": {"level": _SARIF_LEVEL[c.severity]},
        "properties": {"tags": ["security", "live"], "precision": "high", "security-severity": _SCORE[c.severity]},
    }


def as_sarif(findings: Sequence[Finding], lang: str, source: str, checks: Sequence[Check],
             seconds: float | None = None, *, root: Path | None = None) -> str:
    """SARIF 2.1.0; the file is the stack config judged against, relative to the repository root (`root`, else
    CI_PROJECT_DIR, GITHUB_WORKSPACE or the git checkout around the working directory)."""
    index = {c.id: i for i, c in enumerate(checks)}
    artifact = _artifact(Path(source), (root or _checkout()).resolve())
    results = []
    for f in findings:
        where = f"{f.kind}/{f.resource_id}"
        results.append({
            "ruleId": f.check.id,
            "ruleIndex": index[f.check.id],
            "level": _SARIF_LEVEL[f.level],
            "message": {"text": f"{f.message.pick(lang)} ({f.resource()})"},
            "locations": [{
                # Code-scanning views want a file: the stack config the audit judged against; the resource is the place.
                "physicalLocation": {"artifactLocation": artifact, "region": {"startLine": 1}},
                "logicalLocations": [{"fullyQualifiedName": where, "name": f.resource_name or f.resource_id,
                                      "kind": "resource"}],
            }],
            "partialFingerprints": {"liveResource/v1": f"{f.check.id}:{where}"},
            "properties": {"project_id": f.project_id, "system_id": f.system_id},
        })
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": TOOL, "version": VERSION, "informationUri": INFO_URI,
                                "rules": [_sarif_rule(c, lang) for c in checks]}},
            "artifacts": [{"location": artifact}],
            "results": results,
            "properties": {"seconds": None if seconds is None else round(seconds, 2)},
        }],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _checkout() -> Path:
    env = [os.environ.get(v, "") for v in ("CI_PROJECT_DIR", "GITHUB_WORKSPACE")]
    here = Path.cwd().resolve()
    walk = (d for d in (here, *here.parents) if (d / ".git").exists())
    return Path(next((e for e in env if e and Path(e).is_dir()), None) or next(walk, here))


def _artifact(path: Path, root: Path) -> dict[str, str]:
    """Relative to the checkout (%SRCROOT%) as code scanning expects; an absolute file URI when outside it."""
    full = (path if path.is_absolute() else Path.cwd() / path).resolve()
    if full.is_relative_to(root):
        return {"uri": full.relative_to(root).as_posix(), "uriBaseId": "%SRCROOT%"}
    return {"uri": full.as_uri()}
