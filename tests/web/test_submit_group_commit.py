"""The respondent writer (web/submissions.py) over real HTTP, on both backends: posts that arrive together are
written in one transaction, each answered only after that transaction has committed; a post the store refuses
fails alone, with nothing of it stored, while the others of its batch are stored once.

Each backend (the session's `backend` parameter, tests/web/conftest.py) gets an empty store of its own (no
vintages: the writer needs a panel and an open wave only)."""
from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pandas as pd
import psycopg
import pytest

import pgcluster
from live_server import Server
from smepulse.methodology import load_methodology
from smepulse.web import survey_ops
from smepulse.web.app import create_app
from smepulse.web.config import WebConfig
from smepulse.web.i18n import t

M = load_methodology("smei")
PERIOD = "2033-01"
WAVE = f"smei-{PERIOD}"
N_FIRMS = 60


@pytest.fixture(scope="module")
def site(backend, request, tmp_path_factory):
    if backend == "duckdb":
        config = WebConfig(store=tmp_path_factory.mktemp("gc") / "smepulse.duckdb", release_charts=False)
    else:
        config = WebConfig(db=pgcluster.fresh_schema(request.getfixturevalue("pg_database")), release_charts=False)
    app = create_app(config)
    db = app.state.db
    firms = pd.DataFrame({"firm_id": [f"G{i:03d}" for i in range(N_FIRMS)],
                          "name": [f"企业 {i}" for i in range(N_FIRMS)], "sector": "manufacturing", "region": "east",
                          "size": "small", "exporter": "no", "weight": "1", "email": ""})
    survey_ops.import_register(db, firms, M, "gc", "test")
    today = datetime.now(UTC).date()
    survey_ops.open_wave(db, M, PERIOD, today - timedelta(days=3), today + timedelta(days=3))
    srv = Server(app).start()
    yield {"url": srv.url, "db": db, "links": dict(db.rows("SELECT firm_id, token FROM invitation")),
           "writer": app.state.respondents}
    srv.stop()
    db.close()


def answers(seed: int) -> dict:
    return {q.id: q.codes[(seed + k) % 3] for k, q in enumerate(M.questions)}


def held_forms(url: str, firms: list[str], links: dict) -> list[tuple[str, str, str, str]]:
    """(firm, token, csrf token, session cookie) per firm: the form loaded as each respondent's browser has it."""
    out = []
    for f in firms:
        with httpx.Client(base_url=url, timeout=30) as c:
            page = c.get(f"/r/{links[f]}", params={"lang": "zh"})
            out.append((f, links[f], re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1),
                        c.cookies.get("smepulse_session")))
    return out


def form(seed: int, action: str = "submit", lang: str = "zh", csrf: str = "", **extra) -> dict:
    return {**answers(seed), "action": action, "lang": lang, "csrf_token": csrf, **extra}


