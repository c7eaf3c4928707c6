"""Validation metrics for a PD model: discrimination, calibration, lift and stability."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve


def ks_statistic(y: np.ndarray, p: np.ndarray) -> float:
    """Kolmogorov-Smirnov: max gap between the cumulative score distributions of bads and goods."""
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def auc_interval(auc: float, n_bad: int, n_good: int, z: float = 1.959964) -> tuple[float, float, float]:
    """(standard error, lower, upper) of an AUC by Hanley & McNeil (1982, Radiology 143:29-36, eq. 2),
    the 95% interval clipped to [0, 1]: wide when the sample holds few bads."""
    q1, q2 = auc / (2 - auc), 2 * auc ** 2 / (1 + auc)
    var = (auc * (1 - auc) + (n_bad - 1) * (q1 - auc ** 2) + (n_good - 1) * (q2 - auc ** 2)) / (n_bad * n_good)
    se = float(np.sqrt(max(var, 0.0)))
    return se, max(0.0, auc - z * se), min(1.0, auc + z * se)


def summary(y, p) -> dict:
    y, p = np.asarray(y, float), np.asarray(p, float)
    auc = float(roc_auc_score(y, p))
    bads = int(y.sum())
    se, lo, hi = auc_interval(auc, bads, len(y) - bads)
    return {"auc": auc, "auc_se": se, "auc_ci95": [lo, hi], "n_bads": bads, "gini": 2 * auc - 1,
            "ks": ks_statistic(y, p),
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


# master scale: grade -> upper PD bound (exclusive); the last grade is open-ended
GRADES = (("A", 0.005), ("B", 0.01), ("C", 0.02), ("D", 0.05), ("E", 0.10), ("F", 0.20), ("G", 1.0 + 1e-12))
CALIBRATION_ALPHA = 0.05


def grade_of(p) -> np.ndarray:
    bounds = np.array([b for _, b in GRADES])
    return np.array([g for g, _ in GRADES])[np.searchsorted(bounds, np.asarray(p, float), side="right")
                                             .clip(0, len(GRADES) - 1)]


def _binom_p(bads: int, n: int, pd_: float) -> float:
    pd_ = min(max(pd_, 1e-12), 1 - 1e-12)
    return float(stats.binomtest(int(bads), int(n), pd_).pvalue) if n else float("nan")


def _rows(df: pd.DataFrame, key: str) -> list[dict]:
    g = df.groupby(key, sort=True).agg(n=("y", "size"), bads=("y", "sum"), mean_pd=("p", "mean"),
                                      observed=("y", "mean")).reset_index()
    g["expected"] = g["n"] * g["mean_pd"]
    g["binomial_p"] = [_binom_p(b, n, q) for b, n, q in zip(g["bads"], g["n"], g["mean_pd"], strict=True)]
    return g.rename(columns={key: "bin" if key == "decile" else "grade"}).to_dict("records")


def reliability(y, p, bins: int = 10, alpha: float = CALIBRATION_ALPHA) -> dict:
    """Predicted vs observed by decile of PD and by grade, each row with a two-sided exact binomial
    test (observed bads vs n * mean PD); Hosmer-Lemeshow over the deciles (chi-square, bins - 2 df);
    a binomial test of the whole sample; the expected calibration error (ECE, decile-weighted mean
    |mean PD - observed|); `passed` = no test below `alpha` (HL and overall)."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    df = pd.DataFrame({"y": y, "p": p})
    df["decile"] = pd.qcut(df["p"].rank(method="first"), min(bins, len(df)), labels=False) + 1
    df["grade"] = grade_of(p)
    dec = _rows(df, "decile")
    e = np.array([r["expected"] for r in dec])
    o = np.array([r["bads"] for r in dec])
    n = np.array([r["n"] for r in dec])
    var = e * (1 - e / n)
    hl = float(np.sum((o - e) ** 2 / np.where(var > 0, var, np.nan), where=var > 0))
    dof = max(1, len(dec) - 2)
    hl_p = float(stats.chi2.sf(hl, dof))
    overall = _binom_p(int(y.sum()), len(y), float(p.mean()))
    # expected calibration error: the rows' mean gap |mean PD - observed| over the deciles
    ece = float(sum(r["n"] * abs(r["mean_pd"] - r["observed"]) for r in dec) / len(y))
    return {"deciles": dec, "grades": _rows(df, "grade"), "hosmer_lemeshow": hl, "ece": ece, "hl_dof": dof,
            "hl_p": hl_p,
            "binomial_p": overall, "n": int(len(y)), "bads": int(y.sum()), "mean_pd": float(p.mean()),
            "observed": float(y.mean()), "alpha": alpha, "passed": bool(hl_p >= alpha and overall >= alpha)}


