"""PD estimators: LightGBM champion (monotone, TreeSHAP reasons) and a plain logistic model.

Both take a frame already passed through `FeatureSchema` (floats + pandas categoricals) and follow the
scikit-learn contract. `contributions(X)` returns per-feature log-odds pushes (positive = riskier).
"""
from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from smepulse.credit import contract
from smepulse.credit.data import SEED


def _is_cat(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.CategoricalDtype)


class LightGBMPD(ClassifierMixin, BaseEstimator):
    """Gradient-boosted trees; `monotone` maps feature -> +1/-1 (from FeatureSpec.monotone).

    Learned: `booster_`, `best_iteration_`, `monotone_constraints_`, `classes_` (the second is the bad
    class), `n_features_in_`, `feature_names_in_` (x0, x1, ... for arrays). Input: credit/contract.py."""

    def __init__(self, monotone: dict | None = None, n_estimators: int = 400, learning_rate: float = 0.05,
                 num_leaves: int = 31, min_child_samples: int = 40, subsample: float = 0.8,
                 colsample_bytree: float = 0.8, reg_lambda: float = 1.0, n_jobs: int = 1,
                 early_stopping_rounds: int | None = 50, random_state: int = SEED):
        self.monotone = monotone
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.n_jobs = n_jobs
        self.early_stopping_rounds = early_stopping_rounds
        self.random_state = random_state

    def _params(self) -> dict:
        return {"objective": "binary", "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
                "min_data_in_leaf": self.min_child_samples, "bagging_fraction": self.subsample,
                "bagging_freq": 1 if self.subsample < 1 else 0, "feature_fraction": self.colsample_bytree,
                "lambda_l2": self.reg_lambda, "num_threads": self.n_jobs, "seed": self.random_state,
                "verbosity": -1, "cat_smooth": 20, "min_data_per_group": 30, "cat_l2": 10,
                "deterministic": True, "force_row_wise": True}

    def __sklearn_tags__(self):
        return contract.binary_tags(super().__sklearn_tags__())

    def fit(self, X: pd.DataFrame, y, sample_weight=None, eval_set: tuple | None = None):
        X, y, sample_weight = contract.fit_input(self, X, y, sample_weight)
        mono = self.monotone or {}
        # LightGBM refuses monotone constraints on categorical splits; they stay unconstrained.
        self.monotone_constraints_ = [0 if _is_cat(X[c]) else int(np.sign(mono.get(c, 0))) for c in X.columns]
        params = self._params()
        if any(self.monotone_constraints_):
            params.update(monotone_constraints=self.monotone_constraints_,
                          monotone_constraints_method="advanced")
        train = lgb.Dataset(X, np.asarray(y, float), weight=sample_weight, free_raw_data=False)
        valid, callbacks = [], []
        if eval_set is not None and self.early_stopping_rounds:
            w_eval = eval_set[2] if len(eval_set) > 2 else None
            valid = [lgb.Dataset(eval_set[0], np.asarray(eval_set[1], float), weight=w_eval, reference=train)]
            callbacks = [lgb.early_stopping(self.early_stopping_rounds, verbose=False)]
        self.booster_ = lgb.train(params, train, num_boost_round=self.n_estimators, valid_sets=valid,
                                  callbacks=callbacks)
        self.best_iteration_ = self.booster_.best_iteration or self.n_estimators
        return self

    def cross_validate(self, X: pd.DataFrame, y, folds: list[tuple[np.ndarray, np.ndarray]],
                       sample_weight=None) -> tuple[int, np.ndarray, float]:
        """K-fold boosting with early stopping on the folds' mean log loss (LightGBM's own `cv`).

        Returns (number of trees, out-of-fold PD of every row at that number, mean held-out log loss).
        Nothing is fitted on `self`: the caller refits on all rows with the chosen number of trees."""
        params = {**self._params(), "metric": "binary_logloss"}
        mono = self.monotone or {}
        cons = [0 if _is_cat(X[c]) else int(np.sign(mono.get(c, 0))) for c in X.columns]
        if any(cons):
            params.update(monotone_constraints=cons, monotone_constraints_method="advanced")
        data = lgb.Dataset(X, np.asarray(y, float), weight=sample_weight, free_raw_data=False)
        callbacks = [lgb.early_stopping(self.early_stopping_rounds, verbose=False)] \
            if self.early_stopping_rounds else []
        res = lgb.cv(params, data, num_boost_round=self.n_estimators, folds=folds, callbacks=callbacks,
                     return_cvbooster=True, stratified=False)
        curve = res["valid binary_logloss-mean"]
        n_best = int(np.argmin(curve)) + 1
        oof = np.full(len(X), np.nan)
        for booster, (_, test) in zip(res["cvbooster"].boosters, folds, strict=True):
            oof[test] = booster.predict(X.iloc[test], num_iteration=n_best)
        return n_best, oof, float(curve[n_best - 1])

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        X = contract.predict_input(self, X)
        return contract.proba_columns(self.booster_.predict(X, num_iteration=self.best_iteration_))

    def predict(self, X) -> np.ndarray:
        return contract.labels(self, self.predict_proba(X)[:, 1])

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Native TreeSHAP (pred_contrib): log-odds contribution of each feature, bias dropped."""
        X = contract.predict_input(self, X)
        c = self.booster_.predict(X, num_iteration=self.best_iteration_, pred_contrib=True)
        return pd.DataFrame(c[:, :-1], columns=self.feature_names_in_, index=X.index)

    # ------------------------------------------------------------ as data (no pickle)
    def model_text(self) -> str:
        """LightGBM's own model text with the trees up to the chosen iteration."""
        return self.booster_.model_to_string(num_iteration=self.best_iteration_)

    def to_state(self) -> dict:
        return {"params": self.get_params(), "feature_names_in": list(self.feature_names_in_),
                "monotone_constraints": list(self.monotone_constraints_)}

    @classmethod
    def from_state(cls, state: dict, model_text: str) -> LightGBMPD:
        est = cls(**state["params"])
        est.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
        est.n_features_in_ = len(est.feature_names_in_)
        est.classes_ = np.array([0, 1])
        est.monotone_constraints_ = list(state["monotone_constraints"])
        est.booster_ = lgb.Booster(model_str=model_text)
        est.best_iteration_ = est.booster_.current_iteration()
        return est

    def importance(self) -> dict:
        gain = self.booster_.feature_importance("gain", iteration=self.best_iteration_)
        total = gain.sum() or 1.0
        return {f: float(g / total) for f, g in zip(self.feature_names_in_, gain, strict=False)}


