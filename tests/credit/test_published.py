"""Checks against published figures and documented facts of the real public credit datasets."""
from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from smepulse.cli import app
from smepulse.credit.data import (
    SBA_ORIGINATION_FEATURES,
    TAIWAN_TARGET,
    binary_target,
    german_specs,
    load_german,
    load_sba_case,
    load_sba_national,
    load_taiwan,
    sba_specs,
    split_rows,
)
from smepulse.credit.governance import leakage_check
from smepulse.credit.models import LogisticPD
from smepulse.credit.schema import FeatureSchema
from smepulse.credit.train import train
from smepulse.errors import CreditError


def test_sba_case_reproduces_published_logit(shared_data):
    # Li, Mickel & Taylor (2018), Table: logit on the paper's own training rows (Selected == 1).
    df = load_sba_case(shared_data)
    tr, te = df[df["Selected"] == 1], df[df["Selected"] == 0]
    feats = ["RealEstate", "Portion", "Recession"]
    m = LogisticPD(C=None).fit(tr[feats], tr["Default"])
    published = {"intercept": 1.3931, "RealEstate": -2.1282, "Portion": -2.9875, "Recession": 0.5041}
    for name, value in published.items():
        assert m.coefficients_[name] == pytest.approx(value, abs=0.01), name
    miss = 1 - (m.predict(te[feats]) == te["Default"].to_numpy()).mean()
    assert miss == pytest.approx(0.3216, abs=0.005)


def plain_lightgbm_auc(m, df, target) -> float:
    """A default `LGBMClassifier()` on the champion's own split and prepared columns: the peer."""
    y = binary_target(df, target).astype(int)
    split = split_rows(y)
    X = m.schema.transform(df.drop(columns=[target])).X[m.features]
    peer = lgb.LGBMClassifier(verbose=-1, n_jobs=1).fit(X.iloc[split.train], y.iloc[split.train])
    return roc_auc_score(y.iloc[split.test], peer.predict_proba(X.iloc[split.test])[:, 1])


def test_taiwan_lightgbm_out_of_the_box_auc(shared_data):
    df = load_taiwan(shared_data)
    assert "ID" not in df.columns and len(df) == 30_000
    m = train(df, TAIWAN_TARGET, model="lightgbm", n_estimators=200)
    assert m.metrics["split"]["kind"] == "random-stratified"
    assert m.metrics["n_test"] == 9000
    assert m.metrics["gini"] == pytest.approx(2 * m.metrics["auc"] - 1)
    # measured: champion 0.7861, LGBMClassifier() 0.7821 on the same 21,000 training rows (SEX, MARRIAGE:
    # fairness checks only)
    assert m.metrics["auc"] >= plain_lightgbm_auc(m, df, TAIWAN_TARGET)
    assert m.metrics["champion"]["refit_rows"] == 21_000


def test_german_champion_beats_plain_lightgbm_on_small_data(shared_data):
    """1,000 rows, 210 bads in training: the case where holding 20% out for good cost the most.
    Measured: champion 0.7884 (CV picks 58 trees, refit with 72 on all 700 rows) vs 0.7688."""
    df = load_german(shared_data)
    m = train(df, "bad", specs=german_specs())
    assert m.metrics["champion"]["refit_rows"] == m.metrics["n_train"] == 700
    assert m.metrics["auc"] >= plain_lightgbm_auc(m, df, "bad") + 0.01


def test_german_champion_against_the_cited_gradient_boosting_figure(shared_data):
    """The only published gradient-boosting AUC on these data whose number and protocol we could read
    (docs/credit.md, "Published gradient-boosting figures"): German credit, an 80/20 stratified split,
    scikit-learn GradientBoosting (200 trees, learning rate 0.05) AUC 0.697 (RF 0.703 best there);
    nelinux.github.io/Credit-risk-model-comparison. Same protocol here (80/20 stratified, our seed):
    the champion must be within 0.01 of it or above. Measured: see docs/credit.md."""
    df = load_german(shared_data)
    m = train(df, "bad", specs=german_specs(), test_size=0.2)
    assert m.metrics["split"]["kind"] == "random-stratified" and m.metrics["n_test"] == 200
    assert m.metrics["auc"] >= 0.697 - 0.01


