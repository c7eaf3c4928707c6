"""Weights: design weights, post-stratified (one margin) or raked (several margins) to population targets.

Raking works on cells (period x classification cross-cells), which are few, so it runs in NumPy/pandas on a
small table; the factor per cell is then joined back to the responses inside DuckDB.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from smepulse.errors import InputError
from smepulse.methodology import Methodology

RAKE_TOLERANCE = 1e-9
RAKE_MAX_ITER = 200
RAKE_FAIL = 1e-6  # a margin still further off than this (share of the total) after RAKE_MAX_ITER: an error


def read_frame(path: str | Path, methodology: Methodology) -> pd.DataFrame:
    """A frame file: `dimension, value, share[, effective]` (shares of each dimension sum to 1)."""
    path = Path(path)
    if not path.exists():
        raise InputError("frame file not found", file=str(path))
    df = pd.read_csv(path, dtype=str) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    for col in ("dimension", "value", "share"):
        if col not in df.columns:
            raise InputError("required column is missing (need dimension, value, share)", file=str(path),
                             column=col)
    df = df.copy()
    if "effective" not in df.columns:
        df["effective"] = "0000-01"
    shares = pd.to_numeric(df["share"], errors="coerce")
    for i in np.flatnonzero(shares.isna() | (shares < 0)):
        raise InputError(f"share must be a number >= 0, got {df['share'].iloc[i]!r}", file=str(path),
                         row=int(i) + 2, column="share")
    df["share"] = shares
    for i, (dim, value) in enumerate(zip(df["dimension"], df["value"], strict=False)):
        cls = methodology.classifications.get(dim)
        if cls is None:
            raise InputError(f"unknown classification {dim!r}", file=str(path), row=i + 2, column="dimension")
        if value not in cls.values:
            raise InputError(f"{value!r} is not a value of {dim}", file=str(path), row=i + 2, column="value")
    sums = df.groupby(["dimension", "effective"])["share"].sum()
    for (dim, eff), total in sums.items():
        if abs(total - 1) > 1e-4:
            raise InputError(f"shares of {dim} (effective {eff}) sum to {total:.6g}, not 1", file=str(path),
                             column="share")
    return df[["dimension", "value", "share", "effective"]]


def frame_from_methodology(methodology: Methodology) -> pd.DataFrame:
    rows = [(t.dimension, v, s, t.effective) for t in methodology.targets for v, s in t.shares.items()]
    return pd.DataFrame(rows, columns=["dimension", "value", "share", "effective"])


def targets_by_period(frame: pd.DataFrame, periods: list[str]) -> pd.DataFrame:
    """For each period, the shares in force (latest `effective` on or before the period)."""
    out = []
    for dim, sub in frame.groupby("dimension"):
        effs = sorted(sub["effective"].unique())
        for p in periods:
            eligible = [e for e in effs if e <= p]
            if not eligible:
                raise InputError(f"no target shares for {dim} in force in {p} (earliest effective "
                                 f"{effs[0]})", column="effective")
            chosen = sub[sub["effective"] == eligible[-1]]
            out.append(chosen.assign(period=p))
    return pd.concat(out, ignore_index=True)[["period", "dimension", "value", "share"]]


def rake(cells: pd.DataFrame, targets: pd.DataFrame, dims: list[str]) -> tuple[pd.Series, list[str]]:
    """Iterative proportional fitting of cell weight totals to target shares, per period.

    cells: period, <dims...>, w (sum of design weights in the cell). Returns the factor per cell row
    (new total / old total) and warnings (e.g. a target category with no respondents).
    One margin is exactly post-stratification; several margins converge to the raking solution.
    """
    notes: list[str] = []
    w = cells["w"].to_numpy(dtype=float).copy()
    total = cells.groupby("period")["w"].transform("sum").to_numpy()
    margins = []
    for d in dims:
        t = targets[targets["dimension"] == d][["period", "value", "share"]].rename(columns={"value": d})
        present = cells[["period", d]].drop_duplicates()
        merged = present.merge(t, on=["period", d], how="left")
        missing_target = merged[merged["share"].isna()]
        if len(missing_target):
            raise InputError(f"respondents with {d}={missing_target[d].iloc[0]!r} in "
                             f"{missing_target['period'].iloc[0]} have no target share", column=d)
        # Target categories with no respondents cannot be represented: renormalise over those present.
        empty = t.merge(present, on=["period", d], how="left", indicator=True)
        empty = empty[(empty["_merge"] == "left_only") & (empty["share"] > 0)]
        for _, row in empty.drop_duplicates(subset=[d]).iterrows():
            notes.append(f"no respondents with {d}={row[d]} in {row['period']} (target share "
                         f"{row['share']:.3f}); shares renormalised over the categories present")
        merged["share"] = merged["share"] / merged.groupby("period")["share"].transform("sum")
        share = cells[["period", d]].merge(merged, on=["period", d], how="left")["share"].to_numpy()
        key = pd.MultiIndex.from_arrays([cells["period"], cells[d]]).factorize()[0]
        margins.append((key, share))
    for _ in range(RAKE_MAX_ITER):
        worst = 0.0
        for key, share in margins:
            sums = np.bincount(key, weights=w)[key]
            target = share * total
            worst = max(worst, float(np.max(np.abs(sums - target) / total)))
            w = w * np.where(sums > 0, target / np.where(sums > 0, sums, 1), 0)
        if worst < RAKE_TOLERANCE:
            break
    else:
        if worst < RAKE_FAIL:
            notes.append(f"raking stopped after {RAKE_MAX_ITER} iterations, margins met to {worst:.1e}")
            return pd.Series(w / cells["w"].to_numpy(dtype=float), index=cells.index), notes
        raise InputError(f"raking cannot meet every margin of {', '.join(dims)} (still {worst:.2%} off after "
                         f"{RAKE_MAX_ITER} iterations): the respondents' cells cannot be weighted to these "
                         "targets; check the targets or publish with --frame design")
    return pd.Series(w / cells["w"].to_numpy(dtype=float), index=cells.index), notes
