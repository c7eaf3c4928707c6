"""Reject inference: give rejected applications (no outcome) inferred outcomes before training.

Both methods label rejects with a logistic "known good/bad" model fitted on the accepts. A linear
model extrapolates into the rejected region, where trees trained on accepts alone stay flat and so
understate risk. `bad_factor` (default 1) scales the inferred PD of rejects, as practitioners do
when they believe rejects are worse than their features say.

- fuzzy: each reject enters twice, as bad with weight p and as good with weight 1 - p.
- parcelling: rejects are grouped into ten bands of inferred PD; in each band a share equal to the
  band's mean inferred PD is drawn (seeded) as bad, the rest good.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from smepulse.credit.data import SEED
from smepulse.credit.models import LogisticPD
from smepulse.errors import CreditError

METHODS = ("fuzzy", "parcelling")


def kgb_model(X_acc: pd.DataFrame, y_acc) -> LogisticPD:
    """The known-good/bad model that infers rejects' outcomes (linear, so it extrapolates)."""
    return LogisticPD(C=1.0).fit(X_acc, np.asarray(y_acc, float))


def augment(X_acc: pd.DataFrame, y_acc, X_rej: pd.DataFrame, method: str, bad_factor: float = 1.0,
            seed: int = SEED, weight_acc=None, kgb: LogisticPD | None = None
            ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, dict]:
    """Accepts plus inferred rejects: (X, y, sample_weight, summary)."""
    if method not in METHODS:
        raise CreditError(f"reject inference must be one of {', '.join(METHODS)}, not {method!r}")
    y_acc = np.asarray(y_acc, float)
    w_acc = np.ones(len(y_acc)) if weight_acc is None else np.asarray(weight_acc, float)
    if len(X_rej) == 0:
        return X_acc, y_acc, w_acc, {"method": method, "n_rejects": 0}
    kgb = kgb or kgb_model(X_acc, y_acc)
    p = np.clip(kgb.predict_proba(X_rej)[:, 1] * bad_factor, 0.0, 1.0)
    if method == "fuzzy":
        X = pd.concat([X_acc, X_rej, X_rej], ignore_index=True)
        y = np.concatenate([y_acc, np.ones(len(p)), np.zeros(len(p))])
        w = np.concatenate([w_acc, p, 1 - p])
    else:
        rng = np.random.default_rng(seed)
        bands = pd.qcut(pd.Series(p).rank(method="first"), min(10, len(p)), labels=False).to_numpy()
        y_rej = np.zeros(len(p))
        for b in np.unique(bands):
            idx = np.flatnonzero(bands == b)
            n_bad = int(round(p[idx].mean() * len(idx)))
            y_rej[rng.choice(idx, n_bad, replace=False)] = 1.0
        X = pd.concat([X_acc, X_rej], ignore_index=True)
        y = np.concatenate([y_acc, y_rej])
        w = np.concatenate([w_acc, np.ones(len(p))])
    for c in X_acc.columns:  # concat can drop categorical dtypes when levels differ; restore them
        if isinstance(X_acc[c].dtype, pd.CategoricalDtype):
            X[c] = pd.Categorical(X[c].astype(object), categories=X_acc[c].cat.categories)
    info = {"method": method, "n_rejects": int(len(p)), "bad_factor": bad_factor,
            "inferred_reject_bad_rate": float(p.mean()), "accept_bad_rate": float(y_acc.mean())}
    return X, y, w, info
