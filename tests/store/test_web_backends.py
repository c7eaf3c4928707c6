"""The web app on both backends, with the same assertions: `/healthz`, the series API against the store, and
the write path (sign in, panel, wave, 100 respondents submitting at once, close, publish) over real HTTP."""
from __future__ import annotations

import asyncio
import csv
import io
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest

import pgcluster
from live_server import Server
from smepulse.methodology import load_methodology
from smepulse.pipeline.publish import publish
from smepulse.sim.survey import simulate_survey
from smepulse.store import open_store
from smepulse.survey.responses import from_frame
from smepulse.web.app import create_app
from smepulse.web.auth import add_user
from smepulse.web.config import WebConfig

M = load_methodology("smei")
ADMIN = ("admin", "correct horse battery")
PERIOD = "2025-03"
N_FIRMS = 120


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def site(request, tmp_path_factory):
    """A store with 14 published months on one backend, and `smepulse serve`'s app over it on a loopback port."""
    if request.param == "duckdb":
        target = str(tmp_path_factory.mktemp("web-duckdb") / "smepulse.duckdb")
    else:
        target = pgcluster.fresh_schema(request.getfixturevalue("pg_database"))
    sample = simulate_survey(n_firms=120, n_months=14, start="2024-01", seed=3)
    with open_store(target) as st:
        st.save_methodology(M)
        st.import_responses(from_frame(sample.responses, M, source="simulator"))
        published = publish(st, M, kind="final", as_of=datetime(2025, 3, 25), seasonal=False, replicates=20)
    config = WebConfig(db=target, release_charts=False) if request.param == "postgresql" else \
        WebConfig(store=target, release_charts=False)
    app = create_app(config)
    add_user(app.state.db, *ADMIN, role="admin")
    server = Server(app).start()
    yield {"url": server.url, "app": app, "published": published, "backend": request.param}
    server.stop()
    app.state.db.close()


def test_healthz(site):
    r = httpx.get(f"{site['url']}/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_series_api_returns_what_was_published(site):
    rows = httpx.get(f"{site['url']}/api/v1/series", params={"series": "headline", "group": "all"}).json()
    s = site["published"].result.series
    want = s[(s["series"] == "headline") & (s["group"] == "all")]
    assert len(rows) == len(want) and {r["vintage"] for r in rows} == {site["published"].vintage_id}
    by_key = {(r["period"], r["adjustment"]): r for r in rows}
    for _, w in want.iterrows():
        got = by_key[(w["period"], w["adjustment"])]
        assert got["value"] == pytest.approx(w["value"], rel=1e-12) and got["n"] == w["n"]
        assert got["se"] == pytest.approx(w["se"], rel=1e-12) and got["kind"] == "final"
        assert got["as_of"].startswith("2025-03-25")


def _register() -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["firm_id", "name", "sector", "region", "size", "exporter", "weight", "email"])
    sectors, sizes = M.classifications["sector"].values, M.classifications["size"].values
    regions = M.classifications["region"].values
    for i in range(N_FIRMS):
        region = regions[(i // len(sectors)) % len(regions)]  # independent of the sector
        w.writerow([f"P{i:04d}", f"Firm {i} 100% <b>", sectors[i % len(sectors)], region,
                    sizes[i % 3], ["yes", "no"][i % 2], 1 + (i % 4) / 2, f"p{i}@example.com"])
    return buf.getvalue().encode()


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def _respond(url: str, token: str, seed: int) -> int:
    async with httpx.AsyncClient(base_url=url, timeout=120) as c:
        page = await c.get(f"/r/{token}")
        data = {**{q.id: q.codes[(seed + k) % 3] for k, q in enumerate(M.questions)}, "action": "submit",
                "lang": "en", "csrf_token": _csrf(page.text)}
        first, again = await asyncio.gather(c.post(f"/r/{token}", data=data), c.post(f"/r/{token}", data=data))
        return first.status_code * 1000 + again.status_code


def test_survey_cycle_writes_once_and_publishes(site):
    url, db = site["url"], site["app"].state.db
    with httpx.Client(base_url=url, timeout=120) as admin:
        token = _csrf(admin.get("/signin").text)
        r = admin.post("/signin", data={"username": ADMIN[0], "password": ADMIN[1], "next": "/admin",
                                        "csrf_token": token})
        assert r.status_code == 303, r.text
        csrf = _csrf(admin.get("/admin").text)
        r = admin.post("/admin/panel/import", files={"register": ("register.csv", _register(), "text/csv")},
                       data={"csrf_token": csrf})
        assert r.status_code == 303 and f"added+{N_FIRMS}" in r.headers["location"], r.headers
        today = datetime.now(UTC).date()  # fieldwork around today: answers are taken only within its dates
        r = admin.post("/admin/waves", data={"period": PERIOD, "opens": str(today - timedelta(days=7)),
                                             "closes": str(today + timedelta(days=7)), "csrf_token": csrf})
        assert r.status_code == 303, r.text
        links = list(csv.DictReader(io.StringIO(admin.get(f"/admin/waves/smei-{PERIOD}/links.csv").text)))
        assert len(links) == N_FIRMS
        answering = links[:100]
        tokens = [row["link"].rsplit("/", 1)[1] for row in answering]

        async def everyone():
            return await asyncio.gather(*(_respond(url, t, i) for i, t in enumerate(tokens)))

        with ThreadPoolExecutor(1) as pool:  # a loop of its own (a browser test may hold the main thread's)
            codes = pool.submit(asyncio.run, everyone()).result()
        assert set(codes) == {200200}  # each respondent posted twice at once: both answered, one stored
        ids = [row["firm_id"] for row in answering]
        marks = ", ".join("?" for _ in ids)
        assert db.rows(f"SELECT count(*), count(DISTINCT firm_id) FROM submission WHERE firm_id IN ({marks})",
                       ids) == [(100, 100)]
        assert db.rows(f"SELECT count(*) FROM response WHERE period = ? AND firm_id IN ({marks})",
                       [PERIOD, *ids]) == [(100,)]
        assert db.rows("SELECT count(*) FROM answer WHERE period = ?", [PERIOD]) == [(100 * len(M.questions),)]
        rate = admin.get(f"/api/v1/admin/waves/smei-{PERIOD}/rate").json()
        assert rate["invited"] == N_FIRMS and rate["answered"] == 100
        assert admin.post(f"/admin/waves/smei-{PERIOD}/close", data={"csrf_token": csrf}).status_code == 303
        r = admin.post(f"/admin/waves/smei-{PERIOD}/publish", data={"kind": "final", "replicates": "0",
                                                                     "csrf_token": csrf})
        assert r.status_code == 303 and "published" in r.headers["location"], r.headers["location"]
    rows = httpx.get(f"{url}/api/v1/series", params={"series": "headline", "group": "all",
                                                     "adjustment": "nsa"}).json()
    march = [x for x in rows if x["period"] == PERIOD]
    assert len(march) == 1 and march[0]["n"] == 100 and march[0]["vintage"] != site["published"].vintage_id
