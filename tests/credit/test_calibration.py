"""Calibration that is checked: floor and ceiling, method chosen by evidence, reliability tests."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from smepulse.credit.calibration import MIN_ISOTONIC_EVENTS, PD_FLOOR, Calibrator
from smepulse.credit.data import split_rows
from smepulse.credit.metrics import auc_interval, grade_of, reliability
from smepulse.credit.train import pd_horizon, train

raw_scores = arrays(float, st.integers(1, 60), elements=st.floats(0, 1, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(method=st.sampled_from(["platt", "beta", "isotonic"]), seed=st.integers(0, 10_000), new=raw_scores)
def test_pd_always_within_floor_and_ceiling(method, seed, new):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 1, 300) ** rng.uniform(0.2, 5)
    y = (rng.random(300) < p).astype(int)
    y[:2] = [0, 1]
    cal = Calibrator(method).fit(p, y)
    out = cal.transform(new)
    assert np.all(out >= PD_FLOOR) and np.all(out <= 1 - PD_FLOOR)
    # the one-applicant map in plain floats is the same map
    one = np.array([cal.transform_one(float(v)) for v in new])
    assert np.allclose(one, out, rtol=1e-12, atol=1e-15)


def test_transform_one_refuses_what_transform_refuses():
    cal = Calibrator("platt").fit(np.linspace(0.01, 0.99, 50), np.r_[np.zeros(25), np.ones(25)].astype(int))
    for bad in (float("nan"), -0.1, 1.5):
        with pytest.raises(ValueError, match="within"):
            cal.transform_one(bad)
    for ok in (0.0, 1.0, 0.5):  # the ends of the range: no overflow, the same PD as transform
        assert cal.transform_one(ok) == pytest.approx(cal.transform(np.array([ok]))[0], rel=1e-12)


def _known_book(n, base, seed=0):
    """True PDs known; the model's raw score is a monotone distortion of them."""
    rng = np.random.default_rng(seed)
    true = 1 / (1 + np.exp(-(np.log(base / (1 - base)) + rng.normal(0, 1.0, n))))
    y = (rng.random(n) < true).astype(int)
    raw = 1 / (1 + np.exp(-(2.0 * np.log(true / (1 - true)) + 1.5)))  # overconfident and shifted
    return true, y, raw


def test_isotonic_only_with_enough_events_and_known_pds_recovered():
    true, y, raw = _known_book(3000, 0.03)       # about 110 bads: too few for a step function
    cal = Calibrator().fit(raw, y)
    assert y.sum() < MIN_ISOTONIC_EVENTS and "isotonic" not in cal.cv_brier_ and cal.method_ in ("platt", "beta")
    true2, y2, raw2 = _known_book(20000, 0.08, seed=1)  # about 1,800 bads: all three compete
    assert set(Calibrator().fit(raw2, y2).cv_brier_) == {"platt", "beta", "isotonic"}
    # on fresh applicants from the same book the calibrated PD tracks the true PD
    t3, y3, r3 = _known_book(20000, 0.03, seed=2)
    p3 = cal.transform(r3)
    assert abs(p3.mean() - t3.mean()) < 0.004
    assert np.corrcoef(np.log(p3), np.log(t3))[0, 1] > 0.99
    rel = reliability(y3, p3)
    assert rel["passed"] and rel["hl_p"] > 0.01
    # the raw, uncalibrated score fails the same tests loudly
    bad = reliability(y3, r3)
    assert not bad["passed"] and bad["hl_p"] < 1e-6


def test_reliability_hand_example():
    # two deciles' worth: 10 rows at PD 0.1 with 1 bad, 10 at 0.5 with 5 bads -> perfectly calibrated
    y = np.r_[np.zeros(9), 1, np.zeros(5), np.ones(5)]
    p = np.r_[np.full(10, 0.1), np.full(10, 0.5)]
    rel = reliability(y, p, bins=2)
    assert rel["hosmer_lemeshow"] == pytest.approx(0.0) and rel["passed"]
    assert [r["expected"] for r in rel["deciles"]] == pytest.approx([1.0, 5.0])
    assert [r["grade"] for r in rel["grades"]] == ["F", "G"]     # 0.10 falls in F = [10%, 20%)
    assert list(grade_of([0.001, 0.0099, 0.3])) == ["A", "B", "G"]


