"""Benchmark: the full `compute` on simulated answers against a plain pandas implementation of the same numbers.

    .venv/bin/python bench/compute.py                 # 10 million answers, 5 repeats, checks agreement
    .venv/bin/python bench/compute.py --answers 100000000 --repeats 1 --no-pandas

Each measurement runs in a fresh subprocess, so its peak memory (ru_maxrss) is its own.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_smepulse(path: str, out: str) -> dict:
    from smepulse.index import compute
    from smepulse.index.series_io import write_series
    from smepulse.index.weighting import frame_from_methodology
    from smepulse.methodology import load_methodology
    from smepulse.survey.responses import load_responses
    t = time.perf_counter()
    m = load_methodology("smei")
    result = compute(load_responses(path, m), frame_from_methodology(m))
    write_series(result.series, out)
    return {"seconds": time.perf_counter() - t, "rows": len(result.series)}


def run_pandas(path: str, out: str) -> dict:
    """The same numbers with pandas groupby: rake to the sector and region targets, melt, group, share."""
    import numpy as np
    import pandas as pd

    from smepulse.methodology import load_methodology
    t = time.perf_counter()
    m = load_methodology("smei")
    df = pd.read_parquet(path)
    for c in df.columns:
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype(object)
    df["w"] = df["weight"].astype(float)
    targets = m.targets_for("2099-12")
    assert targets, "no targets in force"
    for _ in range(50):  # raking, iterated like the engine (converges in a few rounds)
        for dim, shares in targets.items():
            tot = df.groupby("period")["w"].transform("sum")
            cur = df.groupby(["period", dim])["w"].transform("sum")
            df["w"] = df["w"] * df[dim].map(shares) * tot / cur
    qs = [q.id for q in m.questions]
    long = df.melt(id_vars=["period", "w", "sector", "region", "size", "exporter"], value_vars=qs,
                   var_name="series", value_name="answer").dropna(subset=["answer"])
    code_pos = {code: k for q in m.questions for k, code in enumerate(q.codes)}
    long["k"] = long["answer"].map(code_pos)
    frames = []
    long["non_manufacturing"] = np.where(long["sector"] != "manufacturing", "non_manufacturing", None)
    for dim in [None, "sector", "region", "size", "exporter", "non_manufacturing"]:
        keys = ["period", "series"] + ([dim] if dim else [])
        sub = long if dim != "non_manufacturing" else long[long["non_manufacturing"].notna()]
        g = sub.groupby(keys + ["k"])["w"].sum().unstack("k", fill_value=0.0)
        n = sub.groupby(keys).size()
        shares = g.div(g.sum(axis=1), axis=0) * 100
        res = pd.DataFrame({"up": shares[0], "same": shares[1], "down": shares[2], "n": n}).reset_index()
        label = "sector" if dim == "non_manufacturing" else dim
        res["group"] = "all" if dim is None else label + "=" + res[dim].astype(str)
        frames.append(res.drop(columns=[dim] if dim else []))
    out_df = pd.concat(frames, ignore_index=True)
    inv = out_df["series"].map({q.id: q.inverted for q in m.questions})
    out_df["value"] = np.where(inv, out_df["down"], out_df["up"]) + 0.5 * out_df["same"]
    out_df.loc[out_df["series"] == "fx_expectation", "value"] = np.nan
    # composites and quarters on the small table
    from smepulse.index.compose import compose, quarterly
    comp = compose(out_df[out_df["value"].notna()][["period", "series", "group", "value"]], m)
    full = pd.concat([out_df, comp], ignore_index=True)
    full = pd.concat([full, quarterly(full)], ignore_index=True)
    full.to_csv(out, index=False)
    return {"seconds": time.perf_counter() - t, "rows": len(full)}


def child(kind: str, path: str, out: str) -> None:
    result = (run_smepulse if kind == "smepulse" else run_pandas)(path, out)
    result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def measure(kind: str, path: str, out: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", kind, path, out], capture_output=True,
                          text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def agree(a: str, b: str) -> float:
    import pandas as pd
    x = pd.read_csv(a, dtype={"period": str})
    x = x[(x["adjustment"] == "nsa") & (x["flag"] != "suppressed")] if "adjustment" in x else x
    y = pd.read_csv(b, dtype={"period": str})
    merged = x.merge(y, on=["period", "series", "group"], suffixes=("", "_pd"))
    assert len(merged) > 0.9 * len(x), (len(merged), len(x))
    return float((merged["value"] - merged["value_pd"]).abs().max())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--answers", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-pandas", action="store_true")
    ap.add_argument("--child", nargs=3)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    from smepulse.sim.survey import write_parquet
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "answers.parquet")
        stats = write_parquet(path, n_answers=args.answers, seed=1)
        print(f"simulated {stats['answers']:,} answers ({stats['rows']:,} responses) in {stats['seconds']:.1f} s")
        ours = [measure("smepulse", path, str(Path(tmp) / "ours.csv")) for _ in range(args.repeats)]
        t_ours = statistics.median(r["seconds"] for r in ours)
        rss = max(r["max_rss_mb"] for r in ours)
        print(f"smepulse compute: median {t_ours:.2f} s over {len(ours)} runs "
              f"({', '.join('{:.2f}'.format(r['seconds']) for r in ours)}), peak RSS {rss:.0f} MB")
        if not args.no_pandas:
            theirs = [measure("pandas", path, str(Path(tmp) / "pandas.csv")) for _ in range(max(1, args.repeats // 2))]
            t_pd = statistics.median(r["seconds"] for r in theirs)
            diff = agree(str(Path(tmp) / "ours.csv"), str(Path(tmp) / "pandas.csv"))
            print(f"pandas groupby:   median {t_pd:.2f} s over {len(theirs)} runs, peak RSS "
                  f"{max(r['max_rss_mb'] for r in theirs):.0f} MB")
            print(f"speed-up {t_pd / t_ours:.1f}x; largest difference between the two: {diff:.2e} points")


if __name__ == "__main__":
    main()
