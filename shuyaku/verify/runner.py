"""Run the testinfra suites in tests/infra over an Ansible inventory; JUnit XML plus an HTML summary."""

from __future__ import annotations

import re
import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from shuyaku.contracts.i18n import lang, t
from shuyaku.provision.inventory import ROOT, venv_env

SUITE_DIR = ROOT / "tests" / "infra"
TEMPLATES = Path(__file__).parent / "templates"
# Cases are named test_x[host] or test_x[host-param...]; known host names decide where the host ends.
PARAM_RE = re.compile(r"\[(?:ansible://)?(?P<id>[^\]]*)\]$")


@dataclass
class Case:
    name: str
    host: str
    module: str
    outcome: str  # passed | failed | error | skipped
    seconds: float
    message: str = ""
    param: str = ""  # what the brackets of the test id hold (e.g. a connection case's id)


@dataclass
class VerifyResult:
    rc: int
    junit: Path
    html: Path | None
    cases: list[Case] = field(default_factory=list)
    duration: float = 0.0
    output_tail: str = ""

    def count(self, outcome: str) -> int:
        return sum(1 for c in self.cases if c.outcome == outcome)

    @property
    def hosts(self) -> list[str]:
        return sorted({c.host for c in self.cases})


def host_of(name: str, known: list[str]) -> str:
    m = PARAM_RE.search(name)
    if not m:
        return "-"
    pid = m.group("id")
    for h in sorted(known, key=len, reverse=True):
        if pid == h or pid.startswith(h + "-"):
            return h
    return "-"


def parse_junit(path: Path, known: list[str] | None = None) -> list[Case]:
    cases: list[Case] = []
    root = ET.parse(path).getroot()
    for tc in root.iter("testcase"):
        name = tc.get("name", "")
        host = host_of(name, known or [])
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = tc.find(tag)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (node.get("message") or node.text or "").strip()
                break
        m = PARAM_RE.search(name)
        cases.append(Case(name=name.split("[")[0], host=host, module=tc.get("classname", ""), outcome=outcome,
                          seconds=float(tc.get("time", "0") or 0), message=message[:2000],
                          param=m.group("id") if m else ""))
    return cases


def render_html(result: VerifyResult, inventory: Path, out: Path) -> None:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    by_host: dict[str, list[Case]] = {}
    for c in result.cases:
        by_host.setdefault(c.host, []).append(c)
    html = env.get_template("summary.html.j2").render(
        lang=lang(), t=t, result=result, by_host=by_host, inventory=inventory,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")


def run_verify(inventory: Path, *, hosts: list[str], group: str = "all", junit: Path, html: Path | None = None,
               workers: str = "auto", suites: list[Path] | None = None, extra: list[str] | None = None,
               stream: bool = True, env: dict[str, str] | None = None) -> VerifyResult:
    """pytest + testinfra + xdist over the inventory's hosts; returns parsed results (`env`: added variables,
    e.g. a suite's input file)."""
    junit.parent.mkdir(parents=True, exist_ok=True)
    targets = [str(p) for p in (suites or [SUITE_DIR])]
    cmd = [str(ROOT / ".venv" / "bin" / "python"), "-m", "pytest", *targets,
           f"--hosts=ansible://{group}", f"--ansible-inventory={inventory}",
           f"--junitxml={junit}", "-o", "junit_family=xunit2", "-p", "no:cacheprovider", "-q", "-rfE",
           "--color=no"]
    if workers and workers != "0":
        cmd += ["-n", workers]
    cmd += extra or []
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env={**venv_env(), **(env or {})}, text=True,
                          stdout=None if stream else subprocess.PIPE, stderr=subprocess.STDOUT)
    duration = time.monotonic() - start
    cases = parse_junit(junit, hosts) if junit.exists() else []
    result = VerifyResult(rc=proc.returncode, junit=junit, html=html, cases=cases, duration=duration,
                          output_tail="\n".join((proc.stdout or "").splitlines()[-30:]))
    if html is not None:
        render_html(result, inventory, html)
    return result
