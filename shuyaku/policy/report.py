"""How findings are shown: text for people, JSON for scripts, SARIF 2.1.0 for code-scanning views."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

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


def as_sarif(findings: Sequence[Finding], lang: str, source: str, *, root: Path | None = None,
             project_dir: Path | None = None) -> str:
    """SARIF 2.1.0 with repository-relative locations: the program's line where the engine recorded one.

    `source` is the audited file (a `pulumi stack export` or `pulumi preview --json`); its resources'
    `sourcePosition` (`project:///stacks/x.py#12,5`) place each finding at the line that declared the resource,
    resolved against `project_dir` (the Pulumi project; else the repository root or a project folder in it).
    A finding without a usable position (stack-wide, outside the repository, in installed packages) points at
    the audited file. `root` is the repository root (else CI_PROJECT_DIR, GITHUB_WORKSPACE or the enclosing
    git checkout of the working directory).
    """
    rules = list(all_rules())
    index = {r.id: i for i, r in enumerate(rules)}
    base = (root or repo_root()).resolve()
    fallback = _artifact(source, base)
    where = _positions(source, base, project_dir, {f.urn for f in findings if f.urn})
    results, uris = [], [fallback["uri"]]
    for f in findings:
        physical = where.get(f.urn or "") or {"artifactLocation": fallback, "region": {"startLine": 1}}
        if physical["artifactLocation"]["uri"] not in uris:
            uris.append(physical["artifactLocation"]["uri"])
        results.append({
            "ruleId": f.rule.id,
            "ruleIndex": index[f.rule.id],
            "level": "error" if f.level == "mandatory" else "warning",
            "message": {"text": f"{_l(f.violation.message, lang)} ({f.urn or 'stack'})"},
            "locations": [{"physicalLocation": physical,
                           "logicalLocations": [{"fullyQualifiedName": f.urn or "stack", "kind": "resource"}]}],
            "partialFingerprints": {"resourceUrn/v1": f"{f.rule.id}:{f.urn or 'stack'}"},
        })
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": TOOL, "version": VERSION, "informationUri": INFO_URI,
                                "rules": [_sarif_rule(r, lang) for r in rules]}},
            "artifacts": [{"location": _uri(u)} for u in uris],
            "results": results,
        }],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def repo_root() -> Path:
    """The repository being checked: the CI's checkout, else the git work tree around the working directory."""
    for var in ("CI_PROJECT_DIR", "GITHUB_WORKSPACE"):
        if os.environ.get(var) and Path(os.environ[var]).is_dir():
            return Path(os.environ[var])
    here = Path.cwd().resolve()
    return next((d for d in (here, *here.parents) if (d / ".git").exists()), here)


def _uri(uri: str) -> dict[str, str]:
    """An artifact location: relative URIs are relative to the checkout (%SRCROOT%), as code scanning expects."""
    return {"uri": uri} if ":" in uri else {"uri": uri, "uriBaseId": "%SRCROOT%"}


def _artifact(path: str, root: Path) -> dict[str, str]:
    if path == "stdin":
        return {"uri": "stdin"}
    p = Path(path)
    full = (p if p.is_absolute() else Path.cwd() / p).resolve()
    try:
        return _uri(full.relative_to(root).as_posix())
    except ValueError:
        return {"uri": full.as_uri()}  # outside the repository: an absolute URI, never a path made up


def _positions(source: str, root: Path, project_dir: Path | None, urns: set[str]) -> dict[str, dict[str, Any]]:
    """URN -> SARIF physicalLocation for each of `urns` whose sourcePosition is a file in the repository."""
    if not urns:
        return {}
    try:
        doc = json.loads(Path(source).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    projects = [project_dir.resolve()] if project_dir else [root, *_project_dirs(root)]
    out: dict[str, dict[str, Any]] = {}
    for state in _states(doc):
        pos, urn = state.get("sourcePosition"), state.get("urn")
        if isinstance(pos, str) and isinstance(urn, str) and urn in urns and (loc := _place(pos, root, projects)):
            out[urn] = loc
    return out


def _states(doc: Any) -> list[dict[str, Any]]:
    """Resource states in a preview (steps[].newState/oldState) or an export (deployment or checkpoint)."""
    if not isinstance(doc, dict):
        return []
    if isinstance(doc.get("steps"), list):
        return [st for s in doc["steps"] if isinstance(s, dict)
                for st in (s.get("oldState"), s.get("newState")) if isinstance(st, dict)]
    dep = doc.get("deployment", doc)
    dep = (dep.get("checkpoint") or {}).get("latest", dep) if isinstance(dep, dict) else {}
    res = dep.get("resources") if isinstance(dep, dict) else None
    return [r for r in res if isinstance(r, dict)] if isinstance(res, list) else []


def _project_dirs(root: Path) -> list[Path]:
    """Pulumi projects below the repository root (a vendor project in a folder), nearest first."""
    found = [p.parent for depth in ("*/", "*/*/", "*/*/*/") for p in sorted(root.glob(depth + "Pulumi.yaml"))]
    return [d for d in found if not {".venv", "node_modules", ".git"} & set(d.relative_to(root).parts)]


def _place(position: str, root: Path, projects: list[Path]) -> dict[str, Any] | None:
    """`project:///a/b.py#12,5` or `file:///abs/b.py#12` -> a physicalLocation in the repository, or None."""
    ref, _, at = position.partition("#")
    nums = [int(n) for n in at.split(",") if n.isdigit()]
    if not nums or nums[0] < 1:
        return None
    if ref.startswith("project:///"):
        candidates = [d / unquote(ref[len("project:///"):]) for d in projects]
    elif ref.startswith("file://"):
        candidates = [Path(unquote(urlsplit(ref).path))]
    else:
        return None
    for c in candidates:
        c = c.resolve()
        if not c.is_file():
            continue
        try:
            rel = c.relative_to(root)
        except ValueError:
            continue
        if {".venv", "site-packages", "node_modules"} & set(rel.parts):
            continue  # the SDK's own frames are not the user's program
        region = {"startLine": nums[0], **({"startColumn": nums[1]} if len(nums) > 1 and nums[1] > 0 else {})}
        return {"artifactLocation": _uri(rel.as_posix()), "region": region}
    return None
