"""Benchmark: the SME alternative-data generator and point-in-time feature building.

1. `simulate` for --firms firms x --months months of applications (the data span the history before,
   the window and the 12-month follow-up after it): seconds and transactions/s.
2. `build_features` (all 118 features, DuckDB SQL over the Parquet files) for every application.
3. Five of the same features (revenue_30d, revenue_90d, active_days_30d, refund_rate_30d,
   days_since_last_sale) three ways in the same run, alternating, `--repeats` times: the same SQL
   pattern in DuckDB, and a plain pandas implementation (read Parquet, merge applications with
   transactions, filter to before the date, groupby). The three must agree; medians and ratios printed.

Run: .venv/bin/python bench/credit_features.py [--firms 100000] [--months 24] [--repeats 3] [--workers 2]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from smepulse.credit.features import DIALECTS, LOOKBACK_DAYS, build_features
from smepulse.sim.credit import SimConfig, simulate

FIVE = ["revenue_30d", "revenue_90d", "active_days_30d", "refund_rate_30d", "days_since_last_sale"]


def five_duckdb(data: Path, apps: pd.DataFrame) -> pd.DataFrame:
    days = DIALECTS["duckdb"]
    con = duckdb.connect()
    con.execute(f"CREATE VIEW transactions AS SELECT * FROM read_parquet('{data}/transactions/*.parquet')")
    a = apps[["application_id", "firm_id", "application_date"]].copy()
    a["lookback_start"] = (pd.to_datetime(a["application_date"]) - pd.Timedelta(days=LOOKBACK_DAYS)).dt.date
    con.register("apps", a)
    sql = f"""
    WITH daily AS (
      SELECT a.application_id, {days('t.date', 'a.application_date')} AS lag,
             SUM(CASE WHEN t.kind = 'sale' THEN t.amount ELSE 0 END) AS sales,
             SUM(CASE WHEN t.kind = 'refund' THEN t.amount ELSE 0 END) AS refunds
      FROM apps a JOIN transactions t
        ON t.firm_id = a.firm_id AND t.date < a.application_date AND t.date >= a.lookback_start
      GROUP BY a.application_id, a.application_date, t.date)
    SELECT application_id,
      SUM(CASE WHEN lag <= 30 THEN sales ELSE 0 END) AS revenue_30d,
      SUM(CASE WHEN lag <= 90 THEN sales ELSE 0 END) AS revenue_90d,
      SUM(CASE WHEN lag <= 30 AND sales > 0 THEN 1 ELSE 0 END) AS active_days_30d,
      SUM(CASE WHEN lag <= 30 THEN refunds ELSE 0 END) / NULLIF(SUM(CASE WHEN lag <= 30 THEN sales ELSE 0 END), 0)
        AS refund_rate_30d,
      MIN(CASE WHEN sales > 0 THEN lag END) AS days_since_last_sale
    FROM daily GROUP BY application_id"""
    return _tidy(con.execute(sql).df(), apps)


def five_pandas(data: Path, apps: pd.DataFrame) -> pd.DataFrame:
    tx = pd.read_parquet(data / "transactions", columns=["firm_id", "date", "kind", "amount"])
    tx = tx[tx["kind"].isin(["sale", "refund"])]
    a = apps[["application_id", "firm_id", "application_date"]]
    m = tx.merge(a, on="firm_id")
    m["lag"] = (pd.to_datetime(m["application_date"]) - pd.to_datetime(m["date"])).dt.days
    m = m[(m["lag"] >= 1) & (m["lag"] <= LOOKBACK_DAYS)]
    sale = m[m["kind"] == "sale"]
    s30 = sale[sale["lag"] <= 30]
    g = s30.groupby("application_id")
    refunds = m[(m["kind"] == "refund") & (m["lag"] <= 30)].groupby("application_id")["amount"].sum()
    daily30 = s30.groupby(["application_id", "date"])["amount"].sum()
    out = pd.DataFrame({
        "revenue_30d": g["amount"].sum(),
        "revenue_90d": sale[sale["lag"] <= 90].groupby("application_id")["amount"].sum(),
        "active_days_30d": (daily30 > 0).groupby(level=0).sum(),
        "days_since_last_sale": sale[sale["amount"] > 0].groupby("application_id")["lag"].min(),
    })
    out["refund_rate_30d"] = refunds.reindex(out.index).fillna(0) / out["revenue_30d"].replace(0, np.nan)
    return _tidy(out.reset_index(), apps)


def _tidy(df: pd.DataFrame, apps: pd.DataFrame) -> pd.DataFrame:
    df = df.set_index("application_id").reindex(apps["application_id"])
    for c in ("revenue_30d", "revenue_90d", "active_days_30d"):
        df[c] = df[c].fillna(0)
    df["days_since_last_sale"] = df["days_since_last_sale"].fillna(LOOKBACK_DAYS)
    return df[FIVE].astype(float)


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--firms", type=int, default=100_000)
    p.add_argument("--months", type=int, default=24)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--out", type=Path, default=None, help="keep the simulated data here (default: a temp dir)")
    args = p.parse_args()
    tmp = tempfile.TemporaryDirectory()
    data = args.out or Path(tmp.name)
    print(f"cpus={os.cpu_count()} duckdb={duckdb.__version__} pandas={pd.__version__} workers={args.workers}")

    sim_t = []
    for _ in range(args.repeats):
        t, res = timed(simulate, SimConfig(n_firms=args.firms, months=args.months, seed=1, workers=args.workers), data)
        sim_t.append(t)
    rows = res.rows["transactions"]
    med = statistics.median(sim_t)
    print(f"simulate: {args.firms:,} firms x {args.months} months of applications (data {res.data_start} to "
          f"{res.data_end}) -> {rows:,} transactions "
          f"(+{res.rows['tax']:,} tax, {res.rows['utilities']:,} utility rows): median {med:.1f} s "
          f"[{', '.join(f'{t:.1f}' for t in sim_t)}], {rows / med:,.0f} transactions/s")

    apps = pd.read_parquet(data / "applications.parquet")
    full_t = []
    for _ in range(args.repeats):
        t, full = timed(build_features, data)
        full_t.append(t)
    print(f"build_features: {len(apps):,} applications x {full.shape[1] - 4} features: median "
          f"{statistics.median(full_t):.1f} s [{', '.join(f'{t:.1f}' for t in full_t)}]")

    duck_t, pand_t = [], []
    for _ in range(args.repeats):  # alternate so load from elsewhere hits both alike
        t, duck = timed(five_duckdb, data, apps)
        duck_t.append(t)
        t, pand = timed(five_pandas, data, apps)
        pand_t.append(t)
    ref = full.set_index("application_id")[FIVE].astype(float)
    for _name, df in (("duckdb", duck), ("pandas", pand)):
        pd.testing.assert_frame_equal(df, ref, check_exact=False, rtol=1e-6, check_names=False)
    d, q = statistics.median(duck_t), statistics.median(pand_t)
    print(f"five features, {len(apps):,} applications (all three implementations agree): duckdb median {d:.2f} s "
          f"[{', '.join(f'{t:.2f}' for t in duck_t)}], pandas median {q:.2f} s "
          f"[{', '.join(f'{t:.2f}' for t in pand_t)}], pandas/duckdb = {q / d:.1f}x")


if __name__ == "__main__":
    main()
