"""CPU per request of the web app called as ASGI in this process (no uvicorn, no sockets, no load generator):
what the app and the decision book's writer cost per decision, a figure a busy machine distorts far less than
an HTTP run. Builds the app as `smepulse serve` does (model and policy checked at start), then sends
`--n` requests of each kind, 8 at a time (decisions then share group commits, as under load), in 10 blocks,
and prints the CPU (process_time: all threads) per request: min, lower quartile and median of the blocks.

    PYTHONPATH=src python bench/decision.py --store x --model x --write-policy /tmp/seg   # the 3k-rule policy
    cp /tmp/decdemo/smepulse.duckdb /tmp/h.duckdb    # it writes decisions: a copy (or a --pg-made schema URL)
    OMP_NUM_THREADS=1 PYTHONPATH=src python bench/decision_asgi.py --store /tmp/h.duckdb \
        --model /tmp/decdemo/credit/champion --policy /tmp/seg --firms /tmp/decdemo/smepulse.duckdb --n 3000
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid

from smepulse.decision.book import DecisionBook
from smepulse.web.app import create_app
from smepulse.web.apply import check_at_start
from smepulse.web.config import WebConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True, help="DuckDB file or postgresql:// URL the app serves (written to)")
    ap.add_argument("--model", required=True)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--firms", required=True, help="DuckDB store whose snapshots name the applicants")
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("what", nargs="*", default=["healthz", "404", "decide"])
    args = ap.parse_args()
    server = "://" in args.store
    app = create_app(WebConfig(store=None if server else args.store, db=args.store if server else None,
                               release_charts=False, extra={"credit_model": args.model, "credit_policy": args.policy}))
    check_at_start(app)
    with DecisionBook(args.firms) as b:
        usccs = [r[0] for r in b.con.execute("SELECT DISTINCT uscc FROM credit_feature_snapshot").fetchall()]

    async def call(method: str, path: str, body: bytes = b"", headers: tuple = ()) -> int:
        scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "root_path": "", "headers": [(b"host", b"127.0.0.1:8000"), *headers],
                 "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 8000), "state": {}}
        sent, status = False, {}

        async def receive() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
        await app(scope, receive, send)
        return status["code"]

    async def one(what: str, i: int) -> int:
        if what == "healthz":
            return await call("GET", "/healthz")
        if what == "404":
            return await call("GET", "/no-such-page")
        body = json.dumps({"uscc": usccs[i % len(usccs)], "amount": 200000, "term_months": 12,
                           "consent": {"given": True, "text_version": "consent-2026-12"}}).encode()
        return await call("POST", "/api/v1/credit/decisions", body, (
            (b"content-type", b"application/json"), (b"idempotency-key", uuid.uuid4().hex.encode()),
            (b"content-length", str(len(body)).encode())))

    async def measure(what: str) -> None:
        for i in range(50):  # warm: the first snapshots hashed, the first commits
            await one(what, i)
        statuses, blocks, sem, m = {}, [], asyncio.Semaphore(8), args.n // 10

        async def go(i: int) -> None:
            async with sem:
                s = await one(what, i)
                statuses[s] = statuses.get(s, 0) + 1
        for b in range(10):
            c0 = time.process_time()
            await asyncio.gather(*(go(b * m + i) for i in range(m)))
            blocks.append((time.process_time() - c0) * 1e3 / m)
        blocks.sort()
        print(f"{what}: {statuses} CPU per request min {blocks[0]:.3f} q25 {blocks[2]:.3f} median "
              f"{blocks[5]:.3f} ms (load average {os.getloadavg()[0]:.1f})")

    async def run() -> None:
        for what in args.what:
            await measure(what)
        app.state.respondents.close()
        svc = getattr(app.state, "decision_service", None)
        if svc is not None:
            svc.close()

    try:
        import uvloop  # noqa: PLC0415 (serve's loop when installed)
    except ImportError:
        uvloop = None
    (uvloop.run if uvloop is not None else asyncio.run)(run())


if __name__ == "__main__":
    main()
