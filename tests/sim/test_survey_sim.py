"""The synthetic SME survey: reproducible, shaped like the targets, and answers that follow the latent conditions."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smepulse.errors import SmepulseError
from smepulse.methodology import load_methodology
from smepulse.seasonal.holidays import cny_regressor
from smepulse.sim.survey import CnyEffect, cny_effect, simulate_survey, simulate_truth, write_parquet

M = load_methodology("smei")
QIDS = [q.id for q in M.questions]


def di(answers: pd.Series) -> float:
    """Unweighted diffusion index, %up + 0.5 %same, over non-blank answers (written here, not imported)."""
    a = answers.dropna()
    return 100 * ((a == "up").mean() + 0.5 * (a == "same").mean())


def active_counts(firms: pd.DataFrame, periods: list[str]) -> list[int]:
    out = []
    for p in periods:
        still = firms["exit_period"].isna() | (firms["exit_period"].fillna("9999-12") >= p)
        out.append(int(((firms["entry_period"] <= p) & still).sum()))
    return out


@pytest.fixture(scope="module")
def big():
    return simulate_survey(n_firms=2000, n_months=36, seed=3)


def latent(sample) -> pd.DataFrame:
    return sample.latent.pivot(index="period", columns="factor", values="value")


# -- reproducibility ------------------------------------------------------------------------------------------
def test_same_seed_same_sample_and_other_seed_differs():
    a, b, c = (simulate_survey(150, 6, seed=s) for s in (7, 7, 8))
    pd.testing.assert_frame_equal(a.responses, b.responses)
    pd.testing.assert_frame_equal(a.firms, b.firms)
    pd.testing.assert_frame_equal(a.latent, b.latent)
    assert not a.responses[QIDS].equals(c.responses[QIDS])


def test_wide_columns_in_contract_order(big):
    r = big.responses
    assert list(r.columns) == ["period", "firm_id", "sector", "region", "size", "exporter", "weight", *QIDS]
    assert r["period"].str.fullmatch(r"\d{4}-\d{2}").all()
    assert not r.duplicated(["period", "firm_id"]).any()
    assert sorted(r["period"].unique()) == [f"{y}-{m:02d}" for y in (2023, 2024, 2025) for m in range(1, 13)]


# -- panel shape ------------------------------------------------------------------------------------------------
def test_sector_region_shares_match_targets_within_sampling_error():
    firms = simulate_survey(20_000, 1, seed=11).firms
    n = len(firms)
    for dim, target in M.targets_for("2023-01").items():
        share = firms[dim].value_counts(normalize=True)
        for value, p in target.items():
            se = np.sqrt(p * (1 - p) / n)
            assert abs(share.get(value, 0.0) - p) < 4 * se, (dim, value, share.get(value), p)
    exporters = firms.groupby("sector")["exporter"].apply(lambda s: (s == "yes").mean())
    assert 0.18 < (firms["exporter"] == "yes").mean() < 0.32
    assert exporters["manufacturing"] > exporters["accommodation_catering"] + 0.2


def test_unit_response_rate_follows_the_parameter(big):
    assert len(big.responses) / (2000 * 36) == pytest.approx(0.8, abs=0.02)
    low = simulate_survey(1000, 6, seed=2, response_rate=0.5)
    assert len(low.responses) / 6000 == pytest.approx(0.5, abs=0.03)


def test_attrition_replaced_in_same_stratum_keeps_panel_size(big):
    f = big.firms
    periods = sorted(big.responses["period"].unique())
    assert active_counts(f, periods) == [2000] * 36
    replaced = f["entry_period"] > periods[0]
    assert replaced.sum() == pytest.approx(0.02 * 2000 * 35, rel=0.1)  # ~2% a month
    strata = ["sector", "region", "size"]
    for prev, cur in zip(periods[:-1], periods[1:], strict=False):
        left = f.loc[f["exit_period"] == prev, strata].value_counts().sort_index()
        came = f.loc[f["entry_period"] == cur, strata].value_counts().sort_index()
        pd.testing.assert_series_equal(left, came, check_names=False)
    # respondents are in the panel when they answer
    r = big.responses.merge(f[["firm_id", "entry_period", "exit_period"]], on="firm_id")
    assert (r["entry_period"] <= r["period"]).all()
    assert (r["exit_period"].isna() | (r["exit_period"] >= r["period"])).all()


def test_design_weight_is_inverse_sampling_share_by_size(big):
    r = big.responses
    w = r.groupby("size")["weight"].agg(["min", "max"])
    assert (w["min"] == w["max"]).all()  # constant within stratum
    assert w.loc["micro", "min"] > w.loc["small", "min"] > w.loc["medium", "min"] > 0


# -- answers -----------------------------------------------------------------------------------------------------
def test_codes_valid_and_blanks_present(big):
    r = big.responses
    for q in M.questions:
        values = set(r[q.id].dropna().unique())
        assert values <= set(q.codes) and len(values) == 3, q.id
    exp = r["exporter"] == "yes"
    assert r.loc[~exp, "new_export_orders"].isna().all()
    for qid in ("sales", "exp_profit", "funding_cost", "fx_expectation"):
        assert 0.01 < r[qid].isna().mean() < 0.06, qid
    assert 0.01 < r.loc[exp, "new_export_orders"].isna().mean() < 0.06


def test_realistic_answer_shares(big):
    r = big.responses
    for qid in ("sales", "production", "credit_access", "exp_sales"):
        same = (r[qid].dropna() == "same").mean()
        assert 0.38 < same < 0.62, (qid, same)
    assert 0.85 < (r["fx_expectation"].dropna() == "stable").mean() < 0.95
    sales = r.groupby("period")["sales"].agg(di)
    expect = r.groupby("period")["exp_sales"].agg(di)
    assert expect.mean() > 50 and expect.mean() > sales.mean() + 3  # expectations are more optimistic


def test_production_index_tracks_the_manufacturing_cycle(big):
    r = big.responses
    prod = r[r["sector"] == "manufacturing"].groupby("period")["production"].agg(di)
    assert np.corrcoef(prod, latent(big)["manufacturing_cycle"].loc[prod.index])[0, 1] > 0.8


def test_credit_indices_track_credit_conditions_and_funding_cost_is_inverted(big):
    r, lat = big.responses, latent(big)
    access = r.groupby("period")["credit_access"].agg(di)
    assert np.corrcoef(access, lat["credit"].loc[access.index])[0, 1] > 0.8
    dearer = r.groupby("period")["funding_cost"].agg(lambda s: (s.dropna() == "up").mean())
    assert np.corrcoef(dearer, lat["credit"].loc[dearer.index])[0, 1] < -0.8  # tight credit -> "up" = dearer


def test_expectations_lead_performance(big):
    r = big.responses
    sales = r.groupby("period")["sales"].agg(di).to_numpy()
    expect = r.groupby("period")["exp_sales"].agg(di).to_numpy()
    ahead = np.corrcoef(expect[:-1], sales[1:])[0, 1]  # expectation now vs performance next month
    now = np.corrcoef(expect[:-1], sales[:-1])[0, 1]
    assert ahead > now


def test_sample_index_estimates_the_population_truth(big):
    r = big.responses
    truth = big.truth.query("group == 'all' and measure == 'diffusion'").pivot(
        index="period", columns="series", values="true_value")
    assert truth.stack().between(0, 100).all()

    def weighted_di(g: pd.DataFrame, q: str) -> float:
        ok = g[q].notna()
        w, a = g.loc[ok, "weight"], g.loc[ok, q]
        return 100 * (w[a == "up"].sum() + 0.5 * w[a == "same"].sum()) / w.sum()

    for q in ("sales", "exp_investment", "credit_access"):
        est = r.groupby("period")[["weight", q]].apply(weighted_di, q=q)
        err = est - truth[q].loc[est.index]
        assert abs(err.mean()) < 1.0 and err.abs().max() < 6, q
        # calibrated swings are a few points, sampling error about one: estimate and truth correlate ~0.85
        assert np.corrcoef(est, truth[q].loc[est.index])[0, 1] > 0.7, q
    headline = truth["headline"]
    parts = truth[["performance", "expectation", "credit"]].mean(axis=1)
    np.testing.assert_allclose(headline, parts, rtol=1e-9)


# -- Chinese New Year ----------------------------------------------------------------------------------------------
def test_cny_effect_is_the_window_share_before_the_holiday():
    # CNY 2023-01-22: window Jan 2-21 all in January. CNY 2024-02-10: Jan 21-31 (11 days), Feb 1-9 (9 days).
    got = cny_effect(["2023-01", "2023-02", "2023-03", "2024-01", "2024-02"])
    np.testing.assert_allclose(got, [-1.0, 0.0, 0.0, -11 / 20, -9 / 20])


def test_cny_effect_of_other_shapes_by_hand():
    # CNY 2024-02-10 (2024 is a leap year). after, 20 days: Feb 10-29, all in February. around, 20 days:
    # Jan 31-Feb 19 (1 day in January). dip_rebound: this month's around share minus last month's.
    # before, ramp: Jan 21-Feb 9 weighted 1..20 (of 210), so January holds 1+..+11 = 66.
    months = ["2023-12", "2024-01", "2024-02", "2024-03", "2024-04"]
    np.testing.assert_allclose(cny_effect(months, 20, "after"), [0, 0, -1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(cny_effect(months, 20, "around"), [0, -1 / 20, -19 / 20, 0, 0], atol=1e-12)
    np.testing.assert_allclose(cny_effect(months, 20, "dip_rebound"), [0, -1 / 20, -18 / 20, 19 / 20, 0],
                               atol=1e-12)
    np.testing.assert_allclose(cny_effect(months, 20, "before", "ramp"), [0, -66 / 210, -144 / 210, 0, 0],
                               atol=1e-12)
    with pytest.raises(SmepulseError, match="CNY profile must be one of flat, ramp"):
        simulate_survey(10, 2, cny=CnyEffect(profile="step"))


def test_simulated_effect_follows_the_chosen_shape_and_amplitude():
    def production(**kw):
        t = simulate_truth(24, start="2023-01", seed=4, **kw)
        return t[(t["measure"] == "diffusion") & (t["group"] == "all") & (t["series"] == "production")] \
            .set_index("period")["true_value"]
    base = production(holiday=False)
    after = production(cny=CnyEffect("after", 20)) - base
    dip = production(cny=CnyEffect("dip_rebound", 20, amplitude=2.0)) - base
    # CNY 2024-02-10: an after effect hits February alone; dip and rebound: February down, March up
    others = after.drop("2024-02")
    assert after["2024-02"] < -1 and others[others.index.str.startswith("2024")].abs().max() < 1e-9
    assert dip["2024-02"] < -2 and dip["2024-03"] > 2
    assert abs(dip["2024-03"]) > abs(production(cny=CnyEffect("dip_rebound", 20))["2024-03"] - base["2024-03"])


def test_cny_effect_matches_the_seasonal_regressor_up_to_a_monthly_constant():
    periods = [f"{y}-{m:02d}" for y in range(2000, 2031) for m in range(1, 13)]
    for shape in ("before", "around", "after", "dip_rebound"):
        diff = pd.Series(cny_effect(periods, 20, shape)
                         + cny_regressor(periods[0], periods[-1], shape=shape).to_numpy(),
                         index=[int(p[5:]) for p in periods])
        assert diff.groupby(level=0).std().max() < 1e-9, shape


@pytest.mark.parametrize("seed", [0, 1])
def test_january_dip_is_deeper_when_cny_falls_in_january(seed):
    # CNY: 2023-01-22 and 2025-01-29 (January); 2024-02-10 and 2026-02-17 (February)
    s = simulate_survey(1500, 48, seed=seed)
    d = s.responses.groupby("period")["sales"].agg(di)
    gap = {y: d[f"{y}-01"] - d[f"{y}-02"] for y in (2023, 2024, 2025, 2026)}
    assert (gap[2023] + gap[2025]) / 2 < (gap[2024] + gap[2026]) / 2 - 5


# -- Parquet -------------------------------------------------------------------------------------------------------
def test_write_parquet_counts_and_same_data_as_simulate(tmp_path):
    path = tmp_path / "s.parquet"
    stats = write_parquet(path, n_answers=200_000, seed=5, n_months=12)
    meta = pq.ParquetFile(path).metadata
    assert stats["rows"] == meta.num_rows and meta.num_row_groups == 12
    assert stats["answers"] == stats["rows"] * len(QIDS)
    assert stats["answers"] == pytest.approx(200_000, rel=0.05)
    got = pd.read_parquet(path)
    want = simulate_survey(stats["n_firms"], 12, seed=5).responses
    assert stats["non_blank"] == int(want[QIDS].notna().to_numpy().sum())
    got = got.astype({c: object for c in got.columns if c != "weight"})
    got = got.where(got.notna(), None)
    pd.testing.assert_frame_equal(got, want.astype({c: object for c in want.columns if c != "weight"}))


# -- errors and properties -----------------------------------------------------------------------------------------
def test_bad_arguments_say_what_to_fix():
    with pytest.raises(SmepulseError, match="YYYY-MM"):
        simulate_survey(10, 2, start="2023/01")
    with pytest.raises(SmepulseError, match="response_rate"):
        simulate_survey(10, 2, response_rate=0)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n_firms=st.integers(1, 60), n_months=st.integers(1, 14), seed=st.integers(0, 2**32 - 1),
       rate=st.floats(0.05, 1.0), start=st.sampled_from(["2019-11", "2023-01", "2031-06"]))
def test_panel_invariants(n_firms, n_months, seed, rate, start):
    s = simulate_survey(n_firms, n_months, start=start, seed=seed, response_rate=rate)
    r = s.responses
    periods = sorted(s.latent["period"].unique())
    assert len(periods) == n_months and periods[0] == start
    assert active_counts(s.firms, periods) == [n_firms] * n_months
    assert set(r["firm_id"]) <= set(s.firms["firm_id"])
    assert (r.groupby("period").size() <= n_firms).all()
    for q in M.questions:
        assert set(r[q.id].dropna()) <= set(q.codes)
    assert set(s.latent["factor"]) == {"manufacturing_cycle", "services_cycle", "credit", "external_demand",
                                      "real_estate_stress", "cny_effect"}
    assert (s.latent.query("factor == 'cny_effect'")["value"].between(-1, 0)).all()


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), n1=st.integers(1, 50), n2=st.integers(51, 120))
def test_latent_conditions_do_not_depend_on_panel_size(seed, n1, n2):
    a, b = simulate_survey(n1, 5, seed=seed), simulate_survey(n2, 5, seed=seed, response_rate=0.6)
    pd.testing.assert_frame_equal(a.latent, b.latent)


# -- calibration to real surveys --------------------------------------------------------------------------------
# The NBS manufacturing PMI production index (seasonally adjusted), 2005-2019: SD about 4.0 points and
# month-on-month SD about 2.8, and the NBS PMI components' level about 50-52 (figures of issue #8). The
# simulator's population truth without the holiday effect (what an adjusted index estimates), 180 months,
# averaged over seeds, must match within the tolerances below.
NBS_PRODUCTION_SD, NBS_PRODUCTION_MOM_SD, NBS_LEVEL = 4.0, 2.8, (50.0, 52.0)


def _production(seed: int, volatility: str, holiday: bool = False) -> np.ndarray:
    t = simulate_truth(180, seed=seed, volatility=volatility, holiday=holiday)
    t = t[(t["measure"] == "diffusion") & (t["group"] == "all") & (t["series"] == "production")]
    return t.sort_values("period")["true_value"].to_numpy()


def test_calibrated_production_index_swings_like_the_nbs_one():
    runs = [_production(seed, "calibrated") for seed in range(6)]
    sd = np.mean([v.std(ddof=1) for v in runs])
    mom = np.mean([np.diff(v).std(ddof=1) for v in runs])
    assert sd == pytest.approx(NBS_PRODUCTION_SD, abs=0.5), sd
    assert mom == pytest.approx(NBS_PRODUCTION_MOM_SD, abs=0.3), mom
    ac1 = np.mean([np.corrcoef(v[1:], v[:-1])[0, 1] for v in runs])
    assert 0.6 < ac1 < 0.85  # NBS: 1 - (2.8 / 4.0)^2 / 2 = 0.755
    assert all(30 < v.min() and v.max() < 70 for v in runs)
    # level: the mean within the NBS components' 50-52, give or take 0.5 (one seed's mean moves by about 1)
    level = np.mean([v.mean() for v in runs])
    assert NBS_LEVEL[0] - 0.5 < level < NBS_LEVEL[1] + 0.5, level


def test_calibrated_performance_indices_sit_at_the_pmi_level():
    t = simulate_truth(180, seed=0, holiday=False)
    means = t[(t["measure"] == "diffusion") & (t["group"] == "all")].groupby("series")["true_value"].mean()
    for series in ("production", "new_orders", "sales", "employment", "performance"):
        assert 49.0 < means[series] < 53.5, (series, means[series])
    assert means["expectation"] > means["performance"] + 2  # expectations stay the optimistic ones


def test_stress_setting_keeps_the_wide_swings_and_the_same_seed_stream():
    v = _production(0, "stress")
    assert v.std(ddof=1) > 9 and np.diff(v).std(ddof=1) > 5
    # the panel and its answers' random streams do not depend on the setting: same firms, same response pattern
    a, b = simulate_survey(80, 3, seed=5), simulate_survey(80, 3, seed=5, volatility="stress")
    pd.testing.assert_frame_equal(a.firms, b.firms)
    assert (a.responses[QIDS].isna() == b.responses[QIDS].isna()).all().all()
    with pytest.raises(SmepulseError, match="volatility must be one of calibrated, stress"):
        simulate_survey(10, 1, volatility="calm")


def test_holiday_effect_is_a_few_points_in_the_calibrated_setting():
    with_cny, without = _production(1, "calibrated", True), _production(1, "calibrated", False)
    gap = with_cny - without
    assert gap.max() <= 1e-9 and 1.5 < -gap.min() < 8  # a CNY month loses a few points, never gains
