"""How findings are shown: text for people, JSON for scripts, SARIF 2.1.0 for code-scanning views."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from shuyaku.policy.audit import Finding
from shuyaku.policy.model import Msg, Rule
from shuyaku.policy.registry import all_rules

TOOL = "shuyaku-policy"
VERSION = "0.1.0"
INFO_URI = "https://github.com/shuyaku/shuyaku/blob/main/docs/policies.md"
_SEVERITY_SCORE = {"low": "3.0", "medium": "5.5", "high": "8.0", "critical": "9.5"}


def _l(m: Msg, lang: str) -> str:
    return m.lang(lang)


def summary(findings: Sequence[Finding], lang: str) -> str:
    n = len(findings)
    mand = sum(1 for f in findings if f.level == "mandatory")
    if not n:
        return "違反はありません。" if lang == "ja" else "No violations."
    if lang == "ja":
        return f"違反 {n} 件（必須 {mand} 件、推奨 {n - mand} 件）"
    return f"{n} violation{'s' if n != 1 else ''} ({mand} mandatory, {n - mand} advisory)"


def as_text(findings: Sequence[Finding], lang: str, source: str) -> str:
    lines = []
    label = {"ja": ("対象", "内容", "対処", "スタック全体"), "en": ("resource", "problem", "fix", "the stack")}[lang]
    for f in findings:
        r = f.rule
        lines.append(f"[{f.level}/{r.severity}] {r.id}: {_l(r.title, lang)}")
        lines.append(f"  {label[0]}: {f.urn or label[3]}")
        lines.append(f"  {label[1]}: {_l(f.violation.message, lang)}")
        lines.append(f"  {label[2]}: {_l(r.remediation, lang)}")
        lines.append("")
    lines.append(f"{source}: {summary(findings, lang)}")
    return "\n".join(lines) + "\n"


def as_json(findings: Sequence[Finding], lang: str, source: str) -> str:
    doc = {
        "source": source,
        "summary": {"violations": len(findings),
                    "mandatory": sum(1 for f in findings if f.level == "mandatory"),
                    "advisory": sum(1 for f in findings if f.level == "advisory")},
        "violations": [{
            "rule": f.rule.id,
            "title": _l(f.rule.title, lang),
            "severity": f.rule.severity,
            "level": f.level,
            "urn": f.urn,
            "message": _l(f.violation.message, lang),
            "remediation": _l(f.rule.remediation, lang),
            "sources": list(f.rule.sources),
        } for f in findings],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _sarif_rule(r: Rule, lang: str) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": "".join(p.capitalize() for p in r.id.split("-")),
        "shortDescription": {"text": _l(r.title, lang)},
        "fullDescription": {"text": _l(r.description, lang)},
        "help": {"text": _l(r.remediation, lang), "markdown": f"**{_l(r.title, lang)}**\n\n{_l(r.remediation, lang)}"},
        "helpUri": f"{INFO_URI}#{r.id}",
        "defaultConfiguration": {"level": "error" if r.enforcement == "mandatory" else "warning"},
        "properties": {"tags": ["security", *r.tags, *r.sources], "precision": "high",
                       "problem.severity": "error" if r.severity in ("high", "critical") else "warning",
                       "security-severity": _SEVERITY_SCORE[r.severity]},
    }


def as_sarif(findings: Sequence[Finding], lang: str, source: str) -> str:
    rules = list(all_rules())
    index = {r.id: i for i, r in enumerate(rules)}
    results = []
    for f in findings:
        loc: dict[str, Any] = {
            # Code-scanning views want a file; the URN is the precise place.
            "physicalLocation": {"artifactLocation": {"uri": source}, "region": {"startLine": 1}},
            "logicalLocations": [{"fullyQualifiedName": f.urn or "stack", "kind": "resource"}],
        }
        results.append({
            "ruleId": f.rule.id,
            "ruleIndex": index[f.rule.id],
            "level": "error" if f.level == "mandatory" else "warning",
            "message": {"text": f"{_l(f.violation.message, lang)} ({f.urn or 'stack'})"},
            "locations": [loc],
            "partialFingerprints": {"resourceUrn/v1": f"{f.rule.id}:{f.urn or 'stack'}"},
        })
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": TOOL, "version": VERSION, "informationUri": INFO_URI,
                                "rules": [_sarif_rule(r, lang) for r in rules]}},
            "artifacts": [{"location": {"uri": source}}],
            "results": results,
        }],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
