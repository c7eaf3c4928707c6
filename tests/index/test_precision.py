"""Sampling error: the bootstrap reproduces the estimate, scales with n, and its intervals cover the truth."""
import numpy as np
import pandas as pd
import pytest
from helpers import SMEI

from smepulse.index import compute
from smepulse.index.precision import attach, bootstrap
from smepulse.index.weighting import frame_from_methodology
from smepulse.sim.survey import simulate_survey
from smepulse.store import open_store
from smepulse.survey.responses import from_frame, load_responses

FRAME = frame_from_methodology(SMEI)


@pytest.fixture(scope="module")
def sample():
    return simulate_survey(n_firms=600, n_months=6, start="2024-01", seed=11)


def test_full_sample_replicate_reproduces_the_estimates(sample):
    resp = from_frame(sample.responses, SMEI)
    point = compute(resp, FRAME, min_n=0).series
    firms = sample.responses["firm_id"].unique()
    ones = pd.DataFrame({"r1": 1.0, "r2": 1.0}, index=firms)
    errors = bootstrap(resp, FRAME, multipliers=ones)
    reps = errors.attrs["replicates"]
    labels, values = reps["2024-03"]
    got = pd.DataFrame({s: v[0] for s, v in values.items()}, index=labels).stack()
    want = point[point["period"] == "2024-03"].set_index(["group", "series"])["value"]
    both = pd.concat([got.rename("boot"), want.rename("point")], axis=1, join="inner").dropna()
    assert len(both) > 300
    np.testing.assert_allclose(both["boot"], both["point"], rtol=1e-9)
    # identical replicates: no sampling variance
    assert (errors["se"].dropna() < 1e-9).all()


def test_standard_error_shrinks_with_the_square_root_of_n():
    def se(n_firms):
        s = simulate_survey(n_firms=n_firms, n_months=3, start="2024-01", seed=4)
        e = bootstrap(from_frame(s.responses, SMEI), FRAME, replicates=200)
        return e[(e["series"] == "headline") & (e["group"] == "all") & (e["period"].str.len() == 7)]["se"].mean()
    ratio = se(400) / se(1600)
    assert 1.6 < ratio < 2.5  # sqrt(4) = 2


def test_panel_overlap_makes_the_change_more_precise_than_independent_months(sample):
    e = bootstrap(from_frame(sample.responses, SMEI), FRAME, replicates=300)
    h = e[(e["series"] == "headline") & (e["group"] == "all") & (e["period"].str.len() == 7)]
    h = h.sort_values("period")
    independent = np.sqrt(h["se"] ** 2 + h["se"].shift() ** 2)
    assert (h["se_change"].iloc[1:] < independent.iloc[1:]).all()


def test_intervals_attach_and_respect_bounds(sample):
    resp = from_frame(sample.responses, SMEI)
    out = attach(compute(resp, FRAME).series, bootstrap(resp, FRAME, replicates=100), SMEI)
    ok = out.dropna(subset=["value", "se"])
    assert len(ok) > 1000
    assert ((ok["ci_low"] <= ok["value"]) & (ok["value"] <= ok["ci_high"])).all()
    assert ((ok["ci_low"] >= 0) & (ok["ci_high"] <= 100)).all()
    assert out.loc[out["flag"] == "suppressed", "se"].isna().all()


def test_95_percent_intervals_cover_the_truth():
    """40 simulated panels x 6 months x 24 series (group all): coverage of the population truth."""
    hits = total = 0
    for seed in range(40):
        s = simulate_survey(n_firms=600, n_months=6, start="2024-01", seed=100 + seed)
        resp = from_frame(s.responses, SMEI)
        out = attach(compute(resp, FRAME).series, bootstrap(resp, FRAME, replicates=200, seed=seed), SMEI)
        out = out[(out["group"] == "all") & (out["period"].str.len() == 7) & out["se"].notna()]
        truth = s.truth[(s.truth["group"] == "all") & (s.truth["measure"] == "diffusion")]
        both = out.merge(truth, on=["period", "series"])
        hits += int(((both["ci_low"] <= both["true_value"]) & (both["true_value"] <= both["ci_high"])).sum())
        total += len(both)
    coverage = hits / total
    assert total >= 40 * 6 * 20
    assert 0.93 <= coverage <= 0.97, f"coverage {coverage:.3f} over {total} intervals"


def test_standard_errors_do_not_depend_on_row_order_file_or_store(tmp_path):
    """The bootstrap numbers firms, and draws their multipliers, by the full key (period, firm): a shuffled
    file, the file in order and the same answers read back from the store give identical standard errors."""
    df = simulate_survey(n_firms=150, n_months=3, start="2024-01", seed=8).responses
    shuffled = df.sample(frac=1.0, random_state=3).reset_index(drop=True)
    path = tmp_path / "shuffled.csv"
    shuffled.to_csv(path, index=False)
    frame = frame_from_methodology(SMEI)

    def ses(resp):
        return bootstrap(resp, frame, replicates=40).set_index(["period", "series", "group"]).sort_index()

    in_order = ses(from_frame(df, SMEI))
    from_file = ses(load_responses(path, SMEI))
    with open_store(tmp_path / "s.duckdb") as st:
        st.save_methodology(SMEI)
        st.import_responses(from_frame(shuffled, SMEI))
        from_store = ses(st.responses(SMEI))
    assert in_order["se"].notna().sum() > 100
    pd.testing.assert_frame_equal(from_file, in_order)
    pd.testing.assert_frame_equal(from_store, in_order)
