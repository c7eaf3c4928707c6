"""Benchmark: X-13 adjustment of many monthly series, parallel over the CPUs vs one at a time.

500 synthetic diffusion-index-like series (10 years each: seasonal pattern, AR(1) noise, a few
planted outliers), adjusted with smepulse's default spec (additive, automdl, AO/LS/TC outliers,
X-11). The same series are run serially (workers=1) and in parallel (workers=CPUs) in
interleaved chunks, `--repeats` times; medians of the totals and their ratio are printed, with the
X-13 CPU time per pass (independent of other load on the machine).

Run: .venv/bin/python bench/seasonal.py [--series 500] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from smepulse.seasonal.adjust import adjust_many


def make_series(n_series: int, months: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.period_range("2015-01", periods=months, freq="M").strftime("%Y-%m")
    frames = []
    for i in range(n_series):
        pattern = rng.normal(0, rng.uniform(0.5, 3), 12)
        y = 50 + np.resize(pattern - pattern.mean(), months)
        y += lfilter([1], [1, -rng.uniform(0.2, 0.8)], rng.normal(0, rng.uniform(0.4, 1.5), months))
        if rng.random() < 0.3:
            y[rng.integers(12, months)] += rng.choice([-1, 1]) * 6     # an additive outlier
        if rng.random() < 0.2:
            y[rng.integers(24, months):] += rng.choice([-1, 1]) * 4    # a level shift
        frames.append(pd.DataFrame({"period": idx, "series": f"s{i:03d}", "group": "all", "value": y}))
    return pd.concat(frames, ignore_index=True)


def timed(df: pd.DataFrame, workers: int) -> tuple[float, float]:
    """Wall seconds and X-13 CPU seconds (children) of one adjustment of the whole frame."""
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    results = adjust_many(df, workers=workers)
    elapsed = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert all(r.method == "x13-x11" for r in results)
    return elapsed, (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    df = make_series(args.series)
    serial, parallel, cpu = [], [], {1: 0.0, args.workers: 0.0}
    print(f"{args.series} series x 120 months, {args.repeats} repeats, {os.cpu_count()} CPUs, "
          f"load average at start {os.getloadavg()[0]:.1f}")
    # The same series run both ways in interleaved chunks of 50, alternating which goes first, so
    # a burst of load from other processes hits both modes alike (paired timing).
    names = df["series"].unique()
    chunks = [df[df["series"].isin(names[i:i + 50])] for i in range(0, len(names), 50)]
    for _ in range(args.repeats):
        tot_s = tot_p = 0.0
        for k, chunk in enumerate(chunks):
            order = [args.workers, 1] if k % 2 == 0 else [1, args.workers]
            for w in order:
                wall, c = timed(chunk, w)
                cpu[w] += c
                if w == 1:
                    tot_s += wall
                else:
                    tot_p += wall
        serial.append(tot_s)
        parallel.append(tot_p)
    cpu_pass = (cpu[1] + cpu[args.workers]) / (2 * args.repeats)
    # CPU seconds X-13 got per wall second: how many cores each mode actually obtained.
    cores_s, cores_p = cpu[1] / sum(serial), cpu[args.workers] / sum(parallel)
    ms, mp = statistics.median(serial), statistics.median(parallel)
    print(f"serial   (workers=1): median {ms:.1f} s  runs {[round(t, 1) for t in serial]}")
    print(f"parallel (workers={args.workers}): median {mp:.1f} s  runs {[round(t, 1) for t in parallel]}")
    print(f"speed-up {ms / mp:.2f}x; {1000 * mp / args.series:.0f} ms per series in parallel; "
          f"X-13 CPU per pass {cpu_pass:.1f} s; load average at end {os.getloadavg()[0]:.1f}")
    print(f"cores obtained by X-13: serial {cores_s:.2f}, parallel {cores_p:.2f} "
          f"(ratio {cores_p / cores_s:.2f}; 2.0 = perfect use of 2 workers)")


if __name__ == "__main__":
    main()