@pytest.fixture(scope="module")
def taiwan_80_20(shared_data):
    """The champion on Taiwan with a stratified 80/20 split (our seed), and the default LGBMClassifier()
    fitted on the same 24,000 training rows and prepared columns."""
    df = load_taiwan(shared_data)
    m = train(df, TAIWAN_TARGET, model="lightgbm", n_estimators=200, test_size=0.2)
    y = binary_target(df, TAIWAN_TARGET).astype(int)
    split = split_rows(y, test_size=0.2)
    X = m.schema.transform(df.drop(columns=[TAIWAN_TARGET])).X[m.features]
    peer = lgb.LGBMClassifier(verbose=-1, n_jobs=1).fit(X.iloc[split.train], y.iloc[split.train])
    return m, roc_auc_score(y.iloc[split.test], peer.predict_proba(X.iloc[split.test])[:, 1])


def test_taiwan_champion_against_the_cited_gradient_boosting_figures(taiwan_80_20):
    """Published gradient-boosting AUCs on the Taiwan data whose number we could read (docs/credit.md,
    "Published gradient-boosting figures"), on the protocol closest to theirs that is known: a
    stratified 80/20 split. Shi (2025, ICIAAI, doi 10.2991/978-94-6463-823-3_20): gradient boosting
    0.783, "train-test separation" (ratio not in the abstract); Liu (2025, Dean & Francis Press,
    deanfrancispress.com article 3515): XGBoost 0.7611 on a held-out 20%; Zhou & Zhao (2024, JACS, doi
    10.69987/JACS.2024.40508): XGBoost on engineered bill/payment features 0.7874 on a 70/15/15 split.
    Measured: champion 0.7963, LGBMClassifier() 0.7886. Hou (2025)'s 0.812 is not asserted: its protocol
    is not published, and no honest split of ours reaches it (docs/credit.md)."""
    m, plain = taiwan_80_20
    assert m.metrics["split"]["kind"] == "random-stratified" and m.metrics["n_test"] == 6000
    assert m.metrics["auc"] >= 0.783 - 0.01
    assert m.metrics["auc"] >= 0.7611 - 0.01
    assert m.metrics["auc"] >= 0.7874 - 0.01
    assert m.metrics["auc"] >= plain


def test_sba_money_and_target_parsing(shared_data):
    df = load_sba_national(shared_data)
    assert len(df) == 22_308  # labelled rows only
    assert df["Default"].mean() == pytest.approx(0.210, abs=0.001)
    assert df["GrAppv"].dtype == float and df.loc[0, "GrAppv"] == 60_000.0
    assert df["ApprovalDate"].notna().all()


def test_sba_leakage_check_flags_term(shared_data):
    df = load_sba_national(shared_data)
    X = FeatureSchema().fit(df[SBA_ORIGINATION_FEATURES + ["Term"]]).transform(
        df[SBA_ORIGINATION_FEATURES + ["Term"]]).X
    flagged = {f["feature"]: f["auc"] for f in leakage_check(X, df["Default"])}
    # README: "alone it gives AUC about 0.85" (rank AUC); binned bad rates see a little more
    assert "Term" in flagged and 0.84 <= flagged["Term"] <= 0.92
    assert roc_auc_score(df["Default"], -df["Term"]) == pytest.approx(0.85, abs=0.01)
    assert set(flagged) == {"Term"}                                # origination fields are clean


def test_sba_metadata_from_yaml_marks_post_origination_fields():
    """credit/sba_meta.yaml: every field recorded after the loan is made is unavailable at decision,
    every origination feature is described, and the guarantee share reads as a percentage."""
    specs = sba_specs()
    after = {c for c, s in specs.items() if not s.available_at_decision}
    assert after == {"Term", "ChgOffDate", "ChgOffPrinGr", "BalanceGross", "MIS_Status", "daysterm", "xx",
                     "Default", "Selected", "DisbursementDate"}
    assert set(SBA_ORIGINATION_FEATURES) <= {c for c in specs if c not in after}
    assert all(specs[c].description and specs[c].description != c for c in SBA_ORIGINATION_FEATURES)
    assert (specs["RealEstate"].monotone, specs["Recession"].monotone, specs["Portion"].monotone) == (-1, 1, 0)
    assert specs["Portion"].reason_en.format(value=0.5) == "only 50% of the loan is guaranteed by the SBA"
    assert specs["Portion"].reason_zh.format(value=0.5) == "SBA 担保比例仅为 50%"


