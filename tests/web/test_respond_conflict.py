"""A respondent's submit meets a write conflict (another connection of the same DuckDB store, as a CLI import run
inside the server is, holds an open transaction that wrote a row the submit writes): retried once, then a 503 page
in the page's language that keeps the answers, never a 500, nothing half-stored; submitted again later, stored once.

Its own server over a copy of the session store, with its own firms and a wave (2032-01) open today.

DuckDB only, by nature: DuckDB refuses the later of two writers of a row at once (optimistic concurrency) and the
app retries; PostgreSQL makes the later writer wait for the first one's commit (row locks), so there is no
conflict to retry. What PostgreSQL does with two writers of one firm-month is tested in
tests/store/test_pg_write_conflicts.py."""
from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import pandas as pd
import pytest

from live_server import Server
from smepulse.methodology import load_methodology
from smepulse.web import survey_ops
from smepulse.web.app import create_app
from smepulse.web.config import WebConfig
from smepulse.web.i18n import t
from smepulse.web.respond import once_more

M = load_methodology("smei")
TODAY = datetime.now(UTC).date()
WAVE = "smei-2032-01"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"
pytestmark = pytest.mark.backends("duckdb")


@pytest.fixture(scope="module")
def site(store_copy):
    app = create_app(WebConfig(store=store_copy("conflict"), release_charts=False))
    db = app.state.db
    db.execute("UPDATE firm SET status = 'retired'")  # only this file's firms get links
    firms = pd.DataFrame({"firm_id": ["CF1", "CF2", "CF3", "CF4"], "name": ["甲", "乙", "丙", "丁"],
                          "sector": "manufacturing", "region": "east", "size": "small", "exporter": "no",
                          "weight": "1", "email": ""})
    survey_ops.import_register(db, firms, M, "conflict", "test")
    survey_ops.open_wave(db, M, "2032-01", TODAY - timedelta(days=3), TODAY + timedelta(days=3))
    links = dict(db.rows("SELECT firm_id, token FROM invitation WHERE wave_id = ?", [WAVE]))
    srv = Server(app).start()
    yield {"url": srv.url, "db": db, "links": links}
    srv.stop()
    db.close()


class Holder:
    """A sibling connection of the server's store with an open transaction that has updated the wave's web
    import_log row (which every web submission of the wave updates), or another row: a real DuckDB write-write
    conflict for whoever writes that row next."""

    def __init__(self, db, sql: str = "UPDATE import_log SET rows = rows + 1 WHERE import_id = ?",
                 key: str = f"web-{WAVE}"):
        self.store = db.store.sibling()
        self.store.con.execute("BEGIN TRANSACTION")
        self.store.con.execute(sql, [key])

    def end(self) -> None:
        self.store.con.execute("ROLLBACK")
        self.store.close()


def answers() -> dict:
    return {q.id: q.codes[k % 3] for k, q in enumerate(M.questions)}


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def stored(db, firm: str) -> tuple:
    return (db.rows("SELECT count(*) FROM response WHERE period = '2032-01' AND firm_id = ?", [firm])[0][0],
            db.rows("SELECT count(*) FROM answer WHERE period = '2032-01' AND firm_id = ?", [firm])[0][0],
            db.rows("SELECT count(*) FROM submission WHERE firm_id = ? AND wave_id = ?", [firm, WAVE])[0][0])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_conflicting_submit_gets_a_page_that_keeps_the_answers_then_stores_once(site, lang):
    firm = {"zh": "CF1", "en": "CF2"}[lang]
    token, given = site["links"][firm], answers()
    with httpx.Client(base_url=site["url"], timeout=30) as c:
        page = c.get(f"/r/{token}", params={"lang": lang})
        holder = Holder(site["db"])
        try:
            form = {**given, "action": "submit", "lang": lang, "csrf_token": csrf(page.text)}
            r = c.post(f"/r/{token}", data=form)
            as_json = c.post(f"/r/{token}", data=form, headers={"Accept": "application/json"})
        finally:
            holder.end()
        assert r.status_code == 503 and r.headers["retry-after"] == "2"
        assert t("save_conflict", lang) in r.text
        for q, a in given.items():  # the answers are back on the form, checked
            assert re.search(rf'name="{q}" value="{a}" checked', r.text), q
        assert as_json.status_code == 503
        assert as_json.json() == {"saved": False, "submitted": False, "reason": "conflict", "draft_kept": True,
                                  "message": t("save_conflict", lang)}
        assert stored(site["db"], firm) == (0, 0, 0)  # nothing of the refused submission
        assert survey_ops.draft(site["db"], token)["answers"] == given  # kept in the draft as well
        again = c.post(f"/r/{token}", data={"action": "submit", "lang": lang, "csrf_token": csrf(page.text)})
        assert again.status_code == 200 and t("thanks", lang) in again.text  # from the kept draft
    assert stored(site["db"], firm) == (1, len(given), 1)


