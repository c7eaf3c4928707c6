"""Benchmark: the full release of one month with every group (facts, English and Chinese narrative and
charts, HTML and PDF). Target: under 10 s. Not part of the test suite.

    .venv/bin/python bench/release.py                       # synthetic series, every smei group (19)
    .venv/bin/python bench/release.py --store demo/smepulse.duckdb --period 2026-10
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", help="store of published vintages (default: synthetic series)")
    ap.add_argument("--period", default="2026-09")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--months", type=int, default=36)
    args = ap.parse_args()

    from smepulse.methodology import load_methodology
    from smepulse.release.facts import build_facts
    from smepulse.release.report import ReleaseData, build_release, load_from_store, render_html, render_svgs, write_pdf
    from smepulse.release.sample import synthetic_series

    m = load_methodology("smei")
    if args.store:
        data = load_from_store(args.store, m.name)
    else:
        data = ReleaseData(synthetic_series(m, end="2026-10", months=args.months,
                                            suppress=("sector=accommodation_catering",)), "synthetic")
    df = data.series
    print(f"{len(df):,} rows, {df['group'].nunique()} groups, {df['series'].nunique()} series; period "
          f"{args.period}; load average {os.getloadavg()[0]:.2f}")
    totals, parts, cpus = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for k in range(args.repeats):
            t = {}
            c0 = time.process_time()
            t0 = time.perf_counter()
            facts = build_facts(df, args.period, m)
            t["facts"] = time.perf_counter() - t0
            for lang in ("en", "zh"):
                s = time.perf_counter()
                rel = build_release(data, args.period, m, lang, facts=facts)
                render_svgs([rel])
                t[f"{lang} narrative+charts"] = time.perf_counter() - s
                s = time.perf_counter()
                (out / f"r_{lang}.html").write_text(render_html(rel), encoding="utf-8")
                t[f"{lang} html"] = time.perf_counter() - s
                s = time.perf_counter()
                write_pdf(render_html(rel, pdf=True), out / f"r_{lang}.pdf")
                t[f"{lang} pdf"] = time.perf_counter() - s
            total = time.perf_counter() - t0
            cpu = time.process_time() - c0
            totals.append(total)
            cpus.append(cpu)
            parts.append(t)
            print(f"run {k + 1}: {total:.2f} s wall, {cpu:.2f} s CPU  ("
                  + ", ".join(f"{n} {v:.2f}" for n, v in t.items()) + ")")
        print(f"facts: {len(facts)}; PDF pages written to {out}")
    med = statistics.median(totals)
    print(f"median of {args.repeats}: {med:.2f} s wall, {statistics.median(cpus):.2f} s CPU of this process "
          f"(target < 10 s); load average {os.getloadavg()[0]:.2f}")
    for name in parts[0]:
        print(f"  {name:22s} median {statistics.median(p[name] for p in parts):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
