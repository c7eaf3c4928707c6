"""Governance checks run at training time: probable leakage and features not known at decision time."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from smepulse.credit.metadata import FeatureSpec

LEAKAGE_AUC = 0.8


def single_feature_auc(x: pd.Series, y: np.ndarray, seed: int = 0) -> float:
    """How well one feature alone separates bads from goods (direction-free, 0.5-1).

    Numbers: the better of the rank AUC and an out-of-fold binned bad-rate AUC (catches U-shapes).
    Categories: out-of-fold bad rate by level, so an ID column scores about 0.5, not 1.
    """
    y = np.asarray(y, int)
    if isinstance(x.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(x):
        key = x.astype("string").fillna("<NA>")
        rank_auc = 0.5
    else:
        v = x.astype(float)
        filled = v.fillna(v.min() - 1 if v.notna().any() else 0)
        a = roc_auc_score(y, filled)
        rank_auc = max(a, 1 - a)
        key = pd.Series(pd.qcut(filled.rank(method="first"), min(20, max(2, filled.nunique())),
                                labels=False, duplicates="drop"), index=x.index).astype(str)
    enc = np.full(len(y), y.mean())
    prior, k = y.mean(), 20.0  # shrink small levels toward the overall rate
    codes, levels = pd.factorize(key)
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        bads = np.bincount(codes[tr], weights=y[tr], minlength=len(levels))
        count = np.bincount(codes[tr], minlength=len(levels))
        enc[te] = ((bads + k * prior) / (count + k))[codes[te]]  # a level unseen in the fold: the prior
    oof = roc_auc_score(y, enc)
    return float(max(rank_auc, oof, 1 - oof))


def leakage_check(X: pd.DataFrame, y, threshold: float = LEAKAGE_AUC) -> list[dict]:
    """Features whose single-feature AUC exceeds `threshold`: probable leakage (e.g. SBA `Term`)."""
    y = np.asarray(y, int)
    out = []
    for col in X.columns:
        if X[col].notna().sum() < 10:
            continue
        auc = single_feature_auc(X[col], y)
        if auc > threshold:
            out.append({"feature": col, "auc": round(auc, 4),
                        "message": f"column '{col}' alone gives AUC {auc:.3f} (> {threshold}): probable "
                                   "leakage (recorded after the outcome?). Check it or --exclude it."})
    return out


def unavailable_features(columns, specs: dict[str, FeatureSpec]) -> list[str]:
    """Features whose metadata says they are not available at decision time."""
    return [c for c in columns if c in specs and (not specs[c].available_at_decision
                                                  or specs[c].timing == "after_decision")]