def test_a_submit_during_an_import_conflicts_with_it_instead_of_passing_the_duplicate_check(site):
    """An import that has claimed the store's response writes (claim_response_writes) and not yet committed: the
    submit cannot see its rows, so it must conflict on the claim row rather than store a second response."""
    token = site["links"]["CF4"]
    with httpx.Client(base_url=site["url"], timeout=30) as c:
        page = c.get(f"/r/{token}", params={"lang": "en"})
        holder = Holder(site["db"], "UPDATE meta SET value = ? WHERE key = 'responses_written'", "cli-import")
        try:
            r = c.post(f"/r/{token}", data={**answers(), "action": "submit", "lang": "en",
                                            "csrf_token": csrf(page.text)}, headers={"Accept": "application/json"})
        finally:
            holder.end()
        assert r.status_code == 503 and r.json()["reason"] == "conflict"
        assert stored(site["db"], "CF4") == (0, 0, 0)


def test_the_retry_runs_after_the_other_writer_has_finished(site):
    """once_more: the first run meets the open transaction (a genuine TransactionException), which then ends, as
    the CLI's import does; the second run goes through."""
    holder, runs = Holder(site["db"]), []

    def work():
        runs.append(1)
        try:
            with site["db"].transaction() as con:
                con.execute("UPDATE import_log SET rows = rows + 1 WHERE import_id = ?", [f"web-{WAVE}"])
        finally:
            if len(runs) == 1:
                holder.end()
        return len(runs)

    assert once_more(work) == 2
    blocked = Holder(site["db"])
    try:
        with pytest.raises(duckdb.TransactionException, match="[Cc]onflict"):
            once_more(lambda: runs.append(1) or site["db"].execute(
                "UPDATE import_log SET rows = rows + 1 WHERE import_id = ?", [f"web-{WAVE}"]))
    finally:
        blocked.end()
    assert len(runs) == 4  # once more, and only once
    site["db"].execute("UPDATE import_log SET rows = rows - 1 WHERE import_id = ?", [f"web-{WAVE}"])


def test_a_month_imported_first_is_not_taken_twice_and_the_page_says_so(site):
    token = site["links"]["CF3"]
    with httpx.Client(base_url=site["url"], timeout=30) as c:
        page = c.get(f"/r/{token}", params={"lang": "zh"})
        other = site["db"].store.sibling()  # the CLI's import, committed just before the respondent submits
        other.con.execute("INSERT INTO response VALUES (nextval('response_id_seq'), 'smei', '2032-01', 'CF3', 1.0, ?, "
                          "'import-paper')", [TODAY])
        other.close()
        form = {**answers(), "action": "submit", "lang": "zh", "csrf_token": csrf(page.text)}
        r = c.post(f"/r/{token}", data=form)
        as_json = c.post(f"/r/{token}", data={**form, "lang": "en"}, headers={"Accept": "application/json"})
    assert as_json.status_code == 409 and as_json.json() == {"submitted": False, "reason": "answers_on_file",
                                                             "message": t("answers_on_file", "en")}
    assert r.status_code == 409 and t("answers_on_file", "zh") in r.text and t("wave_closed", "zh") not in r.text
    assert stored(site["db"], "CF3") == (1, 0, 0)  # the imported response only


def test_on_a_phone_the_conflict_keeps_the_form_and_says_so(site, browser):
    """zh at 390 px: submit meets the conflict, the form comes back with every answer checked and the message on
    top; an autosave meeting it shows the same message where "saved" would be."""
    token = site["links"]["CF3"]
    site["db"].execute("DELETE FROM response WHERE firm_id = 'CF3'")  # the import of the test above, undone
    survey_ops.save_draft(site["db"], token, answers(), "zh", "phone")
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    holder = Holder(site["db"])
    try:
        page.goto(f"{site['url']}/r/{token}?lang=zh")
        page.click("#submit")
        page.wait_for_selector("#alert")
        assert page.inner_text("#alert") == t("save_conflict", "zh")
        assert page.evaluate("document.querySelectorAll('input[type=radio]:checked').length") == len(M.questions)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        if os.environ.get("SMEPULSE_SCREENSHOTS"):
            page.screenshot(path=str(SHOTS / "respondent-conflict-zh-phone.png"))
    finally:
        holder.end()
    holder = Holder(site["db"], "UPDATE draft SET saves = saves + 1 WHERE token = ?", token)  # any writer of it
    try:
        q = M.questions[0]
        page.check(f"input[name={q.id}][value={q.codes[1]}]")
        page.wait_for_function("t => document.querySelector('[data-status]').textContent === t",
                               arg=t("save_conflict", "zh"))
    finally:
        holder.end()
        phone.close()
    assert stored(site["db"], "CF3") == (0, 0, 0)
    assert survey_ops.draft(site["db"], token)["answers"] == answers()  # the refused autosave changed nothing
