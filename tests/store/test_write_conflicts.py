"""Two writers of the same thing at the same moment, on a real PostgreSQL server (and, for publishing, on the
embedded default too): exactly one wins, the other gets the documented answer, nothing is half-stored.

- a web submit and a CLI-style import (the store API, another connection) of the same firm-month, each way round:
  PostgreSQL makes the later writer wait on the row every response write claims (`meta.responses_written`) until
  the first commits; then the later one sees the first's response and refuses whole (409 "answers on file" for the
  respondent; StoreError "responses already in the store ... nothing was imported" for the import).
  (DuckDB refuses the later writer at once instead and the app retries: tests/web/test_respond_conflict.py.)
- opening the store (every CLI command, every admin publish) does not wait for a writer in progress.
- two admin publishes of the same wave (on PostgreSQL through two servers on one database): one stores a vintage,
  the other is refused at once with a message (survey_admin.one_publish); a publish afterwards works again.

The moments are made, not hoped for: each test waits until the server reports the later writer waiting on a lock
(pg_stat_activity) or the first publish holding its claim, before it lets the first writer finish."""
from __future__ import annotations

import csv
import io
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pandas as pd
import psycopg
import pytest

import pgcluster
from live_server import Server
from smepulse.errors import StoreError
from smepulse.methodology import load_methodology
from smepulse.sim.survey import simulate_survey
from smepulse.store import open_store
from smepulse.survey.responses import from_frame
from smepulse.web import survey_admin, survey_ops
from smepulse.web.app import create_app
from smepulse.web.auth import add_user
from smepulse.web.config import WebConfig
from smepulse.web.db import Database
from smepulse.web.i18n import t

M = load_methodology("smei")
ADMIN = ("admin", "correct horse battery")
PERIOD = "2025-04"  # the simulated months are 2025-01..03; the web wave is the next month
WAVE = f"smei-{PERIOD}"
FIRMS = [f"K{i:04d}" for i in range(6)]
TODAY = datetime.now(UTC).date()


def build(target: str) -> tuple[Database, dict, pd.DataFrame]:
    """A store with three simulated months, six panel firms and the wave of the fourth month open today."""
    sample = simulate_survey(n_firms=60, n_months=3, start="2025-01", seed=11).responses
    with open_store(target) as st:
        st.save_methodology(M)
        st.import_responses(from_frame(sample, M, source="simulator"))
    db = Database(target)
    add_user(db, *ADMIN, role="admin")
    firms = pd.DataFrame({"firm_id": FIRMS, "name": [f"Firm {f}" for f in FIRMS], "sector": "manufacturing",
                          "region": "east", "size": "small", "exporter": "no", "weight": "1", "email": ""})
    survey_ops.import_register(db, firms, M, "conflicts", "test")
    survey_ops.open_wave(db, M, PERIOD, TODAY - timedelta(days=3), TODAY + timedelta(days=3))
    links = dict(db.rows("SELECT firm_id, token FROM invitation WHERE wave_id = ?", [WAVE]))
    return db, links, sample


class Site:
    """`smepulse serve`'s app over `target` on a loopback port; over a store it builds, or (`built=False`) a second
    server over a store another Site built."""

    def __init__(self, target: str, built: bool = False):
        self.target = target
        if built:
            self.db = Database(target)
        else:
            self.db, self.links, self.sample = build(target)
        self.app = create_app(WebConfig(store=target, release_charts=False), db=self.db)
        self.server = Server(self.app).start()
        self.url = self.server.url

    def close(self) -> None:
        self.server.stop()
        self.db.close()


@pytest.fixture(scope="module")
def pg_site(pg_database):
    site = Site(pgcluster.fresh_schema(pg_database))
    yield site
    site.close()


def paper_responses(sample: pd.DataFrame, firms: list[str]) -> pd.DataFrame:
    """A responses file as the CLI imports it: these panel firms' answers for the wave's month."""
    rows = sample[sample["period"] == "2025-03"].head(len(firms)).copy()
    rows["firm_id"], rows["period"] = firms, PERIOD
    return rows


def answers() -> dict:
    return {q.id: q.codes[k % 3] for k, q in enumerate(M.questions)}


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def peek(url: str, query: str, params: list | None = None) -> list[tuple]:
    """A look at the store on a connection of its own (the app's connection may be waiting on a lock)."""
    with psycopg.connect(url, autocommit=True) as con:
        return con.execute(query, params or []).fetchall()


