"""Decision speed: in process on one core (with the peer in the same run) and over real HTTP against a
running `smepulse serve`, with a policy of 3,000+ rules.

    PYTHONPATH=src python bench/decision.py --store demo/smepulse.duckdb --model demo/credit/champion
    PYTHONPATH=src python bench/decision.py --store demo/smepulse.duckdb --model demo/credit/champion \\
        --http --rate 200 --seconds 60
    ... --http-only --pg postgresql://USER@127.0.0.1:PORT/DB    # the server on PostgreSQL (a new schema)

ours: decide() = consent, snapshot (in memory after first read), application features, PD and true
reasons (credit.reasons.explain, LightGBM fast path: one pred_contrib call on a float vector), the whole
policy in ONE zen-engine call (the files compiled into one graph, rule ids as outputs: no trace), limit,
price, tags.
peers, the same decision with a pandas-built row and LightGBM's own predictor and the same policy:
1. CreditModel.score_frame (the project's batch path: schema transform, predict_proba, calibration,
   reasons frame) on a one-row DataFrame;
2. lean: a one-row DataFrame, Booster.predict(pred_contrib=True), calibration, the same reason book.
policies: the shipped one (15 rules); "3k segmented": knockouts as a switch node on sector x region into
32 segment tables (the 8 common knockouts + 86 segment rules each: 3,023 rules in all, ~94 evaluated
per decision); "3k flat": 3,000 such rules in one collect table (every rule evaluated).
HTTP: a copy of the store served by `smepulse serve --credit-policy` in a subprocess (with --pg: the
store's snapshots copied into a new schema of that PostgreSQL database, served by `smepulse serve --db`);
open loop (request i is sent at t0 + i/rate whatever the answers do, so a slow answer cannot hide later
ones); client latency from the scheduled send time to the last byte; server latency from the Server-Timing
header (the decision handler: decide + record in the audit log). --floor: then GET /healthz (one SELECT 1)
on the same server at the same rate, the framework's floor on this machine at that moment.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from smepulse.credit.reasons import model_reason_book
from smepulse.credit.train import load_model
from smepulse.decision.application import Application
from smepulse.decision.book import DecisionBook
from smepulse.decision.engine import application_features, apply_policy, decide
from smepulse.decision.policy import DEFAULT_DIR, load_policy
from smepulse.sim.credit import REGIONS, SECTORS

SEGMENT_RULES = 86


def big_policy(out: Path, flat: bool = False) -> Path:
    """The shipped policy with 3,000+ knockout rules (see the module doc)."""
    shutil.copytree(DEFAULT_DIR, out, dirs_exist_ok=True)
    ko = json.loads((DEFAULT_DIR / "knockouts.json").read_text(encoding="utf-8"))
    table = next(n for n in ko["nodes"] if n["type"] == "decisionTableNode")
    common = table["content"]["rules"]
    blank = {k: "" for k in common[0] if k.startswith("i_")}

    def segment_rules(sector: str, region: str) -> list[dict]:
        rows = []
        for k in range(SEGMENT_RULES):  # exposure caps by business age for this segment (rarely binding)
            rows.append({**blank, "_id": f"KO_SEG_{sector}_{region}_{k}", "_description": "",
                         "i_firm_age_months": f"< {12 + k}", "i_exposure_after": f"> {3_000_000 + 25_000 * k}",
                         "o_code": '"KO_SEGMENT_CAP"', "o_action": '"refer"',
                         "o_en": '"The amount is above the cap for businesses of this age in your segment"',
                         "o_zh": '"申请金额超过本细分行业同类经营年限企业的上限"'})
        return rows

    if flat:  # every segment's rules in one table, topped up to 3,000 rules in the policy
        rows = list(common)
        for s in SECTORS:
            for r in REGIONS:
                rows += segment_rules(s, r)
        extra = [x for j in range(4) for x in segment_rules("extra", str(j))]
        rows += extra[:3000 - 7 - len(rows)]
        table["content"]["rules"] = rows
        (out / "knockouts.json").write_text(json.dumps(ko, ensure_ascii=False), encoding="utf-8")
        return out
    nodes = [n for n in ko["nodes"] if n["type"] in ("inputNode", "outputNode")]
    inp = next(n["id"] for n in nodes if n["type"] == "inputNode")
    outp = next(n["id"] for n in nodes if n["type"] == "outputNode")
    statements, edges = [], []
    for s in SECTORS:
        for r in REGIONS:
            sid = f"{s}_{r}"
            statements.append({"id": sid, "condition": f"sector == '{s}' and region == '{r}'"})
            nodes.append({**table, "id": f"t_{sid}", "name": f"knockouts {s} {r}",
                          "content": {**table["content"], "rules": common + segment_rules(s, r)}})
            edges += [{"id": f"e_{sid}", "type": "edge", "sourceId": "segment", "targetId": f"t_{sid}",
                       "sourceHandle": sid},
                      {"id": f"o_{sid}", "type": "edge", "sourceId": f"t_{sid}", "targetId": outp}]
    statements.append({"id": "other", "condition": ""})  # unknown segment: the common knockouts
    nodes.append({**table, "id": "t_other", "name": "knockouts (other)", "content": {**table["content"],
                                                                                    "rules": common}})
    edges += [{"id": "e_other", "type": "edge", "sourceId": "segment", "targetId": "t_other", "sourceHandle": "other"},
              {"id": "o_other", "type": "edge", "sourceId": "t_other", "targetId": outp},
              {"id": "e_in", "type": "edge", "sourceId": inp, "targetId": "segment"}]
    nodes.append({"id": "segment", "type": "switchNode", "name": "segment", "position": {"x": 250, "y": 100},
                  "content": {"hitPolicy": "first", "statements": statements}})
    ko = {**ko, "nodes": nodes, "edges": edges}
    (out / "knockouts.json").write_text(json.dumps(ko, ensure_ascii=False), encoding="utf-8")
    return out


def workload(store: str, n: int = 1500):
    with DecisionBook(store) as book:
        codes = book.firm_codes(n)
        on = date.today()
        snaps = [book.latest_snapshot(c, on) for c in codes]
    apps = [Application(uscc=c, amount=100_000, term_months=12, application_date=s.as_of,
                        consent={"given": True, "text_version": "v"}) for c, s in zip(codes, snaps, strict=True)]
    return apps, snaps


def in_process(model, policy, apps, snaps, n: int) -> dict:
    k = len(apps)
    for a, s in zip(apps[:50], snaps[:50], strict=True):
        decide(a, s, model, policy)
    lat = []
    t, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        t1 = time.perf_counter()
        decide(apps[i % k], snaps[i % k], model, policy)
        lat.append(time.perf_counter() - t1)
    rate = n / (time.perf_counter() - t)
    cpu_ms = (time.process_time() - cpu) * 1e3 / n  # this process's CPU: what one core does when it is ours alone
    lat = np.array(lat) * 1e3
    return {"per_s": rate, "p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99)),
            "cpu_ms": cpu_ms}


def zen_paths(policy_dir: Path, n: int = 2000) -> tuple[float, float]:
    """CPU us per evaluation of one policy graph: zen-engine's ZenDecision.evaluate (a tokio runtime and a
    thread per call in 2.1) against ZenEngine.evaluate with a loader (what Policy.evaluate_all uses)."""
    import zen  # noqa: PLC0415 (only this comparison needs the raw bindings)

    from smepulse.decision.policy import GRAPH_KEY, TABLES, _merge  # noqa: PLC0415

    graphs = {t: json.loads((policy_dir / f"{t}.json").read_text(encoding="utf-8")) for t in TABLES}
    content = zen.ZenDecisionContent(json.dumps(_merge(graphs)[0]))
    direct = zen.ZenEngine().create_decision(content)
    engine = zen.ZenEngine({"loader": lambda _key: content})
    ctx = {"consent": 1, "firm_age_months": 16.4, "tax_late_filings_365d": 0.0, "utility_overdue_bills": 0.0,
           "exposure_after": 100000.0, "prior_defaults": 0.0, "days_since_last_sale": 1.0, "sales_history_days": 477.0,
           "sector": SECTORS[0], "region": REGIONS[0], "size": "micro", "pd": 0.05, "term_months": 12}
    assert direct.evaluate(ctx)["result"] == engine.evaluate(GRAPH_KEY, ctx)["result"]
    out = []
    for fn in (lambda: direct.evaluate(ctx), lambda: engine.evaluate(GRAPH_KEY, ctx)):
        c = time.process_time()
        for _ in range(n):
            fn()
        out.append((time.process_time() - c) * 1e6 / n)
    return out[0], out[1]


def peer(model, policy, apps, snaps, n: int) -> dict:
    k, lat = len(apps), []
    t = time.perf_counter()
    for i in range(n):
        t1 = time.perf_counter()
        a, s = apps[i % k], snaps[i % k]
        f = {**s.features, **application_features(s.features, a.amount, a.term_months)}
        out, _ = model.score_frame(pd.DataFrame([f]), top_n=3)
        apply_policy(a, f, float(out["pd"].iat[0]), [], policy)
        lat.append(time.perf_counter() - t1)
    lat = np.array(lat) * 1e3
    return {"per_s": n / (time.perf_counter() - t), "p50": float(np.percentile(lat, 50)),
            "p99": float(np.percentile(lat, 99))}


def peer_lean(model, policy, apps, snaps, n: int) -> dict:
    """The lean pandas peer: a one-row DataFrame (categories as codes), the Booster's own predict
    (pred_contrib, so the reasons are the same TreeSHAP ones), calibration, the same reason book."""
    book = model_reason_book(model)
    sch = model.schema
    levels = {c: list(sch.categories_[c]) for c in model.features if sch.is_categorical(c)}
    booster, iters = model.estimator.booster_, model.estimator.best_iteration_
    k, lat, pds = len(apps), [], []
    t = time.perf_counter()
    for i in range(n):
        t1 = time.perf_counter()
        a, s = apps[i % k], snaps[i % k]
        f = {**s.features, **application_features(s.features, a.amount, a.term_months)}
        row = pd.DataFrame({c: pd.Categorical([f.get(c)], categories=levels[c]) if c in levels
                            else np.array([f.get(c)], dtype=float) for c in model.features})
        c = booster.predict(row, pred_contrib=True, num_iteration=iters)[0]
        p = float(model.calibrator.transform(np.array([1.0 / (1.0 + np.exp(-c.sum()))]))[0])
        reasons = book.explain_row(c[:-1], [f.get(x) for x in model.features], 3)
        apply_policy(a, f, p, [{"code": r.code, "en": r.en, "zh": r.zh} for r in reasons], policy)
        lat.append(time.perf_counter() - t1)
        pds.append(p)
    lat = np.array(lat) * 1e3
    return {"per_s": n / (time.perf_counter() - t), "p50": float(np.percentile(lat, 50)),
            "p99": float(np.percentile(lat, 99)), "pds": pds}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tail(path: Path, n: int = 1500) -> str:
    return path.read_bytes()[-n:].decode("utf-8", "replace") if path.is_file() else ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _post(conn, path: str, host: str, payload: bytes | None, key: str) -> tuple[int, dict]:
    """One HTTP/1.1 keep-alive POST (a GET when `payload` is None) on an asyncio stream pair (a small
    client: the benchmark measures the server, and a full-featured async client spends more CPU per
    request than the server does)."""
    reader, writer = conn
    if payload is None:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    else:
        writer.write(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                     f"Idempotency-Key: {key}\r\nContent-Length: {len(payload)}\r\n\r\n".encode() + payload)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
    await reader.readexactly(int(headers.get("content-length", 0)))
    return status, headers


async def open_loop(url: str, bodies: list[dict] | None, rate: float, seconds: float, connections: int = 64,
                    path: str = "/api/v1/credit/decisions") -> dict:
    """bodies None: GET `path` (the framework floor peer)."""
    host, port = url.split("//")[1].split(":")
    n = int(rate * seconds)
    payloads = [json.dumps(b).encode() for b in bodies] if bodies is not None else [None]
    client_ms, server_ms, status = np.full(n, np.nan), np.full(n, np.nan), {}
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(host, int(port)))

    async def one(i: int, due: float) -> None:
        conn = await pool.get()  # waiting for a free connection counts: latency runs from `due`
        try:
            code, headers = await _post(conn, path, f"{host}:{port}",
                                        payloads[i % len(payloads)], f"bench-{uuid.uuid4().hex}")
        except (asyncio.IncompleteReadError, ConnectionError) as exc:  # counted, not retried: the request is lost
            conn[1].close()
            conn = await asyncio.open_connection(host, int(port))
            status[type(exc).__name__] = status.get(type(exc).__name__, 0) + 1
            return
        finally:
            pool.put_nowait(conn)
        client_ms[i] = (time.perf_counter() - due) * 1e3
        status[code] = status.get(code, 0) + 1
        st = headers.get("server-timing", "")
        if "dur=" in st:
            server_ms[i] = float(st.split("dur=")[1])

    tasks = []
    t0 = time.perf_counter() + 0.1
    for i in range(n):  # open loop: request i leaves at t0 + i / rate, whatever the answers do
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    while not pool.empty():
        pool.get_nowait()[1].close()
    pc = lambda a, q: float(np.nanpercentile(a, q)) if not np.isnan(a).all() else float("nan")  # noqa: E731
    return {"sent": n, "wall_s": wall, "status": status, "client_p50": pc(client_ms, 50),
            "client_p99": pc(client_ms, 99), "server_p50": pc(server_ms, 50), "server_p99": pc(server_ms, 99),
            "client_max": pc(client_ms, 100)}


def pg_copy(store: str, pg: str) -> str:
    """The store's feature snapshots in a new schema of the PostgreSQL database `pg`: that schema's URL."""
    import psycopg  # noqa: PLC0415 (only the PostgreSQL run needs it)
    from psycopg import sql  # noqa: PLC0415

    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg, autocommit=True) as con:
        con.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    url = f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{name}"
    with DecisionBook(store) as src:
        rows = src.con.execute("SELECT * FROM credit_feature_snapshot").fetchall()
    with DecisionBook(url) as dst:
        dst._write_snapshot_rows(rows)
    return url


def http_bench(store: str, model_dir: str, policy_dir: Path, apps, rate: float, seconds: float,
               url: str | None = None, pg: str | None = None, floor: bool = False) -> dict:
    """Against `url` (a server you started) or a `smepulse serve` started here over a copy of the store
    (in PostgreSQL `pg` if given)."""
    work = Path(tempfile.mkdtemp(prefix="smepulse-bench-"))
    proc = None
    if url is None:
        if pg:
            target = ["--db", pg_copy(store, pg)]
        else:
            shutil.copy(store, work / "smepulse.duckdb")
            target = ["--store", str(work / "smepulse.duckdb")]
        port = free_port()
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "smepulse.cli", "serve", *target, "--port", str(port),
                                 "--credit-model", model_dir, "--credit-policy", str(policy_dir)],
                                env=env, stdout=subprocess.DEVNULL,  # a file, not a pipe nobody reads
                                stderr=(work / "serve.log").open("wb"))
        url = f"http://127.0.0.1:{port}"
    try:
        import httpx  # noqa: PLC0415 (only the HTTP benchmark needs it)

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
                raise RuntimeError(f"smepulse serve did not start: {_tail(work / 'serve.log')}")
            time.sleep(0.2)
        bodies = [{"uscc": a.uscc, "amount": a.amount, "term_months": a.term_months,
                   "consent": {"given": True, "text_version": "consent-2026-12"}} for a in apps]
        warm = httpx.post(url + "/api/v1/credit/decisions", json=bodies[0], timeout=60)  # loads model and policy
        assert warm.status_code == 201, warm.text
        cpu0 = cpu_seconds(proc.pid) if proc is not None else None
        out = asyncio.run(open_loop(url, bodies, rate, seconds))
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"smepulse serve died during the run: {_tail(work / 'serve.log')}")
        if (work / "serve.log").is_file() and (work / "serve.log").stat().st_size:
            print(f"server log: {_tail(work / 'serve.log')}")
        if cpu0 is not None:  # the server's CPU per decision: what one core could serve, whatever the load
            out["cpu_ms"] = (cpu_seconds(proc.pid) - cpu0) * 1e3 / out["sent"]
        if floor:  # the same server's GET /healthz (one SELECT 1) at the same rate, right after
            cpu1 = cpu_seconds(proc.pid) if proc is not None else None
            out["floor"] = asyncio.run(open_loop(url, None, rate, min(seconds, 20), path="/healthz"))
            if cpu1 is not None:  # the framework's own CPU per request (HTTP, middleware, routing, one SELECT 1)
                out["floor"]["cpu_ms"] = (cpu_seconds(proc.pid) - cpu1) * 1e3 / out["floor"]["sent"]
        return out
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--n", type=int, default=3000, help="in-process decisions per policy")
    ap.add_argument("--http", action="store_true", help="also run the HTTP benchmark (3k segmented policy)")
    ap.add_argument("--http-only", action="store_true", help="skip the in-process part")
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--pg", help="PostgreSQL URL: serve the HTTP benchmark's store from a new schema there")
    ap.add_argument("--floor", action="store_true", help="then GET /healthz at the same rate (framework floor)")
    ap.add_argument("--url", help="benchmark this running server (serving the policy --write-policy writes)")
    ap.add_argument("--write-policy", type=Path, help="write the 3k segmented policy to this directory and stop")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.write_policy:
        print(big_policy(args.write_policy))
        return
    model = load_model(args.model)
    apps, snaps = workload(args.store)
    tmp = Path(tempfile.mkdtemp(prefix="smepulse-policy-"))
    policies = {"shipped": load_policy(), "3k segmented": load_policy(big_policy(tmp / "seg")),
                "3k flat": load_policy(big_policy(tmp / "flat", flat=True))}
    print(f"{len(apps):,} firms; model {model.kind}; cpu affinity {sorted(os.sched_getaffinity(0))}; "
          f"load average {os.getloadavg()[0]:.1f}")
    for name, pol in ({} if args.http_only else policies).items():
        r = in_process(model, pol, apps, snaps, args.n if name != "3k flat" else max(200, args.n // 10))
        print(f"ours, {name} policy ({pol.n_rules:,} rules): {r['per_s']:,.0f} decisions/s, "
              f"p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms; CPU {r['cpu_ms']:.3f} ms per decision = "
              f"{1 / r['cpu_ms'] * 1e3:,.0f}/s per CPU-second")
    pol = policies["shipped"]
    if not args.http_only:
        p = peer(model, pol, apps, snaps, max(50, args.n // 50))
        lean = peer_lean(model, pol, apps, snaps, max(200, args.n // 5))
        ours = in_process(model, pol, apps, snaps, args.n)
        same = max(abs(x - decide(a, s, model, pol).pd) for x, a, s in zip(lean["pds"], apps, snaps, strict=False))
        print(f"peer 1, CreditModel.score_frame on a one-row DataFrame (the batch path), shipped policy: "
              f"{p['per_s']:,.1f} decisions/s, p50 {p['p50']:.2f} ms")
        print(f"peer 2, one-row DataFrame + Booster.predict(pred_contrib) + calibration, shipped policy: "
              f"{lean['per_s']:,.0f} decisions/s, p50 {lean['p50']:.2f} ms (max |PD - ours| {same:.1e})")
        print(f"ours again, shipped policy: {ours['per_s']:,.0f} decisions/s, p50 {ours['p50']:.2f} ms: "
              f"{ours['per_s'] / p['per_s']:,.0f}x peer 1, {ours['per_s'] / lean['per_s']:.1f}x peer 2; "
              f"CPU {ours['cpu_ms']:.3f} ms per decision = {1 / ours['cpu_ms'] * 1e3:,.0f}/s per CPU-second")
        for name, d in (("shipped", DEFAULT_DIR), ("3k segmented", tmp / "seg")):
            a, b = zen_paths(d)
            print(f"zen-engine, {name} policy: ZenDecision.evaluate {a:.0f} us CPU, ZenEngine.evaluate (ours) "
                  f"{b:.0f} us CPU per evaluation ({a / b:.1f}x)")
        print(f"load average {os.getloadavg()[0]:.1f}")
    if args.http or args.http_only:
        h = http_bench(args.store, args.model, tmp / "seg", apps, args.rate, args.seconds, args.url, args.pg,
                       args.floor)
        backend = args.url or ("PostgreSQL" if args.pg else "DuckDB")
        print(f"HTTP open loop {args.rate:.0f}/s for {args.seconds:.0f} s on {backend}, 3k segmented policy "
              f"({policies['3k segmented'].n_rules:,} rules): {h['sent']:,} sent in {h['wall_s']:.1f} s, "
              f"status {h['status']}; server p50 {h['server_p50']:.2f} ms p99 {h['server_p99']:.2f} ms; "
              f"client p50 {h['client_p50']:.2f} ms p99 {h['client_p99']:.2f} ms max {h['client_max']:.1f} ms; "
              f"load average {os.getloadavg()[0]:.1f}")
        if "cpu_ms" in h:
            print(f"server CPU {h['cpu_ms']:.2f} ms per decision (all threads): {1e3 / h['cpu_ms']:,.0f}/s "
                  "on one core at that cost")
        if "floor" in h:
            f = h["floor"]
            print(f"peer: GET /healthz on the same server at the same rate for {min(args.seconds, 20):.0f} s: "
                  f"status {f['status']}; client p50 {f['client_p50']:.2f} ms p99 {f['client_p99']:.2f} ms; "
                  f"decision/floor client p50 {h['client_p50'] / f['client_p50']:.1f}x"
                  + (f"; server CPU {f['cpu_ms']:.2f} ms per request" if "cpu_ms" in f else ""))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
