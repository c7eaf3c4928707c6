"""The release as a person sees it: HTML in headless Chromium, PDF pages as PNG, Markdown, and the CLI.

One release (both languages, HTML, PDF, Markdown) is rendered once per module and shared by the tests.
"""
from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from smepulse.errors import InputError
from smepulse.index.series_io import write_series
from smepulse.methodology import load_methodology
from smepulse.release.facts import published
from smepulse.release.report import ReleaseData, build_release, load_series_file, release_files, write_release
from smepulse.release.sample import synthetic_series

M = load_methodology("smei")
PERIOD = "2026-09"
TODAY = date(2026, 11, 26)
CHARTS = ("history", "sectors", "heatmap", "sa_nsa", "shares", "counts")


def non_white(png: bytes, box=None) -> float:
    from PIL import Image
    img = Image.open(io.BytesIO(png)).convert("L")
    if box:
        img = img.crop(box)
    a = np.asarray(img)
    return float((a < 235).mean())


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    df = synthetic_series(M, end="2026-10", suppress=("sector=accommodation_catering",))
    src = write_series(df, out / "series.csv")
    data = load_series_file(src)
    written = release_files(data, PERIOD, M, out, today=TODAY, exports=False)  # exports: test_exports.py
    return {"dir": out, "files": written, "data": data, "df": df}


# ------------------------------------------------------------------------------------------- HTML

def test_html_is_self_contained_with_charts_and_narrative(release):
    for lang in ("en", "zh"):
        html = release["files"][f"{lang}.html"].read_text(encoding="utf-8")
        assert "<script" not in html and "<link" not in html
        # the only URLs are SVG/XML namespaces: nothing to fetch
        urls = set(re.findall(r"""(?:src|href)=["']([^"']+)""", html)) | set(re.findall(r"url\((?!#)[^)]*\)", html))
        assert not [u for u in urls if not u.startswith("#")], urls
        for name in CHARTS:
            m = re.search(rf'<figure class="chart" id="chart-{name}".*?</figure>', html, re.S)
            assert m, f"chart {name} missing in {lang}"
            assert m.group(0).count("<path") + m.group(0).count("<rect") > 10
    en = release["files"]["en.html"].read_text(encoding="utf-8")
    zh = release["files"]["zh.html"].read_text(encoding="utf-8")
    assert 'lang="zh-Hans"' in zh and "中小企业信心指数" in zh and "个点" in zh
    assert "Headline SMEI" in en and "September" in en


def test_headline_box_agrees_with_the_data_and_narrative(release):
    df = release["df"]
    row = df[(df.period == PERIOD) & (df.series == "headline") & (df.group == "all") & (df.adjustment == "sa")].iloc[0]
    html = release["files"]["en.html"].read_text(encoding="utf-8")
    box = re.search(r'<section class="headline-box".*?</section>', html, re.S).group(0)
    assert f'<div class="value">{published(row.value):.1f}</div>' in box
    assert f"{int(row.n):,}" in box
    text = re.search(r'<section id="narrative">.*?</section>', html, re.S).group(0)
    v = published(row.value)
    assert f"at {v:g}" in text or f"to {v:g}" in text


def test_tables_have_every_group_with_n_and_se(release):
    html = release["files"]["en.html"].read_text(encoding="utf-8")
    for g in ("all", "sector=manufacturing", "exporter=yes", "size=micro", "region=northeast"):
        assert f'id="table-{g}"' in html
    table = re.search(r'id="table-all".*?</table>', html, re.S).group(0)
    assert table.count("<tr") == 1 + len(M.composites) + len(M.questions)
    assert "suppressed" in html  # the suppressed sector is flagged, not shown as a number
    df = release["df"]
    sales = df[(df.period == PERIOD) & (df.series == "sales") & (df.group == "all") & (df.adjustment == "nsa")].iloc[0]
    shares = f"{published(sales.up):.1f} / {published(sales.same):.1f} / {published(sales.down):.1f}"
    assert re.search(r"<tr[^>]*><th>Sales</th>.*?</tr>", table).group(0).count(shares) == 1


def _open(browser, path: Path):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    requests = []
    page.route("**/*", lambda route: (requests.append(route.request.url), route.continue_()
                                      if route.request.url.startswith("file:") else route.abort()))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, [u for u in requests if not u.startswith("file:")]


def test_chromium_renders_charts_and_needs_no_network(browser, release):
    page, external = _open(browser, release["files"]["en.html"])
    assert external == []
    for name in CHARTS:
        el = page.locator(f"#chart-{name} .chart-wide svg")
        box = el.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 100, name
        assert non_white(el.screenshot()) > 0.03, f"chart {name} looks empty"
    # the measure discriminates: the empty page margin has no ink
    assert non_white(page.screenshot(clip={"x": 0, "y": 0, "width": 40, "height": 400})) < 0.01
    page.close()


