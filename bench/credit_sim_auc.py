"""Out-of-fold AUC of LightGBM on the simulator's point-in-time features (5 folds grouped by firm).

    .venv/bin/python bench/credit_sim_auc.py FIRMS SEED [OUTCOME_MONTHS]
    (docs/credit_data.md records seeds 1-3 at 20000, OUTCOME_MONTHS 12 and 0)

Simulates FIRMS firms (24 months of applications, OUTCOME_MONTHS of follow-up, default 12; default rate
0.02, the default config otherwise), builds the features, keeps the labelled applications and prints
the out-of-fold AUC, how often yoy_growth_90d is missing and the months the labelled applications span.
"""
from __future__ import annotations

import sys
import tempfile

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold

from smepulse.credit.features import build_features
from smepulse.sim.credit import SimConfig, simulate


def main(firms: int, seed: int, outcome_months: int = 12) -> None:
    with tempfile.TemporaryDirectory() as d:
        simulate(SimConfig(n_firms=firms, seed=seed, workers=2, outcome_months=outcome_months), d)
        f = build_features(d)
    lab = f[f.default_12m.notna()].reset_index(drop=True)
    y = lab.default_12m.astype(int).to_numpy()
    X = lab.drop(columns=["application_id", "firm_id", "application_date", "default_12m"])
    for c in ("sector", "region", "size"):
        X[c] = X[c].astype("category")
    oof = np.zeros(len(y))
    for tr, te in StratifiedGroupKFold(5, shuffle=True, random_state=0).split(X, y, lab.firm_id):
        m = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.03, num_leaves=15, min_child_samples=40,
                               subsample=0.8, subsample_freq=1, colsample_bytree=0.8, verbose=-1, n_jobs=2)
        m.fit(X.iloc[tr], y[tr])
        oof[te] = m.predict_proba(X.iloc[te])[:, 1]
    months = sorted(pd.to_datetime(lab.application_date).dt.to_period("M").astype(str).unique())
    print(f"firms={firms} seed={seed} outcome_months={outcome_months} labelled={len(y)} bad_rate={y.mean():.4f} "
          f"oof_auc={roc_auc_score(y, oof):.4f} yoy_growth_90d_missing={X['yoy_growth_90d'].isna().mean():.2f} "
          f"labelled months {months[0]}..{months[-1]}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:4]))
