"""Model artefacts are data: exact round trips, hashes and versions checked, pickles never opened."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from smepulse.cli import app
from smepulse.credit.artefact import MANIFEST, seal
from smepulse.credit.metadata import FeatureSpec
from smepulse.credit.train import load_model, train
from smepulse.errors import CreditError

runner = CliRunner()


def _fails_cleanly(r) -> str:
    """A command that failed on purpose: a CreditError with a one-line message (main() prints it, exit 2)."""
    assert isinstance(r.exception, CreditError), r.output
    msg = str(r.exception)
    assert "\n" not in msg and "Traceback" not in r.output
    return msg


def _book(n=1200, seed=1):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"sales_drop": rng.uniform(0, 0.8, n), "age": rng.uniform(1, 20, n),
                       "turnover": rng.lognormal(10, 1, n),
                       "sector": rng.choice(["retail", "food", "tech"], n)})
    df.loc[rng.random(n) < 0.05, "turnover"] = np.nan
    logit = -1.5 + 3 * df.sales_drop - 0.08 * df.age + (df.sector == "food") * 0.5
    df["bad"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return df


SPECS = {"sales_drop": FeatureSpec("sales_drop", "fall in sales", monotone=1),
         "age": FeatureSpec("age", "years in business", monotone=-1, protected=False)}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    df = _book()
    d = tmp_path_factory.mktemp("art")
    out = {}
    for kind in ("lightgbm", "scorecard", "logistic"):
        m = train(df, "bad", model=kind, specs=SPECS, n_estimators=60)
        out[kind] = (m, m.save(d / kind))
    return df, out


@pytest.mark.parametrize("kind", ["lightgbm", "scorecard", "logistic"])
def test_round_trip_is_exact(models, kind):
    df, ms = models
    m, d = ms[kind]
    back = load_model(d)
    new = df.drop(columns="bad").sample(300, random_state=0)
    new.loc[new.index[:5], "sector"] = "unseen"
    a, _ = m.score_frame(new)
    b, _ = back.score_frame(new)
    np.testing.assert_allclose(b["pd"].to_numpy(), a["pd"].to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(b["score"].to_numpy(), a["score"].to_numpy())
    assert b.filter(like="reason").equals(a.filter(like="reason"))
    assert back.features == m.features and back.manifest["kind"] == kind


def test_manifest_pins_files_and_versions(models):
    _, ms = models
    d = ms["lightgbm"][1]
    man = json.loads((d / MANIFEST).read_text())
    assert set(man["files"]) == {"model.json", "metrics.json", "validation.json", "lightgbm.txt",
                                 "model_card.md", "model_card.zh.md"}
    assert all(v.startswith("sha256:") for v in man["files"].values())
    assert set(man["versions"]) >= {"lightgbm", "scikit-learn", "optbinning", "numpy", "smepulse"}
    assert not list(d.glob("*.pkl"))
    assert (d / "lightgbm.txt").read_text().startswith("tree")


def _copy(src, dst):
    dst.mkdir()
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):  # unpickling this writes a file
        return (open, (self.path, "w"))


def test_planted_pickle_never_runs(models, tmp_path):
    d = _copy(models[1]["lightgbm"][1], tmp_path / "m")
    marker = tmp_path / "pwned"
    (d / "model.pkl").write_bytes(pickle.dumps(_Evil(str(marker))))
    with pytest.raises(CreditError, match="model.pkl could execute code") as e:
        load_model(d)
    assert "\n" not in str(e.value) and not marker.exists()
    # an old-style directory (pickle + old manifest) is refused too, and nothing runs
    old = tmp_path / "old"
    old.mkdir()
    (old / "model.pkl").write_bytes(pickle.dumps(_Evil(str(marker))))
    (old / MANIFEST).write_text(json.dumps({"format": "smepulse.credit.model/1"}))
    with pytest.raises(CreditError, match="never loaded"):
        load_model(old)
    r = runner.invoke(app, ["credit", "report", str(old), "--out", str(tmp_path / "r.html")])
    _fails_cleanly(r)
    assert not marker.exists()


def test_modified_model_file_does_not_load(models, tmp_path):
    d = _copy(models[1]["lightgbm"][1], tmp_path / "m")
    txt = (d / "lightgbm.txt").read_text()
    (d / "lightgbm.txt").write_text(txt.replace("leaf_value=", "leaf_value=9", 1))
    with pytest.raises(CreditError, match="lightgbm.txt does not match its sha256"):
        load_model(d)
    d2 = _copy(models[1]["scorecard"][1], tmp_path / "s")
    st = json.loads((d2 / "model.json").read_text())
    st["estimator"]["intercept"] = -30.0
    (d2 / "model.json").write_text(json.dumps(st))
    with pytest.raises(CreditError, match="model.json does not match"):
        load_model(d2)


def test_incompatible_versions_and_broken_manifests(models, tmp_path):
    d = _copy(models[1]["logistic"][1], tmp_path / "m")
    man = json.loads((d / MANIFEST).read_text())
    man["versions"]["scikit-learn"] = "0.24.2"
    (d / MANIFEST).write_text(json.dumps(man))  # edited by hand: the seal no longer matches
    with pytest.raises(CreditError, match="manifest.json was modified after training"):
        load_model(d)
    (d / MANIFEST).write_text(json.dumps(seal(man)))  # as a model written under scikit-learn 0.24 would be
    with pytest.raises(CreditError, match=r"trained with scikit-learn 0\.24\.2.*major\.minor"):
        load_model(d)
    p = _copy(models[1]["logistic"][1], tmp_path / "pandas2")  # pandas reads the categories and dtypes
    man_p = json.loads((p / MANIFEST).read_text())
    man_p["versions"]["pandas"] = "2.2.0"
    (p / MANIFEST).write_text(json.dumps(seal(man_p)))
    with pytest.raises(CreditError, match=r"trained with pandas 2\.2\.0"):
        load_model(p)
    for key, value in (("pd_horizon_months", 24), ("kind", "lightgbm "), ("metrics", {})):
        t = _copy(models[1]["logistic"][1], tmp_path / f"tamper_{key}")
        m2 = json.loads((t / MANIFEST).read_text())
        m2[key] = value
        (t / MANIFEST).write_text(json.dumps(m2, indent=1))
        with pytest.raises(CreditError, match="was modified after training"):
            load_model(t)
    del m2["manifest_sha256"]
    (t / MANIFEST).write_text(json.dumps(m2, indent=1))
    with pytest.raises(CreditError, match="has no manifest_sha256"):
        load_model(t)
    text = (_copy(models[1]["logistic"][1], tmp_path / "t") / MANIFEST).read_text()
    for i, bad in enumerate([text[: len(text) // 2], "[1, 2]", "", json.dumps({"format": "smepulse.credit.model/2"})]):
        b = _copy(models[1]["logistic"][1], tmp_path / f"b{i}")
        (b / MANIFEST).write_text(bad)
        r = runner.invoke(app, ["credit", "score", "--model", str(b), "--data", str(b / "x.csv"),
                                "--out", str(tmp_path / "o.csv")])
        _fails_cleanly(r)
    # through the real entry point: one line on stderr, exit 2
    proc = subprocess.run([sys.executable, "-c", "from smepulse.cli import main; main()", "credit", "report",
                           str(tmp_path / "b0"), "--out", str(tmp_path / "r.html")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "manifest.json is not valid JSON" in proc.stderr
    os.remove(b / "model.json")
    (b / MANIFEST).write_text(text)
    with pytest.raises(CreditError, match="model.json listed in manifest.json is missing"):
        load_model(b)


def test_out_refuses_existing_model_unless_force(models, tmp_path):
    df = _book(600)
    df.to_csv(tmp_path / "d.csv", index=False)
    out = tmp_path / "m"
    args = ["credit", "train", "--data", str(tmp_path / "d.csv"), "--target", "bad", "--out", str(out),
            "--model", "logistic"]
    assert runner.invoke(app, args).exit_code == 0
    before = (out / MANIFEST).read_text()
    assert "--force" in _fails_cleanly(runner.invoke(app, args)) and (out / MANIFEST).read_text() == before
    r = runner.invoke(app, [*args, "--force"])
    assert r.exit_code == 0, r.output
    load_model(out)


def test_force_removes_every_file_of_the_older_model_and_nothing_else(models, tmp_path):
    """--force over a scorecard with a LightGBM model: the scorecard's tables go (they would sit unlisted
    next to the new model), a file of the user's that no manifest listed stays."""
    df = _book(600)
    df.to_csv(tmp_path / "d.csv", index=False)
    out = tmp_path / "m"
    base = ["credit", "train", "--data", str(tmp_path / "d.csv"), "--target", "bad", "--out", str(out)]
    assert runner.invoke(app, [*base, "--model", "scorecard"]).exit_code == 0
    old = set(json.loads((out / MANIFEST).read_text())["files"])
    (out / "NOTES.txt").write_text("the validator's own notes")
    r = runner.invoke(app, [*base, "--model", "logistic", "--force"])
    assert r.exit_code == 0, r.output
    new = set(json.loads((out / MANIFEST).read_text())["files"])
    left = {p.name for p in out.iterdir()}
    assert old - new, "the two kinds of model should not write the same files"
    assert not (old - new) & left
    assert left == new | {MANIFEST, "NOTES.txt"}
    load_model(out)
