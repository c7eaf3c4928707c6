"""The reader's page: headline box, headline chart and the group table first; publisher, calendar, embargo and
commentary from the release config; a flash labelled provisional on its first line; no horizontal scroll on a
390 px phone (Chromium through Playwright), and the PDF's first page renders."""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from datetime import date

import numpy as np
import pandas as pd
import pytest

from smepulse.methodology import load_methodology
from smepulse.methodology.release_config import ReleaseConfig, merged
from smepulse.release.exports import write_exports
from smepulse.release.narrative import Names, group_order
from smepulse.release.report import ReleaseData, _period_text, build_release, render_markdown, write_release
from smepulse.release.sample import synthetic_series

PERIOD = "2026-09"
TODAY = date(2026, 11, 26)
CFG = ReleaseConfig.model_validate({
    "publisher": {"en": "Example Bank Research", "zh": "示例银行研究院"}, "contact": "research@example.org",
    "fieldwork": {"en": "11-22 September 2026", "zh": "2026年9月11日至22日"},
    "calendar": ["2026-10-25", "2026-11-30", "2026-12-24"],
    "embargo": {"en": "Not for publication before 09:30 Beijing time on the release day",
                "zh": "发布日北京时间9:30前不得发布"},
    "commentary": {"en": "Demand cooled while credit eased.", "zh": "需求降温，信贷条件改善。"},
    "response_rate": 61.5})
SMEI = load_methodology("smei")
M = SMEI.model_copy(update={"release": merged(SMEI.release, CFG)})


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
        files[f"{lang}.rel"] = rel
    rel = build_release(data, PERIOD, M, "en", today=TODAY)
    files["en.pdf"] = write_release(rel, out / "r_en.pdf")
    files["exports"] = write_exports(data, PERIOD, M, out, stem="r", releases=[files["en.rel"], files["zh.rel"]])
    return files


def test_order_and_config_fields(pages):
    html = pages["en.html"].read_text(encoding="utf-8")
    pos = {k: html.index(f'id="{k}"') for k in ("provisional", "title", "headline", "commentary", "chart-history",
                                                  "overview", "narrative", "about")}
    assert pos["provisional"] < pos["title"] < pos["headline"] < pos["commentary"] < pos["chart-history"] \
        < pos["overview"] < pos["narrative"] < pos["about"]
    for text in ("Example Bank Research", "research@example.org", "11-22 September 2026", "61.5%",
                 "<th>Next release</th><td>25 October 2026</td>",
                 "Not for publication before 09:30", "Demand cooled while credit eased.", "400 respondents"):
        assert text in html, text
    assert "30 November 2026" not in html  # only the next release date after this one
    zh = pages["zh.html"].read_text(encoding="utf-8")
    assert "<th>下期发布日期</th><td>2026年10月25日</td>" in zh and "示例银行研究院" in zh and "快报（初步数据）" in zh
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
        # the group table fits its box: no sideways scroll inside it either
        inner = page.evaluate("(() => { const s = document.querySelector('#overview .scroll');"
                              " return [s.scrollWidth, s.clientWidth]; })()")
        assert inner[0] <= inner[1], (lang, width, inner)
        page.locator("#overview").screenshot(path=str(tmp_path / f"overview_{lang}_{width}.png"))
        page.close()


# Every text of every chart as drawn: its font size times the SVG's scale on the page, for the drawings shown.
CHART_TEXT = """(which) => {
  const out = [];
  for (const svg of document.querySelectorAll(`figure.chart ${which} svg`)) {
    const box = svg.getBoundingClientRect();
    if (box.width === 0) continue;  // the drawing not shown at this width
    const scale = box.width / svg.viewBox.baseVal.width;
    for (const t of svg.querySelectorAll("text")) {
      if (!t.textContent.trim()) continue;
      out.push({chart: svg.closest("figure").dataset.chart, text: t.textContent,
                px: parseFloat(getComputedStyle(t).fontSize) * scale, right: box.right});
    }
  }
  return out;
}"""
CHARTS = {"history", "sectors", "heatmap", "sa_nsa", "shares", "counts"}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_chart_text_is_at_least_11_px_on_a_phone_and_a_desktop(browser, pages, lang, tmp_path):
    for width, height in ((390, 844), (1280, 900)):
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(pages[f"{lang}.html"].as_uri())
        page.wait_for_load_state("load")
        texts = page.evaluate(CHART_TEXT, "")
        assert {t["chart"] for t in texts} == CHARTS, (width, {t["chart"] for t in texts})
        assert len(texts) > 100  # axis labels, titles, legends and the heatmap's cell values
        small = [(t["chart"], t["text"], round(t["px"], 1)) for t in texts if t["px"] < 11]
        assert not small, (lang, width, small[:8])
        assert max(t["right"] for t in texts) <= width
        assert page.evaluate("document.scrollingElement.scrollWidth") <= width
        page.screenshot(path=str(tmp_path / f"charts_{lang}_{width}.png"), full_page=True)
        if width == 390:
            # the measure discriminates: the wide drawings, shown on the phone, would be 6-7 px
            page.add_style_tag(content="figure.chart .chart-wide { display: block !important; }")
            wide = page.evaluate(CHART_TEXT, ".chart-wide")
            assert wide and min(t["px"] for t in wide) < 8
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


