"""CNY dates, the moving-holiday regressor, and that X-13 with it removes a known CNY effect."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy.signal import lfilter

from smepulse.errors import SeasonalError
from smepulse.seasonal.adjust import adjust_series
from smepulse.seasonal.holidays import cny_dates, cny_regressor


def test_cny_dates_published():
    d = cny_dates()
    assert d[2020] == dt.date(2020, 1, 25) and d[2024] == dt.date(2024, 2, 10)
    assert min(d) <= 1990 and max(d) >= 2050


def test_regressor_shares_by_hand():
    # Raw January share of the 20 days before CNY, counted independently from the date table.
    d = cny_dates()
    jan = {y: sum((d[y] - dt.timedelta(days=k)).month == 1 for k in range(1, 21)) / 20
           for y in range(1990, 2051)}
    jan_mean = np.mean(list(jan.values()))
    r = cny_regressor("1990-01", "2050-12", window=20)
    # CNY 2024 = Feb 10: Jan 21..Feb 9, so 11 of the 20 days fall in January.
    assert jan[2024] == pytest.approx(11 / 20)
    assert r["2024-01"] == pytest.approx(11 / 20 - jan_mean)
    assert r["2024-02"] == pytest.approx(9 / 20 - (1 - jan_mean))
    # Centred: every calendar month averages zero over 1990-2050; months away from CNY are zero.
    base = pd.Series(r.to_numpy(), index=pd.PeriodIndex(r.index, freq="M"))
    assert base.groupby(base.index.month).mean().abs().max() < 1e-9
    assert (base[~base.index.month.isin([1, 2])] == 0).all()


def test_long_window_reaches_december():
    # CNY 2023 = Jan 22: a 30-day window starts Dec 23, 2022 (9 days in December).
    r30 = cny_regressor("2022-01", "2023-12", window=30)
    r20 = cny_regressor("2022-01", "2023-12", window=20)
    assert r30["2022-12"] != 0 and r20["2022-12"] == 0


def test_holiday_table_must_cover_span():
    with pytest.raises(SeasonalError, match="CNY date table covers"):
        cny_regressor("2050-01", "2065-12")


def _cny_series(beta: float, seed: int = 11) -> tuple[pd.Series, pd.Series]:
    """A diffusion-like index near 50: fixed seasonality + AR(1) noise + beta * CNY regressor."""
    rng = np.random.default_rng(seed)
    idx = pd.period_range("2005-01", "2019-12", freq="M").strftime("%Y-%m")
    n = len(idx)
    seasonal = np.tile([-2.0, -3.5, 1.0, 2.5, 1.5, 0.5, -0.5, -1.0, 0.5, 1.5, 0.5, -0.5], n // 12)
    noise = lfilter([1], [1, -0.5], rng.normal(0, 0.6, n))
    cny = beta * cny_regressor(idx[0], idx[-1]).to_numpy()
    y = pd.Series(50 + seasonal + noise + cny, index=idx)
    return y, pd.Series(50 + noise, index=idx)  # the truth: what a perfect SA would leave


def test_cny_regressor_removes_jan_feb_swing():
    beta = 8.0
    y, truth = _cny_series(beta)
    plain = adjust_series(y, series="cny-test")
    with_cny = adjust_series(y, series="cny-test", holiday="cny")
    jf = pd.PeriodIndex(y.index, freq="M").month.isin([1, 2])

    def rmse(r):  # error of the SA series in January and February, where CNY moves activity
        return float(np.sqrt(((r.sa - truth)[jf] ** 2).mean()))

    assert rmse(with_cny) < 0.5 * rmse(plain)
    est = with_cny.regression.set_index("variable").loc["cny20"]
    assert est["estimate"] == pytest.approx(beta, rel=0.2) and est["t"] > 5
    # The holiday effect is in the combined factor: sa = nsa - factor.
    assert np.allclose(with_cny.sa, y - with_cny.factor, atol=1e-6)


def test_adjusting_beyond_the_cny_table_is_refused_naming_the_series():
    idx = pd.period_range("2054-01", "2060-06", freq="M").strftime("%Y-%m")
    y = pd.Series(50 + np.resize([-2.0, 1.0, 0.5, 0.5], len(idx)), index=idx)
    with pytest.raises(SeasonalError, match="series 'late' group 'g'.*CNY date table covers"):
        adjust_series(y, series="late", group="g", holiday="cny")
