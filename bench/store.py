"""The store on both backends: import of a simulated survey, fetching it back for the engine, and the portal's
series query (one series and group over every period, latest vintage per period), DuckDB file vs PostgreSQL.

Run: PYTHONPATH=src python bench/store.py [--firms 2000 --months 24]
PostgreSQL: SMEPULSE_BENCH_PG=postgresql://... or, by default, a throwaway server started like the tests'.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import pgcluster  # noqa: E402 (the tests' throwaway server)
from smepulse.index import compute  # noqa: E402
from smepulse.methodology import load_methodology  # noqa: E402
from smepulse.sim.survey import simulate_survey  # noqa: E402
from smepulse.store import open_store  # noqa: E402
from smepulse.survey.responses import from_frame  # noqa: E402
from smepulse.web.db import Database  # noqa: E402
from smepulse.web.portal import series_rows  # noqa: E402


def run(target: str, resp, m, reps: int) -> dict:
    out = {}
    with open_store(target) as st:
        t = time.perf_counter()
        st.import_responses(resp)
        out["import_s"] = time.perf_counter() - t
        t = time.perf_counter()
        back = st.responses(m)
        out["fetch_s"] = time.perf_counter() - t
        result = compute(back)
        for k in range(3):
            st.save_series(result, as_of=datetime(2026, 1 + k, 1))
    db = Database(target)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        rows = series_rows(db, m.name, "headline", "all")
        times.append(time.perf_counter() - t)
    db.close()
    times.sort()
    out["series_rows"] = len(rows)
    out["series_p50_ms"] = statistics.median(times) * 1e3
    out["series_p99_ms"] = times[int(0.99 * (len(times) - 1))] * 1e3
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--firms", type=int, default=2000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--reps", type=int, default=300)
    a = ap.parse_args()
    m = load_methodology("smei")
    sample = simulate_survey(n_firms=a.firms, n_months=a.months, start="2024-01", seed=1)
    resp = from_frame(sample.responses, m)
    n_answers = int(sample.responses[[q.id for q in m.questions]].notna().sum().sum())
    print(f"{len(sample.responses):,} responses, {n_answers:,} answers")
    state = None
    url = os.environ.get("SMEPULSE_BENCH_PG")
    if not url:
        state = Path(tempfile.mkdtemp(prefix="smepulse-pg-bench-"))
        os.environ[pgcluster.STATE_ENV] = str(state)
        url = pgcluster.fresh_schema(pgcluster.server_database("bench"))
    try:
        with tempfile.TemporaryDirectory() as d:
            results = {"duckdb": run(str(Path(d) / "bench.duckdb"), resp, m, a.reps),
                       "postgresql": run(url, resp, m, a.reps)}
    finally:
        if state:
            pgcluster.stop(state)
    d, p = results["duckdb"], results["postgresql"]
    print("| step | DuckDB file | PostgreSQL | PostgreSQL / DuckDB |")
    print("|---|---|---|---|")
    for key, label in (("import_s", "import (s)"), ("fetch_s", "responses back for the engine (s)"),
                       ("series_p50_ms", "series query p50 (ms)"), ("series_p99_ms", "series query p99 (ms)")):
        print(f"| {label} | {d[key]:.3f} | {p[key]:.3f} | {p[key] / d[key]:.2f} |")
    print(f"series rows per query: {d['series_rows']} (DuckDB), {p['series_rows']} (PostgreSQL)")


if __name__ == "__main__":
    main()
