"""The seasonal adjustment policy (methodology `seasonal:`): minimum span, identification, gaps.

Known truth: synthetic series with a planted seasonal pattern (seasonal_helpers.PATTERN), pure noise, and
planted drops and gaps."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from seasonal_helpers import index_series, ism_result, tidy

from smepulse.errors import MethodologyError, SeasonalError
from smepulse.index.adjusted import add_seasonal
from smepulse.methodology import load_methodology
from smepulse.methodology.seasonal_policy import SeasonalPolicy
from smepulse.seasonal.adjust import adjust_frame, adjust_series, seasonality_identified


def test_policy_defaults_and_validation(tmp_path):
    p = SeasonalPolicy()
    assert (p.method, p.min_span, p.identification, p.holiday, p.fixed_model) == ("x13", 36, "combined", "cny", True)
    with pytest.raises(ValidationError, match="below 36 months"):
        SeasonalPolicy(min_span=30)
    assert SeasonalPolicy(method="stl", min_span=24).min_span == 24  # only when STL is asked for
    with pytest.raises(ValidationError):
        SeasonalPolicy(identification="eyeball")
    # In a methodology file: validated with the file and key named.
    src = (load_methodology("ism-pmi").source_file)
    text = open(src, encoding="utf-8").read()
    bad = tmp_path / "m.yaml"
    bad.write_text(text + "\nseasonal:\n  min_span: 12\n", encoding="utf-8")
    with pytest.raises(MethodologyError, match="seasonal"):
        load_methodology(bad)
    good = tmp_path / "g.yaml"
    good.write_text(text + "\nseasonal:\n  min_span: 48\n  identification: qs\n", encoding="utf-8")
    assert load_methodology(good).seasonal.min_span == 48


def test_24_months_get_no_sa_series_and_no_stl_fallback():
    y = index_series(24, seed=4)
    r = adjust_series(y)
    assert r.status == "too_short" and r.method == "none" and r.sa.isna().all()
    assert "24 months" in r.note and "unadjusted one is published" in r.note
    frame = adjust_frame(tidy({"short": y}))
    assert set(frame["adjustment"]) == {"nsa"}  # no SA rows at all
    stl = adjust_series(y, method="stl")  # STL only because it was asked for, and labelled so
    assert stl.method == "stl" and "user's request" in stl.note


def test_pure_noise_is_not_adjusted_and_labelled_not_seasonal():
    rng = np.random.default_rng(3)
    idx = pd.period_range("2015-01", periods=48, freq="M").strftime("%Y-%m")
    y = pd.Series(50 + rng.normal(0, 1.0, 48), index=idx)
    r = adjust_series(y)
    assert r.status == "not_seasonal" and r.method == "none"
    np.testing.assert_array_equal(r.sa.to_numpy(), y.to_numpy())  # SA = NSA
    assert "no identifiable seasonality" in r.note and "SA = NSA" in r.note
    assert r.diagnostics["f2.idseasonal"] == "no"


def test_strong_seasonality_adjusted_and_last_month_drop_survives():
    y = index_series(48, seed=1, scale=1.5)
    base = adjust_series(y)
    dropped = y.copy()
    dropped.iloc[-1] -= 5
    r = adjust_series(dropped)
    assert base.status == r.status == "adjusted" and r.method == "x13-x11"
    assert "identifiable seasonality" in r.diagnostics["identification"]
    # The 5-point fall in the latest month is still a 5-point fall after adjustment (within 1 point) ...
    assert r.sa.iloc[-1] - base.sa.iloc[-1] == pytest.approx(-5, abs=1.0)
    assert r.sa.iloc[-1] - r.sa.iloc[-2] < -3.5
    # ... and the pattern is gone: SA month means lie within 1.5 points of each other.
    months = pd.PeriodIndex(r.sa.index, freq="M").month
    assert np.ptp(base.sa.groupby(months).mean()) < 1.5


def test_identification_tests_read_x13_diagnostics():
    seasonal = {"f2.idseasonal": "yes", "f2.fsd8": "122.0 0.00", "f2.kw": "44.4 0.00", "f3.m07": "0.19",
                "qsori": "51.3 0.00000"}
    noise = {"f2.idseasonal": "no", "f2.fsd8": "1.25 29.22", "f2.kw": "13.2 28.31", "f3.m07": "2.07",
             "qsori": "0.0 1.00000"}
    for test in ("combined", "m7", "qs"):
        policy = SeasonalPolicy(identification=test)
        assert seasonality_identified(seasonal, policy)[0] and not seasonality_identified(noise, policy)[0]
    # M7 alone is not enough: the stable F-test must also be significant at 0.1%.
    assert not seasonality_identified({**seasonal, "f2.fsd8": "3.0 0.50"}, SeasonalPolicy(identification="m7"))[0]
    # SEATS runs have no X-11 tables: the combined test falls back to QS.
    assert seasonality_identified({"qsori": "20 0.0001"}, SeasonalPolicy())[0]


def test_gaps_are_estimated_and_stay_suppressed_in_sa():
    y = index_series(60, seed=7, scale=1.5)
    gappy = y.copy()
    gappy.iloc[[20, 33, 59]] = np.nan  # two gaps inside, one in the latest month
    r = adjust_series(gappy)
    assert r.status == "adjusted" and len(r.sa) == 60
    assert r.sa.iloc[[20, 33, 59]].isna().all() and r.sa.drop(r.sa.index[[20, 33, 59]]).notna().all()
    assert "2 missing month(s) estimated by regARIMA" in r.note
    # Elsewhere the SA series matches the adjustment of the complete series closely.
    full = adjust_series(y)
    both = r.sa.notna()
    assert (r.sa[both] - full.sa[both]).abs().mean() < 0.3
    # Months absent from the input count as gaps too; too many gaps are refused.
    assert adjust_series(y.drop(y.index[30])).sa.isna().sum() == 1
    many = y.copy()
    many.iloc[5:50:5] = np.nan
    with pytest.raises(SeasonalError, match="more than 10%"):
        adjust_series(many)


@pytest.mark.parametrize("require_all", [False, True])
def test_sa_and_nsa_composites_use_the_same_questions_every_month(require_all):
    adj = add_seasonal(ism_result(require_all=require_all), holiday=None).series
    monthly = adj[(adj["period"].str.len() == 7) & adj["value"].notna()]
    sa = monthly[monthly["adjustment"] == "sa"]
    nsa = monthly[monthly["adjustment"] == "nsa"]
    questions = ["new_orders", "production", "employment", "supplier_deliveries", "inventories"]
    # The suppressed question still has an SA series, suppressed in exactly the NSA-suppressed months.
    emp = sa[sa["series"] == "employment"].set_index("period")["value"]
    assert len(emp) == 46 and "2016-05" not in emp.index and "2018-12" not in emp.index

    def question_sets(side):
        return side[side["series"].isin(questions)].groupby("period")["series"].apply(frozenset)

    assert question_sets(sa).equals(question_sets(nsa))  # same question set in every month
    wide = sa.pivot_table(index="period", columns="series", values="value")
    # SA and NSA composites exist in the same months; the SA one is the mean of the SA questions present
    # (4 of 5 in the suppressed months when the composite renormalises, none when it needs all five).
    assert set(wide["pmi"].dropna().index) == set(nsa.loc[nsa["series"] == "pmi", "period"])
    present = wide["pmi"].notna()
    np.testing.assert_allclose(wide["pmi"][present], wide[questions].mean(axis=1)[present], rtol=1e-12)
    assert ("2016-05" in wide["pmi"].dropna().index) is (not require_all)


def test_add_seasonal_follows_the_methodology_policy():
    result = ism_result(months=30)
    adj = add_seasonal(result, holiday=None)
    assert set(adj.series["adjustment"]) == {"nsa"}
    assert any("no seasonally adjusted series" in n and "30 months" in n for n in adj.notes)
