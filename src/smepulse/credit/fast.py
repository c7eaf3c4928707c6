"""Batch scoring with compiled trees: lleaves turns the champion's LightGBM model into native code
(identical predictions, several times the rows per second of LightGBM's own predictor)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from smepulse.credit.train import CreditModel
from smepulse.errors import CreditError


class CompiledScorer:
    """Compile once (seconds), then `pd(X)` on prepared features, calibrated like the model."""

    def __init__(self, model: CreditModel, cache: str | Path | None = None, n_jobs: int = 2):
        if model.kind != "lightgbm":
            raise CreditError(f"compiled scoring needs a lightgbm model, not {model.kind}")
        try:
            import lleaves  # noqa: PLC0415 (lleaves/llvmlite compile on import: only for compiled scoring)
        except ImportError as exc:  # pinned in requirements.lock; absent only in odd installs
            raise CreditError("compiled scoring needs lleaves (pip install -r requirements.lock)") from exc
        self.model, self.n_jobs = model, n_jobs
        self._dir = tempfile.TemporaryDirectory()
        txt = Path(self._dir.name) / "model.txt"
        est = model.estimator
        est.booster_.save_model(str(txt), num_iteration=est.best_iteration_)
        self._llm = lleaves.Model(model_file=str(txt))
        self._llm.compile(cache=str(cache) if cache else None)

    def raw(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            X = X[self.model.features]
        return self._llm.predict(X, n_jobs=self.n_jobs)

    def pd(self, X) -> np.ndarray:
        return self.model.calibrator.transform(self.raw(X))
