"""The reader's page: headline box, headline chart and the group table first; publisher, calendar, embargo and
commentary from the release config; a flash labelled provisional on its first line; no horizontal scroll on a
390 px phone (Chromium through Playwright), and the PDF's first page renders."""
from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import date

import numpy as np
import pytest

from smepulse.methodology import load_methodology
from smepulse.methodology.release_config import ReleaseConfig
from smepulse.release.report import ReleaseData, build_release, render_markdown, write_release
from smepulse.release.sample import synthetic_series

PERIOD = "2026-09"
TODAY = date(2026, 11, 26)
CFG = ReleaseConfig.model_validate({
    "publisher": {"en": "Example Bank Research", "zh": "示例银行研究院"}, "contact": "research@example.org",
    "fieldwork": {"en": "11-22 September 2026", "zh": "2026年9月11日至22日"},
    "calendar": ["2026-10-25", "2026-11-30", "2026-12-24"],
    "embargo": {"en": "Not for publication before 09:30, 25 October 2026", "zh": "2026年10月25日9:30前不得发布"},
    "commentary": {"en": "Demand cooled while credit eased.", "zh": "需求降温，信贷条件改善。"},
    "response_rate": 61.5})
M = load_methodology("smei").model_copy(update={"release": CFG})


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("reader")
    df = synthetic_series(M, end=PERIOD, months=18, groups=["all", "sector=manufacturing", "region=east",
                                                           "size=micro"])
    df["kind"] = np.where(df["period"] == PERIOD, "flash", "final")
    data = ReleaseData(df, source="synthetic", as_of="2026-10-10")
    files = {}
    for lang in ("en", "zh"):
        rel = build_release(data, PERIOD, M, lang, today=TODAY)
        files[f"{lang}.html"] = write_release(rel, out / f"r_{lang}.html")
        files[f"{lang}.md"] = render_markdown(rel)
    rel = build_release(data, PERIOD, M, "en", today=TODAY)
    files["en.pdf"] = write_release(rel, out / "r_en.pdf")
    return files


def test_order_and_config_fields(pages):
    html = pages["en.html"].read_text(encoding="utf-8")
    pos = {k: html.index(f'id="{k}"') for k in ("provisional", "title", "headline", "commentary", "chart-history",
                                                  "overview", "narrative", "about")}
    assert pos["provisional"] < pos["title"] < pos["headline"] < pos["commentary"] < pos["chart-history"] \
        < pos["overview"] < pos["narrative"] < pos["about"]
    for text in ("Example Bank Research", "research@example.org", "11-22 September 2026", "61.5%", "2026-10-25",
                 "Not for publication before 09:30", "Demand cooled while credit eased.", "400 respondents"):
        assert text in html, text
    assert "2026-11-30" not in html  # only the next release date after this one
    zh = pages["zh.html"].read_text(encoding="utf-8")
    assert "2026年10月25日" in zh and "示例银行研究院" in zh and "快报（初步数据）" in zh
    md = pages["en.md"]
    assert md.splitlines()[0].startswith("# Flash estimate (provisional): ")
    # the group table marks significant changes and unadjusted values
    table = re.search(r'<section id="overview">.*?</section>', html, re.S).group(0)
    assert "change beyond the margin of sampling error" in table


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_horizontal_scroll_at_390_px_and_screenshots(browser, pages, lang, tmp_path):
    from PIL import Image  # noqa: PLC0415 (image checks only)
    for width in (1280, 390):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(pages[f"{lang}.html"].as_uri())
        page.wait_for_load_state("load")
        scroll = page.evaluate("document.scrollingElement.scrollWidth")
        assert scroll <= width, (lang, width, scroll)
        png = page.screenshot(full_page=False)
        (tmp_path / f"{lang}_{width}.png").write_bytes(png)
        img = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
        assert img.shape[1] == width and (img < 200).mean() > 0.01  # something is drawn
        box = page.locator("#headline").bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width
        page.close()


def test_pdf_first_page_renders(pages, tmp_path):
    if not shutil.which("pdftoppm"):
        pytest.skip("poppler-utils is not installed")
    from PIL import Image  # noqa: PLC0415 (image checks only)
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pages["en.pdf"]), str(tmp_path / "p")],
                   check=True, timeout=60)
    png = next(tmp_path.glob("p*.png"))
    img = np.asarray(Image.open(png).convert("L"))
    assert (img < 200).mean() > 0.02
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pages["en.pdf"]), "-"], capture_output=True,
                          text=True, timeout=60).stdout
    assert "provisional" in text.lower()
