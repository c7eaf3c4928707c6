"""Sanity: on a small simulation the features predict 12-month default, plausibly but not perfectly."""
from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

from smepulse.credit.features import build_features, feature_specs
from smepulse.sim.credit import SimConfig, simulate


def _oof_auc(X, y, groups) -> float:
    """Out-of-fold AUC, folds grouped by firm so a firm never sits on both sides."""
    pred = np.zeros(len(y))
    for tr, te in GroupKFold(n_splits=4).split(X, y, groups):
        m = lgb.LGBMClassifier(n_estimators=200, learning_rate=0.03, num_leaves=15, min_child_samples=30,
                               subsample=0.8, subsample_freq=1, colsample_bytree=0.5, n_jobs=1, verbose=-1)
        m.fit(X.iloc[tr], y.iloc[tr])
        pred[te] = m.predict_proba(X.iloc[te])[:, 1]
    return roc_auc_score(y, pred)


@pytest.mark.slow
def test_lightgbm_auc_in_a_plausible_band(tmp_path):
    simulate(SimConfig(n_firms=5000, months=30, apps_per_firm=2.0, default_rate=0.05, seed=8, workers=1), tmp_path)
    df = build_features(tmp_path, threads=1)
    df = df[df["default_12m"].notna()].reset_index(drop=True)
    y = df["default_12m"].astype(int)
    assert y.sum() >= 150
    names = list(feature_specs())
    auc = _oof_auc(df[names], y, df["firm_id"])
    assert 0.72 <= auc <= 0.88, f"AUC {auc:.3f}"  # seeds 8-11 give 0.77-0.81
    # The alternative data carry the signal: static firm attributes alone predict much less.
    static = ["sector", "region", "size", "firm_age_days", "owner_age", "employees", "term_months"]
    assert _oof_auc(df[static], y, df["firm_id"]) < auc - 0.08
