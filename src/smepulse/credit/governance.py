"""Governance checks run at training time: probable leakage and features not known at decision time.

Leakage is judged on evidence that survives sample size: a column is flagged when the lower one-sided
95% bound of its single-feature AUC (Hanley-McNeil standard error on the training rows' bads and
goods) is above `LEAKAGE_AUC`, not when the noisy point estimate is. On a book of a few hundred rows
and 10-30 bads an honest feature's estimate often lands above 0.8 by chance (measured in
docs/credit.md, "Leakage on small books"); a post-outcome field's estimate sits near 1, where the
bound is tight, so it is still caught.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from smepulse.credit.metadata import FeatureSpec
from smepulse.credit.metrics import auc_interval

LEAKAGE_AUC = 0.8
LEAKAGE_Z = 1.645  # one-sided 95%; 1.282 and 1.96 measured too (docs/credit.md)


def single_feature_auc(x: pd.Series, y: np.ndarray, seed: int = 0) -> float:
    """How well one feature alone separates bads from goods (direction-free, 0.5-1).

    Numbers: the better of the rank AUC and an out-of-fold binned bad-rate AUC (catches U-shapes).
    Categories: out-of-fold bad rate by level, so an ID column scores about 0.5, not 1. An out-of-fold
    AUC below 0.5 is not turned around: held-out rows ranked worse than chance are noise, not a leak
    (pure noise, 300 rows, 12 levels: mean 0.493, below 0.5 in half the draws), and 1 - AUC would count
    that half as separation too.
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
    return float(max(rank_auc, oof))


def leakage_check(X: pd.DataFrame, y, threshold: float = LEAKAGE_AUC, z: float = LEAKAGE_Z) -> list[dict]:
    """Features whose single-feature AUC is above `threshold`, each `flagged` (probable leakage, e.g.
    SBA `Term`, `ChgOffPrinGr`) only when its lower bound (AUC - z * Hanley-McNeil SE) clears it too;
    the others are above it by an amount the sample cannot tell from chance."""
    y = np.asarray(y, int)
    bads = int(y.sum())
    goods = len(y) - bads
    out = []
    for col in X.columns:
        if X[col].notna().sum() < 10:
            continue
        auc = single_feature_auc(X[col], y)
        if auc <= threshold:
            continue
        low = auc_interval(auc, bads, goods, z)[1]
        entry = {"feature": col, "auc": round(auc, 4), "auc_low": round(low, 4), "n_bads": bads,
                 "flagged": bool(low > threshold)}
        if entry["flagged"]:
            entry["message"] = (f"column '{col}' alone gives AUC {auc:.3f} (lower bound {low:.3f} > {threshold} "
                                f"on {bads} bads): probable leakage (recorded after the outcome?). Check it or "
                                "--exclude it.")
        else:
            entry["message"] = (f"column '{col}' alone gives AUC {auc:.3f}, but its lower bound {low:.3f} on "
                                f"{bads} bads does not clear {threshold}: not evidence of leakage.")
        out.append(entry)
    return out


def unavailable_features(columns, specs: dict[str, FeatureSpec]) -> list[str]:
    """Features whose metadata says they are not available at decision time."""
    return [c for c in columns if c in specs and (not specs[c].available_at_decision
                                                  or specs[c].timing == "after_decision")]
