"""Panel, waves, the respondent form and publishing, over real HTTP.

Each state these tests need comes from a module fixture on a server of its own (a copy of the session's store),
never from a test that ran before, so they pass in any order and on any xdist worker; and the session's shared
server (portal, auth, browser tests) never sees this module's panel, waves or vintages:
- `wave_links`: a wave open for 230 firms, nobody has answered (tests answer distinct firms of their own);
- `mail_wave`: a wave of 40 firms of which 3 answered (the mailing rules);
- `answered` / `published`: 201 answered (200 of them at once), then closed and published."""
from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import duckdb
import httpx
import psycopg
import pytest

from smepulse.errors import InputError
from smepulse.methodology import load_methodology
from smepulse.web import survey_ops
from smepulse.web.db import Database
from smepulse.web.mail import load_smtp

M = load_methodology("smei")
SECTORS = M.classifications["sector"].values
SIZES = M.classifications["size"].values
REGIONS = M.classifications["region"].values  # every region among the answers: weighting to targets works
N_FIRMS = 230
N_MAIL = 40
PERIOD = "2025-03"


def fieldwork() -> dict:
    """Fieldwork dates around today: links take answers only while fieldwork runs."""
    today = datetime.now(UTC).date()
    return {"opens": str(today - timedelta(days=7)), "closes": str(today + timedelta(days=7))}


