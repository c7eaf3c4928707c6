"""The scikit-learn contract at the PD estimators' boundary (LightGBMPD, LogisticPD, WoeScorecard).

Inside, the estimators work on a DataFrame of floats and pandas categoricals (FeatureSchema's output).
Here whatever a scikit-learn user passes is checked and turned into that frame: arrays and lists by
`check_array` (2-D, numeric, NaN allowed since every estimator has a missing-value path; inf, sparse,
complex, 1-D and empty input refused with ValueError), frames column by column (their categoricals
kept), targets by `check_classification_targets` with exactly two classes: `classes_` sorted, the
second is the bad one (predict_proba's second column is the PD). Frames are read by column name, so
extra or reordered columns are fine and missing ones are an error (tests/credit/test_estimator_checks.py).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import check_array, check_consistent_length, column_or_1d
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted


def binary_tags(tags):
    """Tags shared by the three estimators: binary PD models that take missing values and categoricals."""
    tags.input_tags.allow_nan = True
    tags.input_tags.categorical = True
    tags.classifier_tags.multi_class = False
    return tags


def _check_frame(X: pd.DataFrame, name: str) -> pd.DataFrame:
    if X.shape[0] < 1:
        raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required by {name}.")
    if X.shape[1] < 1:
        raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is required "
                         f"by {name}.")
    if not all(isinstance(c, str) for c in X.columns):  # rename copies the frame: only when needed
        X = X.rename(columns=str)
    for c in X.columns:
        s = X[c]
        if s.dtype.kind == "f" and np.isinf(s.to_numpy()).any():  # only floats hold inf
            raise ValueError(f"Input X contains infinity in column {c!r}.")
    return X


def _array_frame(X, name: str, columns=None) -> pd.DataFrame:
    arr = check_array(X, accept_sparse=False, ensure_all_finite="allow-nan", dtype="numeric",
                      estimator=name)
    cols = columns if columns is not None else [f"x{i}" for i in range(arr.shape[1])]
    return pd.DataFrame(np.asarray(arr, float), columns=list(cols))


def fit_input(est, X, y, sample_weight=None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None]:
    """(frame, y as 0/1, weights or None); sets `classes_`, `n_features_in_` and `feature_names_in_`."""
    name = type(est).__name__
    if y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None.")
    frame = _check_frame(X, name) if isinstance(X, pd.DataFrame) else _array_frame(X, name)
    y = column_or_1d(check_array(y, ensure_2d=False, dtype=None, input_name="y", ensure_min_samples=0), warn=True)
    check_consistent_length(frame, y)
    check_classification_targets(y)
    w = None
    if sample_weight is not None:
        w = np.asarray(sample_weight, float)
        if w.shape != (len(y),):
            raise ValueError(f"sample_weight.shape == {w.shape}, expected {(len(y),)}!")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("sample_weight must be finite and non-negative")
        if not (w > 0).any():
            raise ValueError("sample_weight is zero everywhere: at least one weight must be non-zero")
    classes, y01 = np.unique(y, return_inverse=True)
    present = np.unique(y01 if w is None else y01[w > 0])
    if len(classes) > 2:
        raise ValueError(f"Only binary classification is supported: {name} is a PD model, y has "
                         f"{len(classes)} classes and it needs two (good and bad).")
    if len(present) < 2:
        raise ValueError(f"{name} needs two classes (good and bad): y has one class only"
                         + (" among the rows with positive sample_weight" if w is not None else ""))
    est.classes_ = classes
    est.n_features_in_ = frame.shape[1]
    est.feature_names_in_ = np.asarray(frame.columns, dtype=object)
    return frame, y01.astype(int), w


def predict_input(est, X, needed=None) -> pd.DataFrame:
    """The frame `est` reads at predict time. Arrays must have `n_features_in_` columns, in the order
    of fit; frames need the columns in `needed` (default: those seen in fit), by name."""
    check_is_fitted(est, "classes_")
    name = type(est).__name__
    if not isinstance(X, pd.DataFrame):
        arr = check_array(X, accept_sparse=False, ensure_all_finite="allow-nan", dtype="numeric", estimator=name)
        if arr.shape[1] != est.n_features_in_:
            raise ValueError(f"X has {arr.shape[1]} features, but {name} is expecting {est.n_features_in_} "
                             "features as input.")
        return pd.DataFrame(np.asarray(arr, float), columns=list(est.feature_names_in_))
    X = _check_frame(X, name)
    needed = list(est.feature_names_in_ if needed is None else needed)
    missing = [c for c in needed if c not in X.columns]
    if missing:
        raise ValueError(f"The feature names should match those that were passed during fit: "
                         f"{name} needs {', '.join(map(str, missing[:5]))}, missing from X.")
    return X[needed]


def proba_columns(p_bad: np.ndarray) -> np.ndarray:
    return np.column_stack([1 - p_bad, p_bad])


def labels(est, p_bad: np.ndarray) -> np.ndarray:
    """predict: the bad class where PD > 0.5 (a tie goes to the first class, as predict_proba's argmax)."""
    return est.classes_[(np.asarray(p_bad) > 0.5).astype(int)]
