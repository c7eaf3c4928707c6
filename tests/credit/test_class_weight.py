"""Class weighting of the champion (`class_weight` none / balanced / auto): the weights shape the
trees, never the PDs, which the calibrator fits on the out-of-fold PDs at the true bad rate."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smepulse.credit.train import balanced_weights, fit_champion, train
from smepulse.errors import CreditError


def test_balanced_weights_by_hand():
    # 1 bad, 3 goods: total 4, each class gets half: bad 4 / (2 * 1) = 2, goods 4 / (2 * 3) = 2/3
    assert np.allclose(balanced_weights(np.array([1, 0, 0, 0])), [2, 2 / 3, 2 / 3, 2 / 3])
    # weighted rows (fuzzy reject inference): the weighted totals are balanced
    y, w = np.array([1, 1, 0]), np.array([0.25, 0.75, 3.0])
    bw = balanced_weights(y, w) * w
    assert bw[y == 1].sum() == pytest.approx(bw[y == 0].sum()) == pytest.approx(w.sum() / 2)


@pytest.fixture(scope="module")
def rare():
    rng = np.random.default_rng(5)
    n = 2000
    X = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-(-3.5 + 1.2 * X.x)))).astype(int)  # about 5% bad
    return X, y


def test_balanced_trees_calibrated_at_the_true_bad_rate(rare):
    X, y = rare
    est, cal, info = fit_champion(X, y, monotone={}, n_estimators=60, class_weight="balanced",
                                  calibration="platt")
    raw = est.predict_proba(X)[:, 1]
    assert info["class_weight"] == "balanced"
    assert raw.mean() > 0.3 > 5 * y.mean()  # the weighted trees think half the book is bad ...
    # ... and the calibrator, fitted on the out-of-fold PDs without the class weights, says it is not
    assert cal.transform(raw).mean() == pytest.approx(y.mean(), abs=0.01)


def test_auto_keeps_the_higher_cross_validated_auc(rare):
    X, y = rare
    _, _, info = fit_champion(X, y, monotone={}, n_estimators=60, class_weight="auto")
    aucs = info["class_weight_cv_auc"]
    assert set(aucs) == {"none", "balanced"} and info["class_weight"] == max(aucs, key=aucs.get)


def test_class_weight_is_checked_and_only_for_the_champion(rare):
    X, y = rare
    df = X.assign(bad=y)
    with pytest.raises(CreditError, match="class weight must be one of none, balanced, auto"):
        train(df, "bad", class_weight="heavy")
    m = train(df, "bad", model="logistic", class_weight="balanced")
    assert any("apply to the lightgbm champion only" in w for w in m.metrics["warnings"])