def test_chromium_uses_a_cjk_font_for_chinese(browser, release):
    page, _ = _open(browser, release["files"]["zh.html"])
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "#title"})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    assert any("Noto Sans CJK" in f["familyName"] for f in fonts), fonts
    # and the glyphs are real: '中' drawn with the page font differs from a tofu box (an unassigned code point)
    differs = page.evaluate("""() => {
        const draw = (ch) => { const c = document.createElement('canvas'); c.width = c.height = 40;
            const x = c.getContext('2d'); x.font = '32px "Noto Sans CJK SC"'; x.fillText(ch, 2, 34);
            return Array.from(x.getImageData(0, 0, 40, 40).data).join(','); };
        return draw('中') !== draw('\\u0378') && draw('中') !== draw('信'); }""")
    assert differs
    assert page.evaluate("() => document.fonts.check('16px \"Noto Sans CJK SC\"', '中小企业')")
    page.close()


# ------------------------------------------------------------------------------------------- PDF

def _pdf_tools():
    if not shutil.which("pdftoppm") or not shutil.which("pdffonts"):
        pytest.skip("poppler-utils is not installed (make system-deps)")


def test_pdf_embeds_cjk_font(release):
    _pdf_tools()
    out = subprocess.run(["pdffonts", str(release["files"]["zh.pdf"])], capture_output=True, text=True,
                         check=True).stdout
    cjk = [line for line in out.splitlines() if "Noto-Sans-CJK" in line]
    assert cjk and all(" yes " in line for line in cjk), out  # embedded
    text = subprocess.run(["pdftotext", str(release["files"]["zh.pdf"]), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "中小企业信心指数" in text and "个点" in text


def test_pdf_pages_show_charts(release, tmp_path):
    _pdf_tools()
    pdf = release["files"]["en.pdf"]
    pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = pages.split("\f")
    # the reader's page: the headline box and the headline chart on page 1, the group table starts there too
    first = next(i for i, p in enumerate(pages, 1) if "Headline SMEI and sub-indexes" in p)
    assert first == 1 and "Groups at a glance" in pages[0]
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")], check=True)
    png = next(tmp_path.glob("p*.png")).read_bytes()
    from PIL import Image
    w, h = Image.open(io.BytesIO(png)).size
    assert non_white(png, (0, int(h * 0.25), w, int(h * 0.5))) > 0.05  # the history chart under the box
    other = next(i for i, p in enumerate(pages, 1) if "Headline SMEI by sector" in p)
    assert other > first and any("Revisions" in p for p in pages[other - 1:])


# ------------------------------------------------------------------------------------------- Markdown, CLI

def test_markdown(release):
    md = release["files"]["zh.md"].read_text(encoding="utf-8")
    assert md.startswith("# 中小企业信心指数：2026年9月")
    assert "| 指数 | 数值 |" in md
    for name in CHARTS:
        assert f"release_zh_charts/{name}.svg" in md
        assert (release["dir"] / "release_zh_charts" / f"{name}.svg").stat().st_size > 1000


def test_bad_input(release, tmp_path):
    data = release["data"]
    with pytest.raises(InputError, match="not supported"):
        build_release(data, PERIOD, M, "fr", today=TODAY)
    with pytest.raises(InputError, match="later than the latest month"):
        build_release(ReleaseData(release["df"][release["df"].period < "2026-08"], "x"), "2026-09", M, "en",
                      today=TODAY, charts=False)
    with pytest.raises(InputError, match="not closed yet"):
        build_release(data, "2026-10", M, "en", today=date(2026, 10, 20), charts=False)
    with pytest.raises(InputError, match="no data for 2020-01"):
        build_release(data, "2020-01", M, "en", today=TODAY, charts=False)
    rel = build_release(data, PERIOD, M, "en", today=TODAY, charts=False)
    with pytest.raises(InputError, match="format 'docx'"):
        write_release(rel, tmp_path / "r.docx")
    bad = tmp_path / "bad.csv"
    bad.write_text("period,series,group,value\n2026-9,headline,all,50\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        load_series_file(bad)


def test_cli(release, tmp_path):
    from typer.testing import CliRunner

    from smepulse.cli import app
    runner = CliRunner()
    src = release["dir"] / "series.csv"
    r = runner.invoke(app, ["release", "--period", PERIOD, "--series", str(src), "--lang", "zh", "--format", "md",
                            "--out", str(tmp_path / "r.md"), "--no-exports"])
    assert r.exit_code == 0, r.output
    assert "2026年9月" in (tmp_path / "r.md").read_text(encoding="utf-8")
    r = runner.invoke(app, ["release", "--period", PERIOD, "--series", str(src), "--lang", "de",
                            "--out", str(tmp_path / "r.html")])
    assert isinstance(r.exception, InputError) and "not supported" in str(r.exception)
    r = runner.invoke(app, ["release", "--period", PERIOD, "--store", str(tmp_path / "none.duckdb"),
                            "--out", str(tmp_path / "r.html")])
    assert isinstance(r.exception, InputError) and "does not exist" in str(r.exception)
    r = runner.invoke(app, ["release", "--help"])
    assert "Example: smepulse release" in r.output


# ------------------------------------------------------------------------------------------- from a store

def test_release_from_store_shows_revisions_and_respects_as_of(tmp_path):
    from datetime import datetime

    from smepulse.index.engine import IndexResult
    from smepulse.release.report import context, load_from_store, render_markdown
    from smepulse.store import open_store
    df = synthetic_series(M, end="2026-09", months=18, groups=["all", "sector=manufacturing"])
    df["flag"] = df["flag"].astype(object).fillna("")  # the store's convention for "not flagged"
    flash = df[df.period == "2026-09"].copy()
    flash["value"] = flash["value"] - 0.4
    revised = df[df.period == "2026-08"].copy()
    revised["value"] = revised["value"] + 0.5
    path = tmp_path / "s.duckdb"
    with open_store(path) as st:
        st.save_series(IndexResult(df[df.period < "2026-09"], M, "a"), kind="final", as_of=datetime(2026, 9, 25))
        st.save_series(IndexResult(flash, M, "b"), kind="flash", as_of=datetime(2026, 10, 10))
        st.save_series(IndexResult(df[df.period == "2026-09"], M, "c"), kind="final", as_of=datetime(2026, 10, 25))
        st.save_series(IndexResult(revised, M, "d"), kind="final", as_of=datetime(2026, 11, 5))
    head = df[(df.series == "headline") & (df.group == "all") & (df.adjustment == "sa")].set_index("period")["value"]

    data = load_from_store(path, "smei")
    assert data.as_of == "2026-11-05"
    rel = build_release(data, "2026-09", M, "en", today=TODAY, charts=False)
    rev = {(r["label"], r["period"]): r for r in context(rel)["revisions"]}
    aug, sep = rev[("Headline SMEI", "2026-08")], rev[("Headline SMEI", "2026-09")]
    assert aug["first"] == f"{published(head['2026-08']):.1f}"
    assert aug["latest"] == f"{published(head['2026-08'] + 0.5):.1f}" and aug["revision"] == "+0.5"
    assert sep["flash"] == f"{published(head['2026-09'] - 0.4):.1f}" and sep["flash_rev"] == "+0.4"
    md = render_markdown(rel)
    assert "| Headline SMEI | 2026-08 |" in md and "+0.5" in md
    # as of 2026-10-20 only the flash of September had been published: the release describes the flash
    early = load_from_store(path, "smei", as_of=datetime(2026, 10, 20))
    rel = build_release(early, "2026-09", M, "en", today=TODAY, charts=False)
    lvl = next(f for f in rel.facts if f.kind == "level" and f.series == "headline" and f.group == "all")
    assert lvl.values["value"] == published(head["2026-09"] - 0.4)
    assert rel.provisional and rel.title.startswith("Flash estimate (provisional): ")  # said on the first line
    assert not build_release(data, "2026-09", M, "en", today=TODAY, charts=False).provisional
    zh = render_markdown(build_release(data, "2026-09", M, "zh", today=TODAY, charts=False))
    assert "| 中小企业信心指数 | 2026年8月 |" in zh and "截至2026年11月5日" in zh
    assert not any(r["period"] == "2026-08" and r["revision"] == "+0.5" for r in context(rel)["revisions"])


def test_interactive_html_draws_the_same_specs_offline(browser, release, tmp_path):
    rel = build_release(release["data"], PERIOD, M, "zh", today=TODAY)
    path = write_release(rel, tmp_path / "interactive.html", interactive=True)
    html = path.read_text(encoding="utf-8")
    assert "vegaEmbed" in html and "cdn" not in html.lower() and "<script src" not in html
    page, external = _open(browser, path)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.wait_for_selector("#vega-heatmap[data-embedded='yes']", timeout=20000)
    for name in CHARTS:
        page.wait_for_selector(f"#vega-{name}[data-embedded='yes']", timeout=20000)
        el = page.locator(f"#vega-{name} svg").first
        assert non_white(el.screenshot()) > 0.03, name
    assert external == [] and errors == []
    page.close()