def wait_for_lock_waiters(url: str, n: int, timeout: float = 30) -> None:
    """Until `n` sessions of this database wait on a lock (the later writers have reached the contended row)."""
    deadline = time.monotonic() + timeout
    while True:
        got = peek(url, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                        "wait_event_type = 'Lock'")[0][0]
        if got >= n:
            return
        assert time.monotonic() < deadline, f"{got} session(s) waiting on a lock, expected {n}"
        time.sleep(0.02)


def firm_month(url: str, firm: str) -> tuple:
    """(responses with their import ids, answers, web submissions) of the firm for the wave's month."""
    return (peek(url, "SELECT import_id FROM response WHERE period = %s AND firm_id = %s", [PERIOD, firm]),
            peek(url, "SELECT count(*) FROM answer WHERE period = %s AND firm_id = %s", [PERIOD, firm])[0][0],
            peek(url, "SELECT count(*) FROM submission WHERE firm_id = %s", [firm])[0][0])


def test_a_submit_during_an_open_import_of_the_same_firm_month_waits_then_finds_it_on_file(pg_site):
    site, firm = pg_site, FIRMS[1]
    paper = paper_responses(site.sample, [firm])
    file = from_frame(paper, M, source="paper.csv")
    imported, finish = threading.Event(), threading.Event()

    def cli_import() -> str:
        with open_store(site.target) as st, st.transaction():  # the import, held open before its commit
            import_id = st.import_responses(file)
            imported.set()
            finish.wait(30)
        return import_id

    with httpx.Client(base_url=site.url, timeout=60) as c, ThreadPoolExecutor(2) as pool:
        page = c.get(f"/r/{site.links[firm]}", params={"lang": "en"})
        importing = pool.submit(cli_import)
        assert imported.wait(30)
        posted = pool.submit(c.post, f"/r/{site.links[firm]}", headers={"Accept": "application/json"},
                             data={**answers(), "action": "submit", "lang": "en", "csrf_token": csrf(page.text)})
        wait_for_lock_waiters(site.target, 1)  # the submit waits for the import's claim on response writes
        assert not posted.done()
        finish.set()
        import_id = importing.result(30)
        r = posted.result(60)
    assert r.status_code == 409 and r.json() == {"submitted": False, "reason": "answers_on_file",
                                                 "message": t("answers_on_file", "en")}
    given = int(paper[[q.id for q in M.questions]].notna().sum().sum())
    assert firm_month(site.target, firm) == ([(import_id,)], given, 0)  # the import's response only


def test_an_import_during_an_open_submit_of_the_same_firm_month_waits_then_refuses_whole(pg_site):
    """The import carries two firms; the submit of one of them commits first: the import stores neither."""
    site, firm, other = pg_site, FIRMS[2], FIRMS[3]
    file = from_frame(paper_responses(site.sample, [other, firm]), M, source="paper.csv")
    logs = peek(site.target, "SELECT count(*) FROM import_log")[0][0]
    holder = psycopg.connect(site.target)  # holds the wave's import_log row, which a submit writes last
    holder.execute("SELECT 1 FROM import_log WHERE import_id = %s FOR UPDATE", [f"web-{WAVE}"])

    def cli_import() -> str:
        with open_store(site.target) as st:
            return st.import_responses(file)

    try:
        with httpx.Client(base_url=site.url, timeout=60) as c, ThreadPoolExecutor(2) as pool:
            page = c.get(f"/r/{site.links[firm]}", params={"lang": "zh"})
            posted = pool.submit(c.post, f"/r/{site.links[firm]}", data={
                **answers(), "action": "submit", "lang": "zh", "csrf_token": csrf(page.text)})
            wait_for_lock_waiters(site.target, 1)  # the submit has written its rows and waits at its last one
            importing = pool.submit(cli_import)
            wait_for_lock_waiters(site.target, 2)  # the import waits for the submit's claim
            holder.rollback()
            r = posted.result(60)
            with pytest.raises(StoreError, match=rf"paper\.csv: responses already in the store \(row 2: firm "
                                                 rf"'{firm}' {PERIOD}\); nothing was imported"):
                importing.result(60)
    finally:
        holder.close()
    assert r.status_code == 200 and t("thanks", "zh") in r.text
    assert firm_month(site.target, firm) == ([(f"web-{WAVE}",)], len(M.questions), 1)
    assert firm_month(site.target, other) == ([], 0, 0)  # all or nothing: the other firm's row is not stored
    assert peek(site.target, "SELECT count(*) FROM import_log")[0][0] == logs


