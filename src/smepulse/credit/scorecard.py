"""Challenger: WOE logistic scorecard. optbinning bins (never hand-written); points scaled by PDO."""
from __future__ import annotations

import numpy as np
import pandas as pd
from optbinning import BinningProcess, Scorecard
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression


class WoeScorecard(ClassifierMixin, BaseEstimator):
    """Score = `points` at odds `odds`:1 (good:bad), +`pdo` points each time the odds double.

    `monotone` (feature -> +1/-1, from FeatureSpec) becomes optbinning's monotonic event-rate trend.
    """

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
        return pd.DataFrame({c: (X[c].astype(object) if isinstance(X[c].dtype, pd.CategoricalDtype)
                                 else X[c].astype(float)) for c in X.columns}, index=X.index)

    def fit(self, X: pd.DataFrame, y, sample_weight=None):
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.classes_ = np.array([0, 1])
        cats = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
        trend = {1: "ascending", -1: "descending"}
        fit_params = {c: {"monotonic_trend": trend[int(np.sign(m))]}
                      for c, m in (self.monotone or {}).items() if m and c in X.columns and c not in cats}
        bp = BinningProcess(variable_names=list(X.columns), categorical_variables=cats,
                            max_n_bins=self.max_n_bins, binning_fit_params=fit_params or None)
        self.scorecard_ = Scorecard(
            binning_process=bp, estimator=LogisticRegression(C=self.C, max_iter=2000),
            scaling_method="pdo_odds",
            scaling_method_params={"pdo": self.pdo, "odds": self.odds, "scorecard_points": self.points})
        self.scorecard_.fit(self._frame(X), np.asarray(y, int), sample_weight=sample_weight)
        tab = self.scorecard_.table("summary")
        self.max_points_ = tab.groupby("Variable")["Points"].max().to_dict()
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.scorecard_.predict_proba(self._frame(X[list(self.feature_names_in_)]))

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def score(self, X: pd.DataFrame) -> np.ndarray:  # noqa: D401  (points, not sklearn's accuracy)
        """Total points: higher = safer. Sum of the table's points for each row's bins."""
        return self.scorecard_.score(self._frame(X[list(self.feature_names_in_)]))

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Points lost against the best bin of each feature: the scorecard's own reason codes."""
        pts = self.scorecard_.transform(self._frame(X[list(self.feature_names_in_)]))
        lost = pd.DataFrame({c: self.max_points_.get(c, 0.0) - pts[c].to_numpy() if c in pts else 0.0
                             for c in self.feature_names_in_}, index=X.index)
        return lost

    def table(self) -> pd.DataFrame:
        """The printable score table: variable, bin, points."""
        tab = self.scorecard_.table("summary").copy()
        # categorical bins are arrays of levels; print them as "A11, A12"
        tab["Bin"] = tab["Bin"].map(lambda b: str(b) if isinstance(b, str) or not hasattr(b, "__len__")
                                    else ", ".join(map(str, list(b))))
        return tab.reset_index(drop=True)

    def importance(self) -> dict:
        tab = self.scorecard_.table("summary")
        spread = tab.groupby("Variable")["Points"].agg(lambda s: s.max() - s.min())
        total = spread.sum() or 1.0
        return {c: float(spread.get(c, 0.0) / total) for c in self.feature_names_in_}
