"""Challenger: WOE logistic scorecard. optbinning finds the bins (never hand-written); the fitted card
is plain data (splits or category groups, WOE and coefficient per characteristic), so points, PD and
the saved artefact come from one table.

Score = `points` at odds `odds`:1 (good:bad), +`pdo` points each time the odds double; a row's
points are the sum of its bins' points and equal `Scaling.score(PD)` of the card's own PD.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from optbinning import BinningProcess
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression


def _is_cat(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(s)


class WoeScorecard(ClassifierMixin, BaseEstimator):
    """`monotone` (feature -> +1/-1, from FeatureSpec) becomes optbinning's monotonic event-rate trend.

    Learned: `bins_` (per characteristic: kind, splits or groups, woe per bin, woe of missing),
    `coef_` (per characteristic) and `intercept_`, all plain data. Missing values take the WOE of the
    training rows' missing bin; a category not seen in training takes WOE 0 (neutral)."""

    def __init__(self, pdo: float = 20.0, odds: float = 50.0, points: float = 600.0,
                 monotone: dict | None = None, max_n_bins: int = 8, C: float = 1.0):
        self.pdo = pdo
        self.odds = odds
        self.points = points
        self.monotone = monotone
        self.max_n_bins = max_n_bins
        self.C = C

    @staticmethod
    def _frame(X: pd.DataFrame) -> pd.DataFrame:
        # optbinning expects numpy-friendly dtypes: categoricals as plain object columns
        return pd.DataFrame({c: (X[c].astype(object) if _is_cat(X[c]) else X[c].astype(float))
                             for c in X.columns}, index=X.index)

    def fit(self, X: pd.DataFrame, y, sample_weight=None):
        X = pd.DataFrame(X)
        X.columns = [str(c) for c in X.columns]
        y = np.asarray(y, int)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.classes_ = np.array([0, 1])
        cats = [c for c in X.columns if _is_cat(X[c])]
        trend = {1: "ascending", -1: "descending"}
        fit_params = {c: {"monotonic_trend": trend[int(np.sign(m))]}
                      for c, m in (self.monotone or {}).items() if m and c in X.columns and c not in cats}
        bp = BinningProcess(variable_names=list(X.columns), categorical_variables=cats,
                            max_n_bins=self.max_n_bins, binning_fit_params=fit_params or None)
        bp.fit(self._frame(X), y, sample_weight=sample_weight)
        self.bins_ = {}
        for c in X.columns:
            ob = bp.get_binned_variable(c)
            bt = ob.binning_table.build()
            rows = bt.drop(index="Totals")
            woe = pd.to_numeric(rows["WoE"], errors="coerce").fillna(0.0).to_numpy(float)
            n_reg = len(rows) - 2  # the last two rows are Special and Missing
            entry = {"kind": "categorical" if c in cats else "numeric", "woe": woe[:n_reg].tolist(),
                     "woe_missing": float(woe[-1]), "iv": float(bt.loc["Totals", "IV"]),
                     "labels": [str(b) for b in rows["Bin"].iloc[:n_reg]],
                     "count": rows["Count"].iloc[:n_reg].astype(int).tolist()}
            if c in cats:
                entry["groups"] = [[str(v) for v in g] for g in ob.splits]
                entry["labels"] = [", ".join(g) for g in entry["groups"]]
            else:
                entry["splits"] = [float(s) for s in ob.splits]
            self.bins_[c] = entry
        W = self.woe(X)
        lr = LogisticRegression(C=self.C, max_iter=2000).fit(W, y, sample_weight=sample_weight)
        self.coef_ = dict(zip(self.feature_names_in_, lr.coef_[0].tolist(), strict=True))
        self.intercept_ = float(lr.intercept_[0])
        return self

    # ------------------------------------------------------------ from the tables
    def woe(self, X: pd.DataFrame) -> pd.DataFrame:
        """Each characteristic replaced by the WOE of its bin."""
        out = {}
        for c in self.feature_names_in_:
            b, s = self.bins_[c], X[c]
            w = np.full(len(s), b["woe_missing"], float)
            if b["kind"] == "numeric":
                v = pd.to_numeric(s, errors="coerce").to_numpy(float)
                ok = ~np.isnan(v)
                w[ok] = np.asarray(b["woe"], float)[np.digitize(v[ok], b["splits"], right=False)]
            else:
                lookup = {lv: b["woe"][i] for i, g in enumerate(b["groups"]) for lv in g}
                txt = s.astype(object)
                ok = txt.notna().to_numpy()
                w[ok] = [lookup.get(str(v), 0.0) for v in txt[ok]]
            out[c] = w
        return pd.DataFrame(out, index=X.index)

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Log-odds of default."""
        W = self.woe(X).to_numpy(float)
        return self.intercept_ + W @ np.array([self.coef_[c] for c in self.feature_names_in_])

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def _factor(self) -> float:
        return self.pdo / np.log(2)

    def _offset_share(self) -> float:
        """Base points, the intercept's share, spread evenly over the characteristics."""
        f = self._factor()
        return (self.points - f * np.log(self.odds) - f * self.intercept_) / max(1, len(self.feature_names_in_))

    def bin_points(self) -> dict[str, tuple[np.ndarray, float]]:
        """Per characteristic: (points of each bin, points of missing)."""
        f, base = self._factor(), self._offset_share()
        return {c: (base - f * self.coef_[c] * np.asarray(b["woe"], float), base - f * self.coef_[c] * b["woe_missing"])
                for c, b in self.bins_.items()}

    def point_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """Points of each row's bin per characteristic."""
        f, base = self._factor(), self._offset_share()
        W = self.woe(X)
        return pd.DataFrame({c: base - f * self.coef_[c] * W[c].to_numpy() for c in self.feature_names_in_},
                            index=X.index)

    def points_of(self, X: pd.DataFrame) -> np.ndarray:
        """Total points: higher = safer. Sum of the table's points for each row's bins."""
        return self.point_frame(X).sum(axis=1).to_numpy()

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Points lost against the best bin of each feature: the scorecard's own reason codes."""
        pts = self.point_frame(X)
        best = {c: float(max(p.max() if len(p) else m, m)) for c, (p, m) in self.bin_points().items()}
        return pd.DataFrame({c: best[c] - pts[c].to_numpy() for c in self.feature_names_in_}, index=X.index)

    def table(self) -> pd.DataFrame:
        """The printable score table: variable, bin, count, WOE, points (missing bin last)."""
        rows = []
        for c, (pts, miss) in self.bin_points().items():
            b = self.bins_[c]
            for lab, n, w, p in zip(b["labels"], b["count"], b["woe"], pts, strict=True):
                rows.append({"Variable": c, "Bin": lab, "Count": n, "WoE": w, "Points": float(p)})
            rows.append({"Variable": c, "Bin": "Missing", "Count": None, "WoE": b["woe_missing"],
                         "Points": float(miss)})
        return pd.DataFrame(rows, columns=["Variable", "Bin", "Count", "WoE", "Points"])

    def importance(self) -> dict:
        spread = {c: float(p.max() - p.min()) if len(p) > 1 else 0.0 for c, (p, _) in self.bin_points().items()}
        total = sum(spread.values()) or 1.0
        return {c: spread[c] / total for c in self.feature_names_in_}

    # ------------------------------------------------------------ as data (no pickle)
    def to_state(self) -> dict:
        return {"params": self.get_params(), "feature_names_in": list(self.feature_names_in_),
                "bins": self.bins_, "coef": self.coef_, "intercept": self.intercept_}

    @classmethod
    def from_state(cls, state: dict) -> WoeScorecard:
        est = cls(**state["params"])
        est.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
        est.n_features_in_ = len(est.feature_names_in_)
        est.classes_ = np.array([0, 1])
        est.bins_, est.coef_, est.intercept_ = state["bins"], dict(state["coef"]), float(state["intercept"])
        return est
