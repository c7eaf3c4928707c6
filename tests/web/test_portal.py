"""The reader's side over real HTTP: health, the read API contract, the explorer and release pages and twins."""
from __future__ import annotations

import csv
import io
import math

from smepulse.store import open_store
from smepulse.web.i18n import MESSAGES
from smepulse.web.portal import neutralise


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
    assert neutralise("-1.5") == "-1.5" and neutralise(None) == ""


def test_every_message_has_both_languages():
    assert all(set(v) == {"en", "zh"} and all(v.values()) for v in MESSAGES.values())


def test_store_stays_usable_after_the_server_writes(store_path, server):
    with server.app.state.db.connection() as con:
        assert con.execute("SELECT count(*) FROM vintage").fetchone()[0] >= 2
    assert open_store  # the store module is the one the CLI uses