def test_opening_the_store_does_not_wait_for_a_writer_in_progress(pg_site):
    """A response written and not yet committed (a submit, an import): a CLI command opening the store, a second
    server starting on it and an admin publish's own connection all open at once (they ran DDL that waited)."""
    site = pg_site
    holder = psycopg.connect(site.target)
    holder.execute("INSERT INTO response VALUES (nextval('response_id_seq'), 'smei', '2031-01', 'Z1', 1.0, NULL, "
                   "'held')")
    holder.execute("SELECT 1 FROM answer LIMIT 1")  # a reader of the views as well

    def opens() -> float:
        start = time.monotonic()
        open_store(site.target).close()
        Database(site.target).close()
        with site.db.private_store():
            pass
        return time.monotonic() - start

    pool = ThreadPoolExecutor(1)
    try:
        took = pool.submit(opens).result(20)  # a wait here would last until the rollback below: a TimeoutError
    finally:
        holder.rollback()
        holder.close()
        pool.shutdown()
    assert took < 10, took


# -------------------------------------------------------------------------------------------------- publishing

@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def publishers(request, tmp_path_factory):
    """Two admin sessions able to publish the wave: on PostgreSQL through two servers on one database (two
    processes' worth of connections), on DuckDB through the one server that holds the file."""
    if request.param == "duckdb":
        target = str(tmp_path_factory.mktemp("publish") / "store.duckdb")
    else:
        target = pgcluster.fresh_schema(request.getfixturevalue("pg_database"))
    first = Site(target)
    second = Site(target, built=True) if request.param == "postgresql" else first
    clients = []
    for site in (first, second):
        c = httpx.Client(base_url=site.url, timeout=120)
        r = c.post("/signin", data={"username": ADMIN[0], "password": ADMIN[1], "next": "/admin",
                                    "csrf_token": csrf(c.get("/signin").text)})
        assert r.status_code == 303, r.text
        c.csrf = csrf(c.get("/admin").text)
        clients.append(c)
    yield {"backend": request.param, "target": target, "db": first.db, "clients": clients}
    for c in clients:
        c.close()
    if second is not first:
        second.close()
    first.close()


def claimed(p: dict) -> bool:
    """Whether a publish of the wave holds its claim right now."""
    if p["backend"] == "postgresql":
        return bool(peek(p["target"], "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                                      "classid = %s", [survey_admin.PUBLISH_LOCK])[0][0])
    return any(wave == WAVE for _, wave in survey_admin._publishing)


def test_two_publishes_of_one_wave_at_once_store_one_vintage_and_refuse_the_other(publishers):
    p = publishers
    a, b = p["clients"]
    vintages = p["db"].rows("SELECT count(*) FROM vintage")[0][0]
    form = {"kind": "final", "replicates": "400", "frame": "design"}
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(a.post, f"/admin/waves/{WAVE}/publish", data={**form, "csrf_token": a.csrf})
        deadline = time.monotonic() + 60
        while not claimed(p):
            assert not first.done(), f"the first publish ended before it was seen running: {first.result()}"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        second = b.post(f"/admin/waves/{WAVE}/publish", data={**form, "csrf_token": b.csrf})
        assert not first.done()  # refused at once, not queued behind the first
        won = first.result(120)
    assert "published" in won.headers["location"], won.headers["location"]
    assert second.status_code == 303 and "error=" in second.headers["location"], second.headers["location"]
    shown = b.get(second.headers["location"] + "&lang=en").text
    assert f"wave {WAVE} is being published by another request right now; nothing was published" in shown
    assert p["db"].rows("SELECT count(*) FROM vintage")[0][0] == vintages + 1
    assert not claimed(p)  # let go when the publish ended
    again = b.post(f"/admin/waves/{WAVE}/publish", data={**form, "replicates": "0", "csrf_token": b.csrf})
    assert "published" in again.headers["location"], again.headers["location"]
    assert p["db"].rows("SELECT count(*) FROM vintage")[0][0] == vintages + 2
    rows = list(csv.DictReader(io.StringIO(b.get("/api/v1/series.csv", params={"series": "headline"}).text)))
    assert rows and {r["period"] for r in rows} >= {"2025-01", "2025-03"}
