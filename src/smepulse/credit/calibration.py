"""Map raw model scores to a calibrated PD over the model's horizon, with a floor and a ceiling.

Methods: Platt (logistic on the raw log-odds, 2 parameters), beta calibration (Kull et al. 2017:
logistic on ln p and -ln(1-p), 3 parameters) and isotonic regression (a step function). `auto`
chooses by evidence: isotonic only when the calibration rows hold at least `min_isotonic_events`
bads (and as many goods), since a step function fitted on few events puts whole groups of
applicants at a PD of almost zero; among the eligible methods the one with the lowest 5-fold
cross-validated Brier score wins. Every PD is clipped to [floor, 1 - floor]: 0.0003 (3 bp) is the
regulatory PD floor for corporate and retail exposures under Basel III (CRE32.3; CRR art. 160).
"""
from __future__ import annotations

import math

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils import check_array, check_consistent_length

_EPS = 1e-9
PD_FLOOR = 0.0003
MIN_ISOTONIC_EVENTS = 200
METHODS = ("platt", "beta", "isotonic")
# "none": the model's own PD, floored; used by the scorecard, whose Platt map is folded into its points


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, float), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def _beta_design(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, float), _EPS, 1 - _EPS)
    return np.column_stack([np.log(p), -np.log(1 - p)])


def _sigmoid(z: float) -> float:
    """1 / (1 + e^-z) for one float, without overflow at either end (numpy's gives inf -> 0 there)."""
    if z >= 0:
        return 1 / (1 + math.exp(-z))
    e = math.exp(z)
    return e / (1 + e)


def _scores(p) -> np.ndarray:
    """Raw PDs as a 1-D float array: 1-D, or 2-D with one column; finite and within [0, 1]."""
    if isinstance(p, np.ndarray) and p.ndim == 1 and p.dtype.kind == "f":
        # the scoring path's own arrays: check_array costs more than the map itself on one applicant
        if not np.isfinite(p).all():
            raise ValueError("Input p contains NaN or infinity.")
        a = p
    else:
        a = check_array(p, ensure_2d=False, dtype="numeric", input_name="p")
    if a.ndim == 2:
        if a.shape[1] != 1:
            raise ValueError(f"a calibrator maps one column of raw PDs; got {a.shape[1]} columns")
        a = a[:, 0]
    if ((a < 0) | (a > 1)).any():
        raise ValueError("raw PDs must lie within [0, 1]")
    return np.asarray(a, float)


def _jeffreys_ends(iso: IsotonicRegression, p: np.ndarray, y: np.ndarray, w) -> np.ndarray:
    """The isotonic steps, with a lowest step of 0 bads (or a highest of 0 goods) replaced by the
    Jeffreys estimate 0.5 / (n + 1) (1 - that): a group of n applicants none of whom defaulted
    has not shown a PD of zero (its 95% upper bound is about 3 / n), and the floor alone would put
    them at 3 bp. Kept monotone: never past the next step."""
    ys = np.asarray(iso.y_thresholds_, float).copy()
    if ys.size == 0:
        return ys
    w = np.ones(len(p)) if w is None else np.asarray(w, float)
    fitted = iso.predict(p)
    lo, hi = ys[0], ys[-1]
    if lo == 0.0:
        n = float(w[fitted == lo].sum())
        nxt = ys[ys > lo]
        ys[ys == lo] = min(0.5 / (n + 1), nxt[0] if nxt.size else 0.5)
    if hi == 1.0:
        n = float(w[fitted == hi].sum())
        prv = ys[ys < hi]
        ys[ys == hi] = max(1 - 0.5 / (n + 1), prv[-1] if prv.size else 0.5)
    return ys


