"""The credit estimators against scikit-learn's own contract: `parametrize_with_checks` on the champion
(LightGBMPD), the scorecard (WoeScorecard) and the logistic challenger, with no expected failures;
the calibrator, a 1-D map like IsotonicRegression, through the API checks that take no 2-D data and
its own 1-D contract; and the scorecard inside cross_val_score, clone and a Pipeline (its points are
`points_of`, so `score` is scikit-learn's accuracy and model selection works)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.utils import estimator_checks as sk
from sklearn.utils.estimator_checks import parametrize_with_checks

from smepulse.credit.calibration import Calibrator
from smepulse.credit.models import LightGBMPD, LogisticPD
from smepulse.credit.scorecard import WoeScorecard

# Every check passes, so there is nothing to list as an expected failure. scikit-learn itself skips
# one per estimator, check_array_api_input, unless SCIPY_ARRAY_API=1: the estimators take NumPy and
# pandas only (LightGBM, optbinning and the pandas design need them), so they declare no array API
# support and the check does not apply. Small n_estimators: the checks fit about 150 times on 20-300 rows.
ESTIMATORS = [LightGBMPD(n_estimators=20), LogisticPD(), WoeScorecard()]
EXPECTED_FAILED: dict[str, dict[str, str]] = {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: EXPECTED_FAILED.get(type(est).__name__, {}))
def test_sklearn_contract(estimator, check):
    check(estimator)


@pytest.mark.parametrize("check", [sk.check_estimator_cloneable, sk.check_estimator_repr,
                                   sk.check_no_attributes_set_in_init, sk.check_get_params_invariance,
                                   sk.check_set_params, sk.check_parameters_default_constructible,
                                   sk.check_valid_tag_types, sk.check_estimator_tags_renamed])
def test_calibrator_api_checks(check):
    check("Calibrator", Calibrator())


def test_calibrator_one_d_contract():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.01, 0.6, 400)
    y = (rng.random(400) < p).astype(int)
    with pytest.raises(NotFittedError):
        Calibrator().transform(p)
    cal = Calibrator("platt")
    assert cal.fit(p, y) is cal
    assert np.allclose(cal.transform(p), cal.transform(p[:, None]))  # 1-D or one column, the same map
    for bad, match in ((np.c_[p, p], "one column"), (np.r_[p[:-1], np.nan], "NaN"), (p * 3, r"\[0, 1\]")):
        with pytest.raises(ValueError, match=match):
            Calibrator("platt").fit(bad, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        Calibrator("platt").fit(p, y[:-1])
    with pytest.raises(ValueError, match="1 \\(bad\\) or 0"):
        Calibrator("platt").fit(p, y * 2)


def _card_book(n=400, seed=3):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"margin": rng.normal(0, 1, n), "age": rng.uniform(1, 20, n),
                      "sector": pd.Categorical(rng.choice(["retail", "food", "tech"], n)),
                      "noise": rng.normal(0, 1, n)})
    logit = -1.0 - 1.2 * X.margin - 0.05 * X.age + (X.sector == "food") * 0.8
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def test_scorecard_in_cross_val_score_clone_and_by_hand():
    X, y = _card_book()
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    acc = cross_val_score(WoeScorecard(), X, y, cv=cv)  # default scoring: the estimator's own `score`
    by_hand_auc, by_hand_acc = [], []
    for tr, te in cv.split(X, y):
        card = clone(WoeScorecard()).fit(X.iloc[tr], y[tr])
        by_hand_auc.append(roc_auc_score(y[te], card.predict_proba(X.iloc[te])[:, 1]))
        by_hand_acc.append(accuracy_score(y[te], card.predict(X.iloc[te])))
        # points are not `score`: score is accuracy, points_of the card's points, higher = safer
        assert card.score(X.iloc[te], y[te]) == pytest.approx(by_hand_acc[-1])
        assert roc_auc_score(y[te], -card.points_of(X.iloc[te])) == pytest.approx(by_hand_auc[-1])
    assert np.allclose(acc, by_hand_acc)
    assert np.mean(by_hand_auc) > 0.65  # margin carries the signal: a card that learnt nothing scores 0.5


def test_scorecard_reads_its_characteristics_by_name():
    X, y = _card_book()
    card = WoeScorecard().fit(X, y)
    assert list(card.feature_names_in_) == list(X.columns) and card.n_features_in_ == 4
    assert set(card.characteristics_) <= set(X.columns) and "margin" in card.characteristics_
    p = card.predict_proba(X)[:, 1]
    assert np.allclose(card.predict_proba(X[card.characteristics_[::-1]])[:, 1], p)  # order: by name
    with pytest.raises(ValueError, match="missing from X"):
        card.predict_proba(X.drop(columns=[card.characteristics_[0]]))
    with pytest.raises(ValueError, match="Only binary classification"):
        WoeScorecard().fit(X, np.arange(len(y)) % 3)