async def _posts_while_held(url: str, spare, sends: list[list[tuple]], gap: float = 0.2) -> list[httpx.Response]:
    """With the store's lock held by the caller: a save of `spare` first (the writer takes it as a batch of its
    own, then waits for the lock), then each group of `sends` (token, form, cookie, JSON wanted), `gap` s apart,
    so that they queue up behind it in that order and are taken together as the next batch."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        def send(tok, data, cookie, as_json=False):
            headers = {"Cookie": f"smepulse_session={cookie}", **({"Accept": "application/json"} if as_json else {})}
            return asyncio.ensure_future(c.post(f"/r/{tok}", data=data, headers=headers))
        _, tok, csrf, cookie = spare
        first = send(tok, form(0, "save", csrf=csrf), cookie)
        tasks = []
        for group in sends:
            await asyncio.sleep(gap)
            tasks += [send(*one) for one in group]
        await first
        return list(await asyncio.gather(*tasks))


def while_held(site, spare, sends) -> list[httpx.Response]:
    """Run _posts_while_held in a thread of its own (a browser test's Playwright may hold the main thread's loop),
    holding the store's lock until every post of `sends` waits in the writer's queue; checks that nobody was
    answered meanwhile."""
    expected = sum(len(group) for group in sends)
    with ThreadPoolExecutor(1) as pool:
        with site["db"].lock:  # the writer cannot begin its transaction
            pending = pool.submit(asyncio.run, _posts_while_held(site["url"], spare, sends))
            deadline = time.monotonic() + 30
            while site["writer"].waiting() < expected and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.2)
            assert site["writer"].waiting() == expected
            assert not pending.done()  # no answer before the commit
        return pending.result(timeout=60)


def stored(db, firms: list[str]) -> tuple:
    marks = ", ".join("?" for _ in firms)
    return (db.rows(f"SELECT count(*), count(DISTINCT firm_id) FROM submission WHERE wave_id = ? AND firm_id IN "
                    f"({marks})", [WAVE, *firms])[0],
            db.rows(f"SELECT count(*) FROM response WHERE period = ? AND firm_id IN ({marks})", [PERIOD, *firms])[0][0],
            db.rows(f"SELECT count(*) FROM answer WHERE period = ? AND firm_id IN ({marks})", [PERIOD, *firms])[0][0])


def test_posts_held_by_the_store_are_answered_only_after_their_one_commit(site):
    """While the store's lock is held nobody is answered and nothing is stored; once it is released, 30
    respondents tapping twice each are stored once each, in one transaction (one received time)."""
    firms = [f"G{i:03d}" for i in range(30)]
    held = held_forms(site["url"], [*firms, "G059"], site["links"])
    sends = [[(tok, form(i, csrf=csrf), cookie) for i, (_, tok, csrf, cookie) in enumerate(held[:-1])
              for _ in range(2)]]
    replies = while_held(site, held[-1], sends)
    assert [r.status_code for r in replies] == [200] * 60
    for first, again in zip(replies[::2], replies[1::2], strict=True):  # one of each pair stored it
        assert sorted([t("thanks", "zh") in first.text, t("thanks", "zh") in again.text]) == [False, True]
        assert t("already_submitted", "zh") in first.text + again.text
    db = site["db"]
    assert stored(db, firms) == ((30, 30), 30, 30 * len(M.questions))
    assert db.rows("SELECT count(DISTINCT received_at) FROM submission WHERE firm_id IN "
                   f"({', '.join('?' for _ in firms)})", firms) == [(1,)]


def test_a_post_the_store_refuses_fails_alone_and_stores_nothing(site):
    """G030's month has a submission under another link (the store's UNIQUE (wave_id, firm_id) refuses a
    second): in one batch with nine others, those nine are stored once; G030 gets the bilingual try-again page,
    its answers kept in the draft, and nothing of its response stored."""
    firms = [f"G{i:03d}" for i in range(30, 40)]
    held = held_forms(site["url"], [*firms, "G058"], site["links"])
    db = site["db"]
    db.execute("INSERT INTO submission VALUES ('not-a-link', ?, 'G030', 'web', ?, NULL, 'zh', 'phone', 0, '{}')",
               [WAVE, datetime(2033, 1, 2)])
    try:
        sends = [[(tok, form(i, csrf=csrf), cookie) for i, (_, tok, csrf, cookie) in enumerate(held[:-1])]]
        refused, *rest = while_held(site, held[-1], sends)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "2"
        assert t("save_conflict", "zh") in refused.text
        assert [r.status_code for r in rest] == [200] * 9 and all(t("thanks", "zh") in r.text for r in rest)
        assert stored(db, firms[1:]) == ((9, 9), 9, 9 * len(M.questions))
        assert db.rows("SELECT count(*) FROM response WHERE period = ? AND firm_id = 'G030'", [PERIOD]) == [(0,)]
        assert db.rows("SELECT token FROM submission WHERE firm_id = 'G030'") == [("not-a-link",)]
        assert survey_ops.draft(db, site["links"]["G030"])["answers"] == answers(0)
    finally:
        db.execute("DELETE FROM submission WHERE token = 'not-a-link'")


def test_a_save_then_a_submit_in_one_batch_submits_the_saved_answers(site):
    """A block saved (the first half of the answers) and then the submit of the rest, taken in one batch: one
    response with every answer, the save counted in the paradata."""
    firm = "G040"
    (_, token, csrf, cookie), spare = held_forms(site["url"], [firm, "G057"], site["links"])
    given = answers(1)
    names = list(given)
    half = {"action": "save", "lang": "en", "csrf_token": csrf, **{q: given[q] for q in names[:len(names) // 2]}}
    rest = {"action": "submit", "lang": "en", "csrf_token": csrf, **{q: given[q] for q in names[len(names) // 2:]}}
    saved, submitted = while_held(site, spare, [[(token, half, cookie, True)], [(token, rest, cookie, True)]])
    assert saved.json()["saved"] is True
    assert submitted.json() == {"submitted": True, "replayed": False, "message": t("thanks", "en")}
    db = site["db"]
    assert dict(db.rows("SELECT question, answer FROM answer WHERE period = ? AND firm_id = ?", [PERIOD, firm])) \
        == given
    assert db.rows("SELECT saves, lang FROM submission WHERE token = ?", [token]) == [(1, "en")]
    assert db.rows("SELECT count(DISTINCT received_at) FROM submission s JOIN draft d USING (token) WHERE "
                   "s.token = ? AND d.updated_at = s.received_at", [token]) == [(1,)]  # one transaction


def test_an_answer_that_is_none_of_the_codes_is_named_and_nothing_is_submitted(site):
    """sales=bogus: 422 naming it as not one of the choices (not as unanswered), in both languages; the valid
    answers saved in the draft, nothing submitted; the corrected form then submits once."""
    firm = "G041"
    (_, token, csrf, cookie), = held_forms(site["url"], [firm], site["links"])
    bad = {**answers(2), "sales": "bogus", "action": "submit", "csrf_token": csrf}
    with httpx.Client(base_url=site["url"], timeout=30, headers={"Cookie": f"smepulse_session={cookie}"}) as c:
        as_json = c.post(f"/r/{token}", data={**bad, "lang": "en"}, headers={"Accept": "application/json"})
        page = c.post(f"/r/{token}", data={**bad, "lang": "zh"})
        db = site["db"]
        assert as_json.status_code == 422 and as_json.json() == {
            "submitted": False, "missing": [], "invalid": ["sales"], "message": t("answers_not_codes", "en")}
        assert page.status_code == 422 and t("answers_not_codes", "zh") in page.text
        assert re.search(r'id="err-sales">' + re.escape(t("not_a_code", "zh")), page.text)
        assert 'id="err-' not in page.text.replace('id="err-sales"', "")  # only sales is marked
        assert stored(db, [firm]) == ((0, 0), 0, 0)
        assert survey_ops.draft(db, token)["answers"] == {q: a for q, a in answers(2).items() if q != "sales"}
        done = c.post(f"/r/{token}", data={**bad, "sales": answers(2)["sales"], "lang": "en"},
                      headers={"Accept": "application/json"})
    assert done.json()["submitted"] is True and stored(db, [firm]) == ((1, 1), 1, len(M.questions))


@pytest.mark.backends("postgresql")  # two servers on one store: a DuckDB file takes one process
def test_a_double_tap_across_two_servers_is_stored_once_and_answered_already_submitted(site):
    """Behind a load balancer a respondent's two taps reach two servers at once: the claim row makes the later
    writer wait for the earlier one's commit and then see its submission, so one tap is thanked and the other
    gets the friendly "already submitted" page (200, not an error); one response stored."""
    other = create_app(WebConfig(db=site["db"].target, release_charts=False))
    srv = Server(other).start()
    try:
        firms = [f"G{i:03d}" for i in range(42, 50)]
        held = held_forms(site["url"], firms, site["links"])  # the session cookie and CSRF token of server one

        async def both(tok, csrf, cookie, seed):
            headers = {"Cookie": f"smepulse_session={cookie}"}
            async with httpx.AsyncClient(timeout=60) as c:
                return await asyncio.gather(*(c.post(f"{url}/r/{tok}", data=form(seed, csrf=csrf), headers=headers)
                                              for url in (site["url"], srv.url)))
        for seed, (_, tok, csrf, cookie) in enumerate(held):
            with ThreadPoolExecutor(1) as pool:  # a loop of its own (a browser test's Playwright may hold this one)
                replies = pool.submit(asyncio.run, both(tok, csrf, cookie, seed)).result(60)
            assert [r.status_code for r in replies] == [200, 200], [r.text[:200] for r in replies]
            said = sorted(("thanks" if t("thanks", "zh") in r.text else
                           "already" if t("already_submitted", "zh") in r.text else r.text[:100]) for r in replies)
            assert said == ["already", "thanks"]
    finally:
        srv.stop()
        other.state.db.close()
    assert stored(site["db"], firms) == ((8, 8), 8, 8 * len(M.questions))


@pytest.mark.backends("postgresql")  # DuckDB refuses a conflicting writer at once (tests/web/test_respond_conflict.py)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_submit_behind_a_long_import_is_answered_503_in_about_two_seconds_not_left_hanging(site, lang):
    """An import holds the claim row every response write takes (store.claim_response_writes) for its whole
    length: the submit waits CLAIM_WAIT for it, then gets the try-again page in its language with Retry-After,
    nothing stored and its answers kept in the draft; once the import is done the same tap goes through."""
    firm = {"zh": "G051", "en": "G052"}[lang]
    (_, tok, csrf, cookie), = held_forms(site["url"], [firm], site["links"])
    headers = {"Cookie": f"smepulse_session={cookie}"}
    holder = psycopg.connect(site["db"].target)  # the CLI's import, in progress
    holder.execute("UPDATE meta SET value = 'cli-import' WHERE key = 'responses_written'")
    try:
        with httpx.Client(base_url=site["url"], timeout=60) as c:
            t0 = time.monotonic()
            r = c.post(f"/r/{tok}", data=form(7, lang=lang, csrf=csrf), headers=headers)
            took = time.monotonic() - t0
            as_json = c.post(f"/r/{tok}", data=form(7, lang=lang, csrf=csrf),
                             headers={**headers, "Accept": "application/json"})
    finally:
        holder.rollback()
        holder.close()
    assert r.status_code == 503 and r.headers["retry-after"] == "2" and t("save_conflict", lang) in r.text
    assert 1.5 < took < 10, took
    assert as_json.status_code == 503 and as_json.json()["reason"] == "conflict" and as_json.json()["draft_kept"]
    db = site["db"]
    assert stored(db, [firm]) == ((0, 0), 0, 0)
    assert survey_ops.draft(db, tok)["answers"] == answers(7)
    with httpx.Client(base_url=site["url"], timeout=60) as c:
        again = c.post(f"/r/{tok}", data=form(7, lang=lang, csrf=csrf), headers=headers)
    assert again.status_code == 200 and t("thanks", lang) in again.text
    assert stored(db, [firm]) == ((1, 1), 1, len(M.questions))
