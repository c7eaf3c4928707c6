"""Composites (sub-indexes, headlines, published presets) and quarterly averages on tidy series.

Disclosure control: a composite is built, per period and group, only from the component cells that are
published. A suppressed cell (flag `suppressed`) is left out like a question nobody answered: the
composite's weights are re-normalised over the components present, and the composite itself is suppressed
when the published components carry less than `MIN_WEIGHT_SHARE` of the weight of the components with data
(or, with `require_all`, when any component is missing). So no
published composite contains a suppressed value, and none can be recovered as k x composite minus the
published components. `compose_values` is the same rule on arrays, used by the bootstrap replicates.
"""
from __future__ import annotations

from collections.abc import Mapping, MutableMapping

import numpy as np
import pandas as pd

from smepulse.index.diffusion import invert_value
from smepulse.methodology import Methodology

KEYS = ["period", "group"]
SUPPRESSED = "suppressed"
MIN_WEIGHT_SHARE = 0.5  # a composite needs components carrying at least half its weight


def compose_values(values: MutableMapping[str, np.ndarray], methodology: Methodology,
                   suppressed: Mapping[str, np.ndarray] | None = None,
                   min_weight_share: float = MIN_WEIGHT_SHARE) -> MutableMapping[str, np.ndarray]:
    """Add every composite to `values` (series id -> array of any shape, NaN = no value).

    suppressed: series id -> boolean array, True where the cell exists but is suppressed (its value must
    be NaN in `values`); for a composite id, True withholds that composite cell (it is NaN and counts as
    suppressed above it). A component with no value is left out and the weights re-normalised; a composite
    is NaN (and counts as suppressed for composites above it) when its suppressed components carry more
    than 1 - `min_weight_share` of the weight of the components with data, or, with `require_all`, when
    any component is missing. Composites are evaluated in file order, so a headline may use sub-indexes.
    The one implementation of composition: the estimate (`compose`) and every bootstrap replicate use it.
    """
    shape = np.shape(next(iter(values.values()))) if values else (0,)
    hidden = dict(suppressed or {})
    for comp in methodology.composites:
        withheld = hidden.get(comp.id)  # composite cells suppressed beforehand (complementary suppression)
        num = np.zeros(shape)
        den = np.zeros(shape)
        den_hidden = np.zeros(shape)
        complete = np.ones(shape, dtype=bool)
        for t in comp.terms:
            x = values.get(t.series)
            x = np.full(shape, np.nan) if x is None else np.asarray(x, dtype=float)
            if t.inverted:
                x = invert_value(x, methodology.formula)
            ok = ~np.isnan(x)
            complete &= ok
            num += np.where(ok, t.weight * np.nan_to_num(x), 0.0)
            den += np.where(ok, t.weight, 0.0)
            if t.series in hidden:
                den_hidden += np.where(~ok & hidden[t.series], t.weight, 0.0)
        enough = den >= min_weight_share * (den + den_hidden) - 1e-12
        usable = complete if comp.require_all else (den > 0) & enough
        if withheld is not None:
            usable = usable & ~np.asarray(withheld, dtype=bool)
        with np.errstate(invalid="ignore", divide="ignore"):
            values[comp.id] = np.where(usable, num / np.where(den > 0, den, 1.0), np.nan)
        hidden[comp.id] = ~usable & ((den > 0) | (den_hidden > 0))
    return values


def publishable(series: pd.DataFrame) -> pd.DataFrame:
    """The rows whose value is published: a value present and not flagged suppressed."""
    ok = series["value"].notna()
    if "flag" in series.columns:
        ok &= series["flag"].fillna("") != SUPPRESSED
    return series[ok]


def compose(series: pd.DataFrame, methodology: Methodology,
            min_weight_share: float = MIN_WEIGHT_SHARE) -> pd.DataFrame:
    """Composite rows for every (period, group) from tidy `period, series, group, value[, flag]` rows.

    Only publishable component cells are used (see the module docstring): per period and group, weights
    are re-normalised over the components present; a composite whose published components carry less than
    `min_weight_share` of the weight of its components with data (published or suppressed), or a
    `require_all` composite with a component missing, is NaN.
    """
    df = series if "group" in series.columns else series.assign(group="all")
    keys = KEYS + (["adjustment"] if "adjustment" in df.columns else [])  # never mix sa and nsa components
    flagged = df["flag"].fillna("") == SUPPRESSED if "flag" in df.columns else pd.Series(False, index=df.index)
    df = df.assign(value=df["value"].where(~flagged), _sup=flagged)
    # Only the key combinations that exist: pivot_table(dropna=False) would invent the full cross product.
    grouped = df.groupby(keys + ["series"], sort=True, dropna=False)
    wide = grouped["value"].first().unstack("series")
    sup = grouped["_sup"].any().unstack("series").reindex(index=wide.index, columns=wide.columns)
    values = {c: wide[c].to_numpy(dtype=float) for c in wide.columns}
    hidden = {c: sup[c].fillna(False).to_numpy(dtype=bool) for c in sup.columns}
    if not values:
        values = {"_": np.zeros(len(wide))}
    compose_values(values, methodology, hidden, min_weight_share)
    index = wide.index.to_frame(index=False)
    out = [index.assign(series=comp.id, value=values[comp.id]) for comp in methodology.composites]
    if not out:
        return pd.DataFrame(columns=[*keys, "series", "value"])
    return pd.concat(out, ignore_index=True)


def skipped(series: pd.DataFrame, composed: pd.DataFrame, methodology: Methodology) -> pd.DataFrame:
    """The composites `compose` could not make: period, group, series, missing (the components, comma
    separated, that had no published value)."""
    df = publishable(series if "group" in series.columns else series.assign(group="all"))
    made = composed[composed["value"].notna()]
    have = pd.concat([df[["period", "group", "series"]], made[["period", "group", "series"]]])
    present = have.groupby(["period", "group"])["series"].agg(set).to_dict()
    terms = {c.id: [t.series for t in c.terms] for c in methodology.composites}
    rows = []
    for (period, group, sid), _ in composed[composed["value"].isna()].groupby(
            ["period", "group", "series"], sort=True):
        missing = [t for t in terms[sid] if t not in present.get((period, group), set())]
        rows.append((period, group, sid, ", ".join(missing) or "too few published components"))
    return pd.DataFrame(rows, columns=["period", "group", "series", "missing"])


def quarterly(monthly: pd.DataFrame) -> pd.DataFrame:
    """Quarterly averages (`period` like 2024Q4) of every series and group with all three months present.

    value, up, same, down: the mean of the months. n and n_eff: the largest and the mean of the months'
    (a panel answers every month: three months of the same firms are not three times the sample).
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
    if "n" in df.columns:
        agg["n"] = ("n", "max")
    if "n_eff" in df.columns:
        agg["n_eff"] = ("n_eff", "mean")
    q = df.groupby(keys, sort=False, dropna=False).agg(**agg).reset_index()
    q = q[q["months"] == 3].drop(columns="months").rename(columns={"quarter": "period"})
    return q
