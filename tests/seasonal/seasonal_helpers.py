"""Synthetic monthly diffusion-index-like series for the seasonal tests."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

PATTERN = np.array([-2.0, -3.5, 1.0, 2.5, 1.5, 0.5, -0.5, -1.0, 0.5, 1.5, 0.5, -0.5])


def index_series(months: int, seed: int = 0, start: str = "2015-01", scale: float = 1.0) -> pd.Series:
    rng = np.random.default_rng(seed)
    idx = pd.period_range(start, periods=months, freq="M").strftime("%Y-%m")
    noise = lfilter([1], [1, -0.6], rng.normal(0, 0.5, months))
    return pd.Series(50 + scale * np.resize(PATTERN, months) + noise, index=idx)


def tidy(series: dict[str, pd.Series], group: str = "all") -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"period": s.index, "series": k, "group": group, "value": s.values})
                      for k, s in series.items()], ignore_index=True)