class LogisticPD(ClassifierMixin, BaseEstimator):
    """Logistic regression on a simple design: numbers (median-imputed, + missing flag when needed,
    standardised) and one-hot categories (most frequent level as reference). C=None = unpenalised.

    Learned: `lr_`, `n_iter_`, `classes_`, `n_features_in_`, `feature_names_in_` and the design's
    levels, medians, means and scales (weighted by `sample_weight`). Input: credit/contract.py."""

    def __sklearn_tags__(self):
        return contract.binary_tags(super().__sklearn_tags__())

    def __init__(self, C: float | None = 1.0, max_iter: int = 2000):
        self.C = C
        self.max_iter = max_iter

    def _design(self, X: pd.DataFrame) -> pd.DataFrame:
        cols = {}
        for c in self.feature_names_in_:
            s = X[c]
            if c in self.levels_:  # one-hot via category codes: fast even with 1,000+ levels
                codes = pd.Categorical(s.astype(object), categories=self.levels_[c]).codes
                onehot = np.zeros((len(s), len(self.levels_[c]) + 1))
                onehot[np.arange(len(s)), codes] = 1.0  # code -1 (reference/unseen/missing) -> last
                for j, lv in enumerate(self.levels_[c]):
                    cols[f"{c}={lv}"] = onehot[:, j]
            else:
                v = s.astype(float)
                if c in self.flagged_:
                    cols[f"{c}:missing"] = v.isna().astype(float).to_numpy()
                cols[c] = ((v.fillna(self.medians_[c]) - self.means_[c]) / self.scales_[c]).to_numpy()
        return pd.DataFrame(cols, index=X.index)

    def fit(self, X: pd.DataFrame, y, sample_weight=None):
        X, y, sample_weight = contract.fit_input(self, X, y, sample_weight)
        w = np.ones(len(y)) if sample_weight is None else sample_weight
        self.levels_, self.medians_, self.means_, self.scales_, self.flagged_ = {}, {}, {}, {}, set()
        for c in X.columns:
            s = X[c]
            if _is_cat(s):
                vc = pd.Series(w, index=X.index).groupby(s, observed=True).sum().sort_values(ascending=False,
                                                                                         kind="stable")
                self.levels_[c] = [lv for lv in vc.index[1:] if vc[lv] > 0]  # drop the reference level
            else:
                v = s.astype(float)
                seen = v.notna().to_numpy() & (w > 0)
                self.medians_[c] = float(np.quantile(v[seen], 0.5, weights=w[seen], method="inverted_cdf")) \
                    if seen.any() else 0.0
                if v.isna().any():
                    self.flagged_.add(c)
                filled = v.fillna(self.medians_[c]).to_numpy()
                self.means_[c] = float(np.average(filled, weights=w))
                dof = w.sum() - 1 if w.sum() > 1 else w.sum()  # as pandas' std (ddof=1) of repeated rows
                self.scales_[c] = float(np.sqrt(np.sum(w * (filled - self.means_[c]) ** 2) / dof)) or 1.0
        D = self._design(X)
        self.columns_ = list(D.columns)
        kw = {"C": np.inf if self.C is None else self.C}
        self.lr_ = LogisticRegression(max_iter=self.max_iter, **kw).fit(D, y, sample_weight=sample_weight)
        self.n_iter_ = self.lr_.n_iter_
        self.design_means_ = np.average(D.to_numpy(), axis=0, weights=w)
        return self

    @property
    def coefficients_(self) -> dict:
        """Intercept and coefficients on the original scale of numeric inputs (for published checks)."""
        coef = dict(zip(self.columns_, self.lr_.coef_[0], strict=False))
        intercept = float(self.lr_.intercept_[0])
        out = {}
        for c in self.feature_names_in_:
            if c in self.levels_:
                out.update({f"{c}={lv}": float(coef[f"{c}={lv}"]) for lv in self.levels_[c]})
                continue
            b = coef[c] / self.scales_[c]
            intercept -= b * self.means_[c]
            out[c] = float(b)
            if c in self.flagged_:
                out[f"{c}:missing"] = float(coef[f"{c}:missing"])
        return {"intercept": float(intercept), **out}

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        D = self._design(contract.predict_input(self, X))
        return self.lr_.predict_proba(D)

    def predict(self, X) -> np.ndarray:
        return contract.labels(self, self.predict_proba(X)[:, 1])

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """coef * (x - mean) summed over each feature's design columns: exact for a linear model."""
        D = self._design(contract.predict_input(self, X)).to_numpy() - self.design_means_
        parts = D * self.lr_.coef_[0]
        out = {}
        for c in self.feature_names_in_:
            idx = [i for i, name in enumerate(self.columns_) if name == c or name.startswith(f"{c}=")
                   or name == f"{c}:missing"]
            out[c] = parts[:, idx].sum(axis=1)
        return pd.DataFrame(out, index=X.index)

    def to_state(self) -> dict:
        return {"params": self.get_params(), "feature_names_in": list(self.feature_names_in_),
                "levels": self.levels_, "medians": self.medians_, "means": self.means_, "scales": self.scales_,
                "flagged": sorted(self.flagged_), "columns": self.columns_,
                "coef": self.lr_.coef_[0].tolist(), "intercept": float(self.lr_.intercept_[0]),
                "design_means": self.design_means_.tolist()}

    @classmethod
    def from_state(cls, state: dict) -> LogisticPD:
        est = cls(**state["params"])
        est.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
        est.n_features_in_ = len(est.feature_names_in_)
        est.classes_ = np.array([0, 1])
        est.levels_, est.medians_ = state["levels"], state["medians"]
        est.means_, est.scales_, est.flagged_ = state["means"], state["scales"], set(state["flagged"])
        est.columns_ = list(state["columns"])
        lr = LogisticRegression(max_iter=est.max_iter, C=np.inf if est.C is None else est.C)
        lr.coef_ = np.asarray([state["coef"]], float)
        lr.intercept_ = np.asarray([state["intercept"]], float)
        lr.classes_ = np.array([0, 1])
        lr.n_features_in_ = len(est.columns_)
        lr.feature_names_in_ = np.asarray(est.columns_, dtype=object)
        lr.n_iter_ = np.array([0])
        est.lr_ = lr
        est.design_means_ = np.asarray(state["design_means"], float)
        return est

    def importance(self) -> dict:
        coef = np.abs(self.lr_.coef_[0])
        out = {c: float(sum(coef[i] for i, n in enumerate(self.columns_)
                            if n == c or n.startswith(f"{c}="))) for c in self.feature_names_in_}
        total = sum(out.values()) or 1.0
        return {k: v / total for k, v in out.items()}
