"""Model behaviour on hand-built books: monotone constraints, PDO scaling, calibration, reasons,
scoring of bad rows, reject inference and the self-describing artefact."""
from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from smepulse.credit.calibration import Calibrator
from smepulse.credit.data import split_rows
from smepulse.credit.metadata import FeatureSpec
from smepulse.credit.metrics import ks_statistic, lift_table, psi
from smepulse.credit.reasons import sentence
from smepulse.credit.train import load_model, train


def _book(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"sales_drop": rng.uniform(0, 0.8, n), "age": rng.uniform(1, 20, n),
                       "sector": rng.choice(["retail", "food", "tech"], n)})
    logit = -2 + 3 * df.sales_drop - 0.08 * df.age + (df.sector == "food") * 0.5
    df["bad"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return df


SPECS = {"sales_drop": FeatureSpec("sales_drop", "fall in sales over the last 3 months", monotone=1,
                                   reason_en="sales fell {value:.0%} over the last 3 months",
                                   reason_zh="近3个月销售额下降 {value:.0%}"),
         # "age" here is the firm's age, not a person's: not protected (the policy's name pattern would say so)
         "age": FeatureSpec("age", "years in business", monotone=-1, protected=False)}


def test_metric_hand_examples():
    y, p = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    assert ks_statistic(y, p) == pytest.approx(0.5)
    assert psi([1, 2, 3, 4] * 25, [1, 2, 3, 4] * 25) == pytest.approx(0.0)
    # two levels 50/50 -> 80/20: PSI = 0.3 ln(1.6) + (-0.3) ln(0.4) = 0.4159
    assert psi(["a", "b"] * 50, ["a"] * 80 + ["b"] * 20) == pytest.approx(0.4159, abs=1e-3)
    lt = lift_table(np.r_[np.ones(10), np.zeros(90)], np.r_[np.ones(10), np.zeros(90)])
    assert lt["lift"].iloc[0] == pytest.approx(10.0) and lt["cum_capture"].iloc[0] == 1.0


def test_champion_respects_monotone_metadata_and_gives_template_reasons():
    df = _book()
    m = train(df, "bad", specs=SPECS, n_estimators=150)
    assert m.estimator.monotone_constraints_ == [1, -1, 0]
    grid = pd.DataFrame({"sales_drop": np.linspace(0, 0.8, 50), "age": 5.0, "sector": "retail"})
    pd_ = m.score_frame(grid)[0]["pd"].to_numpy()
    assert (np.diff(pd_) >= -1e-12).all() and pd_[-1] > pd_[0]
    risky = pd.DataFrame({"sales_drop": [0.7], "age": [1.0], "sector": ["retail"]})
    out = m.score_frame(risky)[0]
    reasons = out.filter(like="reason_").iloc[0].tolist()
    assert reasons[0] == "sales fell 70% over the last 3 months"   # the biggest push comes first
    assert "近3个月销售额下降 70%" in reasons
    assert "years in business is low (value 1)" in reasons


def test_treeshap_contributions_sum_to_raw_log_odds():
    df = _book()
    m = train(df, "bad", n_estimators=80)
    X = m.schema.transform(df.head(50)).X
    raw = m.estimator.booster_.predict(X, raw_score=True, num_iteration=m.estimator.best_iteration_)
    c = m.estimator.booster_.predict(X, pred_contrib=True, num_iteration=m.estimator.best_iteration_)
    assert np.allclose(c.sum(axis=1), raw)
    assert m.estimator.contributions(X).shape == (50, 3)


def test_scorecard_points_follow_pdo():
    df = _book()
    m = train(df, "bad", model="scorecard", specs=SPECS, scaling=None)
    est = m.estimator
    X = m.schema.transform(df.head(200)).X
    raw = est.predict_proba(X)[:, 1]
    score = est.points_of(X)
    # score = 600 + 20/ln2 * (ln(good:bad odds) - ln 50), exactly, before calibration
    expect = 600 + 20 / np.log(2) * (np.log((1 - raw) / raw) - np.log(50))
    assert np.allclose(score, expect, atol=1e-6)
    tab = est.table()
    pts = est.point_frame(X.head(1))
    assert pts.sum(axis=1).iloc[0] == pytest.approx(score[0])
    # points and PD from the same card: total points = Scaling.score(PD)
    assert np.allclose(score, m.scaling.score(raw), atol=1e-6)
    assert {"Variable", "Bin", "Points"} <= set(tab.columns)
    # monotone metadata -> descending points in sales_drop's numeric bins
    sd = tab[(tab.Variable == "sales_drop") & ~tab.Bin.isin(["Special", "Missing"])]["Points"].to_numpy()
    assert (np.diff(sd) <= 1e-9).all()
    # one calibrated mapping: the Platt map is folded into the card, the reported PD is the card's PD
    assert m.calibrator.method_ == "none" and len(est.platt_) == 2
    out = m.score_frame(df)[0]
    inside = out["pd"].between(0.001, 0.999)
    assert np.allclose(out["score"][inside], np.round(m.scaling.score(out["pd"][inside]), 1), atol=0.051)


def test_scorecard_selects_a_reviewable_card_and_survives_a_column_empty_in_training():
    """The pipeline's crash case: a year-on-year feature missing for every training row (history too
    short early in the window) but present later. Plus noise, a near-copy of the strongest
    characteristic and a cap on the count: the card keeps the signal, drops the rest, and says why."""
    df = _book(6000, seed=11)  # on 2,400 rows one of 12 noise columns correlates by chance (AUC 0.55)
    rng = np.random.default_rng(11)
    df["applied"] = pd.date_range("2020-01-01", periods=len(df), freq="h")
    for i in range(12):
        df[f"noise_{i}"] = rng.normal(size=len(df))
    df["sales_drop_copy"] = df["sales_drop"] + rng.normal(0, 0.01, len(df))
    df["yoy_growth"] = np.where(np.arange(len(df)) > 0.75 * len(df), rng.normal(size=len(df)), np.nan)
    m = train(df, "bad", time_column="applied", model="scorecard", specs=SPECS,
              scorecard={"max_features": 3, "min_iv": 0.02})
    sel = m.metrics["scorecard_selection"]
    assert set(m.features) <= {"sales_drop", "sales_drop_copy", "age", "sector"} and len(m.features) <= 3
    assert "sales_drop" in m.features or "sales_drop_copy" in m.features
    twin = "sales_drop_copy" if "sales_drop" in m.features else "sales_drop"
    assert sel[twin]["status"].startswith("dropped: WOE correlates")
    assert sel["yoy_growth"]["status"] == "dropped: fewer than two distinct values in the training rows"
    assert all(sel[f"noise_{i}"]["status"] != "selected" for i in range(12))
    assert set(m.estimator.table()["Variable"]) == set(m.features)
    out, _ = m.score_frame(df.tail(50))
    assert out["pd"].notna().all() and out["reason_1"].notna().any()


def test_calibrator_picks_and_fixes_a_miscalibrated_score():
    rng = np.random.default_rng(3)
    true = rng.uniform(0.02, 0.6, 5000)
    y = (rng.random(5000) < true).astype(int)
    raw = true ** 2  # a monotone but badly scaled score
    cal = Calibrator().fit(raw, y)
    # raw = true^2 is a power map: beta calibration (ln p term) fits it exactly
    assert cal.method_ == "beta" and set(cal.cv_brier_) == {"platt", "beta", "isotonic"}
    assert np.mean((cal.transform(raw) - y) ** 2) < np.mean((raw - y) ** 2)
    assert abs(cal.transform(raw).mean() - y.mean()) < 0.01


def test_scoring_survives_bad_rows_and_unseen_categories():
    m = train(_book(), "bad", model="logistic")
    new = pd.DataFrame({"sales_drop": ["0.2", "oops", "0.5"], "age": [3, 4, np.inf],
                        "sector": ["retail", "mining", "food"]})
    out, notes = m.score_frame(new)
    assert out["pd"].notna().tolist() == [True, False, False]
    assert "column 'sales_drop': 'oops' is not a number" in out["score_error"].iloc[1]
    assert "column 'age'" in out["score_error"].iloc[2]
    assert any("'sector'" in n and "'mining'" in n for n in notes)
    with pytest.raises(Exception, match="'age'"):
        m.score_frame(new.drop(columns="age"))


def test_artefact_is_versioned_and_self_describing(tmp_path):
    df = _book(1500)
    m = train(df, "bad", specs=SPECS, n_estimators=60, source="unit")
    d = m.save(tmp_path / "m")
    man = json.loads((d / "manifest.json").read_text())
    assert man["format"] == "smepulse.credit.model/2" and man["smepulse_version"]
    assert man["training_data_hash"].startswith("sha256:") and man["model_version"].startswith("lightgbm-")
    assert {f["name"]: f["monotone"] for f in man["features"]}["age"] == -1
    assert man["calibration"]["method"] in ("platt", "beta", "isotonic")
    met = json.loads((d / "metrics.json").read_text())
    assert {"auc", "gini", "ks", "brier", "n_train", "n_test", "split"} <= set(met)
    assert (d / "lightgbm.txt").is_file()
    back = load_model(d)
    assert np.allclose(back.score_frame(df.head(20))[0]["pd"], m.score_frame(df.head(20))[0]["pd"])
    # the same data gives the same hash; a changed cell does not
    df2 = df.copy()
    df2.loc[0, "age"] += 1
    assert train(df2, "bad", model="logistic").manifest["training_data_hash"] != man["training_data_hash"]


def test_generic_sentences():
    s = FeatureSpec("dso", "days sales outstanding")
    assert sentence(s, 95.0, 40.0) == "days sales outstanding is high (value 95)"
    # no English prose in the zh text: the column is quoted as data
    assert sentence(s, 95.0, 40.0, "zh") == "指标“days sales outstanding”偏高（数值 95）"
    assert sentence(s, None, 40.0) == "no data on days sales outstanding"
    ratio = FeatureSpec("r", "refund rate", reason_en="refunds were {pct:.1f}% of sales")
    assert sentence(ratio, 0.123, 0.05) == "refunds were 12.3% of sales"
    bad_template = FeatureSpec("c", "channel", reason_en="share {value:.0%}")
    assert sentence(bad_template, "web", None) == "channel is “web”"


def _selected_book(n=10000, seed=1):
    """Approval depends on an earlier score: rejects are the risky tail, outcomes unseen."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.normal(size=n)})
    p = 1 / (1 + np.exp(-(-2.0 + 1.2 * X.x1 + 0.8 * X.x2)))
    y = (rng.random(n) < p).astype(float)
    old = X.x1 + X.x2 + rng.normal(scale=0.5, size=n)
    acc = (old < np.quantile(old, 0.6)).to_numpy()
    return X.assign(bad=np.where(acc, y, np.nan)), p.to_numpy(), acc


@pytest.mark.parametrize("method", ["fuzzy", "parcelling"])
def test_reject_inference_reduces_through_the_door_bias(method):
    df, p, acc = _selected_book()
    truth = p.mean()  # true bad rate of everyone who applied
    # Platt for both: an isotonic map's top step can hide or exaggerate the bias by chance
    naive = train(df[acc], "bad", n_estimators=100, calibration="platt")
    ri = train(df, "bad", reject_inference=method, n_estimators=100, calibration="platt")
    bias_naive = abs(naive.score_frame(df)[0]["pd"].mean() - truth)
    bias_ri = abs(ri.score_frame(df)[0]["pd"].mean() - truth)
    assert bias_naive > 0.03          # trees trained on accepts understate the rejects' risk
    assert bias_ri < bias_naive / 2
    info = ri.metrics["reject_inference"]
    assert info["method"] == method and info["n_rejects"] > 0
    assert info["inferred_reject_bad_rate"] > info["accept_bad_rate"]


def test_compiled_scorer_matches_lightgbm():
    from smepulse.credit.fast import CompiledScorer
    df = _book(1500)
    m = train(df, "bad", n_estimators=40)
    X = m.schema.transform(df).X
    fast = CompiledScorer(m, n_jobs=1)
    assert np.allclose(fast.pd(X), m.pd_from_prepared(X), atol=1e-9)


def test_champion_is_refitted_on_every_training_row():
    """Property of the refit: the saved booster is exactly LightGBM trained on all training rows
    (none held out) with the cross-validated number of trees scaled by folds / (folds - 1)."""
    df = _book(1200, seed=7)
    m = train(df, "bad", n_estimators=120)
    champ = m.metrics["champion"]
    assert champ["refit_rows"] == m.metrics["n_train"] == 840
    assert champ["refit_trees"] == round(champ["cv_trees"] * 5 / 4)
    assert m.estimator.booster_.num_trees() == champ["refit_trees"]
    tr = split_rows(df["bad"]).train
    X = m.schema.transform(df.drop(columns="bad")).X
    est = m.estimator
    by_hand = lgb.train({**est._params(), "min_data_in_leaf": est.min_child_samples},
                        lgb.Dataset(X.iloc[tr], df["bad"].iloc[tr].astype(float)),
                        num_boost_round=champ["refit_trees"])
    assert np.allclose(by_hand.predict(X.head(50)), est.predict_proba(X.head(50))[:, 1])


def test_tuning_is_seeded_bounded_and_never_worse_than_the_defaults():
    df = _book(800, seed=8)
    a = train(df, "bad", n_estimators=80, tune_trials=3)
    b = train(df, "bad", n_estimators=80, tune_trials=3)
    ta, tb = a.metrics["champion"]["tuning"], b.metrics["champion"]["tuning"]
    assert ta["n_trials"] == 3 and ta["best_params"] == tb["best_params"]   # same seed, same search
    assert ta["best_logloss"] <= ta["base_logloss"]                          # trial 0 is the default
    assert a.metrics["champion"]["params"]["num_leaves"] == ta["best_params"]["num_leaves"]
    assert np.allclose(a.score_frame(df.head(20))[0]["pd"], b.score_frame(df.head(20))[0]["pd"])