def test_sba_out_of_time_without_leaky_fields(shared_data):
    """Out-of-time (train on approvals before Nov 2004, test on later ones) without post-origination
    fields. Measured 0.63: the issue's 0.78 target is NOT reached out of time on this file (the
    2005-06 vintages default at 28% vs 18% before); a random split of the same data reaches 0.79."""
    df = load_sba_national(shared_data)
    cols = SBA_ORIGINATION_FEATURES + ["Default", "ApprovalDate"]
    oot = train(df[cols], "Default", time_column="ApprovalDate", specs=sba_specs(), n_estimators=300)
    assert oot.metrics["split"]["kind"] == "out-of-time"
    assert oot.metrics["split"]["train_until"] <= oot.metrics["split"]["test_from"]
    assert oot.metrics["leakage"] == []
    assert oot.metrics["auc"] >= 0.60
    rnd = train(df[cols[:-1]], "Default", specs=sba_specs(), n_estimators=300)
    assert rnd.metrics["auc"] >= 0.78
    # measured: champion 0.7968, LGBMClassifier() 0.7915 on the same random split
    assert rnd.metrics["auc"] >= plain_lightgbm_auc(rnd, df[cols[:-1]], "Default")


def test_sba_term_included_is_flagged_in_training(shared_data):
    df = load_sba_national(shared_data)
    cols = ["Portion", "GrAppv", "NoEmp", "UrbanRural", "Sector", "Term", "Default", "ApprovalDate"]
    # a gate, not a warning: no model is written with Term unless the user allows it by name
    with pytest.raises(CreditError, match=r"probable leakage, model not written: 'Term' \(AUC 0\.8"):
        train(df[cols], "Default", time_column="ApprovalDate", model="logistic")
    m = train(df[cols], "Default", time_column="ApprovalDate", model="logistic", allow_leaky=("Term",))
    assert [(f["feature"], f["verdict"]) for f in m.metrics["leakage"]] == [("Term", "allowed by --allow-leaky")]
    assert any("'Term'" in w and "--allow-leaky" in w for w in m.metrics["warnings"])
    # the metadata contract marks Term unavailable at decision time: it is dropped, with a note
    m2 = train(df[cols], "Default", time_column="ApprovalDate", model="logistic", specs=sba_specs())
    assert "Term" not in m2.features
    assert any("'Term' is not available at decision time" in w for w in m2.metrics["warnings"])


def test_german_loader_and_smoke(shared_data):
    df = load_german(shared_data)
    assert df.shape == (1000, 21)
    assert df["bad"].mean() == pytest.approx(0.30)
    assert df.loc[0, "checking_status"] == "A11" and df.loc[0, "duration_months"] == 6
    m = train(df, "bad", model="scorecard")
    assert 0.70 <= m.metrics["auc"] <= 0.9
    assert "checking_status" in set(m.estimator.table()["Variable"])
    out, _ = m.score_frame(df.head(20))
    assert out["pd"].between(0, 1).all() and out["score_error"].isna().all()


def test_german_scorecard_through_the_cli_applies_the_shipped_metadata(shared_data, tmp_path):
    """`credit train --data german.data`: the Statlog file read as published, the shipped metadata
    recognised by its columns, so age_years is binned monotone (it came out U-shaped before)."""
    out = tmp_path / "card"
    r = CliRunner().invoke(app, ["credit", "train", "--data", str(shared_data / "credit" / "german_credit" /
                                                               "german.data"),
                                 "--target", "bad", "--model", "scorecard", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "shipped german metadata" in r.output
    card = pd.read_csv(out / "scorecard.csv")
    assert 8 <= card["Variable"].nunique() <= 15
    age = card[(card.Variable == "age_years") & (card.Bin != "Missing")]["Points"].to_numpy()
    assert len(age) >= 3 and (np.diff(age) >= -1e-9).all()   # older applicants: never fewer points
    met = json.loads((out / "metrics.json").read_text())
    assert 0.74 <= met["auc"] <= 0.85                          # measured 0.786 with 12 characteristics
    # the zh report reads the codebook: fairness groups and the card's category bins by their labels
    r = CliRunner().invoke(app, ["credit", "report", str(out), "--out", str(tmp_path / "r.zh.html"), "--lang", "zh"])
    assert r.exit_code == 0, r.output
    html = (tmp_path / "r.zh.html").read_text(encoding="utf-8")
    assert "<td>女，离异、分居或已婚 (A92)</td>" in html and "<td>婚姻状况与性别 (personal_status_sex)</td>" in html
    assert "<td>无支票账户</td>" in html and "<td>缺失</td>" in html and ">A14<" not in html
