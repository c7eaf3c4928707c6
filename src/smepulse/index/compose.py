"""Composites (sub-indexes, headlines, published presets) and quarterly averages on tidy series."""
from __future__ import annotations

import numpy as np
import pandas as pd

from smepulse.index.diffusion import invert_value
from smepulse.methodology import Methodology

KEYS = ["period", "group"]


def compose(series: pd.DataFrame, methodology: Methodology) -> pd.DataFrame:
    """Composite rows for every (period, group) from tidy `period, series, group, value` rows.

    Composites are evaluated in file order, so a headline may use sub-indexes. A composite with
    `require_all` is missing when any component is; otherwise weights are re-normalised over the
    components present.
    """
    df = series if "group" in series.columns else series.assign(group="all")
    keys = KEYS + (["adjustment"] if "adjustment" in df.columns else [])  # never mix sa and nsa components
    # Only the key combinations that exist: pivot_table(dropna=False) would invent the full cross product.
    wide = df.groupby(keys + ["series"], sort=True, dropna=False)["value"].first().unstack("series")
    out = []
    for comp in methodology.composites:
        num = np.zeros(len(wide))
        den = np.zeros(len(wide))
        complete = np.ones(len(wide), dtype=bool)
        for t in comp.terms:
            x = wide[t.series].to_numpy(dtype=float) if t.series in wide else np.full(len(wide), np.nan)
            if t.inverted:
                x = invert_value(x, methodology.formula)
            ok = ~np.isnan(x)
            complete &= ok
            num += np.where(ok, t.weight * np.nan_to_num(x), 0.0)
            den += np.where(ok, t.weight, 0.0)
        usable = complete if comp.require_all else den > 0
        value = np.where(usable, num / np.where(den > 0, den, 1.0), np.nan)
        wide[comp.id] = value
        part = wide.index.to_frame(index=False)
        part["series"] = comp.id
        part["value"] = value
        out.append(part)
    return pd.concat(out, ignore_index=True)


def quarterly(monthly: pd.DataFrame) -> pd.DataFrame:
    """Quarterly averages (`period` like 2024Q4) of every series and group with all three months present.

    value, up, same, down: the mean of the months; n and n_eff: summed over the months.
    """
    df = monthly[monthly["value"].notna()].copy()
    if df.empty:
        return df
    df["quarter"] = df["period"].str.slice(0, 4) + "Q" + \
        ((df["period"].str.slice(5, 7).astype(int) - 1) // 3 + 1).astype(str)
    keys = [c for c in ("series", "group", "adjustment") if c in df.columns] + ["quarter"]
    agg: dict[str, tuple[str, str]] = {"value": ("value", "mean"), "months": ("period", "nunique")}
    for c in ("up", "same", "down"):
        if c in df.columns:
            agg[c] = (c, "mean")
    for c in ("n", "n_eff"):
        if c in df.columns:
            agg[c] = (c, "sum")
    q = df.groupby(keys, sort=False, dropna=False).agg(**agg).reset_index()
    q = q[q["months"] == 3].drop(columns="months").rename(columns={"quarter": "period"})
    return q
