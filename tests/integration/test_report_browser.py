"""The reports as a user sees them: headless Chromium renders the sample city's assessment and plan reports.

Chromium comes from Debian (scripts/browser-deps). For each report the test keeps a screenshot and an A4
PDF under build/artefacts/, and reads the rendered page back: the text a reader sees (innerText, so
hidden text does not count) must carry the key figures, and every SVG chart must have a laid-out size.
The probe script is added to a copy of the page only; the reports themselves carry no script.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shuyaku.assess import Assessment
from shuyaku.contracts.plan import Plan
from shuyaku.inventory.load import load
from shuyaku.report import fmt, plan_report

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample-city" / "inventory.yaml"
ARTEFACTS = ROOT / "build" / "artefacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
PROBE = """<script>
(function () {
  var out = [];
  document.querySelectorAll('svg.chart').forEach(function (s) {
    var r = s.getBoundingClientRect();
    out.push(s.id + '=' + r.width.toFixed(1) + 'x' + r.height.toFixed(1));
  });
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.setAttribute('data-svg', out.join(' '));
  pre.setAttribute('data-width', String(document.documentElement.scrollWidth));
  pre.textContent = document.body.innerText;
  document.body.appendChild(pre);
})();
</script>"""


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed: run scripts/browser-deps (the test command does this)")
    return path


def browse(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A fresh profile per run: nothing cached between runs, nothing written outside tmp.
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=180, check=True)


def rendered(html: Path, tmp: Path) -> tuple[str, dict[str, tuple[float, float]], int]:
    """(visible text, laid-out size of each chart, page width) of the page as Chromium renders it."""
    probe = tmp / f"probe-{html.parent.name}-{html.name}"
    probe.write_text(html.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = browse(tmp, "--window-size=1000,1400", "--dump-dom", probe.as_uri()).stdout
    m = re.search(r'<pre id="probe" data-svg="([^"]*)" data-width="(\d+)">(.*?)</pre>', dom, re.S)
    assert m, "the probe did not run: " + dom[-500:]
    sizes = {}
    for item in m.group(1).split():
        cid, size = item.split("=")
        w, h = size.split("x")
        sizes[cid] = (float(w), float(h))
    import html as html_lib

    return html_lib.unescape(m.group(3)), sizes, int(m.group(2))


def keep_pictures(html: Path, name: str, tmp: Path) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    png = ARTEFACTS / f"{name}.png"
    pdf = ARTEFACTS / f"{name}.pdf"
    browse(tmp, "--window-size=1000,2400", f"--screenshot={png}", html.as_uri())
    browse(tmp, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.as_uri())
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 50_000
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-"
    # A4 is 595 x 842 points; every page of the print must be A4.
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert boxes and all(abs(float(w) - 595.9) < 2 and abs(float(h) - 842.9) < 2 for w, h in boxes), boxes[:3]


def check_charts(sizes: dict[str, tuple[float, float]], expected: set[str], width: int) -> None:
    assert expected <= set(sizes), f"charts missing: {expected - set(sizes)}"
    for cid, (w, h) in sizes.items():
        assert w > 100 and h > 50, f"{cid} rendered at {w}x{h}"
    assert width <= 1000, f"the page is wider than the window ({width}px): something overflows"


@pytest.fixture(scope="module")
def assessment_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("assess")
    for lang in ("ja", "en"):
        r = subprocess.run([sys.executable, "-m", "shuyaku.cli", "assess", str(SAMPLE), "--out", str(out / lang),
                            "--lang", lang], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_assessment_report_in_chromium(assessment_dir: Path, tmp_path: Path, lang: str) -> None:
    html = assessment_dir / lang / "assessment.html"
    a = Assessment.model_validate_json((assessment_dir / lang / "assessment.json").read_text(encoding="utf-8"))
    text, sizes, width = rendered(html, tmp_path)
    s = a.summary
    assert ("現状評価レポート" if lang == "ja" else "Current-state assessment") in text
    assert fmt.yen_short(a.cost.total.total, lang) in text
    assert fmt.num(a.cost.total.total) in text  # the exact total in the cost table
    assert f"{s.systems_ready} / {s.systems}" in text
    assert fmt.pct(s.mean_readiness_pct) in text
    for lk in (x for x in a.links if x.path == "forbidden"):
        assert lk.source_name in text and lk.target_name in text
    eol = next(g for g in a.servers if g.os_status == "eol")
    assert eol.os_end_of_support is not None and eol.os_end_of_support.isoformat() in text
    check_charts(sizes, {"chart-os", "chart-hw", "chart-links", "chart-ready", "chart-cost-layer", "chart-cost-dept"}, width)
    keep_pictures(html, f"assessment-{lang}", tmp_path)


def _plan(tmp: Path) -> tuple[Plan, str]:
    """The planner's plan.json once `shuyaku plan` exists; until then the hand-built fixture plan."""
    if importlib.util.find_spec("shuyaku.cli.plan") is not None:
        out = tmp / "plan-cli"
        r = subprocess.run([sys.executable, "-m", "shuyaku.cli", "plan", str(SAMPLE), "--out", str(out)],
                           capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert r.returncode == 0, r.stderr
        return Plan.model_validate_json((out / "plan.json").read_text(encoding="utf-8")), "shuyaku plan"
    spec = importlib.util.spec_from_file_location("report_fixture", ROOT / "tests" / "unit" / "test_report_fixture.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    loaded = load(SAMPLE)
    return mod.fixture_plan(loaded.inventory, loaded.catalogue), "fixture"


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_plan_report_in_chromium(tmp_path: Path, lang: str) -> None:
    plan, origin = _plan(tmp_path)
    inv = load(SAMPLE).inventory
    html = plan_report.render(plan, inv, tmp_path / lang, lang)
    (ARTEFACTS / "plan-origin.json").parent.mkdir(parents=True, exist_ok=True)
    (ARTEFACTS / "plan-origin.json").write_text(json.dumps({"plan": origin}), encoding="utf-8")
    text, sizes, width = rendered(html, tmp_path)
    c = plan.cost
    assert ("集約計画レポート" if lang == "ja" else "Consolidation plan") in text
    assert fmt.pct(c.ratio_pct) in text
    assert fmt.num(sum(z.total_hosts for z in plan.zones)) in text  # the VDI pools included
    assert fmt.yen(c.thin_client.difference_yen, lang) in text
    assert ("町田市" if lang == "ja" else "Machida") in text
    for y in c.by_year:
        assert fmt.num(y.cumulative_consolidated_yen) in text
    for lk in (x for x in plan.links if x.path == "forbidden"):
        assert lk.source in text and lk.target in text
    check_charts(sizes, {"chart-hosts", "chart-vph", "chart-util", "chart-ratio", "chart-years", "chart-cumulative",
                         "chart-thin", "chart-waves"}, width)
    keep_pictures(html, f"report-{lang}", tmp_path)
