"""In-process decision speed on one core, with the peer in the same run.

    PYTHONPATH=src python bench/decision.py --store demo/smepulse.duckdb --model demo/credit/champion

ours: decide() = consent, snapshot (in memory after first read), application features, PD and true
reasons (credit.reasons.explain, LightGBM fast path), zen-engine policy tables, limit, price, tags.
peer: the same decision with a pandas-built row and LightGBM's own predictor (CreditModel.score_frame:
schema transform, predict_proba, calibration, reasons frame) and the same policy.
The HTTP benchmark (200/s for 60 s against `smepulse serve`) is not written yet.
"""
from __future__ import annotations

import argparse
import os
import time
from datetime import date

import numpy as np
import pandas as pd

from smepulse.credit.train import load_model
from smepulse.decision.application import Application
from smepulse.decision.book import DecisionBook
from smepulse.decision.engine import application_features, apply_policy, decide
from smepulse.decision.policy import load_policy


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    model, policy = load_model(args.model), load_policy()
    with DecisionBook(args.store) as book:
        codes = book.firm_codes(200)
        on = date.today()
        snaps = [book.latest_snapshot(c, on) for c in codes]
    apps = [Application(uscc=c, amount=100_000, term_months=12, application_date=s.as_of,
                        consent={"given": True, "text_version": "v"}) for c, s in zip(codes, snaps, strict=True)]
    for a, s in zip(apps[:20], snaps[:20], strict=True):
        decide(a, s, model, policy)
    t = time.perf_counter()
    lat = []
    for i in range(args.n):
        t1 = time.perf_counter()
        decide(apps[i % len(apps)], snaps[i % len(apps)], model, policy)
        lat.append(time.perf_counter() - t1)
    ours = args.n / (time.perf_counter() - t)
    n_peer = max(50, args.n // 10)
    t = time.perf_counter()
    for i in range(n_peer):
        a, s = apps[i % len(apps)], snaps[i % len(apps)]
        f = {**s.features, **application_features(s.features, a.amount, a.term_months)}
        row = pd.DataFrame([f])
        out, _ = model.score_frame(row, top_n=3)
        pd_ = float(out["pd"].iat[0])
        apply_policy(a, f, pd_, [], policy)
    peer = n_peer / (time.perf_counter() - t)
    lat = np.array(lat) * 1e3
    print(f"ours: {ours:,.0f} decisions/s (p50 {np.percentile(lat, 50):.2f} ms, p99 {np.percentile(lat, 99):.2f} ms)"
          f"; peer (pandas row + LightGBM predictor): {peer:,.0f} decisions/s; {policy.n_rules} rules")


if __name__ == "__main__":
    main()
