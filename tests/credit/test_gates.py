"""Gates, not warnings: sample and events, one class, leakage, censoring, drift at scoring."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from smepulse.cli import app
from smepulse.credit.gates import drift, drift_reference, psi_from
from smepulse.credit.metadata import FeatureSpec
from smepulse.credit.train import train
from smepulse.errors import CreditError

runner = CliRunner()


def _book(n=1000, seed=2):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"applied": pd.date_range("2020-01-01", periods=n, freq="D"),
                       "amount": rng.lognormal(10, 0.5, n), "arrears": rng.poisson(0.5, n).astype(float),
                       "sector": rng.choice(["a", "b", "c"], n)})
    logit = -1.5 + 0.9 * df.arrears - 0.5 * (np.log(df.amount) - 10)
    df["bad"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    return df


def test_minimum_sample_events_and_one_class():
    df = _book()
    with pytest.raises(CreditError, match=r"only 50 labelled rows for target 'bad' \(minimum 100\)"):
        train(df.head(50), "bad", model="logistic")
    few = df.copy()
    few["bad"] = 0.0
    few.loc[few.index[:7], "bad"] = 1.0
    with pytest.raises(CreditError, match=r"only 7 bads \(1\) among 1000 labelled rows .*minimum 20"):
        train(few, "bad", model="logistic")
    few["bad"] = 0.0
    with pytest.raises(CreditError, match="one class only: all 1000 labelled rows are good"):
        train(few, "bad", model="logistic")
    with pytest.raises(CreditError, match="one class only"):
        train(few.head(12), "bad", model="logistic")  # the 12-row case of the issue: a clear error


def test_leaky_column_is_refused_unless_allowed_or_known_before_decision():
    df = _book()
    rng = np.random.default_rng(0)
    df["recovery"] = df["bad"] * rng.uniform(0.5, 1, len(df))  # recorded after a default
    with pytest.raises(CreditError, match=r"probable leakage, model not written: 'recovery' "
                                          r"\(AUC 1\.000, lower bound 1\.000\)"):
        train(df, "bad", model="logistic", time_column="applied")
    m = train(df, "bad", model="logistic", time_column="applied", allow_leaky=("recovery",))
    assert m.metrics["leakage"][0]["verdict"] == "allowed by --allow-leaky"
    # timing metadata tells a strong predictor from a post-outcome field
    spec = {"recovery": FeatureSpec("recovery", "bureau score", timing="before_decision")}
    m = train(df, "bad", model="logistic", time_column="applied", specs=spec)
    assert "recovery" in m.features and any("known before the decision" in w for w in m.metrics["warnings"])
    post = {"recovery": FeatureSpec("recovery", "recovered amount", timing="after_decision")}
    m = train(df, "bad", model="logistic", time_column="applied", specs=post)
    assert "recovery" not in m.features


def test_censored_rows_are_dropped_and_never_rejects():
    df = _book(1200)
    df.loc[df.index[-150:], "bad"] = np.nan        # the last 150: outcome window not closed yet
    rej = df.index[100:160]
    df.loc[rej, "bad"] = np.nan                    # 60 genuine rejects, dated among known outcomes
    with pytest.raises(Exception, match="60 missing values that are not censored"):
        train(df, "bad", model="logistic", time_column="applied")
    m = train(df.drop(index=rej), "bad", model="logistic", time_column="applied")
    assert m.metrics["n_censored"] == 150 and m.manifest["n_censored"] == 150
    assert any("150 rows with no outcome yet (censored" in w for w in m.metrics["warnings"])
    ri = train(df, "bad", model="logistic", time_column="applied", reject_inference="fuzzy")
    assert ri.metrics["n_censored"] == 150
    assert ri.metrics["reject_inference"]["n_rejects"] <= 60   # rejects only (those before the test period)
    # an explicit column wins
    df2 = _book(1200)
    df2["censored"] = False
    df2.loc[df2.index[:40], ["bad", "censored"]] = [np.nan, True]
    m = train(df2, "bad", model="logistic")
    assert m.metrics["n_censored"] == 40 and "censored" not in m.features


def test_psi_hand_example_and_drift_reference():
    # 50/50 -> 80/20: PSI = 0.3 ln 1.6 + 0.3 ln 2.5 = 0.4159
    assert psi_from(np.array([0.5, 0.5]), np.array([0.8, 0.2])) == pytest.approx(0.4159, abs=1e-4)
    X = pd.DataFrame({"x": np.arange(1000.0), "c": ["a", "b"] * 500})
    ref = drift_reference(X, np.linspace(0.01, 0.5, 1000), ["c"])
    same = drift(ref, X, np.linspace(0.01, 0.5, 1000))
    assert same["psi_pd"] < 1e-6 and max(same["psi_features"].values()) < 1e-6 and same["drifted"] == []
    moved = drift(ref, X.assign(x=X.x + 500, c="b"), np.linspace(0.01, 0.5, 1000))
    assert moved["drifted"] == ["x", "c"] or set(moved["drifted"]) == {"x", "c"}


def test_drift_at_scoring_warns_and_is_written(tmp_path):
    df = _book(1500)
    df.to_csv(tmp_path / "d.csv", index=False)
    r = runner.invoke(app, ["credit", "train", "--data", str(tmp_path / "d.csv"), "--target", "bad",
                            "--time-column", "applied", "--out", str(tmp_path / "m"), "--n-estimators", "60"])
    assert r.exit_code == 0, r.output
    new = df.drop(columns="bad").sample(600, random_state=1)
    new.to_csv(tmp_path / "same.csv", index=False)
    r = runner.invoke(app, ["credit", "score", "--model", str(tmp_path / "m"), "--data", str(tmp_path / "same.csv"),
                            "--out", str(tmp_path / "s.csv")])
    assert r.exit_code == 0 and "drift: PSI of PD" in r.output and "warning: drift" not in r.output, r.output
    d = json.loads((tmp_path / "s.csv.drift.json").read_text())
    assert d["n"] == 600 and d["psi_pd"] < 0.1 and set(d["psi_features"]) == {"amount", "arrears", "sector"}
    new.assign(amount=new.amount / 7).to_csv(tmp_path / "div7.csv", index=False)  # the amount / 7
    r = runner.invoke(app, ["credit", "score", "--model", str(tmp_path / "m"), "--data", str(tmp_path / "div7.csv"),
                            "--out", str(tmp_path / "s7.csv")])
    assert r.exit_code == 0 and "warning: drift" in r.output and "amount" in r.output, r.output
    assert json.loads((tmp_path / "s7.csv.drift.json").read_text())["drifted"][0] == "amount"


def test_record_keys_are_never_features(shared_data):
    """The Taiwan file as published carries `ID` (1..30000); a lender's extract a firm_id, a written
    pandas index. None is a feature (they gave 5% of Taiwan reasons as 'ID is “5”'); a coded
    `region_id` of few levels stays one."""
    df = pd.read_csv(shared_data / "credit" / "taiwan_default" / "UCI_Credit_Card.csv").head(4000)
    rng = np.random.default_rng(0)
    df["firm_id"] = rng.integers(10**6, 10**7, len(df))
    df["Unnamed: 0"] = np.arange(len(df))
    df["region_id"] = rng.integers(0, 8, len(df))
    m = train(df, "default.payment.next.month", n_estimators=40)
    assert not {"ID", "firm_id", "Unnamed: 0"} & set(m.features)
    assert {"ID", "firm_id", "Unnamed: 0"} <= set(m.schema.dropped_)
    assert "region_id" in m.features and "LIMIT_BAL" in m.features and "PAY_0" in m.features
    assert any("'ID' dropped: a record key" in w for w in m.metrics["warnings"])
    out, _ = m.score_frame(df.head(500))
    assert not pd.concat([out[f"reason_code_{i}"] for i in (1, 2, 3)]).isin(["ID", "firm_id"]).any()


def test_many_strong_known_predictors_make_one_warning_not_dozens():
    """A small book flags many point-in-time features in-sample (40 lines of warnings on a 3,000-firm
    simulated book); known-before-decision ones are summed up in one warning, each still in `leakage`."""
    df = _book()
    rng = np.random.default_rng(1)
    names = [f"score_{i}" for i in range(6)]
    for c in names:
        df[c] = df["bad"] + rng.normal(0, 0.4, len(df))
    specs = {c: FeatureSpec(c, "bureau score", timing="before_decision") for c in names}
    m = train(df, "bad", model="logistic", time_column="applied", specs=specs)
    known = [w for w in m.metrics["warnings"] if "known before the decision" in w]
    assert len(known) == 1 and known[0].startswith("6 columns alone give an AUC above 0.8 and are kept")
    assert all(f"{c} (0." in known[0] for c in names)
    assert {lk["feature"] for lk in m.metrics["leakage"]} == set(names)
    assert all(lk["verdict"].startswith("strong predictor") for lk in m.metrics["leakage"])
    specs = dict(list(specs.items())[:3])  # three or fewer: one line each, as before
    m = train(df.drop(columns=names[3:]), "bad", model="logistic", time_column="applied", specs=specs)
    assert sum("known before the decision" in w for w in m.metrics["warnings"]) == 3