def test_pd_horizon_from_the_data():
    assert pd_horizon("default_12m", {}) == 12 and pd_horizon("bad_24_months", {}) == 24
    assert pd_horizon("Default", {}) is None


def test_train_reports_reliability_and_horizon():
    rng = np.random.default_rng(4)
    n = 1500
    df = pd.DataFrame({"x": rng.normal(size=n), "applied": pd.date_range("2018-01-01", periods=n, freq="D")})
    df["default_12m"] = (rng.random(n) < 1 / (1 + np.exp(-(-2 + df.x)))).astype(float)
    m = train(df, "default_12m", time_column="applied", model="logistic")
    rel = m.metrics["reliability"]
    assert len(rel["deciles"]) == 10 and rel["grades"] and 0 <= rel["hl_p"] <= 1
    assert m.manifest["pd_horizon_months"] == 12 and "12 months" in m.manifest["target_definition"]
    assert m.metrics["calibration"]["floor"] == PD_FLOOR
    # drift of the book's level out of time: calibration fails loudly
    df2 = df.copy()
    late = df2.applied > df2.applied.quantile(0.7)
    df2.loc[late, "default_12m"] = (rng.random(late.sum()) < 0.6).astype(float)
    m2 = train(df2, "default_12m", time_column="applied", model="logistic")
    assert any(w.startswith("CALIBRATION FAILS out of time") for w in m2.metrics["warnings"])


def test_auc_interval_by_hand():
    # Hanley & McNeil (1982) eq. 2 with A = 0.8, 50 bads, 50 goods: Q1 = 0.8 / 1.2, Q2 = 1.28 / 1.8,
    # var = (0.16 + 49 (Q1 - 0.64) + 49 (Q2 - 0.64)) / 2500 = 0.0019804, SE = 0.04450
    se, lo, hi = auc_interval(0.8, 50, 50)
    assert se == pytest.approx(0.04450, abs=5e-5)
    assert (lo, hi) == pytest.approx((0.8 - 1.959964 * se, 0.8 + 1.959964 * se))
    assert auc_interval(0.99, 4, 200)[2] == 1.0  # clipped to [0, 1]
    assert auc_interval(0.8, 4, 200)[0] > 2 * auc_interval(0.8, 100, 200)[0]  # few bads: wide


def test_thin_test_sample_is_said_out_loud():
    rng = np.random.default_rng(9)
    n = 700
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    df["bad"] = (rng.random(n) < 1 / (1 + np.exp(-(-3.0 + 0.8 * df.x)))).astype(int)
    m = train(df, "bad", model="logistic", allow_leaky=("x",))  # x is a strong predictor, not a leak
    b = m.metrics["n_bads"]
    assert b == int(df["bad"].iloc[split_rows(df["bad"], None).test].sum()) and b < 20
    lo, hi = m.metrics["auc_ci95"]
    assert lo < m.metrics["auc"] < hi
    assert any(w.startswith(f"the test rows hold only {b} defaults") for w in m.metrics["warnings"])


def test_isotonic_never_puts_an_all_good_step_at_the_floor(shared_data):
    """Taiwan credit card: the isotonic map (chosen on 4,600 events) had a lowest step fitted on 0
    bads, so 95 applicants got the 3 bp floor and 16 a PD of 1 - floor. The end steps now carry the
    Jeffreys estimate 0.5 / (n + 1) of their own n rows; the map stays monotone."""
    from smepulse.credit.data import TAIWAN_TARGET, load_taiwan  # noqa: PLC0415
    from smepulse.credit.train import train  # noqa: PLC0415
    df = load_taiwan(shared_data)
    m = train(df, TAIWAN_TARGET, n_estimators=200, calibration="isotonic")
    xs, ys = (np.asarray(v, float) for v in m.calibrator.params_[1:])
    assert np.all(np.diff(ys) >= 0) and 0.001 < ys[0] and ys[-1] < 0.999
    out, _ = m.score_frame(df, top_n=0)
    pd_ = out["pd"].to_numpy()
    assert pd_.min() > 10 * PD_FLOOR and pd_.max() < 1 - 10 * PD_FLOOR
    # the rows on the lowest step: their PD is no less than they show (0.5 bads of n at the least)
    low = pd_ == pd_.min()
    assert low.sum() >= 30 and df.loc[low, TAIWAN_TARGET].mean() <= 2 * pd_.min()
    assert pd_.min() >= 0.5 / (low.sum() + 1) / 4
    assert m.metrics["auc"] > 0.78
