"""STL (statsmodels) fallback for series too short for X-13 (X-13 needs 3 complete years)."""
from __future__ import annotations

import numpy as np
import pandas as pd

MIN_STL_MONTHS = 24  # STL needs two full cycles to separate a seasonal pattern at all


def stl_decompose(values: pd.Series, *, multiplicative: bool = False) -> dict[str, pd.Series]:
    """Robust STL, period 12. Returns sa, seasonal (factor), trend, irregular, indexed like values.

    Multiplicative runs on logs, so the factor is a ratio (sa = nsa / factor).
    """
    from statsmodels.tsa.seasonal import STL  # noqa: PLC0415 (statsmodels is slow to import, rarely needed)

    y = np.log(values.to_numpy(float)) if multiplicative else values.to_numpy(float)
    # A seasonal window of 7 is statsmodels' default; robust weights stop one outlier bending it.
    res = STL(y, period=12, seasonal=7, robust=True).fit()
    seasonal, trend, resid = res.seasonal, res.trend, res.resid
    if multiplicative:
        seasonal, trend, resid = np.exp(seasonal), np.exp(trend), np.exp(resid)
        sa = values.to_numpy(float) / seasonal
    else:
        sa = values.to_numpy(float) - seasonal
    idx = values.index
    return {"sa": pd.Series(sa, idx), "factor": pd.Series(seasonal, idx),
            "trend": pd.Series(trend, idx), "irregular": pd.Series(resid, idx)}
