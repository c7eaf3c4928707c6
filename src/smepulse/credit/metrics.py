"""Validation metrics for a PD model: discrimination, calibration, lift and stability."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve


def ks_statistic(y: np.ndarray, p: np.ndarray) -> float:
    """Kolmogorov-Smirnov: max gap between the cumulative score distributions of bads and goods."""
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def summary(y, p) -> dict:
    y, p = np.asarray(y, float), np.asarray(p, float)
    auc = float(roc_auc_score(y, p))
    return {"auc": auc, "gini": 2 * auc - 1, "ks": ks_statistic(y, p),
            "brier": float(brier_score_loss(y, p)), "bad_rate": float(y.mean()),
            "mean_pd": float(p.mean())}


def calibration_table(y, p, bins: int = 10) -> pd.DataFrame:
    """Predicted vs observed bad rate by decile of predicted PD."""
    df = pd.DataFrame({"y": np.asarray(y, float), "p": np.asarray(p, float)})
    df["bin"] = pd.qcut(df["p"].rank(method="first"), bins, labels=False) + 1
    out = df.groupby("bin").agg(n=("y", "size"), mean_pd=("p", "mean"), observed=("y", "mean"))
    return out.reset_index()


def lift_table(y, p, bins: int = 10) -> pd.DataFrame:
    """Decile 1 = riskiest 10%: bad rate, lift over the book, cumulative share of bads captured."""
    df = pd.DataFrame({"y": np.asarray(y, float), "p": np.asarray(p, float)})
    df["decile"] = pd.qcut((-df["p"]).rank(method="first"), bins, labels=False) + 1
    out = df.groupby("decile").agg(n=("y", "size"), bads=("y", "sum"), bad_rate=("y", "mean"))
    out["lift"] = out["bad_rate"] / df["y"].mean()
    out["cum_capture"] = out["bads"].cumsum() / df["y"].sum()
    return out.reset_index()


def psi(expected, actual, bins: int = 10) -> float:
    """Population stability index of `actual` against `expected` (numbers: decile bins of expected;
    anything else: one bin per level). Missing values are a bin of their own."""
    e, a = pd.Series(expected), pd.Series(actual)
    if pd.api.types.is_numeric_dtype(e) and e.nunique() > bins:
        edges = np.unique(np.nanquantile(e.astype(float), np.linspace(0, 1, bins + 1)[1:-1]))
        ce = pd.Series(np.searchsorted(edges, e, side="right")).where(e.notna().to_numpy(), -1)
        ca = pd.Series(np.searchsorted(edges, a, side="right")).where(a.notna().to_numpy(), -1)
    else:
        ce, ca = e.astype("string").fillna("<NA>"), a.astype("string").fillna("<NA>")
    pe = ce.value_counts(normalize=True)
    pa = ca.value_counts(normalize=True).reindex(pe.index.union(ca.unique()), fill_value=0)
    pe = pe.reindex(pa.index, fill_value=0)
    pe, pa = np.clip(pe.to_numpy(), 1e-4, None), np.clip(pa.to_numpy(), 1e-4, None)
    return float(np.sum((pa - pe) * np.log(pa / pe)))


def full_report(y_test, p_test, p_train, X_train: pd.DataFrame, X_test: pd.DataFrame) -> dict:
    """Everything the metrics file and the HTML report need, as JSON-ready structures."""
    out = summary(y_test, p_test)
    out["psi_score"] = psi(p_train, p_test)
    out["psi_features"] = {c: psi(X_train[c], X_test[c]) for c in X_train.columns}
    out["calibration_table"] = calibration_table(y_test, p_test).to_dict("records")
    out["lift_table"] = lift_table(y_test, p_test).to_dict("records")
    fpr, tpr, _ = roc_curve(y_test, p_test)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), 200)).astype(int))
    out["roc"] = {"fpr": fpr[keep].round(4).tolist(), "tpr": tpr[keep].round(4).tolist()}
    return out
