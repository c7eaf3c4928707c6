"""Seasonally adjusted indices on the simulator, whose Chinese New Year effect is known."""
import numpy as np
import pandas as pd
import pytest
from helpers import SMEI
from seasonal_helpers import index_series

from smepulse.index import compose, compute
from smepulse.index.adjusted import add_seasonal
from smepulse.index.engine import COLUMNS, IndexResult
from smepulse.methodology import load_methodology
from smepulse.pipeline.publish import adjust_with_errors
from smepulse.sim.survey import simulate_survey
from smepulse.survey.responses import from_frame


@pytest.fixture(scope="module")
def ten_years():
    # Ten years of a large panel: enough Januaries and Februaries for X-13's AICc test to keep the regressor.
    s = simulate_survey(n_firms=3000, n_months=120, start="2015-01", seed=21,
                        volatility="stress")  # wide swings and a large CNY effect: a robustness test
    res = compute(from_frame(s.responses, SMEI))
    one = res.series[res.series["group"] == "sector=manufacturing"]
    return s, IndexResult(one.reset_index(drop=True), SMEI, res.input_hash)


def _cny_slope(sa: pd.Series, cny: pd.Series) -> float:
    """Slope of the adjusted series on the true CNY effect in January and February (month dummies in)."""
    df = pd.DataFrame({"y": sa, "cny": cny}).dropna()
    df = df[df.index.str.slice(5, 7).isin(["01", "02"])]
    X = np.column_stack([df.index.str.endswith("-01"), df.index.str.endswith("-02"), df["cny"]]).astype(float)
    return float(np.linalg.lstsq(X, df["y"].to_numpy(), rcond=None)[0][2])


def test_cny_regressor_removes_the_january_february_swing(ten_years):
    sample, result = ten_years
    cny = sample.latent[sample.latent["factor"] == "cny_effect"].set_index("period")["value"]
    slopes = {}
    for holiday in ("cny", None):
        adj = adjust_with_errors(result, holiday=holiday).series
        sa = adj[(adj["series"] == "production") & (adj["adjustment"] == "sa") & (adj["period"].str.len() == 7)]
        slopes[holiday] = _cny_slope(sa.set_index("period")["value"], cny)
    nsa = result.series[(result.series["series"] == "production") & (result.series["period"].str.len() == 7)]
    raw = _cny_slope(nsa.set_index("period")["value"], cny)
    assert abs(raw) > 3  # the simulator's CNY dip is visible in the raw index
    assert abs(slopes["cny"]) < 0.5 * abs(slopes[None]), slopes


def test_sa_rows_are_indirect_and_carry_the_nsa_standard_error(ten_years):
    _, result = ten_years
    adj = adjust_with_errors(result).series
    sa = adj[(adj["adjustment"] == "sa") & (adj["period"].str.len() == 7)]
    wide = sa.pivot_table(index="period", columns="series", values="value")
    # indirect: the adjusted headline is the mean of the adjusted sub-indexes
    np.testing.assert_allclose(wide["headline"], wide[["performance", "expectation", "credit"]].mean(axis=1),
                               rtol=1e-12)
    assert {"nsa", "sa"} == set(adj["adjustment"])
    assert sa["up"].isna().all()  # shares are not adjusted


def test_direct_and_indirect_adjustment_of_a_preset_composite():
    ism = load_methodology("ism-pmi")
    parts = [pd.DataFrame({"period": s.index, "series": name, "value": s.to_numpy()})
             for k, name in enumerate(["new_orders", "production", "employment", "supplier_deliveries",
                                       "inventories"])
             for s in [index_series(84, seed=20 + k, scale=0.5 + 0.3 * k)]]
    comps = pd.concat(parts, ignore_index=True).assign(group="all", adjustment="nsa", n=100, n_eff=100.0,
                                                       flag="")
    rows = pd.concat([comps, compose(comps, ism).assign(n=100, n_eff=100.0, flag="")], ignore_index=True)
    for c in COLUMNS:
        if c not in rows:
            rows[c] = np.nan
    result = IndexResult(rows[COLUMNS], ism, "test")
    indirect = add_seasonal(result, holiday=None).series
    direct = add_seasonal(result, holiday=None, approach="direct").series
    sa = indirect[(indirect["adjustment"] == "sa") & (indirect["period"].str.len() == 7)]
    wide = sa.pivot_table(index="period", columns="series", values="value")
    comp_cols = ["new_orders", "production", "employment", "supplier_deliveries", "inventories"]
    np.testing.assert_allclose(wide["pmi"], wide[comp_cols].mean(axis=1), rtol=1e-12)
    d = direct[(direct["adjustment"] == "sa") & (direct["series"] == "pmi") & (direct["period"].str.len() == 7)]
    d = d.set_index("period")["value"]
    assert not np.allclose(d, wide["pmi"])  # direct adjusts the composite itself
    assert (d - wide["pmi"]).abs().mean() < 0.5  # yet both remove the same seasonal pattern
