"""The champion and the scorecard on smepulse's own alternative-data pipeline: simulator ->
point-in-time features -> model, with the feature metadata's monotone directions and reason templates."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from smepulse.cli import app
from smepulse.credit.features import build_features, feature_specs, with_group_columns
from smepulse.credit.train import train
from smepulse.sim.credit import SimConfig, simulate

runner = CliRunner()


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    d = tmp_path_factory.mktemp("altdata")
    simulate(SimConfig(n_firms=2500, default_rate=0.08, seed=3, months=24, outcome_months=6), d)
    f = with_group_columns(build_features(d), d)   # what `credit features` writes: + owner_gender
    f.to_parquet(d / "features.parquet", index=False)
    return d / "features.parquet", f


def test_champion_on_simulated_alternative_data(features):
    f = features[1]
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


def test_scorecard_through_the_cli_on_the_projects_own_pipeline(features):
    """The issue's crash case: simulate -> features -> `credit train --model scorecard` (censored rows
    and all) used to die in optbinning; now a card of at most 15 of the 118 characteristics."""
    path, f = features
    out = path.parent / "card"
    r = CliRunner().invoke(app, ["credit", "train", "--data", str(path), "--target", "default_12m",
                                 "--time-column", "application_date", "--exclude", "application_id,firm_id",
                                 "--model", "scorecard", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "smepulse feature metadata" in r.output and "characteristics selected" in r.output
    met = json.loads((out / "validation.json").read_text())
    chosen = [c for c, s in met["scorecard_selection"].items() if s["status"] == "selected"]
    assert 3 <= len(chosen) <= 15 and met["auc"] > 0.65
    card = pd.read_csv(out / "scorecard.csv")
    assert set(card["Variable"]) == set(chosen)
    # owner_gender: found by the protected-attribute policy, checked, never a characteristic
    assert "owner_gender" not in met["scorecard_selection"] and "owner_gender" in r.output
    groups = met["fairness"]["attributes"]["owner_gender"]["groups"]
    assert {g["group"] for g in groups} == {"f", "m"} and all(g["air"] is not None for g in groups)
    specs = feature_specs()
    for c in chosen:  # the metadata's direction of risk holds bin by bin
        if specs[c].monotone:
            pts = card[(card.Variable == c) & (card.Bin != "Missing")]["Points"].to_numpy()
            assert (np.sign(np.diff(pts)) * -np.sign(specs[c].monotone) >= -1e-9).all(), c


def test_cli_on_the_projects_pipeline_drops_keys_and_breaks_performance_down(features, tmp_path):
    """`credit features` output straight into `credit train` (no --exclude): application_id and
    firm_id are record keys, never features, and come through `score` so scores can be joined back;
    the model card (and so the report) shows performance over time and by sector, size and region."""
    path, f = features
    out = tmp_path / "m"
    r = runner.invoke(app, ["credit", "train", "--data", str(path), "--target", "default_12m",
                            "--time-column", "application_date", "--n-estimators", "60", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "'application_id' dropped: a record key" in r.output and "'firm_id' dropped" in r.output
    met = json.loads((out / "metrics.json").read_text())
    assert len(met["by_period"]) == 4 and sum(p["n"] for p in met["by_period"]) == met["n_test"]
    assert sum(p["bads"] for p in met["by_period"]) == met["n_bads"]
    assert {"sector", "size", "region"} <= set(met["by_segment"])
    assert all(sum(g["n"] for g in rows) == met["n_test"] for rows in met["by_segment"].values())
    card, zh = (out / "model_card.md").read_text(), (out / "model_card.zh.md").read_text()
    assert "## Performance over time" in card and "| sector: wholesale and retail |" in card
    assert "## 分群表现" in zh and "行业 (sector)：批发和零售业" in zh
    f.head(200).to_csv(tmp_path / "apps.csv", index=False)
    r = runner.invoke(app, ["credit", "score", "--model", str(out), "--data", str(tmp_path / "apps.csv"),
                            "--out", str(tmp_path / "s.csv")])
    assert r.exit_code == 0, r.output
    s = pd.read_csv(tmp_path / "s.csv")
    assert s["application_id"].tolist() == f["application_id"].head(200).tolist()
    assert not s.filter(like="reason_code").isin(["application_id", "firm_id"]).any().any()