class Calibrator(BaseEstimator):
    """method: auto, platt, beta or isotonic. Learned: `method_`, `params_`, `cv_brier_`, `n_events_`.

    A map of one score to a PD, like scikit-learn's IsotonicRegression: input is 1-D (or one column),
    and its tags say so, so scikit-learn's common checks (built for 2-D estimators) skip it; its API
    checks and the 1-D contract are tested in tests/credit/test_estimator_checks.py."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array, tags.input_tags.two_d_array = True, False
        return tags

    def __init__(self, method: str = "auto", cv: int = 5, random_state: int = 0, floor: float = PD_FLOOR,
                 min_isotonic_events: int = MIN_ISOTONIC_EVENTS):
        self.method = method
        self.cv = cv
        self.random_state = random_state
        self.floor = floor
        self.min_isotonic_events = min_isotonic_events

    def _fit_one(self, method: str, p, y, w=None, final: bool = False):
        if method == "none":
            return ("none",)
        if method == "platt":  # logistic on the raw log-odds: two parameters, robust on small samples
            lr = LogisticRegression(C=1e6).fit(_logit(p)[:, None], y, sample_weight=w)
            return ("platt", float(lr.coef_[0, 0]), float(lr.intercept_[0]))
        if method == "beta":
            lr = LogisticRegression(C=1e6).fit(_beta_design(p), y, sample_weight=w)
            a, b = (float(v) for v in lr.coef_[0])
            return ("beta", [a, b], float(lr.intercept_[0]))
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        iso.fit(p, y, sample_weight=w)
        # the end-step bound is applied to the final map only: the choice of method by cross-validated
        # Brier stays the plain step function's (the bound would favour isotonic and its ties cost AUC)
        ys = _jeffreys_ends(iso, p, y, w) if final else iso.y_thresholds_
        return ("isotonic", iso.X_thresholds_.tolist(), np.asarray(ys, float).tolist())

    def _apply(self, params, p) -> np.ndarray:
        p = np.asarray(p, float)
        if params[0] == "platt":
            out = 1 / (1 + np.exp(-(params[1] * _logit(p) + params[2])))
        elif params[0] == "beta":
            out = 1 / (1 + np.exp(-(_beta_design(p) @ np.asarray(params[1]) + params[2])))
        elif params[0] == "none":
            out = p
        else:
            out = np.interp(p, params[1], params[2])
        return np.clip(out, self.floor, 1 - self.floor)

    def eligible(self, y, sample_weight=None) -> list[str]:
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        events = min(float(w[y == 1].sum()), float(w[y == 0].sum()))
        return [m for m in METHODS if m != "isotonic" or events >= self.min_isotonic_events]

    def fit(self, p, y, sample_weight=None):
        p = _scores(p)
        y = check_array(y, ensure_2d=False, input_name="y")
        check_consistent_length(p, y)
        if not np.isin(y, (0, 1)).all():
            raise ValueError("a calibrator's y is 1 (bad) or 0 (good)")
        y = y.astype(int)
        sample_weight = None if sample_weight is None else np.asarray(sample_weight, float)
        self.n_events_ = int(y.sum())
        self.cv_brier_ = {}
        if self.method == "auto":
            folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
            for m in self.eligible(y, sample_weight):
                errs = []
                for tr, te in folds.split(p[:, None], y):
                    par = self._fit_one(m, p[tr], y[tr], None if sample_weight is None else sample_weight[tr])
                    errs.append(np.mean((self._apply(par, p[te]) - y[te]) ** 2))
                self.cv_brier_[m] = float(np.mean(errs))
            self.method_ = min(self.cv_brier_, key=self.cv_brier_.get)
        elif self.method in (*METHODS, "none"):
            self.method_ = self.method
        else:
            raise ValueError(f"calibration method must be auto, {', '.join(METHODS)}, not {self.method!r}")
        self.params_ = self._fit_one(self.method_, p, y, sample_weight, final=True)
        return self

    def transform(self, p) -> np.ndarray:
        if not hasattr(self, "params_"):  # check_is_fitted's generality costs ~40 us per applicant
            raise NotFittedError("this Calibrator is not fitted yet; call fit with raw PDs and outcomes first")
        return self._apply(self.params_, _scores(p))

    def transform_one(self, p: float) -> float:
        """`transform` of one raw PD in plain floats (one applicant: numpy's per-call cost is the most
        of the map). Equal to `transform` to a few ulp; tested."""
        if not hasattr(self, "params_"):
            raise NotFittedError("this Calibrator is not fitted yet; call fit with raw PDs and outcomes first")
        if not 0.0 <= p <= 1.0:  # also refuses nan
            raise ValueError("raw PDs must lie within [0, 1]")
        par = self.params_
        q = min(max(p, _EPS), 1 - _EPS)
        if par[0] == "platt":
            out = _sigmoid(par[1] * math.log(q / (1 - q)) + par[2])
        elif par[0] == "beta":
            out = _sigmoid(par[1][0] * math.log(q) + par[1][1] * -math.log(1 - q) + par[2])
        elif par[0] == "none":
            out = p
        else:
            out = float(np.interp(p, par[1], par[2]))
        return min(max(out, self.floor), 1 - self.floor)

    def to_state(self) -> dict:
        return {"params": self.get_params(), "method": self.method_, "cv_brier": self.cv_brier_,
                "fitted": list(self.params_), "n_events": getattr(self, "n_events_", None)}

    @classmethod
    def from_state(cls, state: dict) -> Calibrator:
        cal = cls(**state["params"])
        cal.method_, cal.cv_brier_ = state["method"], dict(state["cv_brier"])
        cal.n_events_ = state.get("n_events")
        f = state["fitted"]
        if f[0] == "platt":
            cal.params_ = (f[0], float(f[1]), float(f[2]))
        elif f[0] == "beta":
            cal.params_ = (f[0], [float(v) for v in f[1]], float(f[2]))
        elif f[0] == "none":
            cal.params_ = ("none",)
        else:
            cal.params_ = (f[0], list(f[1]), list(f[2]))
        return cal

    def to_dict(self) -> dict:
        params = {"n_knots": len(self.params_[1])} if self.method_ == "isotonic" else list(self.params_[1:])
        return {"method": self.method_, "cv_brier": self.cv_brier_, "params": params, "floor": self.floor,
                "ceiling": 1 - self.floor, "n_events": getattr(self, "n_events_", None),
                "isotonic_min_events": self.min_isotonic_events}
