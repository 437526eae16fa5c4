"""The plan report as a department head gets it: `shuyaku plan --pdf` printed by headless Chromium, read back.

For the sample city and the small town, in Japanese and in English: the summary is the whole first A4 page and
nothing of it spills onto the second; the Japanese text extracts from the PDF as written (a missing CJK font prints
boxes, which extract as nothing or as U+FFFD), terms are not broken across lines, the fonts are embedded, and the
footer carries the inventory's SHA-256. A screenshot of each summary (the summary alone, cut at its last line) is
kept under build/artefacts/; docs/report-summary.png and docs/report-summary-en.png are the sample city's. The
current-state report's summary is checked the same way.

Needs chromium, a CJK font and poppler-utils (scripts/browser-deps installs them). Runs no cloud.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shuyaku.contracts.plan import Plan
from shuyaku.report import fmt
from shuyaku.report.messages import Messages

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CITIES = {"sample": ROOT / "examples/sample-city/inventory.yaml", "small": ROOT / "examples/small-town/inventory.yaml"}
ARTEFACTS = ROOT / "build" / "artefacts"
TERMS = ["マイナンバー利用事務系", "LGWAN接続系", "インターネット接続系"]


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/browser-deps (the test command does this)")
    return path


def pdftext(pdf: Path, first: int, last: int | None = None) -> str:
    args = [tool("pdftotext"), "-f", str(first), *(["-l", str(last)] if last else []), "-enc", "UTF-8", str(pdf), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout


@pytest.fixture(scope="module", params=[(c, lang) for lang in ("ja", "en") for c in CITIES], ids=lambda p: "-".join(p))
def printed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path, Plan]:
    city, lang = request.param
    out = tmp_path_factory.mktemp(f"{city}-{lang}")
    r = subprocess.run([sys.executable, "-m", "shuyaku.cli", "plan", str(CITIES[city]), "--out", str(out), "--pdf",
                        "--lang", lang], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (out / "report.pdf").is_file()
    return city, lang, out, Plan.model_validate_json((out / "plan.json").read_text(encoding="utf-8"))


def test_the_summary_is_the_whole_first_page(printed: tuple[str, str, Path, Plan]) -> None:
    _city, lang, out, plan = printed
    m = Messages(lang)
    page1 = pdftext(out / "report.pdf", 1, 1).replace("\n", " " if lang == "en" else "")
    page2 = pdftext(out / "report.pdf", 2, 2)
    c = plan.cost
    assert m.s_title in page1
    assert fmt.pct(c.ratio_pct) in page1
    assert fmt.yen_short(abs(c.gap_to_goal_yen), lang) in page1
    for s in c.sensitivity:
        assert fmt.pct(s.ratio_pct) in page1
    assert m.s_items in page1 and m.s_machida in page1  # its last line
    assert m.s_items not in page2 and m.s_risks not in page2
    assert page2.lstrip().startswith(m.p_cost)


def test_japanese_text_extracts_as_written_with_embedded_fonts(printed: tuple[str, str, Path, Plan]) -> None:
    city, lang, out, plan = printed
    text = pdftext(out / "report.pdf", 1)
    assert "\ufffd" not in text
    one_line = [line for line in text.splitlines() if line.strip()]
    if lang == "ja":
        assert plan.municipality in text
        for term in TERMS:
            # Each term appears somewhere whole; a term broken over a line would only appear in pieces.
            assert any(term in line for line in one_line), term
    else:
        # English labels; system names stay as the inventory writes them when it gives no name_en
        assert "My Number" in text and "One-page summary" in text and "1ページ要約" not in text
    fonts = subprocess.run([tool("pdffonts"), str(out / "report.pdf")], capture_output=True, text=True, check=True,
                           timeout=60).stdout.splitlines()[2:]
    # every font is embedded (the "emb" column): nothing left to the viewer to substitute
    assert fonts and all(f.split()[-5] == "yes" for f in fonts), fonts
    digest = hashlib.sha256(CITIES[city].read_bytes()).hexdigest()
    assert digest in text.replace("\n", "")


def summary_screenshot(html: Path, png: Path, tmp: Path) -> Path:
    """The summary alone, as a reader's browser shows it 1000 px wide: Chromium measures where the summary ends
    (on a copy of the page with a probe), then screenshots exactly that height."""
    probe = tmp / "probe.html"
    probe.write_text(html.read_text(encoding="utf-8").replace(
        "</body>", "<script>document.body.setAttribute('data-bottom', String(Math.ceil("
        "document.getElementById('summary').getBoundingClientRect().bottom + window.scrollY + 16)));</script></body>"),
        encoding="utf-8")
    flags = [tool("chromium"), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={tmp / 'profile'}"]
    dom = subprocess.run([*flags, "--window-size=1000,1400", "--dump-dom", probe.as_uri()], capture_output=True,
                         text=True, timeout=180, check=True).stdout
    bottom = int(dom.split('data-bottom="')[1].split('"')[0])
    assert 400 < bottom < 2000, bottom
    subprocess.run([*flags, f"--window-size=1000,{bottom}", f"--screenshot={png}", html.as_uri()],
                   capture_output=True, text=True, timeout=180, check=True)
    return png


def test_summary_screenshot(printed: tuple[str, str, Path, Plan], tmp_path: Path) -> None:
    city, lang, out, _ = printed
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    png = summary_screenshot(out / "report.html", ARTEFACTS / f"plan-summary-{city}-{lang}.png", tmp_path)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_assessment_summary_is_its_first_page(lang: str, tmp_path: Path) -> None:
    """The current-state report has the same treatment: its summary and key findings fill the first page, the
    per-server tables come after the appendix heading, the Japanese extracts whole, the footer has the hash."""
    from shuyaku.report.pdf import print_pdf

    r = subprocess.run([sys.executable, "-m", "shuyaku.cli", "assess", str(CITIES["sample"]), "--out", str(tmp_path),
                        "--lang", lang], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    pdf = print_pdf(tmp_path / "assessment.html", tmp_path / "assessment.pdf")
    m = Messages(lang)
    page1 = pdftext(pdf, 1, 1).replace("\n", " " if lang == "en" else "")
    assert m.a_summary in page1 and m.a_findings in page1 and "S070 → S001" in page1
    assert m.a_age not in page1  # the summary sheet ends the page
    text = pdftext(pdf, 1)
    assert "\ufffd" not in text
    assert text.index(m.appendix) < text.index(m.a_age_table)
    if lang == "ja":
        assert any("マイナンバー利用事務系" in line for line in text.splitlines())
    digest = hashlib.sha256(CITIES["sample"].read_bytes()).hexdigest()
    assert digest in text.replace("\n", "")
