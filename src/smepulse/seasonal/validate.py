"""Input checks before adjustment: refuse, with the series named, anything X-13 would get wrong."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from smepulse.errors import SeasonalError

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def label(series: str, group: str | None) -> str:
    return f"series '{series}'" + (f" group '{group}'" if group else "")


def monthly_series(periods, values, *, series: str, group: str | None = None) -> pd.Series:
    """Validate one series and return it as floats indexed by consecutive 'YYYY-MM' periods.

    Raises SeasonalError on: periods that are not YYYY-MM months, duplicates, a non-monthly step
    (e.g. quarterly data), gaps (missing months or missing values) and constant series.
    """
    who = label(series, group)
    periods = pd.Index([str(p) for p in periods])
    bad = [p for p in periods if not _MONTH.match(p)]
    if bad:
        raise SeasonalError(f"{who}: period '{bad[0]}' is not a month (YYYY-MM); seasonal "
                            "adjustment here is for monthly series only")
    if periods.has_duplicates:
        dup = periods[periods.duplicated()][0]
        raise SeasonalError(f"{who}: period {dup} appears more than once; one value per month")
    s = pd.Series(pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float),
                  index=pd.PeriodIndex(periods, freq="M")).sort_index()
    if len(s) >= 2:
        steps = np.diff(s.index.asi8)
        if len(set(steps)) == 1 and steps[0] > 1:
            raise SeasonalError(f"{who}: periods step by {steps[0]} months, so the series is not "
                                "monthly; aggregate or interpolate to months first")
        full = pd.period_range(s.index[0], s.index[-1], freq="M")
        missing = full.difference(s.index)
        if len(missing):
            raise SeasonalError(f"{who}: {len(missing)} month(s) missing inside the span, first "
                                f"{missing[0]}; fill the gap (X-13 cannot adjust a broken series)")
    if s.isna().any():
        raise SeasonalError(f"{who}: no value for {s.index[s.isna()][0]} "
                            f"({int(s.isna().sum())} missing); fill or trim the series")
    if len(s) and np.ptp(s.to_numpy()) == 0:
        raise SeasonalError(f"{who}: the series is constant ({s.iloc[0]:g}); there is no "
                            "seasonality to estimate")
    s.index = s.index.strftime("%Y-%m")
    return s
