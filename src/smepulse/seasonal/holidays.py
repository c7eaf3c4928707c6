"""Moving-holiday regressors from the lunar calendar: Chinese New Year (Spring Festival).

Definition (the genhol convention used by Census and Asian statistics offices): activity is
affected during a window of `window` days placed by `shape`:
- before: days CNY-window .. CNY-1 (the default; the rush before the holiday);
- around: window/2 days before CNY to window/2 - 1 days after it (the holiday week itself);
- after: days CNY .. CNY+window-1 (the slow restart after the holiday);
- dip_rebound: the month-on-month change of the `around` effect (this month's share minus last
  month's): what a "compared with last month" question shows, a dip in the holiday month and a
  rebound the month after.
For each month, the raw regressor is the share of that window falling in the month (January to
March; December too if a `before` window is longer than 20 days). Each calendar month's long-run mean over a fixed base
period (1990-2050) is subtracted, so the regressor has no seasonal mean: the fixed part of the
holiday effect stays in the seasonal factors, and the regressor captures only the year-to-year
movement caused by the lunar date moving between January and February.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib.resources import files

import pandas as pd
import yaml

from smepulse.errors import SeasonalError

BASE_YEARS = (1990, 2050)  # centring base: fixed so the regressor does not change as data grow


@lru_cache(maxsize=1)
def _load() -> dict[int, dt.date]:
    raw = yaml.safe_load(files("smepulse.seasonal").joinpath("cny_dates.yaml").read_text())
    return {int(y): dt.date.fromisoformat(str(d)) for y, d in raw["dates"].items()}


def cny_dates() -> dict[int, dt.date]:
    """Chinese New Year date for each year in the table (1980-2060), Beijing time."""
    return dict(_load())


SHAPES = ("before", "around", "after", "dip_rebound")
SHAPE_TAGS = {"before": "", "around": "around", "after": "after", "dip_rebound": "dip"}  # X-13 regressor names
# How the effect is spread over the window's days. The regressor is always flat (every day counts the same);
# the simulator also generates `ramp` effects (growing towards the holiday before it, fading after it,
# peaking on it around it) to test the regressor on shapes it does not assume.
PROFILES = ("flat", "ramp")


def window_offsets(shape: str, window: int) -> range:
    """Days relative to CNY (0 = the New Year's day) that the window of `shape` covers."""
    if shape == "before":
        return range(-window, 0)
    if shape == "after":
        return range(0, window)
    return range(-(window // 2), window - window // 2)  # around (and dip_rebound's level)


def _day_weights(shape: str, window: int, profile: str) -> list[float]:
    """Weight of each day of window_offsets(shape, window), summing to 1."""
    offsets = window_offsets(shape, window)
    if profile == "flat":
        raw = [1.0] * window
    elif shape == "before":
        raw = [float(window + k + 1) for k in offsets]  # 1 .. window, heaviest on the eve
    elif shape == "after":
        raw = [float(window - k) for k in offsets]  # window .. 1, heaviest on the day itself
    else:
        raw = [float(window // 2 + 1 - abs(k)) for k in offsets]  # a triangle peaking on the day
    total = sum(raw)
    return [w / total for w in raw]


def _window_shares(year: int, window: int, dates: dict[int, dt.date], shape: str = "before",
                   profile: str = "flat") -> dict[tuple[int, int], float]:
    """Share of the effect of `year`'s CNY (window placed by `shape`, spread by `profile`) in each (year, month)."""
    cny = dates[year]
    out: dict[tuple[int, int], float] = {}
    for k, w in zip(window_offsets(shape, window), _day_weights(shape, window, profile), strict=True):
        d = cny + dt.timedelta(days=k)
        out[(d.year, d.month)] = out.get((d.year, d.month), 0.0) + w
    return out


def _raw_shares(first_year: int, last_year: int, window: int, shape: str = "before",
                profile: str = "flat") -> pd.Series:
    """Uncentred window shares for every month of first_year..last_year."""
    dates = _load()
    # A window longer than 20 days can reach back into December: the next year's CNY matters too.
    need = range(first_year, last_year + (2 if window > 20 else 1))
    missing = [y for y in need if y not in dates]
    if missing:
        lo, hi = min(dates), max(dates)
        raise SeasonalError(f"CNY date table covers {lo}-{hi} but years {missing[0]}-{missing[-1]} "
                            "are needed; shorten the series span or extend cny_dates.yaml")
    index = pd.period_range(f"{first_year}-01", f"{last_year}-12", freq="M")
    values = pd.Series(0.0, index=index)
    for year in need:
        for (y, m), share in _window_shares(year, window, dates, shape, profile).items():
            p = pd.Period(year=y, month=m, freq="M")
            if p in values.index:
                values[p] += share
    return values


def _check(window: int, shape: str, profile: str = "flat") -> None:
    if not 1 <= window <= 60:
        raise SeasonalError(f"CNY window must be 1-60 days, got {window}")
    if shape not in SHAPES:
        raise SeasonalError(f"CNY shape must be one of {', '.join(SHAPES)}, got '{shape}'")
    if profile not in PROFILES:
        raise SeasonalError(f"CNY profile must be one of {', '.join(PROFILES)}, got '{profile}'")


def _span(start: str, end: str) -> tuple[pd.Period, pd.Period]:
    p0, p1 = pd.Period(start, freq="M"), pd.Period(end, freq="M")
    if p1 < p0:
        raise SeasonalError(f"CNY regressor: end {end} is before start {start}")
    return p0, p1


def _shaped(first_year: int, last_year: int, window: int, shape: str, profile: str) -> pd.Series:
    """Uncentred shares, with dip_rebound as this month's `around` share minus last month's."""
    level = "around" if shape == "dip_rebound" else shape
    shares = _raw_shares(first_year, last_year, window, level, profile)
    if shape == "dip_rebound":
        shares = (shares - shares.shift(1)).fillna(0.0)
    return shares


def cny_shares(start: str, end: str, *, window: int = 20, shape: str = "before",
               profile: str = "flat") -> pd.Series:
    """Uncentred share of the CNY effect in each month start..end ('YYYY-MM' index): in [0, 1], or in
    [-1, 1] for dip_rebound. The simulator's holiday effect; cny_regressor is its centred, flat form."""
    _check(window, shape, profile)
    p0, p1 = _span(start, end)
    shares = _shaped(p0.year - 1, p1.year, window, shape, profile)
    out = shares[(shares.index >= p0) & (shares.index <= p1)]
    out.index = out.index.strftime("%Y-%m")
    return out.astype(float).round(12)


def cny_regressor(start: str = "1990-01", end: str = "2050-12", *, window: int = 20,
                  base: tuple[int, int] = BASE_YEARS, shape: str = "before") -> pd.Series:
    """Centred CNY moving-holiday regressor for months start..end ('YYYY-MM'), index 'YYYY-MM'.

    shape: before (default), around, after or dip_rebound (see the module docstring). Named cny20 for
    the default shape, cnyafter20 / cnyaround20 / cnydip20 for the others.
    Raises SeasonalError if the CNY date table does not cover start..end (or the centring base).
    """
    _check(window, shape)
    p0, p1 = _span(start, end)
    shares = _shaped(min(p0.year, base[0]) - 1, max(p1.year, base[1]), window, shape, "flat")
    in_base = (shares.index.year >= base[0]) & (shares.index.year <= base[1])
    month_mean = shares[in_base].groupby(shares.index[in_base].month).mean()
    centred = shares - month_mean.reindex(shares.index.month).to_numpy()
    out = centred[(centred.index >= p0) & (centred.index <= p1)]
    out.index = out.index.strftime("%Y-%m")
    out.name = f"cny{SHAPE_TAGS[shape]}{window}"
    return out.astype(float).round(12)


def holiday_regressor(name: str, start: str, end: str, **kwargs) -> pd.Series:
    """Regressor by holiday name (only 'cny' for now): the hook the adjuster uses."""
    if name.lower() in ("cny", "chinese_new_year", "spring_festival"):
        return cny_regressor(start, end, **kwargs)
    raise SeasonalError(f"unknown holiday '{name}': supported holidays are 'cny'")

