"""Open-loop HTTP benchmark of `smepulse serve` on the embedded default (requests sent at a fixed rate, latency
counted from each request's scheduled send time, so a slow server cannot slow the load down).

    PYTHONPATH=src python bench/web.py [--seconds 10] [--firms 600]

Builds a store in a temporary folder (10 years of simulated answers, published without X-13), a panel and an
open wave, starts `smepulse serve` as its own process on 127.0.0.1 and measures:
  1. a burst of 200 respondents submitting at once: all stored exactly once, every answer within 2 s;
  2. submissions at a sustained 100/s: p50/p99;
  3. the explorer's JSON (/explore.json, headline, all firms, 10 years) at 200/s, and the highest rate with
     p99 under 100 ms; the peer is the same server's /healthz (one query, the framework's floor) at the same rate;
  4. wave close -> published flash -> release page built, over HTTP, for the wave's firms.
The load generator runs on the same machine (httpx, asyncio), so it takes CPU from the server.
"""
from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from smepulse.methodology import load_methodology
from smepulse.pipeline.publish import publish
from smepulse.sim.survey import simulate_survey
from smepulse.store import open_store
from smepulse.survey.responses import from_frame
from smepulse.web import survey_ops
from smepulse.web.auth import add_user
from smepulse.web.db import Database

M = load_methodology("smei")
ADMIN = ("bench", "bench password 1")
PERIOD = "2025-01"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(folder: Path, firms: int) -> Path:
    path = folder / "smepulse.duckdb"
    t = time.perf_counter()
    sample = simulate_survey(n_firms=150, n_months=120, start="2015-01", seed=5)
    with open_store(path) as st:
        st.save_methodology(M)
        st.import_responses(from_frame(sample.responses, M, source="simulator"))
        publish(st, M, kind="final", as_of=datetime(2024, 12, 28), seasonal=False, replicates=20,
                frame="design")  # the methodology's targets start in 2020
    db = Database(path)
    rng = np.random.default_rng(1)
    shares = M.targets_for(PERIOD)
    reg = pd.DataFrame({
        "firm_id": [f"F{i:05d}" for i in range(firms)], "name": [f"Firm {i}" for i in range(firms)],
        "sector": rng.choice(list(shares["sector"]), firms, p=list(shares["sector"].values())),
        "region": rng.choice(list(shares["region"]), firms, p=list(shares["region"].values())),
        "size": rng.choice(M.classifications["size"].values, firms), "exporter": rng.choice(["yes", "no"], firms),
        "weight": "1", "email": ""})
    survey_ops.import_register(db, reg.astype(str), M, "bench", "bench")
    today = datetime.now(UTC).date()  # fieldwork around today: answers are taken only within its dates
    survey_ops.open_wave(db, M, PERIOD, today - timedelta(days=7), today + timedelta(days=7))
    add_user(db, *ADMIN, role="admin")
    db.close()
    print(f"store built in {time.perf_counter() - t:.1f} s: 150 firms x 120 months, panel of {firms}")
    return path


def tokens(path: Path) -> list[str]:
    db = Database(path)
    try:
        return [t for (t,) in db.rows("SELECT token FROM invitation ORDER BY firm_id")]
    finally:
        db.close()


def stored(path: Path) -> tuple[int, int, int]:
    db = Database(path)
    try:
        sub = db.rows("SELECT count(*), count(DISTINCT token) FROM submission")[0]
        resp = db.rows("SELECT count(*) FROM response WHERE period = ?", [PERIOD])[0][0]
        return int(sub[0]), int(sub[1]), int(resp)
    finally:
        db.close()


def no_cookies() -> http.cookiejar.CookieJar:
    """A jar that keeps nothing: each simulated respondent sends its own session cookie."""
    return http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


def client(url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(120, pool=None), cookies=no_cookies(),
                             limits=httpx.Limits(max_connections=400, max_keepalive_connections=400))


async def forms(c: httpx.AsyncClient, toks: list[str]) -> list[tuple[str, str, str]]:
    """(token, session cookie, csrf token) per respondent, as their browsers would hold them."""
    sem = asyncio.Semaphore(20)

    async def one(tok: str):
        async with sem:
            r = await c.get(f"/r/{tok}")
            cookie = re.search(r"smepulse_session=[^;]+", r.headers["set-cookie"]).group(0)
            return tok, cookie, re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    return list(await asyncio.gather(*(one(t) for t in toks)))


def answers(seed: int) -> dict:
    return {q.id: q.codes[(seed + k) % 3] for k, q in enumerate(M.questions)}


async def open_loop(n: int, rate: float | None, send) -> tuple[np.ndarray, list[int]]:
    """n requests, the i-th scheduled at i / rate (all at once when rate is None); latency from the schedule."""
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.05

    async def one(i: int):
        at = t0 + (i / rate if rate else 0.0)
        await asyncio.sleep(max(0.0, at - loop.time()))
        try:
            r = await send(i)
        except httpx.TransportError:  # counted as a failure, not a crash of the benchmark
            return loop.time() - at, 0
        return loop.time() - at, r.status_code
    got = await asyncio.gather(*(one(i) for i in range(n)))
    return np.array([g[0] for g in got]) * 1000, [g[1] for g in got]


