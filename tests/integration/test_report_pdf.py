"""The plan report as a department head gets it: `shuyaku plan --pdf` printed by headless Chromium, read back.

For the sample city and the small town: the summary is the whole first A4 page and nothing of it spills onto the
second; the Japanese text extracts from the PDF as written (a missing CJK font prints boxes, which extract as
nothing or as U+FFFD), terms are not broken across lines, the fonts are embedded, and the footer carries the
inventory's SHA-256. A screenshot of each summary is kept under build/artefacts/.

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


@pytest.fixture(scope="module", params=list(CITIES))
def printed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Plan]:
    city = request.param
    out = tmp_path_factory.mktemp(city)
    r = subprocess.run([sys.executable, "-m", "shuyaku.cli", "plan", str(CITIES[city]), "--out", str(out), "--pdf",
                        "--lang", "ja"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (out / "report.pdf").is_file()
    return city, out, Plan.model_validate_json((out / "plan.json").read_text(encoding="utf-8"))


def test_the_summary_is_the_whole_first_page(printed: tuple[str, Path, Plan]) -> None:
    _city, out, plan = printed
    page1, page2 = pdftext(out / "report.pdf", 1, 1), pdftext(out / "report.pdf", 2, 2)
    c = plan.cost
    assert "1ページ要約" in page1
    assert fmt.pct(c.ratio_pct) in page1
    gap = fmt.yen_short(abs(c.gap_to_goal_yen), "ja")
    assert gap in page1.replace("\n", "")
    for s in c.sensitivity:
        assert fmt.pct(s.ratio_pct) in page1
    assert "費目別の現行と集約後" in page1 and "参考: 町田市は約47%" in page1.replace("\n", "")  # its last line
    assert "費目別の現行と集約後" not in page2 and "主なリスク" not in page2
    assert page2.lstrip().startswith("費用の比較")


def test_japanese_text_extracts_as_written_with_embedded_fonts(printed: tuple[str, Path, Plan]) -> None:
    city, out, plan = printed
    text = pdftext(out / "report.pdf", 1)
    assert "\ufffd" not in text
    assert plan.municipality in text
    one_line = [line for line in text.splitlines() if line.strip()]
    for term in TERMS:
        # Each term appears somewhere whole; a term broken over a line would only appear in pieces.
        assert any(term in line for line in one_line), term
    fonts = subprocess.run([tool("pdffonts"), str(out / "report.pdf")], capture_output=True, text=True, check=True,
                           timeout=60).stdout.splitlines()[2:]
    # every font is embedded (the "emb" column): nothing left to the viewer to substitute
    assert fonts and all(f.split()[-5] == "yes" for f in fonts), fonts
    digest = hashlib.sha256(CITIES[city].read_bytes()).hexdigest()
    assert digest in text.replace("\n", "")


def test_summary_screenshot(printed: tuple[str, Path, Plan], tmp_path: Path) -> None:
    city, out, _ = printed
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    png = ARTEFACTS / f"plan-summary-{city}.png"
    subprocess.run([tool("chromium"), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,1300", f"--screenshot={png}",
                    (out / "report.html").as_uri()], capture_output=True, text=True, timeout=180, check=True)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
