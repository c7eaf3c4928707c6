"""Optional hyperparameter search for the champion (`credit train --tune MINUTES [--tune-trials N]`).

Optuna's TPE sampler with a fixed seed proposes LightGBM settings; each trial is scored by the same
stratified K-fold cross-validation on the training rows that `fit_champion` uses (early stopping on
the folds' mean log loss), so the test rows never take part. `minutes` is the time box the CLI's
`--tune` sets; `n_trials` caps the trials (`--tune-trials`; `train` asks for at most 1,000 when only a time box
is given). A search stopped by its time box depends on the machine's speed, so give trials alone
when the result must be repeatable; with both, whichever comes first stops it. The untuned settings
are always trial 0, so tuning never picks anything worse than the default by its own measure.
"""
from __future__ import annotations

import time

import numpy as np
import optuna
import pandas as pd

from smepulse.credit.data import SEED

SPACE = {  # name: (low, high, log scale)
    "learning_rate": (0.01, 0.2, True),
    "num_leaves": (4, 64, True),
    "min_child_samples": (5, 100, True),
    "subsample": (0.5, 1.0, False),
    "colsample_bytree": (0.3, 1.0, False),
    "reg_lambda": (1e-3, 30.0, True),
}


def tune(est, X: pd.DataFrame, y: np.ndarray, folds: list, sample_weight=None, *, n_trials: int = 20,
         minutes: float | None = None) -> tuple[dict, dict]:
    """(best parameters, summary). `est` is a LightGBMPD whose settings are the starting point."""
    base = {k: est.get_params()[k] for k in SPACE}

    def objective(trial: optuna.Trial) -> float:
        params = {}
        for name, (lo, hi, log) in SPACE.items():
            if isinstance(lo, int):
                params[name] = trial.suggest_int(name, lo, hi, log=log)
            else:
                params[name] = trial.suggest_float(name, lo, hi, log=log)
        n_best, _, loss = est.__class__(**{**est.get_params(), **params}).cross_validate(
            X, y, folds, sample_weight=sample_weight)
        trial.set_user_attr("trees", n_best)
        return loss

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=SEED))
    study.enqueue_trial(base)  # trial 0: the defaults
    started = time.monotonic()
    study.optimize(objective, n_trials=max(1, int(n_trials)), timeout=None if minutes is None else minutes * 60)
    best = {k: study.best_params[k] for k in SPACE}
    summary = {"n_trials": len(study.trials), "seed": SEED, "seconds": round(time.monotonic() - started, 1),
               "best_logloss": float(study.best_value), "base_logloss": float(study.trials[0].value),
               "best_params": best, "space": {k: list(v[:2]) for k, v in SPACE.items()},
               "time_box_minutes": minutes}
    return best, summary
