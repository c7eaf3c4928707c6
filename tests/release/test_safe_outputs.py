"""Safe outputs (issue 11): no label becomes a spreadsheet formula, no methodology string becomes markup, and
the files of one release command appear together or not at all; exports rounded as published."""
from __future__ import annotations

import csv
from datetime import date

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from smepulse.cli import app
from smepulse.methodology import load_methodology
from smepulse.release import exports as exports_mod
from smepulse.release.exports import write_exports
from smepulse.release.report import ReleaseData, build_release, render_html, render_markdown
from smepulse.release.safe import Outputs, md_escape
from smepulse.release.sample import synthetic_series
from smepulse.spreadsheet import neutralise

M = load_methodology("smei")
PERIOD = "2026-09"
TODAY = date(2026, 11, 26)
EVIL = "=HYPERLINK(\"http://x\",\"y\")"
DANGER = ("=", "+", "-", "@", "\t", "\r")


def is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def test_neutralise_follows_owasp():
    assert neutralise("=1+2") == "'=1+2" and neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("+cmd") == "'+cmd" and neutralise("-x") == "'-x" and neutralise("\tx") == "'\tx"
    assert neutralise("\r=x") == "'\r=x"
    assert neutralise("-2.4") == "-2.4" and neutralise("+1e3") == "+1e3" and neutralise("east") == "east"
    assert neutralise(3.5) == 3.5
    assert md_escape("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert md_escape("[a](http://x) *b* | c") == r"\[a\](http://x) \*b\* \| c"
    assert md_escape("S&P Global") == "S&P Global"  # an ampersand is escaped only where it starts an entity
    assert md_escape("&lt;b&gt; &#60;") == r"&amp;lt;b&amp;gt; &amp;\#60;"


@pytest.fixture(scope="module")
def evil_exports(tmp_path_factory):
    out = tmp_path_factory.mktemp("evil")
    df = synthetic_series(M, end=PERIOD, months=14, groups=["all", "sector=manufacturing"])
    df["series"] = df["series"].replace({"new_orders": EVIL, "investment": "@SUM(A1:A9)"})
    df["group"] = df["group"].replace({"sector=manufacturing": "sector=" + EVIL})
    data = ReleaseData(df, source="+evil source")
    return write_exports(data, PERIOD, M, out), df


def test_no_formula_in_xlsx(evil_exports):
    files, _ = evil_exports
    wb = openpyxl.load_workbook(files["xlsx"])
    seen = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and "HYPERLINK" in cell.value:
                    seen += 1
                    assert cell.value.startswith("'") or not cell.value.startswith(DANGER)
    assert seen > 0  # the label is there, as text


@pytest.mark.parametrize("kind", ["csv", "sdmx"])
def test_no_formula_in_csv_and_sdmx(evil_exports, kind):
    files, _ = evil_exports
    with open(files[kind], newline="", encoding="utf-8") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    bad = [c for c in cells if c.startswith(DANGER) and not is_number(c)]
    assert not bad, bad[:5]
    assert any("HYPERLINK" in c for c in cells)


def test_exports_rounded_as_published_unless_full_precision(evil_exports, tmp_path):
    files, df = evil_exports
    got = pd.read_csv(files["csv"], dtype={"period": str})
    assert ((got["value"].dropna() * 10).round(6) % 1 == 0).all()
    assert ((got["se"].dropna() * 100).round(6) % 1 == 0).all()
    sd = pd.read_csv(files["sdmx"])
    assert ((sd["OBS_VALUE"].dropna() * 10).round(6) % 1 == 0).all()
    full = write_exports(ReleaseData(df, source="x"), PERIOD, M, tmp_path, full_precision=True)
    raw = pd.read_csv(full["csv"], dtype={"period": str})
    assert ((raw["value"].dropna() * 10).round(6) % 1 != 0).any()


def test_script_in_methodology_title_is_escaped_in_markdown_and_html():
    m = M.model_copy(update={"title": M.title.model_copy(
        update={"en": "<script>alert('x')</script> [click](javascript:alert(1))"})})
    df = synthetic_series(m, end=PERIOD, months=14, groups=["all"])
    rel = build_release(ReleaseData(df, source="<img src=x onerror=alert(1)>"), PERIOD, m, "en", today=TODAY,
                        charts=False)
    md = render_markdown(rel)
    html = render_html(rel)
    for text in (md, html):
        assert "<script>" not in text and "<img src=x" not in text
    assert "&lt;script&gt;" in md and r"\[click\]" in md
    assert "&lt;script&gt;" in html


def test_outputs_all_or_nothing(tmp_path):
    with pytest.raises(RuntimeError), Outputs(tmp_path) as o:
        o.path(tmp_path / "a.txt").write_text("a")
        o.path(tmp_path / "sub" / "b.txt").write_text("b")
        raise RuntimeError("disk full")
    assert sorted(p.name for p in tmp_path.rglob("*")) == []
    with Outputs(tmp_path) as o:
        o.path(tmp_path / "a.txt").write_text("a")
        o.path(tmp_path / "sub" / "b.txt").write_text("b")
        assert not (tmp_path / "a.txt").exists()
    assert (tmp_path / "a.txt").read_text() == "a" and (tmp_path / "sub" / "b.txt").read_text() == "b"
    assert not list(tmp_path.glob(".smepulse-staging-*"))


def test_release_command_writes_nothing_when_an_export_fails(tmp_path, monkeypatch):
    df = synthetic_series(M, end=PERIOD, months=14, groups=["all"])
    src = tmp_path / "s.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "out"

    def broken(*a, **k):
        raise OSError("No space left on device")
    monkeypatch.setattr(exports_mod, "to_sdmx", broken)  # the last export fails, as on a full disk
    r = CliRunner().invoke(app, ["release", "--period", PERIOD, "--series", str(src), "--format", "md",
                                 "--out", str(out / "r.md")])
    assert isinstance(r.exception, OSError)
    assert not out.exists() or list(out.rglob("*")) == []
