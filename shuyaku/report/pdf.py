"""report.pdf for 決裁: the HTML report printed to A4 by headless Chromium, as a reader's browser would print it.

Chromium comes from the distribution (scripts/browser-deps installs it with a CJK font); the report carries no
script and loads nothing from the network, so printing it needs no server and no sandbox exceptions beyond
headless mode.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-pdf-header-footer", "--hide-scrollbars"]
TIMEOUT_S = 120


class PdfError(Exception):
    def __init__(self, ja: str, en: str):
        super().__init__(en)
        self.ja, self.en = ja, en


def browser() -> str:
    """The headless browser to print with: $SHUYAKU_CHROMIUM, else the first of BROWSERS on PATH."""
    named = os.environ.get("SHUYAKU_CHROMIUM")
    found = named if named and Path(named).is_file() else next(filter(None, map(shutil.which, BROWSERS)), None)
    if found is None:
        raise PdfError("Chromium が見つかりません（scripts/browser-deps でインストールできます）",
                       "Chromium is not installed (scripts/browser-deps installs it)")
    return found


def print_pdf(html: Path, pdf: Path) -> Path:
    """Print `html` to `pdf` (A4, as the report's @page rule says); return the PDF's path."""
    exe = browser()
    with tempfile.TemporaryDirectory(prefix="shuyaku-pdf-") as profile:
        try:
            r = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf.resolve()}",
                                html.resolve().as_uri()], capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium が {TIMEOUT_S} 秒で終わりませんでした",
                           f"Chromium did not finish in {TIMEOUT_S} s") from None
    if r.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        tail = (r.stderr or "").strip().splitlines()[-1:] or [""]
        raise PdfError(f"Chromium が PDF を書き出しませんでした（終了コード {r.returncode}）: {tail[0]}",
                       f"Chromium wrote no PDF (exit {r.returncode}): {tail[0]}")
    return pdf
