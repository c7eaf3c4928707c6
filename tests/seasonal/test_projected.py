"""Projected factors (ESS guidelines, the alternative to concurrent adjustment): the year-ahead factors X-13
projects at the review are stored with the vintage and applied unchanged until the next review."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from seasonal_helpers import index_series, ism_result

from smepulse.index.engine import IndexResult
from smepulse.methodology.seasonal_policy import SeasonalPolicy
from smepulse.pipeline.publish import adjust_and_store
from smepulse.seasonal.adjust import adjust_series
from smepulse.seasonal.spec import SpecOptions
from smepulse.store import open_store

QUESTIONS = ["new_orders", "production", "employment", "supplier_deliveries", "inventories"]


def _policy(result: IndexResult, factors: str) -> IndexResult:
    m = result.methodology
    m = m.model_copy(update={"seasonal": m.seasonal.model_copy(update={"factors": factors})})
    return IndexResult(result.series, m, result.input_hash)


def _months(result: IndexResult, n: int) -> IndexResult:
    periods = sorted(p for p in result.series["period"].unique() if len(p) == 7)[:n]
    return IndexResult(result.series[result.series["period"].isin(periods)].reset_index(drop=True),
                       result.methodology, result.input_hash)


def _sa(st, vid) -> pd.DataFrame:
    s = st.series("ism", vintage_id=vid)
    s = s[s["series"].isin(QUESTIONS) & (s["period"].str.len() == 7)]
    return s.set_index(["period", "series", "group", "adjustment"])["value"].unstack()


@pytest.fixture(scope="module")
def full():
    return ism_result(months=49)


def test_projected_factors_are_applied_unchanged_until_the_projection_ends(tmp_path, full):
    full = _policy(full, "projected")
    with open_store(tmp_path / "p.duckdb") as st:
        def save(r):
            return st.save_series(r, survey="ism")

        v36, _ = adjust_and_store(st, _months(full, 36), save, survey="ism", holiday=None)
        f36 = st.sa_factors(v36).set_index(["period", "series", "group"])["factor"]
        months = sorted(f36.index.get_level_values("period").unique())
        assert months[0] == "2015-01" and months[-1] == "2018-12"  # 36 months + the year-ahead projection
        v40, adj40 = adjust_and_store(st, _months(full, 40), save, survey="ism", holiday=None)
        specs = st.sa_specs("ism", v40)
        adjusted = specs[specs["status"] == "adjusted"]
        assert len(adjusted) >= 3 and (adjusted["method"] == "x13-projected").all()
        assert not adjusted["reviewed"].any() and (adjusted["model"] != "").all()  # the model is kept too
        sa36, sa40 = _sa(st, v36), _sa(st, v40)
        kept = sa40.index.get_level_values("series").isin(adjusted["series"])
        # no revision of the first 36 months, and the 4 new ones are NSA minus the factor projected in v36
        both = sa36.merge(sa40, left_index=True, right_index=True, suffixes=("_36", "_40")).dropna()
        both = both[both.index.get_level_values("series").isin(adjusted["series"])]
        assert len(both) > 100
        np.testing.assert_allclose(both["sa_40"], both["sa_36"], atol=1e-12)
        new = sa40[kept & (sa40.index.get_level_values("period") > "2017-12")].dropna()
        assert len(new) >= 4 * 3
        np.testing.assert_allclose(new["sa"], new["nsa"] - f36.reindex(new.index), atol=1e-9)
        # the vintage stores the same factors, projection included, for the next release
        f40 = st.sa_factors(v40).set_index(["period", "series", "group"])["factor"]
        same = f40.index.get_level_values("series").isin(adjusted["series"])
        pd.testing.assert_series_equal(f40[same], f36.reindex(f40[same].index), check_names=False)
        # month 49 is past the projection (2018-12): concurrent factors, said so, until the review
        v49, adj49 = adjust_and_store(st, full, save, survey="ism", holiday=None)
        assert (st.sa_specs("ism", v49).query("status == 'adjusted'")["method"] == "x13-x11").all()
        assert any("projected factors do not cover 2015-01..2019-01" in n for n in adj49.notes)
        v_rev, _ = adjust_and_store(st, full, save, survey="ism", holiday=None, review=True)
        assert st.sa_specs("ism", v_rev)["reviewed"].all()


def test_concurrent_factors_revise_the_past_where_projected_ones_do_not(tmp_path, full):
    full = _policy(full, "concurrent")
    with open_store(tmp_path / "c.duckdb") as st:
        def save(r):
            return st.save_series(r, survey="ism")

        v36, _ = adjust_and_store(st, _months(full, 36), save, survey="ism", holiday=None)
        v40, _ = adjust_and_store(st, _months(full, 40), save, survey="ism", holiday=None)
        both = _sa(st, v36).merge(_sa(st, v40), left_index=True, right_index=True, suffixes=("_36", "_40")).dropna()
        assert (both["sa_40"] - both["sa_36"]).abs().max() > 0.01  # parameters re-estimated: history revised


def test_the_policy_names_the_choice():
    assert SeasonalPolicy().factors == "concurrent"
    assert SeasonalPolicy(factors="projected").factors == "projected"
    with pytest.raises(ValueError, match="factors"):
        SeasonalPolicy(factors="forecast")


@pytest.mark.parametrize("decomposition", ["x11", "seats"])
def test_x11_and_seats_runs_carry_the_year_ahead_factors(decomposition):
    y = index_series(60)  # 2015-01 .. 2019-12
    r = adjust_series(y, options=SpecOptions(decomposition=decomposition))
    assert r.status == "adjusted" and r.sa.index.equals(y.index) and r.factor.index.equals(y.index)
    assert r.projected.index[0] == "2020-01" and len(r.projected) >= 12
    # the projection continues the estimated pattern: each calendar month's factor close to last year's
    last_year = r.factor.iloc[-12:].to_numpy()
    np.testing.assert_allclose(r.projected["factor"].iloc[:12].to_numpy(), last_year, atol=0.5)
