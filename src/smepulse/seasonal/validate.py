"""Input checks before adjustment: refuse, with the series named, anything X-13 would get wrong."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from smepulse.errors import SeasonalError

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def label(series: str, group: str | None) -> str:
    return f"series '{series}'" + (f" group '{group}'" if group else "")


def monthly_series(periods, values, *, series: str, group: str | None = None,
                   max_missing_share: float = 0.0) -> pd.Series:
    """Validate one series and return it as floats indexed by consecutive 'YYYY-MM' periods.

    Raises SeasonalError on: periods that are not YYYY-MM months, duplicates, a non-monthly step
    (e.g. quarterly data), constant series, and gaps (missing months or missing values) inside the
    observed span when they are more than `max_missing_share` of it (0: any gap is refused). Accepted
    gaps come back as NaN (months absent from the input are added); leading and trailing missing
    values are kept as NaN too.
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
        if len(missing) and max_missing_share <= 0:
            raise SeasonalError(f"{who}: {len(missing)} month(s) missing inside the span, first "
                                f"{missing[0]}; fill the gap (X-13 cannot adjust a broken series)")
        s = s.reindex(full)
    observed = s.index[s.notna()]
    if not len(observed):
        raise SeasonalError(f"{who}: no values at all (every month missing or suppressed)")
    inside = s.loc[observed[0]:observed[-1]]
    gaps = inside.index[inside.isna()]
    if len(gaps) and (max_missing_share <= 0 or len(gaps) > max_missing_share * len(inside)):
        allowed = f" (more than {max_missing_share:.0%} of the span)" if max_missing_share > 0 else ""
        raise SeasonalError(f"{who}: no value for {gaps[0]} ({len(gaps)} missing{allowed}); fill or trim "
                            "the series")
    if np.nanmax(s.to_numpy()) == np.nanmin(s.to_numpy()):
        raise SeasonalError(f"{who}: the series is constant ({s[observed[0]]:g}); there is no "
                            "seasonality to estimate")
    s.index = s.index.strftime("%Y-%m")
    return s
