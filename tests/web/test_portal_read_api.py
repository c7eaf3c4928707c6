"""The read API and the explorer page against a typo and a bad date (over real HTTP, the session's server), and
which vintage each row comes from when the newest vintage lacks an adjustment."""
from __future__ import annotations

import re

import httpx
import pytest

from smepulse.methodology import load_methodology

M = load_methodology("smei")


@pytest.mark.parametrize("path", ["/api/v1/series", "/api/v1/series.csv", "/api/v1/series.xlsx",
                                  "/api/v1/series.sdmx.csv", "/explore.json"])
def test_an_unknown_series_group_or_vintage_is_a_404_naming_the_known_ones(client, path):
    r = client.get(path, params={"series": "headlin"})
    assert r.status_code == 404, r.text
    detail = r.json()["detail"]
    assert detail.startswith("series 'headlin' is not known: known series values are ") and "headline" in detail and \
        "sales" in detail
    r = client.get(path, params={"series": "headline", "vintage": "nope"})
    assert r.status_code == 404 and r.json()["detail"].startswith("vintage 'nope' is not known: known vintage "
                                                                  "values are "), r.text
    known = client.get("/api/v1/vintages").json()
    assert known[-1]["vintage"] in r.json()["detail"]
    r = client.get(path, params={"series": "headline", "group": "size=huge"})
    assert r.status_code == 404 and "group 'size=huge' is not known" in r.json()["detail"]
    assert "size=small" in r.json()["detail"]


def test_a_question_of_the_methodology_not_yet_published_is_no_data_not_a_typo(client):
    """Known to the methodology (the form asks it) but never published: an empty answer, as before."""
    published = set(client.get("/api/v1/choices").json()["series"])
    unpublished = [q.id for q in M.questions if q.id not in published]
    for sid in unpublished[:1]:
        assert client.get("/api/v1/series", params={"series": sid}).json() == []
    assert client.get("/api/v1/series", params={"series": "headline", "vintage": ""}).status_code == 200


def test_the_openapi_description_declares_the_404_and_the_vintage_rule(client):
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/v1/series"]["get"]
    assert "404" in op["responses"]
    assert "the `sa` rows come from the newest vintage that has them" in op["description"]
    for path in ("/api/v1/series.csv", "/api/v1/series.xlsx", "/api/v1/series.sdmx.csv", "/explore.json"):
        assert "404" in spec["paths"][path]["get"]["responses"], path


@pytest.mark.parametrize(("lang", "words"), [("zh", "“2025-13-45”不是有效日期，请按YYYY-MM-DD填写。"),
                                             ("en", "“2025-13-45” is not a date: give the date as YYYY-MM-DD.")])
def test_the_explorer_page_explains_a_bad_date_or_typo_in_the_readers_language(client, lang, words):
    for bad in ("2025-13-45", "bad"):
        r = client.get("/explore", params={"as_of": bad, "lang": lang})
        assert r.status_code == 422 and r.headers["content-type"].startswith("text/html"), r.text[:200]
        assert words.replace("2025-13-45", bad) in r.text and '"loc"' not in r.text
        assert 'name="series"' in r.text  # the form is there to put it right
    r = client.get("/explore", params={"series": "nope", "lang": lang})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert {"zh": "指数“nope”尚未发布", "en": "Series “nope” has not been published"}[lang] in r.text


@pytest.mark.backends("duckdb")  # the rule is the store-independent SQL of portal.series_rows
def test_each_adjustment_comes_from_the_newest_vintage_that_has_it_and_says_so(own_server):
    """A vintage with SA rows, then a newer one without (the web form's seasonal box unticked): the SA rows come
    from the older vintage, the NSA rows from the newer, each row naming its vintage."""
    with own_server() as srv:
        db = srv.app.state.db
        (final, as_of), = db.rows("SELECT vintage_id, as_of FROM vintage ORDER BY as_of DESC LIMIT 1")
        with db.transaction() as con:  # an older vintage (5 days before the final) that has SA rows
            con.execute("INSERT INTO vintage SELECT 'with-sa', survey, methodology, methodology_version, "
                        "methodology_sha256, input_hash, 'final', as_of - INTERVAL 5 DAY, created_at - INTERVAL 5 DAY,"
                        " 'seasonally adjusted' FROM vintage WHERE vintage_id = ?", [final])
            con.execute("INSERT INTO series SELECT 'with-sa', period, series, \"group\", 'sa', value + 1, n, n_eff, "
                        "up, same, down, se, se_change, ci_low, ci_high, flag FROM series WHERE vintage_id = ? AND "
                        "adjustment = 'nsa'", [final])
        srv.app.state.cache.clear()
        rows = httpx.get(f"{srv.url}/api/v1/series", params={"series": "headline"}).json()
        by = {(r["period"], r["adjustment"]): r for r in rows}
        nsa = [r for r in rows if r["adjustment"] == "nsa"]
        assert nsa and {r["vintage"] for r in rows if r["adjustment"] == "sa"} == {"with-sa"}
        assert all(r["vintage"] != "with-sa" for r in nsa)
        last = nsa[-1]["period"]
        assert by[(last, "sa")]["value"] == pytest.approx(by[(last, "nsa")]["value"] + 1)
        assert by[(last, "nsa")]["vintage"] == final and str(as_of)[:10] in by[(last, "nsa")]["as_of"]
        one = httpx.get(f"{srv.url}/api/v1/series", params={"series": "headline", "vintage": final}).json()
        assert one and {r["adjustment"] for r in one} == {"nsa"}  # one vintage: only its rows
        page = httpx.get(f"{srv.url}/explore", params={"series": "headline", "lang": "en"}).text
        assert re.search(r"<option value=\"sa\" selected>", page)  # the explorer shows SA where published
