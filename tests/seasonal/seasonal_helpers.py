"""Synthetic monthly diffusion-index-like series for the seasonal tests."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from smepulse.index.compose import compose
from smepulse.index.engine import COLUMNS, IndexResult
from smepulse.methodology import load_methodology

PATTERN = np.array([-2.0, -3.5, 1.0, 2.5, 1.5, 0.5, -0.5, -1.0, 0.5, 1.5, 0.5, -0.5])


def index_series(months: int, seed: int = 0, start: str = "2015-01", scale: float = 1.0) -> pd.Series:
    rng = np.random.default_rng(seed)
    idx = pd.period_range(start, periods=months, freq="M").strftime("%Y-%m")
    noise = lfilter([1], [1, -0.6], rng.normal(0, 0.5, months))
    return pd.Series(50 + scale * np.resize(PATTERN, months) + noise, index=idx)


def tidy(series: dict[str, pd.Series], group: str = "all") -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"period": s.index, "series": k, "group": group, "value": s.values})
                      for k, s in series.items()], ignore_index=True)


def ism_result(months: int = 48, require_all: bool = True, shift: float = 0.0) -> IndexResult:
    """Five ISM-like question series and the PMI, as an IndexResult (employment suppressed in 2016-05 and
    2018-12)."""
    ism = load_methodology("ism-pmi")
    comps = tuple(c.model_copy(update={"require_all": require_all}) for c in ism.composites)
    ism = ism.model_copy(update={"composites": comps})
    names = ["new_orders", "production", "employment", "supplier_deliveries", "inventories"]
    parts = [pd.DataFrame({"period": s.index, "series": name, "value": s.to_numpy()})
             for k, name in enumerate(names) for s in [index_series(months, seed=40 + k, scale=1 + 0.3 * k)]]
    if shift:  # a level shift in production from month 20 (X-13 finds an LS outlier)
        parts[1].loc[20:, "value"] += shift
    comps = pd.concat(parts, ignore_index=True).assign(group="all", adjustment="nsa", n=100, n_eff=100.0, flag="")
    # Suppress two cells of one question (no value, flagged), as the engine does below the minimum.
    cut = (comps["series"] == "employment") & comps["period"].isin(["2016-05", "2018-12"])
    comps.loc[cut, "value"] = np.nan
    comps.loc[cut, "flag"] = "suppressed"
    rows = pd.concat([comps, compose(comps[comps["value"].notna()], ism).assign(n=100, n_eff=100.0, flag="")],
                     ignore_index=True)
    for c in COLUMNS:
        if c not in rows:
            rows[c] = np.nan
    return IndexResult(rows[COLUMNS], ism, "test")