def full_report(y_test, p_test, p_train, X_train: pd.DataFrame, X_test: pd.DataFrame) -> dict:
    """Everything the metrics file and the HTML report need, as JSON-ready structures."""
    out = summary(y_test, p_test)
    out["psi_score"] = psi(p_train, p_test)
    out["psi_features"] = {c: psi(X_train[c], X_test[c]) for c in X_train.columns}
    out["calibration_table"] = calibration_table(y_test, p_test).to_dict("records")
    out["reliability"] = reliability(y_test, p_test)
    out["lift_table"] = lift_table(y_test, p_test).to_dict("records")
    fpr, tpr, _ = roc_curve(y_test, p_test)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), 200)).astype(int))
    out["roc"] = {"fpr": fpr[keep].round(4).tolist(), "tpr": tpr[keep].round(4).tolist()}
    return out


SEGMENT_NAME = re.compile(r"(?i).*(sector|industry|naics|size|region|segment|product|purpose|channel).*")
MAX_SEGMENT_LEVELS = 12
MIN_AUC_BADS = 5  # fewer bads (or goods) in a group: its AUC is not shown


def _group_row(key: str, y: np.ndarray, p: np.ndarray) -> dict:
    bads, n = int(y.sum()), len(y)
    auc = float(roc_auc_score(y, p)) if min(bads, n - bads) >= MIN_AUC_BADS else None
    return {"group": key, "n": n, "bads": bads, "auc": auc, "mean_pd": float(p.mean()),
            "observed": float(y.mean()), "binomial_p": _binom_p(bads, n, float(p.mean()))}


def performance_by_period(y, p, time: pd.Series, periods: int = 4) -> list[dict]:
    """The test rows in `periods` consecutive slices of equal size by date (each labelled first-last
    day): AUC, mean PD against the observed bad rate and its exact binomial test per slice."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    t = pd.to_datetime(pd.Series(time)).reset_index(drop=True)
    order = np.argsort(t.to_numpy(), kind="stable")
    out = []
    for idx in np.array_split(order, min(periods, max(1, len(order) // 50))):
        if len(idx):
            lo, hi = t.iloc[idx].min(), t.iloc[idx].max()
            out.append(_group_row(f"{lo:%Y-%m-%d} to {hi:%Y-%m-%d}", y[idx], p[idx]))
    return out


def segment_columns(X: pd.DataFrame, named=None) -> list[str]:
    """Columns to break performance down by: `named`, else categorical-looking columns whose name
    says sector, industry, size, region, product or purpose, with 2-12 levels."""
    if named:
        return [c for c in named if c in X.columns]
    return [c for c in X.columns if SEGMENT_NAME.fullmatch(str(c))
            and 2 <= X[c].nunique(dropna=True) <= MAX_SEGMENT_LEVELS]


def performance_by_segment(y, p, X: pd.DataFrame, columns: list[str]) -> dict[str, list[dict]]:
    """Per segment column, per level (missing as 'missing'): n, bads, AUC, mean PD vs observed."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    out = {}
    for c in columns:
        g = X[c].astype("string").fillna("missing").to_numpy()
        out[c] = [_group_row(str(k), y[g == k], p[g == k]) for k in sorted(set(g))]
    return out