def summary(name: str, ms: np.ndarray, codes: list[int], rate) -> dict:
    ok = sum(c == 200 for c in codes)
    shown = "burst" if rate is None else "serial" if rate == 0 else f"{rate:g}/s"
    row = {"test": name, "rate": shown, "n": len(ms), "ok": ok,
           "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
           "max_ms": float(ms.max())}
    row["load"] = os.getloadavg()[0]
    print(f"load {row['load']:4.1f} {name:30s} {row['rate']:>7s} n={row['n']:5d} ok={ok:5d} "
          f"p50={row['p50_ms']:7.1f} ms p99={row['p99_ms']:7.1f} ms max={row['max_ms']:7.1f} ms")
    return row


async def submits(url: str, held: list[tuple[str, str, str]], rate, label: str, offset: int) -> dict:
    async with client(url) as c:
        def send(i: int):
            tok, cookie, csrf = held[i]
            return c.post(f"/r/{tok}", data={**answers(offset + i), "action": "submit", "lang": "zh",
                                             "csrf_token": csrf}, headers={"Cookie": cookie})
        ms, codes = await open_loop(len(held), rate, send)
    return summary(label, ms, codes, rate)


async def reads(url: str, path: str, rate: float, seconds: float, label: str) -> dict:
    async with client(url) as c:
        await c.get(path)  # warm
        ms, codes = await open_loop(int(rate * seconds), rate, lambda i: c.get(path))
    return summary(label, ms, codes, rate)


async def publish_cycle(url: str) -> float:
    async with httpx.AsyncClient(base_url=url, timeout=300) as c:
        page = await c.get("/signin")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        await c.post("/signin", data={"username": ADMIN[0], "password": ADMIN[1], "next": "/admin",
                                      "csrf_token": csrf})
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', (await c.get("/admin")).text).group(1)
        t = time.perf_counter()
        r = await c.post(f"/admin/waves/smei-{PERIOD}/close", data={"csrf_token": csrf})
        assert r.status_code == 303, r.text
        r = await c.post(f"/admin/waves/smei-{PERIOD}/publish", data={
            "kind": "flash", "cutoff": date.today().isoformat(), "replicates": "200", "frame": "design",
            "csrf_token": csrf})
        assert "published" in r.headers["location"], r.headers["location"]
        r = await c.get("/release", params={"lang": "zh"})
        assert r.status_code == 200 and PERIOD in r.text
        return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--firms", type=int, default=0, help="panel size (default: enough for every test)")
    args = ap.parse_args()
    burst, sustained = 200, int(100 * args.seconds)
    firms = args.firms or burst + sustained + 100
    with tempfile.TemporaryDirectory() as tmp:
        path = build(Path(tmp), firms)
        toks = tokens(path)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
        server = subprocess.Popen([sys.executable, "-m", "smepulse.cli", "serve", "--store", str(path), "--port",
                                   str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            t = time.perf_counter()
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.perf_counter() - t > 120:
                    raise SystemExit(f"server did not start: {server.stderr.read().decode()[-500:]}")
                time.sleep(0.2)
            print(f"server up in {time.perf_counter() - t:.1f} s")

            async def run() -> list[dict]:
                async with client(url) as c:
                    held = await forms(c, toks[:burst + sustained + 50])
                q = "/explore.json?series=headline&group=all&adjustment=nsa"
                rows = []
                async with client(url) as c:  # service time: one request at a time, nothing queued
                    for path in ("/healthz", q):
                        ms = []
                        for _ in range(50):
                            t = time.perf_counter()
                            await c.get(path)
                            ms.append((time.perf_counter() - t) * 1000)
                        rows.append(summary(f"sequential {path[:20]}", np.array(ms), [200] * 50, 0))
                    ms = []
                    for tok, cookie, csrf in held[-50:]:
                        t = time.perf_counter()
                        await c.post(f"/r/{tok}", data={**answers(1), "action": "submit", "lang": "zh",
                                                        "csrf_token": csrf}, headers={"Cookie": cookie})
                        ms.append((time.perf_counter() - t) * 1000)
                    rows.append(summary("sequential submit", np.array(ms), [200] * 50, 0))
                held = held[:-50]
                rows.append(await submits(url, held[:burst], None, "submit: burst of 200", 0))
                rows.append(await submits(url, held[burst:], 100.0, "submit: sustained", burst))
                rows.append(await reads(url, "/healthz", 200.0, args.seconds, "peer: /healthz"))
                rows.append(await reads(url, q, 200.0, args.seconds, "explorer JSON (10 years)"))
                for rate in (300.0, 400.0, 500.0, 700.0, 1000.0):
                    row = await reads(url, q, rate, max(3.0, args.seconds / 2), "explorer JSON (10 years)")
                    rows.append(row)
                    if row["p99_ms"] > 100:
                        break
                return rows
            asyncio.run(run())
            seconds = asyncio.run(publish_cycle(url))
            print(f"close -> flash published -> release page: {seconds:.1f} s ({firms} firms invited, "
                  f"{burst + sustained + 50} answered, 200 replicates)")
        finally:
            server.terminate()
            server.wait(30)
        n, distinct, resp = stored(path)
        print(f"stored: {n} submissions ({distinct} distinct links), {resp} responses for {PERIOD}; "
              f"sent {burst + sustained + 50}")


if __name__ == "__main__":
    main()
