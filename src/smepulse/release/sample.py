"""Synthetic tidy series in the published format (every group, SA and NSA, SEs, quarters, shares): for tests,
benchmarks and trying a release without running the survey engine. Not survey output: random walks."""
from __future__ import annotations

import numpy as np
import pandas as pd

from smepulse.periods import from_index, month_range, quarter_of, to_index


def groups_of(methodology) -> list[str]:
    out = ["all"]
    for dim, c in methodology.classifications.items():
        out += [f"{dim}={v}" for v in c.values] + [f"{dim}={d}" for d in (c.derived or {})]
    return out


def synthetic_series(methodology, end: str = "2026-10", months: int = 36, seed: int = 0,
                     groups: list[str] | None = None, suppress: tuple[str, ...] = ()) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    periods = month_range(from_index(to_index(end) - months + 1), months)
    groups = groups or groups_of(methodology)
    questions = [q for q in methodology.questions]
    rows = []
    season = 1.5 * np.sin(2 * np.pi * (np.arange(months) % 12) / 12)
    for _gi, g in enumerate(groups):
        n = int(400 if g == "all" else rng.integers(40, 160))
        level = {}
        for q in questions:
            if q.shares_only:
                stable = np.clip(88 + rng.normal(0, 2, months).cumsum() * 0.3, 70, 97)
                up = (100 - stable) * 0.55
                for k, p in enumerate(periods):
                    rows.append(dict(period=p, series=q.id, group=g, adjustment="nsa", value=np.nan, n=n,
                                     n_eff=0.8 * n, up=up[k], same=stable[k], down=100 - stable[k] - up[k]))
                continue
            walk = 50 + rng.normal(0, 1.2, months).cumsum() + rng.normal(0, 3)
            level[q.id] = np.clip(walk, 20, 80)
        for c in methodology.composites:
            terms = [t.series for t in c.terms if t.series in level]
            if terms:
                level[c.id] = np.mean([level[t] for t in terms], axis=0)
        for s, sa in level.items():
            is_q = s not in {c.id for c in methodology.composites}
            se = (3.0 if is_q else 1.2) * np.sqrt(400 / n)
            nsa = sa + season
            for adj, values in (("nsa", nsa), ("sa", sa)):
                for k, p in enumerate(periods):
                    v = float(values[k])
                    same = 45.0
                    up = v - same / 2
                    row = dict(period=p, series=s, group=g, adjustment=adj, value=v, n=n, n_eff=0.8 * n,
                               se=se, se_change=se * 0.8 if k else np.nan, ci_low=v - 1.96 * se,
                               ci_high=v + 1.96 * se)
                    if is_q and adj == "nsa":
                        row.update(up=up, same=same, down=100 - up - same)
                    if g in suppress:
                        row.update(value=np.nan, ci_low=np.nan, ci_high=np.nan, flag="suppressed")
                    rows.append(row)
    df = pd.DataFrame(rows)
    # quarterly averages of complete quarters, as `compute` writes them
    m = df[df["value"].notna()].copy()
    m["quarter"] = quarter_of(m["period"])
    keys = ["quarter", "series", "group", "adjustment"]
    m["se2"] = m["se"] ** 2
    q = m.groupby(keys, as_index=False).agg(value=("value", "mean"), n=("n", "sum"), se2=("se2", "sum"),
                                            months=("value", "size"))
    q = q[q["months"] == 3].assign(se=lambda x: np.sqrt(x["se2"]) / 3).drop(columns=["se2", "months"])
    q = q.rename(columns={"quarter": "period"})
    out = pd.concat([df, q], ignore_index=True)
    for c in ("up", "same", "down", "flag", "n_eff", "se_change", "ci_low", "ci_high"):
        if c not in out:
            out[c] = np.nan
    return out[["period", "series", "group", "adjustment", "value", "n", "n_eff", "up", "same", "down", "se",
                "se_change", "ci_low", "ci_high", "flag"]]