def test_flash_is_provisional_in_title_headline_sentence_tables_and_exports(pages):
    en, zh = pages["en.rel"], pages["zh.rel"]
    assert en.narrative.paragraphs[0].sentences[0].startswith("According to the flash (provisional) estimate, "
                                                              "the headline SMEI ")
    assert zh.narrative.paragraphs[0].sentences[0].startswith("快报（初步数据）显示，9月，中小企业信心指数")
    html = pages["en.html"].read_text(encoding="utf-8")
    assert "<th>Value (flash)</th>" in html and "Groups at a glance (flash)" in html
    zh_html = pages["zh.html"].read_text(encoding="utf-8")
    assert "<th>数值（快报）</th>" in zh_html and "各类企业一览（快报）" in zh_html
    assert pages["zh.md"].splitlines()[0] == "# 快报（初步数据）：中小企业信心指数：2026年9月"
    ex = pages["exports"]
    doc = json.loads(ex["json"].read_text(encoding="utf-8"))
    assert doc["provisional"] is True
    sheet = pd.read_excel(ex["xlsx"], sheet_name="all")
    assert sheet.loc[sheet["period"] == PERIOD, "status"].tolist() == ["provisional"]
    assert set(sheet.loc[sheet["period"] != PERIOD, "status"]) == {"final"}
    sdmx = pd.read_csv(ex["sdmx"])
    assert set(sdmx.loc[sdmx["TIME_PERIOD"] == PERIOD, "OBS_STATUS"]) == {"P"}
    assert set(pd.read_csv(ex["csv"]).query("period == @PERIOD")["kind"]) == {"flash"}


CODE = re.compile(r"\b(?:nsa|sa|sector|region|size|exporter|headline|all)\b|[a-z]+_[a-z_]+|=\w")


def _visible_text(html: str) -> str:
    html = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html)


def test_chinese_page_has_no_code_one_term_per_kind_and_one_date_format(pages):
    text = _visible_text(pages["zh.html"].read_text(encoding="utf-8"))
    body = text.split("方法说明")[0]  # the notes name the methodology file (smei 2026.1)
    leftovers = [m.group(0) for m in CODE.finditer(body)]
    assert not leftovers, leftovers[:10]
    assert "分项指数" not in text  # a composite is a 分类指数, a question's index a 指数 (NBS / Caixin usage)
    assert "预期分类指数" in text and "订单指数" in text
    zh = Names(M, "zh")
    assert zh.series("headline", "size=micro") == "微型企业信心指数"
    assert zh.series("headline", "sector=manufacturing") == "制造业中小企业信心指数"
    assert zh.series("performance", "size=micro") == "微型企业运营分类指数"
    assert not re.search(r"\d{4}年0\d月", text) and "2026年9月" in text
    assert not re.search(r"\b20\d\d-\d\d\b", body.replace("2026-10-10", "")), \
        re.findall(r"\b20\d\d-\d\d\b", body)[:5]  # only the as-of date of the source stays ISO


def test_groups_in_the_methodologys_order_and_english_region_names(pages):
    html = pages["en.html"].read_text(encoding="utf-8")
    table = re.search(r'<section id="overview">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    rows = re.findall(r"<tr><th>([^<]+)</th>", table)
    assert rows == ["All SMEs", "Manufacturing SMEs", "SMEs in eastern China", "Micro enterprises"]
    zh = pages["zh.html"].read_text(encoding="utf-8")
    table = re.search(r'<section id="overview">.*?<tbody>(.*?)</tbody>', zh, re.S).group(1)
    assert re.findall(r"<tr><th>([^<]+)</th>", table) == ["全部中小企业", "制造业中小企业", "东部地区中小企业",
                                                           "微型企业"]
    # Chinese convention, from the methodology's release config: medium, small, micro; east, central, west, northeast
    got = group_order(M, ["size=micro", "region=northeast", "size=small", "region=central", "size=medium",
                          "region=east", "all", "region=west"])
    assert got == ["all", "region=east", "region=central", "region=west", "region=northeast", "size=medium",
                   "size=small", "size=micro"]


def test_suppressed_group_says_so_in_the_group_table(tmp_path):
    df = synthetic_series(M, end=PERIOD, months=6, groups=["all", "sector=manufacturing"],
                          suppress=("sector=manufacturing",))
    for lang, word in (("en", "suppressed"), ("zh", "样本不足未发布")):
        md = render_markdown(build_release(ReleaseData(df, source="synthetic"), PERIOD, M, lang, today=TODAY,
                                           charts=False))
        starts = ("| Manufacturing SMEs |", "| 制造业中小企业 |")
        row = next(line for line in md.splitlines() if line.startswith(starts))
        assert row.count(f"*{word}*") == 4 and "– (–)" not in row, row


def test_periods_in_chinese_tables():
    # revisions from a store can hold quarters as well as months (the portal's store does)
    assert [_period_text(p, "zh") for p in ("2025-01", "2025Q1", "2026-12")] == ["2025年1月", "2025年第一季度",
                                                                               "2026年12月"]
    assert _period_text("2025Q1", "en") == "2025Q1"
