"""The champion on smepulse's own alternative-data pipeline: simulator -> point-in-time features ->
model, with the feature metadata's monotone directions and reason templates."""
from __future__ import annotations

import numpy as np

from smepulse.credit.features import build_features, feature_specs
from smepulse.credit.train import train
from smepulse.sim.credit import SimConfig, simulate


def test_champion_on_simulated_alternative_data(tmp_path):
    simulate(SimConfig(n_firms=2500, default_rate=0.08, seed=3, months=24), tmp_path)
    f = build_features(tmp_path)
    f = f[f["default_12m"].notna()]  # censored applications have no outcome yet
    specs = feature_specs()
    m = train(f, "default_12m", time_column="application_date", exclude=["application_id", "firm_id"],
              specs=specs, n_estimators=100)
    assert m.metrics["split"]["kind"] == "out-of-time"
    assert m.metrics["auc"] > 0.65
    assert m.metrics["leakage"] == []  # point-in-time features: nothing knows the outcome
    mono = dict(zip(m.features, m.estimator.monotone_constraints_, strict=False))
    assert all(mono[c] == np.sign(specs[c].monotone) for c in m.features
               if c in specs and not m.schema.is_categorical(c))
    out, _ = m.score_frame(f.head(30))
    sentences = out["reason_1"].dropna()
    assert len(sentences) > 0
    # sentences come from the metadata templates, not the generic fallback
    assert not any(" is high (value" in s or " is low (value" in s for s in sentences)
    assert out["reason_zh_1"].dropna().str.contains("[\u4e00-\u9fff]").all()
