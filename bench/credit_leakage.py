"""The leakage gate on small books: honest columns flagged and planted leaks caught, before and after.

    PYTHONPATH=src .venv/bin/python bench/credit_leakage.py [SHARED_DATA]   (default ../shared/data)
    PYTHONPATH=src .venv/bin/python bench/credit_leakage.py --per-column    (the simulated rates)

Books: simulated (`credit simulate` with 300-500 firms and a high default rate, then `credit features`;
labelled rows only, out of time and random), German credit subsamples of 200 and 300 rows (5 seeds),
SBA 7(a) subsamples of 200 and 300 rows (origination fields plus the post-outcome `Term` and
`ChgOffPrinGr`, 10 seeds). Each is checked on the training rows `train()` would check (captured by
wrapping `leakage_check` and stopping there). "point" is the rule before (the single-feature AUC's
point estimate > 0.8, i.e. `z = 0`), "bound" the rule after (its lower one-sided 95% bound > 0.8).
Planted leaks (added to each simulated and German book): the target with 10% of labels flipped, the
target plus N(0, 0.5) noise, and a recovery amount (bad * U(0.5, 1)). `--per-column`: the share of
single normal-score columns of a given true AUC flagged by each rule, 300 repetitions per cell.
docs/credit.md records a run of each.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import smepulse.credit.train as T
from smepulse.credit.data import SBA_ORIGINATION_FEATURES, load_german, load_sba_national
from smepulse.credit.features import build_features
from smepulse.credit.governance import LEAKAGE_Z, leakage_check
from smepulse.sim.credit import SimConfig, simulate

SIMS = [(300, 0.2, s) for s in (1, 2, 3, 4)] + [(400, 0.15, s) for s in (2, 3, 4)] + [(500, 0.1, 1)]
RULES = {"point": 0.0, "bound": LEAKAGE_Z}


class _Captured(Exception):
    pass


def checked_frame(df: pd.DataFrame, target: str, **kw) -> tuple[pd.DataFrame, np.ndarray]:
    """The training rows and prepared columns `train()` hands to the leakage check."""
    box = {}

    def grab(X, y, *a, **k):
        box["X"], box["y"] = X.copy(), np.asarray(y, int)
        raise _Captured

    orig, T.leakage_check = T.leakage_check, grab
    try:
        T.train(df, target, min_events=10, **kw)
    except _Captured:
        pass
    finally:
        T.leakage_check = orig
    return box["X"], box["y"]


def flagged(X: pd.DataFrame, y: np.ndarray, z: float) -> set[str]:
    return {f["feature"] for f in leakage_check(X, y, z=z) if f["flagged"]}


def planted(y: np.ndarray, rng) -> dict[str, np.ndarray]:
    n = len(y)
    return {"flip10": np.where(rng.random(n) < 0.10, 1 - y, y).astype(float),
            "noisy": y + rng.normal(0, 0.5, n), "recovery": y * rng.uniform(0.5, 1.0, n)}


def books(root: Path):
    for firms, rate, seed in SIMS:
        with tempfile.TemporaryDirectory() as d:
            simulate(SimConfig(n_firms=firms, default_rate=rate, seed=seed), d)
            f = build_features(d)
        f = f[f.default_12m.notna()].reset_index(drop=True)
        for tc in ("application_date", None):
            yield f"sim {firms} firms {rate} s{seed} {'oot' if tc else 'random'}", \
                checked_frame(f, "default_12m", time_column=tc), True
    g = load_german(root)
    for n in (200, 300):
        for seed in range(5):
            yield f"german {n} s{seed}", checked_frame(g.sample(n, random_state=seed).reset_index(drop=True),
                                                       "bad"), True
    s = load_sba_national(root)[SBA_ORIGINATION_FEATURES + ["Term", "ChgOffPrinGr", "Default"]]
    for n in (200, 300):
        for seed in range(10):
            yield f"sba {n} s{seed}", checked_frame(s.sample(n, random_state=seed).reset_index(drop=True),
                                                    "Default"), False


def main(root: Path) -> None:
    rng = np.random.default_rng(7)
    honest = {r: 0 for r in RULES}
    caught: dict[tuple[str, str], list[bool]] = {}
    started, cpu = time.perf_counter(), time.process_time()
    for name, (X, y), plant in books(root):
        flags = {r: flagged(X, y, z) for r, z in RULES.items()}
        post = {"Term", "ChgOffPrinGr"} & set(X.columns)
        for r in RULES:
            honest[r] += len(flags[r] - post)
            for c in post:
                caught.setdefault((f"{name.split()[0]} {name.split()[1]} {c}", r), []).append(c in flags[r])
        if plant:
            for leak, v in planted(y, rng).items():
                Xl = X.assign(**{leak: v})
                for r, z in RULES.items():
                    caught.setdefault((leak, r), []).append(leak in flagged(Xl, y, z))
        print(f"{name:34s} {len(y):4d} rows {int(y.sum()):3d} bads {X.shape[1]:3d} columns  flagged: "
              + "  ".join(f"{r} {len(f - post)} honest{' + ' + ','.join(sorted(f & post)) if f & post else ''}"
                          for r, f in flags.items()), flush=True)
    print("honest columns flagged in all books:", honest)
    for (leak, r), v in sorted(caught.items()):
        print(f"caught {leak:22s} {r:6s} {sum(v)}/{len(v)}")
    print(f"{time.perf_counter() - started:.0f} s wall, {time.process_time() - cpu:.0f} s CPU")


def per_column(reps: int = 300) -> None:
    from scipy.stats import norm  # noqa: PLC0415

    from smepulse.credit.governance import LEAKAGE_AUC, single_feature_auc  # noqa: PLC0415
    from smepulse.credit.metrics import auc_interval  # noqa: PLC0415
    rules = {"point": (0.0, LEAKAGE_AUC), "bound": (LEAKAGE_Z, LEAKAGE_AUC), "z1.282": (1.282, LEAKAGE_AUC),
             "bound>0.75": (LEAKAGE_Z, 0.75)}
    rng = np.random.default_rng(3)
    for true_auc in (0.70, 0.75, 0.78, 0.85, 0.9, 0.95):
        shift = np.sqrt(2) * norm.ppf(true_auc)  # two unit normals this far apart have that AUC
        for n, nb in ((110, 12), (150, 25), (210, 45)):
            hits = dict.fromkeys(rules, 0)
            for _ in range(reps):
                y = np.zeros(n, int)
                y[rng.choice(n, nb, replace=False)] = 1
                a = single_feature_auc(pd.Series(shift * y + rng.normal(size=n)), y)
                for r, (z, t) in rules.items():
                    hits[r] += a > LEAKAGE_AUC and auc_interval(a, nb, n - nb, z)[1] > t
            print(f"true AUC {true_auc} {n} rows {nb} bads: "
                  + "  ".join(f"{r} {h / reps:.3f}" for r, h in hits.items()), flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--per-column"]:
        per_column()
    else:
        main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
