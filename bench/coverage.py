"""Coverage of the bootstrap's 95% intervals on repeated simulated samples (reported in docs/precision.md).

    .venv/bin/python bench/coverage.py --samples 100
"""
import argparse

from smepulse.index import compute
from smepulse.index.precision import attach, bootstrap
from smepulse.index.weighting import frame_from_methodology
from smepulse.methodology import load_methodology
from smepulse.sim.survey import simulate_survey
from smepulse.survey.responses import from_frame

ap = argparse.ArgumentParser()
ap.add_argument("--samples", type=int, default=100)
ap.add_argument("--months", type=int, default=6)
ap.add_argument("--replicates", type=int, default=500)
args = ap.parse_args()
m = load_methodology("smei")
frame = frame_from_methodology(m)
hits = {}
for seed in range(args.samples):
    s = simulate_survey(n_firms=600, n_months=args.months, start="2024-01", seed=1000 + seed)
    resp = from_frame(s.responses, m)
    out = attach(compute(resp, frame).series, bootstrap(resp, frame, replicates=args.replicates, seed=seed), m)
    out = out[(out["period"].str.len() == 7) & out["se"].notna()]
    truth = s.truth[s.truth["measure"] == "diffusion"]
    both = out.merge(truth, on=["period", "series", "group"])
    for kind, sub in (("group all", both[both["group"] == "all"]), ("every group", both)):
        cov = (sub["ci_low"] <= sub["true_value"]) & (sub["true_value"] <= sub["ci_high"])
        h, t = hits.get(kind, (0, 0))
        hits[kind] = (h + int(cov.sum()), t + len(sub))
for kind, (h, t) in hits.items():
    print(f"{kind}: {h / t:.3f} of {t} intervals cover the truth ({args.samples} samples x {args.months} months, "
          f"{args.replicates} replicates)")
