"""The report in a real browser: headless Chromium loads every chart of the French and the Arabic
page, and its screenshot shows them (not a blank page, the charts' colour on it)."""

from __future__ import annotations

import json
import os
import re
from html import unescape as html_unescape
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from gateway.ledger.stats import statistics
from gateway.reports import charts, html
from tests.reports.ledger import NOW, sample

CHROMIUM = Path("/usr/bin/chromium")
WINDOW = "--window-size=1200,2600"  # tall enough for the charts; the DOM dump and the screenshot lay out alike
# Run after load: where each image that decoded lies on the page, written where --dump-dom shows it.
LOCATE_IMAGES = """<script>addEventListener("load", () => {
const decoded = [...document.images].filter(i => i.complete && i.naturalWidth > 0);
document.documentElement.dataset.images = JSON.stringify({total: document.images.length,
  decoded: decoded.map(i => { const r = i.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom].map(Math.round); })});
}); </script></body>"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing: scripts/system-packages installs it")
        pytest.skip("chromium is not installed (scripts/system-packages installs it)")
    profile = tmp_path_factory.mktemp("chromium-profile")

    def run(page: Path, *options: str) -> str:
        command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                   "--force-device-scale-factor=1", f"--user-data-dir={profile}", "--virtual-time-budget=5000", WINDOW,
                   *options, page.as_uri()]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout

    return run


def decoded_images(browser, page: Path, text: str) -> tuple[int, list[list[int]]]:
    """How many images the page has, and the box of each that decoded."""
    page.write_text(text.replace("</body>", LOCATE_IMAGES), encoding="utf-8")
    found = json.loads(html_unescape(re.search(r'data-images="([^"]*)"', browser(page, "--dump-dom")).group(1)))
    return found["total"], found["decoded"]


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_chromium_shows_every_chart(browser, tmp_path, lang):
    text = html.render(statistics(sample(), 30, NOW), lang, "ledger.jsonl")
    total, boxes = decoded_images(browser, tmp_path / "located.html", text)
    assert total == len(boxes) == len(charts.CHARTS)

    report, screenshot = tmp_path / f"report-{lang}.html", tmp_path / f"report-{lang}.png"
    report.write_text(text, encoding="utf-8")
    browser(report, f"--screenshot={screenshot}")
    image = Image.open(screenshot).convert("RGB")
    assert len(image.getcolors(maxcolors=1 << 20) or range(1 << 20)) > 50  # not one colour: text, tables and charts drawn
    bar = tuple(int(charts.COLOURS[0][i:i + 2], 16) for i in (1, 3, 5))
    for box in boxes:
        assert box[3] <= image.height, "a chart lies below the screenshot"
        shown = image.crop(tuple(box)).getcolors(maxcolors=1 << 20)
        assert len(shown) > 10 and any(colour == bar for _, colour in shown)  # a drawn chart, its first series on it


def test_a_broken_chart_is_caught(browser, tmp_path):
    text = html.render(statistics(sample(), 30, NOW), "fr")
    broken = text.replace("data:image/png;base64,", "data:image/png;base64,AAAA", 1)
    total, boxes = decoded_images(browser, tmp_path / "broken.html", broken)
    assert (total, len(boxes)) == (len(charts.CHARTS), len(charts.CHARTS) - 1)
