"""Benchmark: bootstrap standard errors (500 replicates, weighting redone in each) for every series and group of
one month, for a 600-firm and a 100,000-firm sample. Targets: under 5 s and under 60 s.

    .venv/bin/python bench/precision.py [--repeats 3]
"""
import argparse
import statistics
import time

from smepulse.index.precision import bootstrap
from smepulse.index.weighting import frame_from_methodology
from smepulse.methodology import load_methodology
from smepulse.sim.survey import simulate_survey
from smepulse.survey.responses import from_frame

ap = argparse.ArgumentParser()
ap.add_argument("--repeats", type=int, default=3)
ap.add_argument("--replicates", type=int, default=500)
args = ap.parse_args()
m = load_methodology("smei")
frame = frame_from_methodology(m)
for respondents in (600, 100_000):
    s = simulate_survey(n_firms=int(respondents / 0.8), n_months=1, start="2026-10", seed=1)
    resp = from_frame(s.responses, m)
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        errors = bootstrap(resp, frame, replicates=args.replicates)
        times.append(time.perf_counter() - t)
    cells = errors[errors["period"].str.len() == 7]
    print(f"{len(s.responses):,} respondents: median {statistics.median(times):.2f} s over {len(times)} runs "
          f"({', '.join(f'{x:.2f}' for x in times)}), {args.replicates} replicates, {len(cells):,} series x groups")
