"""Coverage of the bootstrap's 95% intervals on repeated simulated samples (reported in docs/precision.md).

    .venv/bin/python bench/coverage.py --samples 100

Intervals are value +- q se with q the t quantile on the effective sample (`--normal`: the normal quantile,
as before); "near the minimum" are the cells with an effective sample under 60 (publication minimum 30).
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
ap.add_argument("--normal", action="store_true", help="normal quantile instead of t on the effective sample")
args = ap.parse_args()
m = load_methodology("smei")
frame = frame_from_methodology(m)
hits = {}
for seed in range(args.samples):
    s = simulate_survey(n_firms=600, n_months=args.months, start="2024-01", seed=1000 + seed)
    resp = from_frame(s.responses, m)
    point = compute(resp, frame).series
    errors = bootstrap(resp, frame, replicates=args.replicates, seed=seed, published=point)
    out = attach(point.drop(columns="n_eff") if args.normal else point, errors, m)
    if args.normal:
        out = out.merge(point[["period", "series", "group", "n_eff"]], on=["period", "series", "group"])
    out = out[(out["period"].str.len() == 7) & out["se"].notna()]
    truth = s.truth[s.truth["measure"] == "diffusion"]
    both = out.merge(truth, on=["period", "series", "group"])
    near = both[both["n_eff"] < 60]
    for kind, sub in (("group all", both[both["group"] == "all"]), ("every group", both),
                      ("near the minimum (n_eff < 60)", near)):
        cov = (sub["ci_low"] <= sub["true_value"]) & (sub["true_value"] <= sub["ci_high"])
        h, t = hits.get(kind, (0, 0))
        hits[kind] = (h + int(cov.sum()), t + len(sub))
for kind, (h, t) in hits.items():
    print(f"{kind}: {h / t:.3f} of {t} intervals cover the truth ({args.samples} samples x {args.months} months, "
          f"{args.replicates} replicates, {'normal' if args.normal else 't'} quantile)")