def register_csv(n: int = N_FIRMS) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["firm_id", "name", "sector", "region", "size", "exporter", "weight", "email"])
    for i in range(n):
        name = {0: "<script>alert(1)</script> Ltd", 4: '=HYPERLINK("http://evil.example")'}.get(i, f"Firm {i}")
        w.writerow([f"W{i:04d}", name, SECTORS[i % len(SECTORS)], REGIONS[(i // len(SECTORS)) % len(REGIONS)],
                    SIZES[i % 3], ["yes", "no"][i % 2], 1 + (i % 4) / 2, "" if i == 6 else f"f{i}@example.com"])
    return buf.getvalue().encode()


def full_answers(seed: int = 0) -> dict:
    return {q.id: q.codes[(seed + k) % 3] for k, q in enumerate(M.questions)}


@contextmanager
def signed_in(server, web) -> Iterator[httpx.Client]:
    """An admin's HTTP session; `.csrf` is its form token."""
    with httpx.Client(base_url=server.url, timeout=60) as c:
        c.csrf = web.sign_in(c)
        yield c


def open_wave(admin: httpx.Client, n: int) -> list[dict]:
    """Import an n-firm register, open the wave, return its links."""
    r = admin.post("/admin/panel/import", files={"register": ("register.csv", register_csv(n), "text/csv")},
                   data={"csrf_token": admin.csrf})
    assert r.status_code == 303 and f"added={n}" in r.headers["location"], r.headers
    r = admin.post("/admin/waves", data={"period": PERIOD, **fieldwork(), "csrf_token": admin.csrf})
    assert r.status_code == 303, r.text
    text = admin.get(f"/admin/waves/smei-{PERIOD}/links.csv").text
    return list(csv.DictReader(io.StringIO(text)))


def submit(url: str, token: str, seed: int) -> None:
    with httpx.Client(base_url=url, timeout=60) as c:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get(f"/r/{token}").text).group(1)
        r = c.post(f"/r/{token}", data={**full_answers(seed), "action": "submit", "lang": "en", "csrf_token": csrf})
        assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def server(own_server):
    """This module's server (the name shadows the session's shared one on purpose)."""
    with own_server() as srv:
        yield srv


@pytest.fixture(scope="module")
def admin(server, web):
    with signed_in(server, web) as c:
        yield c


@pytest.fixture(scope="module")
def wave_links(admin):
    return open_wave(admin, N_FIRMS)


def token_of(row: dict) -> str:
    return row["link"].rsplit("/", 1)[1]


def test_links_are_one_per_firm_and_unguessable(wave_links):
    assert len(wave_links) == N_FIRMS
    tokens = [token_of(r) for r in wave_links]
    assert len(set(tokens)) == N_FIRMS and all(len(t) >= 32 for t in tokens)


def test_firm_names_are_escaped_on_the_admin_page(admin, wave_links):
    page = admin.get("/admin/panel").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_viewer_cannot_write(server, web, wave_links):
    with httpx.Client(base_url=server.url) as c:
        token = web.sign_in(c, web.VIEWER)
        r = c.post("/admin/panel/retire", data={"firm_id": "W0001", "reason": "x", "csrf_token": token})
        assert r.status_code == 403


def test_write_without_sign_in_is_refused(server, wave_links):
    with httpx.Client(base_url=server.url) as c:
        r = c.post(f"/admin/waves/smei-{PERIOD}/close", data={})
        assert r.status_code in (303, 401, 403)
        assert c.get(f"/admin/waves/smei-{PERIOD}/links.csv").status_code == 303


def _form_token(c: httpx.Client, token: str, lang: str = "zh") -> str:
    page = c.get(f"/r/{token}", params={"lang": lang})
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_respondent_saves_resumes_switches_and_submits_once(server, wave_links):
    token = token_of(wave_links[1])
    answers = full_answers(1)
    perf = {q: a for q, a in answers.items() if M.question(q).block == "performance"}
    with httpx.Client(base_url=server.url) as c:
        csrf = _form_token(c, token)
        r = c.post(f"/r/{token}", data={**perf, "action": "save", "block": "performance", "lang": "zh",
                                        "csrf_token": csrf}, headers={"Accept": "application/json"})
        assert r.json()["saved"] and r.json()["message"] == "已保存。"
    with httpx.Client(base_url=server.url) as other_device:  # a new session resumes from the link
        page = other_device.get(f"/r/{token}", params={"lang": "en"}).text
        assert page.count("checked") == len(perf) and "Firm 1" in page and "Firm 2" not in page
        csrf = _form_token(other_device, token, "en")
        r = other_device.post(f"/r/{token}", data={"action": "submit", "lang": "en", "csrf_token": csrf})
        assert r.status_code == 422 and "Please choose an answer." in r.text
        assert r.text.count("checked") == len(perf)  # errors shown, answers kept
        db = server.app.state.db
        assert not db.rows("SELECT 1 FROM response WHERE firm_id = 'W0001'")  # nothing half-stored
        r = other_device.post(f"/r/{token}", data={**answers, "action": "lang-zh", "lang": "en",
                                                   "csrf_token": csrf})
        assert r.status_code == 303
        page = other_device.get(r.headers["location"]).text
        assert "本月与上月相比" in page and page.count("checked") == len(answers)
        for _ in range(2):  # a double tap
            r = other_device.post(f"/r/{token}", data={**answers, "action": "submit", "lang": "zh",
                                                       "csrf_token": csrf})
            assert r.status_code == 200
        assert "谢谢" in other_device.get(f"/r/{token}").text or "已提交" in other_device.get(f"/r/{token}").text
    rows = db.rows("SELECT r.import_id, l.source, r.response_date IS NOT NULL FROM response r JOIN import_log l "
                   "USING (import_id) WHERE r.firm_id = 'W0001' AND r.period = ?", [PERIOD])
    assert rows == [(f"web-smei-{PERIOD}", "web", True)]
    got = dict(db.rows("SELECT question, answer FROM answer WHERE firm_id = 'W0001' AND period = ?", [PERIOD]))
    assert got == answers
    para = db.rows("SELECT lang, saves, block_seconds FROM submission WHERE firm_id = 'W0001'")
    assert para[0][0] == "zh" and para[0][1] >= 2 and "performance" in para[0][2]


def test_bad_tokens_and_csrf(server, wave_links):
    with httpx.Client(base_url=server.url) as c:
        assert c.get("/r/not-a-real-token").status_code == 404
        token = token_of(wave_links[2])
        _form_token(c, token)
        r = c.post(f"/r/{token}", data={**full_answers(), "action": "submit"})
        assert r.status_code == 403  # no CSRF token
        assert not server.app.state.db.rows("SELECT 1 FROM submission WHERE firm_id = 'W0002'")


def test_out_of_scale_answers_are_not_stored(server, wave_links):
    token = token_of(wave_links[3])
    with httpx.Client(base_url=server.url) as c:
        csrf = _form_token(c, token)
        bad = {**full_answers(), "sales": "massively up"}
        r = c.post(f"/r/{token}", data={**bad, "action": "submit", "csrf_token": csrf, "lang": "en"})
        assert r.status_code == 422 and 'id="err-sales"' in r.text


async def _respond(url: str, token: str, seed: int) -> int:
    async with httpx.AsyncClient(base_url=url, timeout=120) as c:
        page = await c.get(f"/r/{token}")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        data = {**full_answers(seed), "action": "submit", "lang": "en", "csrf_token": csrf}
        first, again = await asyncio.gather(c.post(f"/r/{token}", data=data), c.post(f"/r/{token}", data=data))
        return first.status_code * 1000 + again.status_code


@pytest.fixture(scope="module")
def answered(own_server, web):
    """A server whose wave has 201 answers: W0001 (full_answers(1)) and W0010-W0209 all at once, each twice."""
    with own_server() as srv, signed_in(srv, web) as admin:
        admin.srv = srv
        admin.links = open_wave(admin, N_FIRMS)
        submit(srv.url, token_of(admin.links[1]), 1)
        tokens = [token_of(r) for r in admin.links[10:210]]

        async def main():
            return await asyncio.gather(*(_respond(srv.url, t, i) for i, t in enumerate(tokens)))

        # in a thread of its own: a browser test's Playwright keeps an event loop running in the main thread
        with ThreadPoolExecutor(1) as pool:
            admin.codes = pool.submit(asyncio.run, main()).result()
        yield admin


@pytest.fixture(scope="module")
def published(answered):
    """`answered`, then: the rate read, the wave closed, a final published (the admin's forms)."""
    a = answered
    a.rate = a.get(f"/api/v1/admin/waves/smei-{PERIOD}/rate").json()
    a.closed = a.post(f"/admin/waves/smei-{PERIOD}/close", data={"csrf_token": a.csrf})
    a.publish = a.post(f"/admin/waves/smei-{PERIOD}/publish", data={"kind": "final", "replicates": "20",
                                                                    "csrf_token": a.csrf})
    return a


def test_200_concurrent_submissions_are_stored_exactly_once(answered):
    assert set(answered.codes) == {200200}
    db = answered.srv.app.state.db
    ids = [r["firm_id"] for r in answered.links[10:210]]
    n = db.rows("SELECT count(*), count(DISTINCT firm_id) FROM submission WHERE firm_id IN "
                f"({', '.join('?' for _ in ids)})", ids)[0]
    assert n == (200, 200)
    assert db.rows(f"SELECT count(*) FROM response WHERE period = ? AND firm_id IN ({', '.join('?' for _ in ids)})",
                   [PERIOD, *ids])[0][0] == 200


def _links(admin) -> dict:
    text = admin.get(f"/admin/waves/smei-{PERIOD}/links.csv").text
    return {r["firm_id"]: r for r in csv.DictReader(io.StringIO(text))}


def test_links_csv_neutralises_formulas(admin, wave_links):
    raw = admin.get(f"/admin/waves/smei-{PERIOD}/links.csv").text
    assert "'=HYPERLINK" in raw and "\n=HYPERLINK" not in raw and ",=HYPERLINK" not in raw


def test_panel_add_replace_retire_with_a_log(admin, server, wave_links):
    firm = {"name": "New Firm", "sector": SECTORS[0], "region": "east", "size": SIZES[0], "exporter": "no",
            "weight": "1.5", "email": "new@example.com", "csrf_token": admin.csrf}
    r = admin.post("/admin/panel/add", data={**firm, "firm_id": "W9000"})
    assert r.status_code == 303 and "msg=added&firm=W9000" in r.headers["location"], r.headers["location"]
    r = admin.post("/admin/panel/add", data={**firm, "firm_id": "W9000"})
    assert "already+in+the+panel" in r.headers["location"]
    r = admin.post("/admin/panel/add", data={**firm, "firm_id": "W9009", "sector": "mining on mars"})
    assert "error=" in r.headers["location"] and "W9009" not in _links(admin)
    old_token = token_of(_links(admin)["W0225"])
    r = admin.post("/admin/panel/replace", data={**firm, "firm_id": "W9001", "old_id": "W0225",
                                                 "reason": "closed down"})
    assert r.status_code == 303 and "replaced" in r.headers["location"], r.headers["location"]
    r = admin.post("/admin/panel/retire", data={"firm_id": "W0226", "reason": "refuses", "csrf_token": admin.csrf})
    assert "retired" in r.headers["location"]
    links = _links(admin)
    assert {"W9000", "W9001"} <= set(links)  # firms added during fieldwork get a link of the open wave
    assert httpx.get(f"{server.url}/r/{token_of(links['W9000'])}").status_code == 200
    assert httpx.get(f"{server.url}/r/{old_token}").status_code == 404  # a retired firm's link stops working
    log = server.app.state.db.rows("SELECT firm_id, action, reason, other_firm FROM firm_log WHERE firm_id IN "
                                   "('W0225', 'W9001', 'W0226') AND action <> 'add' ORDER BY firm_id, action")
    assert log == [("W0225", "retire", "closed down", "W9001"), ("W0226", "retire", "refuses", ""),
                   ("W9001", "replace", "closed down", "W0225")]
    rate = admin.get(f"/api/v1/admin/waves/smei-{PERIOD}/rate").json()
    assert rate["invited"] == N_FIRMS + 2 - 2  # two in, two out (neither had answered)


@pytest.fixture(scope="module")
def mail_wave(own_server, web):
    """A server whose wave has N_MAIL firms, three of which answered (W0001-W0003); W0006 has no address."""
    with own_server() as srv, signed_in(srv, web) as admin:
        admin.srv = srv
        links = open_wave(admin, N_MAIL)
        for i in (1, 2, 3):
            submit(srv.url, token_of(links[i]), i)
        yield admin


def test_invitations_and_reminders_by_rule(mail_wave, mailbox):
    admin, db = mail_wave, mail_wave.srv.app.state.db
    expected = {t for (t,) in db.rows(
        "SELECT i.token FROM invitation i JOIN firm f USING (firm_id) LEFT JOIN submission s ON s.token = i.token "
        "WHERE i.wave_id = ? AND s.token IS NULL AND f.status = 'active' AND f.email <> ''", [f"smei-{PERIOD}"])}
    assert len(expected) == N_MAIL - 3 - 1  # three answered, W0006 has no address
    by_token = {token_of(r): r for r in _links(admin).values()}
    before = len(mailbox.messages)
    r = admin.post(f"/admin/waves/smei-{PERIOD}/mail", data={"kind": "invitation", "csrf_token": admin.csrf})
    assert f"msg=sent_invitation&sent={len(expected)}&" in r.headers["location"], r.headers["location"]
    got = mailbox.messages[before:]
    tokens = {re.search(r"/r/([A-Za-z0-9_-]+)", m.get_content()).group(1) for m in got}
    assert tokens == expected
    for m in got:  # each mail carries its own firm's link, in both languages
        tok = re.search(r"/r/([A-Za-z0-9_-]+)", m.get_content()).group(1)
        assert m["To"] == by_token[tok]["email"] and "诚邀" in m.get_content() and "Dear" in m.get_content()
    r = admin.post(f"/admin/waves/smei-{PERIOD}/mail", data={"kind": "invitation", "csrf_token": admin.csrf})
    assert "msg=sent_invitation&sent=0&" in r.headers["location"]  # never invited twice
    r = admin.post(f"/admin/waves/smei-{PERIOD}/mail", data={"kind": "reminder", "min_days": "3",
                                                            "csrf_token": admin.csrf})
    assert "msg=sent_reminder&sent=0&" in r.headers["location"]  # too soon after the invitation
    r = admin.post(f"/admin/waves/smei-{PERIOD}/mail", data={"kind": "reminder", "min_days": "0", "max_count": "2",
                                                            "csrf_token": admin.csrf})
    assert f"msg=sent_reminder&sent={len(expected)}&" in r.headers["location"]
    assert "Reminder" in mailbox.messages[-1]["Subject"]
    r = admin.post(f"/admin/waves/smei-{PERIOD}/mail", data={"kind": "reminder", "min_days": "0", "max_count": "2",
                                                            "csrf_token": admin.csrf})
    assert "msg=sent_reminder&sent=0&" in r.headers["location"]  # at most two mails per firm
    assert db.rows("SELECT count(*) FROM mail_log WHERE wave_id = ?", [f"smei-{PERIOD}"])[0][0] == 2 * len(expected)


def test_smtp_settings_errors_are_one_line(tmp_path):
    bad = tmp_path / "smtp.toml"
    bad.write_text('[smtp]\nhost = "x"\nprot = 25\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"smtp.toml: unknown key 'prot'"):
        load_smtp(bad)
    bad.write_text("host = ", encoding="utf-8")
    with pytest.raises(InputError, match="not valid TOML"):
        load_smtp(bad)
    assert load_smtp(None) is None


def test_response_rate_close_and_publish(published):
    a, db = published, published.srv.app.state.db
    answered = db.rows("SELECT count(*) FROM submission WHERE wave_id = ?", [f"smei-{PERIOD}"])[0][0]
    assert answered == 201 and (a.rate["answered"], a.rate["invited"]) == (201, N_FIRMS)
    assert sum(s["answered"] for s in a.rate["strata"]) == answered and a.rate["days"][-1]["cumulative"] == answered
    assert a.closed.status_code == 303
    late = token_of(a.links[220])
    assert httpx.get(f"{a.srv.url}/r/{late}").status_code == 410
    assert a.publish.status_code == 303 and "published" in a.publish.headers["location"], a.publish.headers
    rows = httpx.get(f"{a.srv.url}/api/v1/series", params={"series": "headline"}).json()
    last = [x for x in rows if x["period"] == PERIOD]
    assert last and last[0]["n"] == answered and last[0]["kind"] == "final"


def test_release_commentary_is_escaped(published):
    a = published
    text = 'Rates <b>fell</b> & "credit" eased'
    r = a.post(f"/admin/waves/smei-{PERIOD}/publish", data={"kind": "final", "replicates": "0",
                                                            "commentary_en": text, "csrf_token": a.csrf})
    assert "published" in r.headers["location"], r.headers["location"]
    page = httpx.get(f"{a.srv.url}/release", params={"lang": "en"}, timeout=60).text
    assert "Rates &lt;b&gt;fell&lt;/b&gt; &amp;" in page and "<b>fell</b>" not in page
    assert httpx.get(f"{a.srv.url}/release.json", params={"lang": "zh"}, timeout=60).json()["commentary"] == text


def test_benchmark_page_after_publication(published):
    url = published.srv.url
    token = token_of(published.links[1])  # W0001 answered full_answers(1): sales 'same'
    page = httpx.get(f"{url}/r/{token}", params={"lang": "en"}).text
    assert 'id="benchmark"' in page and "Firm 1" in page
    sector = SECTORS[1 % len(SECTORS)]
    for qid in ("sales", "profit"):
        row = [x for x in httpx.get(f"{url}/api/v1/series", params={
            "series": qid, "group": f"sector={sector}", "adjustment": "nsa"}).json() if x["period"] == PERIOD][0]
        everyone = [x for x in httpx.get(f"{url}/api/v1/series", params={
            "series": qid, "adjustment": "nsa"}).json() if x["period"] == PERIOD][0]
        shown = "–" if row["value"] is None else f"{round(row['value'], 1)}"
        answer = {"up": "Up", "same": "Same", "down": "Down"}[full_answers(1)[qid]]
        assert (f"<td>{M.question(qid).text.en}</td><td>{answer}</td><td>{shown}</td>"
                f"<td>{round(everyone['value'], 1)}</td>") in page
    other = httpx.get(f"{url}/r/{token_of(published.links[225 - 1])}").text  # never answered: nothing shown
    assert 'id="benchmark"' not in other


def test_a_publish_that_fails_midway_stores_nothing(fresh_store):
    """The admin's publish is one transaction: when the store refuses the SA specs (written after the series),
    neither the vintage, nor its series, nor the commentary remain."""
    db = Database(fresh_store)
    try:
        with db.transaction() as con:  # the specs table becomes a view (DISTINCT: not updatable on PostgreSQL
            con.execute("ALTER TABLE sa_spec RENAME TO sa_spec_rows")  # either): inserting into it fails
            con.execute("CREATE VIEW sa_spec AS SELECT DISTINCT * FROM sa_spec_rows")
        before = db.rows("SELECT (SELECT count(*) FROM vintage), (SELECT count(*) FROM series), "
                         "(SELECT count(*) FROM commentary)")
        with pytest.raises((duckdb.Error, psycopg.Error), match="sa_spec"):
            survey_ops.publish_wave(db, M, f"smei-{PERIOD}", seasonal=True, replicates=0,
                                    commentary_en="never shown", user="admin")
        assert db.rows("SELECT (SELECT count(*) FROM vintage), (SELECT count(*) FROM series), "
                       "(SELECT count(*) FROM commentary)") == before
        with db.transaction() as con:  # the store repaired, the same publish stores everything together
            con.execute("DROP VIEW sa_spec")
            con.execute("ALTER TABLE sa_spec_rows RENAME TO sa_spec")
        p = survey_ops.publish_wave(db, M, f"smei-{PERIOD}", seasonal=True, replicates=0,
                                    commentary_en="shown", user="admin")
        got = db.rows("SELECT (SELECT count(*) FROM series WHERE vintage_id = ?), (SELECT count(*) FROM sa_spec "
                      "WHERE vintage_id = ?), (SELECT en FROM commentary WHERE vintage_id = ?)", [p.vintage_id] * 3)
        assert got[0][0] == len(p.result.series) and got[0][1] > 0 and got[0][2] == "shown"
    finally:
        db.close()
