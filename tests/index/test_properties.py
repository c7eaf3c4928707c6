"""Properties that hold for any set of responses (hypothesis)."""
import pandas as pd
from helpers import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smepulse.index import balance, diffusion
from smepulse.index.weighting import rake

SECTORS = ["manufacturing", "construction", "it_finance"]
ANSWER = st.sampled_from(["up", "same", "down", None])

responses = st.lists(
    st.tuples(st.sampled_from(SECTORS), st.sampled_from(["east", "west"]), ANSWER, ANSWER,
              st.floats(0.1, 10)),
    min_size=1, max_size=40,
).map(lambda rows: pd.DataFrame({
    "period": "2024-05", "firm_id": [f"f{i}" for i in range(len(rows))],
    "sector": [r[0] for r in rows], "region": [r[1] for r in rows],
    "sales": [r[2] for r in rows], "funding_cost": [r[3] for r in rows],
    "weight": [r[4] for r in rows]}))

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _values(s: pd.DataFrame) -> pd.Series:
    s = s[s["period"].str.len() == 7]
    return s.set_index(["series", "group"])["value"].sort_index()


@SETTINGS
@given(responses)
def test_indices_are_within_0_and_100(df):
    v = _values(run(df)).dropna()
    assert ((v >= 0) & (v <= 100)).all()


@SETTINGS
@given(responses, st.randoms(use_true_random=False))
def test_row_order_changes_nothing(df, rnd):
    shuffled = df.sample(frac=1, random_state=rnd.randint(0, 2**31))
    pd.testing.assert_series_equal(_values(run(df)), _values(run(shuffled)), rtol=1e-9)


@SETTINGS
@given(responses, st.floats(0.01, 100))
def test_equal_weights_give_the_unweighted_result(df, w):
    weighted = _values(run(df.assign(weight=w)))
    unweighted = _values(run(df.drop(columns="weight")))
    pd.testing.assert_series_equal(weighted, unweighted, rtol=1e-9)


@given(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50))
def test_diffusion_is_50_plus_half_the_balance(u, s, d):
    if u + s + d == 0:
        return
    up, same, down = (100 * x / (u + s + d) for x in (u, s, d))
    assert abs(diffusion(up, same, down) - (50 + balance(up, same, down) / 2)) < 1e-9
    assert abs(diffusion(up, same, down, inverted=True) - (50 + balance(up, same, down, inverted=True) / 2)) < 1e-9


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.1, 10), min_size=6, max_size=6))
def test_raking_meets_every_margin(weights):
    # A full 3 x 2 table of positive cell totals: raking must reach both margins.
    cells = pd.DataFrame([(s, r) for s in "abc" for r in "xy"], columns=["sector", "region"])
    cells = cells.assign(period="2024-01", w=weights)
    shares = {"sector": {"a": 0.5, "b": 0.3, "c": 0.2}, "region": {"x": 0.6, "y": 0.4}}
    targets = pd.DataFrame([("2024-01", d, v, s) for d, m in shares.items() for v, s in m.items()],
                           columns=["period", "dimension", "value", "share"])
    factor, notes = rake(cells, targets, ["sector", "region"])
    new = cells["w"] * factor
    assert not notes
    assert abs(new.sum() - cells["w"].sum()) < 1e-9 * cells["w"].sum()
    for d, m in shares.items():
        got = new.groupby(cells[d]).sum() / new.sum()
        for v, share in m.items():
            assert abs(got[v] - share) < 1e-8
