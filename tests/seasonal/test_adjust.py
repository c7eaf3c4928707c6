"""adjust_series / adjust_frame: fallbacks for short series, refusals of bad input.

Composites (direct vs indirect) are tested with the index engine in tests/index/test_adjusted.py."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from seasonal_helpers import PATTERN, index_series, tidy

from smepulse.errors import SeasonalError
from smepulse.seasonal.adjust import adjust_frame, adjust_series
from smepulse.seasonal.spec import SpecOptions


@pytest.mark.parametrize("decomposition", ["x11", "seats"])
def test_x13_recovers_known_seasonal_pattern(decomposition):
    y = index_series(120, seed=1)
    r = adjust_series(y, options=SpecOptions(decomposition=decomposition))
    assert r.method == f"x13-{decomposition}" and r.mode == "additive"
    est = r.factor.groupby(pd.PeriodIndex(r.factor.index, freq="M").month).mean().to_numpy()
    assert np.abs(est - (PATTERN - PATTERN.mean())).max() < 0.5
    assert np.allclose(r.sa, y - r.factor, atol=1e-6)  # additive: sa = nsa - factor


def test_outlier_found_at_planted_level_shift():
    y = index_series(120, seed=2)
    y.iloc[70:] += 6  # a level shift in 2020-11
    r = adjust_series(y)
    assert "LS2020.Nov" in r.outliers


def test_multiplicative_mode_factor_is_ratio():
    y = index_series(96, seed=3, scale=5) * 10
    r = adjust_series(y, mode="multiplicative")
    assert r.mode == "multiplicative"
    assert np.allclose(r.sa * r.factor, y, rtol=1e-6)
    # y = 10 * (50 + 5 * pattern + noise): the true factor is about 1 + pattern / 10.
    est = r.factor.groupby(pd.PeriodIndex(r.factor.index, freq="M").month).mean().to_numpy()
    assert np.abs(est - (1 + (PATTERN - PATTERN.mean()) / 10)).max() < 0.03


def test_explicit_stl_on_a_short_series():
    y = index_series(30, seed=4)
    frame = adjust_frame(tidy({"short": y}), method="stl")
    assert (frame["method"] == "stl").all()
    assert frame["note"].str.contains("STL").all()
    sa = frame[frame["adjustment"] == "sa"]["value"].to_numpy()
    # STL must take out most of the seasonal swing (range of the pattern is 6 points).
    assert np.std(sa - 50) < 0.6 * np.std(y.to_numpy() - 50)


def test_very_short_series_left_unadjusted_with_warning():
    r = adjust_series(index_series(18, seed=5), method="stl")
    assert r.method == "none" and r.status == "too_short" and r.sa.isna().all()
    assert r.warnings and "no seasonally adjusted series" in r.warnings[0]


@pytest.mark.parametrize("mutate, message", [
    (lambda s: s.where(~s.index.isin(s.index[30:40])), "more than 10%"),
    (lambda s: s * 0 + 50, "constant"),
    (lambda s: s.iloc[::3], "not monthly"),
    (lambda s: s.set_axis([f"{p[:4]}-Q{(int(p[5:]) - 1) // 3 + 1}x{p[5:]}" for p in s.index]), "YYYY-MM"),
])
def test_bad_input_refused_naming_series(mutate, message):
    df = tidy({"new_orders": mutate(index_series(72))}, group="services")
    with pytest.raises(SeasonalError, match=message) as exc:
        adjust_frame(df)
    assert "new_orders" in str(exc.value) and "services" in str(exc.value)


def test_errors_warn_passes_bad_series_through():
    df = tidy({"good": index_series(60), "flat": index_series(60) * 0 + 50})
    out = adjust_frame(df, errors="warn")
    flat = out[out["series"] == "flat"]
    assert flat["note"].str.contains("constant").all()
    assert (out[out["series"] == "good"]["method"] == "x13-x11").all()


def test_frame_layout_and_groups_adjusted_separately():
    df = pd.concat([tidy({"a": index_series(60, seed=6)}, "g1"),
                    tidy({"a": index_series(60, seed=7, scale=-1)}, "g2")])
    out = adjust_frame(df)
    assert set(out["adjustment"]) == {"nsa", "sa"} and len(out) == 2 * len(df)
    nsa = out[out["adjustment"] == "nsa"].set_index(["period", "series", "group"])["value"]
    assert nsa.sort_index().equals(df.set_index(["period", "series", "group"])["value"].sort_index())
    # Opposite seasonal patterns in the two groups: factors must have opposite signs in February.
    feb = out[(out["adjustment"] == "sa") & out["period"].str.endswith("-02")]
    means = feb.groupby("group")["seasonal_factor"].mean()
    assert means["g1"] < -2 and means["g2"] > 2


def test_holiday_ignored_with_warning_for_stl():
    r = adjust_series(index_series(30), holiday="cny", method="stl")
    assert any("ignored" in w for w in r.warnings)


def test_parallel_equals_serial():
    from smepulse.seasonal.adjust import adjust_many
    df = tidy({f"s{i}": index_series(48, seed=20 + i) for i in range(4)})
    serial = adjust_many(df, workers=1)
    parallel = adjust_many(df, workers=2)
    assert [r.series for r in parallel] == [r.series for r in serial]  # input order kept
    for a, b in zip(serial, parallel, strict=False):
        assert np.array_equal(a.sa.to_numpy(), b.sa.to_numpy()) and a.model == b.model


def test_user_regressor_estimated_and_coverage_checked():
    y = index_series(96, seed=12)
    idx = pd.period_range("2015-01", periods=96 + 12, freq="M").strftime("%Y-%m")
    # A temporary programme: +1 from 2018-04 to 2019-03, planted with an effect of 3 points.
    prog = pd.DataFrame({"prog": ((idx >= "2018-04") & (idx <= "2019-03")).astype(float)}, index=idx)
    y = y + 3 * prog["prog"].iloc[:96].to_numpy()
    r = adjust_series(y, regressors=prog, options=SpecOptions(usertype="user", outliers=()))
    est = r.regression.set_index("variable").loc["prog"]
    assert est["estimate"] == pytest.approx(3, abs=0.8) and est["t"] > 4
    with pytest.raises(SeasonalError, match="must cover"):
        adjust_series(y, regressors=prog.iloc[:100])
