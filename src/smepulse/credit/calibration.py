"""Map raw model scores to a calibrated 12-month PD: isotonic or Platt, chosen on validation data."""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, float), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


class Calibrator(BaseEstimator):
    """method='auto' picks the one with the lower cross-validated Brier score on the validation rows."""

    def __init__(self, method: str = "auto", cv: int = 5, random_state: int = 0):
        self.method = method
        self.cv = cv
        self.random_state = random_state

    def _fit_one(self, method: str, p, y, w=None):
        if method == "platt":  # logistic on the raw log-odds: two parameters, robust on small samples
            lr = LogisticRegression(C=1e6).fit(_logit(p)[:, None], y, sample_weight=w)
            return ("platt", float(lr.coef_[0, 0]), float(lr.intercept_[0]))
        iso = IsotonicRegression(y_min=_EPS, y_max=1 - _EPS, out_of_bounds="clip")
        iso.fit(p, y, sample_weight=w)
        return ("isotonic", iso.X_thresholds_.tolist(), iso.y_thresholds_.tolist())

    @staticmethod
    def _apply(params, p) -> np.ndarray:
        p = np.asarray(p, float)
        if params[0] == "platt":
            return 1 / (1 + np.exp(-(params[1] * _logit(p) + params[2])))
        out = np.interp(p, params[1], params[2])
        return np.clip(out, _EPS, 1 - _EPS)

    def fit(self, p, y, sample_weight=None):
        p, y = np.asarray(p, float), np.asarray(y, int)
        self.cv_brier_ = {}
        if self.method == "auto":
            folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
            for m in ("platt", "isotonic"):
                errs = []
                for tr, te in folds.split(p[:, None], y):
                    par = self._fit_one(m, p[tr], y[tr], None if sample_weight is None else sample_weight[tr])
                    errs.append(np.mean((self._apply(par, p[te]) - y[te]) ** 2))
                self.cv_brier_[m] = float(np.mean(errs))
            self.method_ = min(self.cv_brier_, key=self.cv_brier_.get)
        elif self.method in ("platt", "isotonic"):
            self.method_ = self.method
        else:
            raise ValueError(f"calibration method must be auto, platt or isotonic, not {self.method!r}")
        self.params_ = self._fit_one(self.method_, p, y, sample_weight)
        return self

    def transform(self, p) -> np.ndarray:
        return self._apply(self.params_, p)

    def to_state(self) -> dict:
        return {"params": self.get_params(), "method": self.method_, "cv_brier": self.cv_brier_,
                "fitted": list(self.params_)}

    @classmethod
    def from_state(cls, state: dict) -> Calibrator:
        cal = cls(**state["params"])
        cal.method_, cal.cv_brier_ = state["method"], dict(state["cv_brier"])
        f = state["fitted"]
        cal.params_ = (f[0], float(f[1]), float(f[2])) if f[0] == "platt" else (f[0], list(f[1]), list(f[2]))
        return cal

    def to_dict(self) -> dict:
        return {"method": self.method_, "cv_brier": self.cv_brier_, "params": list(self.params_[1:])
                if self.method_ == "platt" else {"n_knots": len(self.params_[1])}}
