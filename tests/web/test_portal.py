"""The reader's side over real HTTP: health, the read API contract, the explorer and release pages and twins."""
from __future__ import annotations

import csv
import html
import io
import json
import math
import re
from pathlib import Path

import httpx
import openpyxl
import pytest

from live_server import Server
from smepulse.methodology import load_methodology
from smepulse.release.exports import SDMX_COLUMNS
from smepulse.store import open_store
from smepulse.web.app import create_app
from smepulse.web.chart import chart_svg
from smepulse.web.config import WebConfig
from smepulse.web.db import now
from smepulse.web.i18n import MESSAGES
from smepulse.web.portal import ROW_COLUMNS, XLSX, neutralise


def test_healthz_and_openapi(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    assert "/api/v1/series" in spec["paths"] and "/healthz" in spec["paths"]


def test_series_api_contract_matches_the_store(client, server, store_path):
    r = client.get("/api/v1/series", params={"series": "headline", "group": "all"})
    assert r.status_code == 200
    rows = r.json()
    assert rows and {"period", "adjustment", "value", "n", "se", "vintage"} <= set(rows[0])
    # every row comes from the latest (final) vintage: the same numbers the store returns
    db = server.app.state.db
    with db.connection():
        expected = db.store.series("smei")
    e = expected[(expected["series"] == "headline") & (expected["group"] == "all")]
    assert len(rows) == len(e)
    by_period = {r["period"]: r for r in rows}
    for _, row in e.iterrows():
        got = by_period[row["period"]]
        assert got["vintage"] == row["vintage_id"] and got["kind"] == "final"
        if math.isnan(row["value"]):  # not publishable (another test's month may be in the store)
            assert got["value"] is None
        else:
            assert got["value"] == row["value"] and got["n"] == row["n"]


def test_as_of_gives_the_flash_vintage(client):
    flash = client.get("/api/v1/series", params={"series": "headline", "as_of": "2025-03-15"}).json()
    assert flash and {r["kind"] for r in flash} == {"flash"}
    assert client.get("/api/v1/series", params={"series": "headline", "as_of": "2020-01-01"}).json() == []
    vid = flash[0]["vintage"]
    one = client.get("/api/v1/series", params={"series": "headline", "vintage": vid}).json()
    assert {r["vintage"] for r in one} == {vid}


def test_bad_parameters_are_422_not_500(client):
    assert client.get("/api/v1/series", params={"as_of": "yesterday"}).status_code == 422
    assert client.get("/api/v1/series", params={"as_of": "2025-13-45"}).status_code == 422
    assert client.get("/api/v1/series", params={"adjustment": "xx"}).status_code == 422


def test_explorer_page_csv_and_json_twin(client):
    page = client.get("/explore", params={"series": "headline", "group": "all", "lang": "en"})
    assert page.status_code == 200 and "<svg" in page.text and "Series explorer" in page.text
    twin = client.get("/explore.json", params={"series": "headline", "group": "all"}).json()
    assert twin["rows"] and twin["adjustment"] == "nsa"
    text = client.get("/api/v1/series.csv", params={"series": "headline", "adjustment": "nsa"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["period"] for r in rows] == [r["period"] for r in twin["rows"]]
    last = [r for r in twin["rows"] if r["value"] is not None][-1]  # the last published month
    assert float(next(r for r in rows if r["period"] == last["period"])["value"]) == last["value"]
    zh = client.get("/explore", params={"lang": "zh"}).text
    assert "指数浏览" in zh


def test_release_pages_in_both_languages(client):
    en = client.get("/release", params={"lang": "en"})
    zh = client.get("/release", params={"lang": "zh"})
    assert en.status_code == zh.status_code == 200
    assert "SME Confidence Index" in en.text and "中小企业信心指数" in zh.text
    doc = client.get("/release.json", params={"lang": "en"}).json()
    api = client.get("/api/v1/series", params={"series": "headline", "adjustment": "nsa"}).json()
    # 2025-02, or a month another test published (months only, not quarters)
    latest = max(r["period"] for r in api if r["value"] is not None and len(r["period"]) == 7)
    assert doc["period"] == latest and doc["series"]


def test_spreadsheet_cells_are_neutralised():
    assert neutralise("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert neutralise("@x") == "'@x" and neutralise("+1+1") == "'+1+1"
    assert neutralise("-1.5") == "-1.5" and neutralise(None) is None  # the release's helper: None stays empty


def test_every_message_has_both_languages():
    assert all(set(v) == {"en", "zh"} and all(v.values()) for v in MESSAGES.values())


def test_store_stays_usable_after_the_server_writes(store_path, server):
    with server.app.state.db.connection() as con:
        assert con.execute("SELECT count(*) FROM vintage").fetchone()[0] >= 2
    assert open_store  # the store module is the one the CLI uses


def _downloads(client, **params) -> tuple[dict, dict]:
    """The explorer page's download links (as a reader finds them) and its JSON twin."""
    page = client.get("/explore", params={**params, "lang": "en"}).text
    links = dict(re.findall(r'<a id="(csv|xlsx|sdmx|json)" href="([^"]+)"', page))
    return {k: html.unescape(v) for k, v in links.items()}, client.get("/explore.json", params=params).json()


def test_explorer_excel_download_equals_the_json_twin(client):
    links, twin = _downloads(client, series="headline", group="all", adjustment="nsa", as_of="2025-03-15")
    assert set(links) == {"csv", "xlsx", "sdmx", "json"} and "as_of=2025-03-15" in links["xlsx"]
    r = client.get(links["xlsx"])
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    assert 'filename="headline_all.xlsx"' in r.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["series", "about"]
    sheet = list(book["series"].values)
    assert list(sheet[0]) == ROW_COLUMNS
    got = [dict(zip(sheet[0], row, strict=True)) for row in sheet[1:]]
    assert twin["rows"] and len(got) == len(twin["rows"])
    for cell, row in zip(got, twin["rows"], strict=True):  # the flash vintage's rows, value for value
        assert {k: cell[k] for k in ("period", "adjustment", "n", "vintage", "kind")} == \
            {k: row[k] for k in ("period", "adjustment", "n", "vintage", "kind")}
        for k in ("value", "se", "ci_low", "ci_high"):  # a workbook keeps 15 significant digits, as Excel
            assert (cell[k] is None and row[k] is None) or math.isclose(cell[k], row[k], rel_tol=1e-13)
    assert {r["kind"] for r in got} == {"flash"}
    about = dict(list(book["about"].values)[1:])
    assert about["series"] == "headline" and about["as_of"] == "2025-03-15" and about["adjustment"] == "nsa"


def test_explorer_sdmx_csv_download_follows_the_release_layout(client):
    links, twin = _downloads(client, series="headline", group="size=small", adjustment="nsa")
    r = client.get(links["sdmx"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.sdmx.data+csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert r.text.splitlines()[0].split(",") == SDMX_COLUMNS  # DATAFLOW, dimensions, TIME_PERIOD, OBS_VALUE, ...
    m = load_methodology("smei")
    assert {x["DATAFLOW"] for x in rows} == {f"SMEPULSE:SMEI({m.version})"}
    assert {(x["FREQ"], x["INDICATOR"], x["BREAKDOWN"], x["BREAKDOWN_VALUE"], x["RESPONSE"], x["ADJUSTMENT"],
             x["UNIT_MEASURE"]) for x in rows} == {("M", "HEADLINE", "SIZE", "SMALL", "_Z", "N", "IX")} | (
        {("Q", "HEADLINE", "SIZE", "SMALL", "_Z", "N", "IX")} if any("Q" in x["period"] for x in twin["rows"])
        else set())
    by_period = {x["TIME_PERIOD"]: x for x in rows}
    for row in twin["rows"]:
        got = by_period[row["period"].replace("Q", "-Q") if "Q" in row["period"] else row["period"]]
        assert (float(got["OBS_VALUE"]) if got["OBS_VALUE"] else None) == row["value"]
        assert got["OBS_STATUS"] == ("O" if row["flag"] == "suppressed" else "A")  # the final vintage
        assert got["RESPONDENTS"] == ("" if row["n"] is None else str(row["n"]))


def _formula_like(cells) -> list:
    return [v for v in cells if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") and not _number(v)]


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_hostile_group_and_commentary_are_neutralised_in_every_download(store_copy):
    """Classification values and a commentary that start with '=' or '@' (formulas in Excel) come out as text."""
    store = store_copy("hostile")
    app = create_app(WebConfig(store=store, release_charts=False))
    db = app.state.db
    vid = db.rows("SELECT vintage_id FROM vintage ORDER BY as_of DESC LIMIT 1")[0][0]
    groups = ['sector==HYPERLINK("http://evil.example/","x")', "=cmd|' /C calc'!A0"]
    for g in groups:
        db.execute("INSERT INTO series SELECT vintage_id, period, series, ?, adjustment, value, n, n_eff, up, same, "
                   "down, se, se_change, ci_low, ci_high, flag FROM series WHERE vintage_id = ? AND \"group\" = "
                   "'all' AND series = 'headline'", [g, vid])
    db.execute("INSERT INTO commentary VALUES (?, ?, ?, ?, ?)",  # as the admin's publish form stores it
               [vid, "=1+1 said the economist", "@SUM(A1)", "admin", now()])
    srv = Server(app).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            for g in groups:
                links, twin = _downloads(c, series="headline", group=g, adjustment="nsa")
                assert twin["rows"] and {r["group"] for r in twin["rows"]} == {g}  # JSON keeps the value
                book = openpyxl.load_workbook(io.BytesIO(c.get(links["xlsx"]).content))
                cells = [cell for ws in book for row in ws.iter_rows() for cell in row]
                assert not [x for x in cells if x.data_type == "f"] and not _formula_like(x.value for x in cells)
                sheet = list(book["series"].values)
                shown = {row[sheet[0].index("group")] for row in sheet[1:]}
                assert shown == {"'" + g if g.startswith("=") else g}  # 'sector=...' is no formula: as it is
                about = dict(list(book["about"].values)[1:])
                assert about["commentary"] == "'=1+1 said the economist" and about["commentary_zh"] == "'@SUM(A1)"
                sdmx = list(csv.reader(io.StringIO(c.get(links["sdmx"]).text)))
                plain = list(csv.reader(io.StringIO(c.get(links["csv"]).text)))
                assert len(sdmx) > 1 and len(plain) > 1
                assert not _formula_like(v for row in sdmx + plain for v in row)
            values = {x["BREAKDOWN_VALUE"] for x in csv.DictReader(io.StringIO(c.get(
                "/api/v1/series.sdmx.csv", params={"group": groups[0]}).text))}
            assert values == {"'" + groups[0].split("=", 1)[1].upper()}  # the value alone starts with '='
    finally:
        srv.stop()
        db.close()


def test_explorer_draws_months_and_lists_each_quarter_above_its_last_month(client):
    page = client.get("/explore", params={"series": "headline", "group": "all", "adjustment": "nsa", "lang": "en"})
    chart = page.text[page.text.index("<svg"):page.text.index("</svg>")]
    assert "2024-01" in chart and "Q" not in chart  # the line joins months only
    table = re.findall(r"<tr><td>([0-9Q-]+)</td>", page.text)
    assert "2024Q4" in table and "2024-12" in table
    assert table.index("2024Q4") == table.index("2024-12") - 1  # 2024Q4 just above December
    months = [p for p in table if "Q" not in p]
    assert months == sorted(months, reverse=True)


@pytest.mark.backends("duckdb")  # Chromium on one backend: the explorer, its twin and downloads over HTTP on both
def test_explorer_on_a_phone_in_both_languages_downloads_excel(server, browser, tmp_path):
    """390 px: no sideways scrolling, the narrow chart shown, the form's blank date accepted, Excel downloaded."""
    for lang, word in (("zh", "指数浏览"), ("en", "Series explorer")):
        ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, accept_downloads=True)
        page = ctx.new_page()
        try:
            page.goto(f"{server.url}/explore?lang={lang}")
            page.click("form button[type=submit]")  # as_of and vintage left blank
            page.wait_for_load_state()
            assert word in page.inner_text("h1")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            assert page.is_visible(".chart-phone svg") and not page.is_visible(".chart-wide svg")
            with page.expect_download() as dl:
                page.click("#xlsx")
            assert dl.value.suggested_filename == "headline_all.xlsx"
            book = openpyxl.load_workbook(io.BytesIO(Path(dl.value.path()).read_bytes()))  # saved without suffix
            twin = json.loads(httpx.get(f"{server.url}{page.get_attribute('#json', 'href')}", timeout=30).text)
            assert len(list(book["series"].values)) - 1 == len(twin["rows"]) > 0
        finally:
            ctx.close()


def test_chart_puts_months_in_time_and_breaks_the_line_at_an_unpublished_month():
    def row(period, value):
        return {"period": period, "value": value, "ci_low": None if value is None else value - 1,
                "ci_high": None if value is None else value + 1}
    svg = chart_svg([row("2025-01", 50.0), row("2025-02", 52.0), row("2025-03", None), row("2025-04", 51.0),
                     row("2025-05", 49.0)], width=144, height=132, labels=5)
    lines = re.findall(r'<polyline points="([^"]+)"', svg)
    assert len(lines) == 2  # January-February and April-May, not one line across March
    # x = 44 + k * (144 - 44 - 8) / 4 = 44, 67, (90), 113, 136; values 48..54 padded by 0.48 onto y 8..108
    xs = [[float(p.split(",")[0]) for p in line.split()] for line in lines]
    assert xs == [[44.0, 67.0], [113.0, 136.0]]
    assert chart_svg([row("2025-01", 50.0), row("2025-02", None)]) == ""  # one value: no chart
    lone = chart_svg([row("2025-01", 50.0), row("2025-02", None), row("2025-03", 51.0)])
    assert "<polyline" not in lone and lone.count("<circle") == 2  # each month alone: a point and its interval


@pytest.mark.backends("postgresql")  # on the embedded default the server holds the file: only it publishes
def test_the_explorer_json_shows_a_vintage_another_process_publishes_at_once(client, server):
    """explore.json and /api/v1/series are cached per query and latest vintage: a vintage written by another
    connection (another server or the CLI) is served on the next request, and the earlier answer again once it is
    gone."""
    params = {"series": "headline", "group": "all", "adjustment": "nsa"}
    before = client.get("/explore.json", params=params).json()
    api_before = client.get("/api/v1/series", params=params).json()
    assert client.get("/explore.json", params=params).json() == before  # from the cache
    assert client.get("/api/v1/series", params=params).json() == api_before
    latest = before["rows"][-1]["vintage"]
    with open_store(server.app.state.db.target) as other:  # a connection of its own, as another process has
        con = other.con
        con.execute("BEGIN")
        con.execute("INSERT INTO vintage SELECT 'other-process', survey, methodology, methodology_version, "
                    "methodology_sha256, input_hash, kind, as_of + INTERVAL '1 day', created_at, note FROM vintage "
                    "WHERE vintage_id = ?", [latest])
        con.execute("INSERT INTO series SELECT 'other-process', period, series, \"group\", adjustment, value + 1, n, "
                    "n_eff, up, same, down, se, se_change, ci_low, ci_high, flag FROM series WHERE vintage_id = ? "
                    "AND series = 'headline' AND \"group\" = 'all' AND adjustment = 'nsa'", [latest])
        con.execute("COMMIT")
        try:
            after = client.get("/explore.json", params=params).json()
            assert {r["vintage"] for r in after["rows"]} == {"other-process"}
            assert after["rows"][-1]["value"] == pytest.approx(before["rows"][-1]["value"] + 1)
            api = client.get("/api/v1/series", params=params).json()
            assert {r["vintage"] for r in api} == {"other-process"} and api == after["rows"]
        finally:
            con.execute("DELETE FROM series WHERE vintage_id = 'other-process'")
            con.execute("DELETE FROM vintage WHERE vintage_id = 'other-process'")
    assert client.get("/explore.json", params=params).json() == before
    assert client.get("/api/v1/series", params=params).json() == api_before
