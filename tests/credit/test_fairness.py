"""Fairness checks: hand-computed adverse-impact ratios, which columns are checked, and that a
protected column is never a feature (even when a model reaches it through a proxy)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smepulse.credit.data import TAIWAN_TARGET, german_specs, load_german, load_taiwan, shipped_specs
from smepulse.credit.fairness import (
    fairness_notes,
    fairness_report,
    fairness_table,
    groups_of,
    protected_columns,
    shown,
)
from smepulse.credit.model_card import model_card
from smepulse.credit.notes import render
from smepulse.credit.reasons import protected_patterns
from smepulse.credit.train import train


def test_adverse_impact_ratio_by_hand():
    # f: 30 applicants, 18 at PD 0.05 (approved at cut-off 0.10) and 12 at 0.30 -> approval 0.6
    # m: 40 applicants, 32 approved -> 0.8; AIR(f) = 0.6 / 0.8 = 0.75 < 0.8: flagged
    g = ["f"] * 30 + ["m"] * 40
    p = [0.05] * 18 + [0.30] * 12 + [0.05] * 32 + [0.30] * 8
    y = [0] * 17 + [1] + [0] * 8 + [1] * 4 + [0] * 31 + [1] + [0] * 5 + [1] * 3
    t = fairness_table(pd.Series(g, name="owner_gender"), y, p, cutoff=0.10)
    f, m = t["groups"]
    assert t["reference"] == "m" and (f["group"], m["group"]) == ("f", "m")
    assert f["approval_rate"] == pytest.approx(0.6) and m["approval_rate"] == pytest.approx(0.8)
    assert f["air"] == pytest.approx(0.75) and f["flag"] and m["air"] == 1.0 and not m["flag"]
    assert f["mean_pd"] == pytest.approx((18 * 0.05 + 12 * 0.30) / 30) and f["observed"] == pytest.approx(5 / 30)
    assert t["min_air"] == pytest.approx(0.75)
    # a group under 30 rows is reported but neither a reference nor given a ratio
    small = fairness_table(pd.Series(["a"] * 10 + ["b"] * 40), [0, 1] * 25, [0.05] * 50, cutoff=0.1)
    assert small["groups"][0]["air"] is None and small["reference"] == "b"


def test_which_columns_are_checked():
    df = pd.DataFrame({"owner_gender": ["m", "f"] * 50, "SEX": [1, 2] * 50, "MARRIAGE": [1, 2, 3, 1] * 25,
                       "owner_age": np.arange(20, 70, 0.5), "region": ["n", "s"] * 50, "bad": [0, 1] * 50})
    pats = protected_patterns()
    assert protected_columns(df, pats, exclude={"bad"}) == ["owner_gender", "SEX", "MARRIAGE"]  # ages only by name
    assert protected_columns(df, pats, named=["owner_age"]) == ["owner_age"]
    bands = groups_of(df["owner_age"])
    assert bands.iloc[0] == "<25" and bands.iloc[-1] == "65+" and set(bands) == {"<25", "25-34", "35-44",
                                                                                   "45-54", "55-64", "65+"}


def test_protected_column_is_checked_not_used_and_a_proxy_is_flagged():
    """Risk depends on `x`; women have higher x on average (a proxy). The model never sees `gender`,
    but approvals differ and the check says so."""
    rng = np.random.default_rng(2)
    n = 3000
    gender = rng.choice(["f", "m"], n)
    x = rng.normal(size=n) + np.where(gender == "f", 1.0, 0.0)
    df = pd.DataFrame({"x": x, "z": rng.normal(size=n), "gender": gender})
    df["bad"] = (rng.random(n) < 1 / (1 + np.exp(-(-2.0 + 1.0 * x)))).astype(int)
    m = train(df, "bad", model="logistic")
    assert "gender" not in m.features and set(m.features) == {"x", "z"}
    fair = m.metrics["fairness"]["attributes"]["gender"]
    f = next(r for r in fair["groups"] if r["group"] == "f")
    assert f["air"] < 0.8 and f["flag"]
    assert any(w.startswith("FAIRNESS: gender = f") for w in m.metrics["warnings"])
    assert any("gender" in w and "never as features" in w for w in m.metrics["warnings"])


def test_german_groups_read_as_the_codebook_says_in_both_languages(shared_data):
    """Every coded value of German credit has an en and a zh label, and the fairness table, its
    notes and the model card show them (with the code), not the raw A91 ... codes alone."""
    df = load_german(shared_data)
    specs = german_specs()
    for c in df.columns:
        if df[c].dtype == object:
            codes = set(df[c].unique())
            assert codes <= set(specs[c].labels_en) and codes <= set(specs[c].labels_zh), c
            assert specs[c].description_zh, c
    y, p = df["bad"].to_numpy(), np.where(df["personal_status_sex"] == "A92", 0.4, 0.1)
    rep = fairness_report(df[["personal_status_sex"]], y, p, cutoff=0.2, specs=specs)
    a92 = next(r for r in rep["attributes"]["personal_status_sex"]["groups"] if r["group"] == "A92")
    assert (a92["label_en"], a92["label_zh"]) == ("female, divorced/separated/married", "女，离异、分居或已婚")
    assert shown(a92, "en") == "female, divorced/separated/married (A92)"
    assert any("personal_status_sex = female, divorced/separated/married (A92) is approved" in n
               for n in fairness_notes(rep))
    ref = next(r for r in rep["attributes"]["personal_status_sex"]["groups"]
               if r["group"] == rep["attributes"]["personal_status_sex"]["reference"])
    assert ref["label_en"] != ref["group"]  # the most approved group is named by its label too, in both languages
    air_notes = [n for n in fairness_notes(rep) if n.code == "fairness_air"]
    assert air_notes and all(f"against {shown(ref, 'en')} at" in n for n in air_notes)
    assert all(f"通过率最高的是 {shown(ref, 'zh')}（" in render(n, "zh") for n in air_notes)
    zh = model_card({}, {"fairness": rep}, "zh")
    assert "| 婚姻状况与性别 (personal_status_sex) | 女，离异、分居或已婚 (A92) |" in zh
    assert "| personal status and sex (personal_status_sex) | male, single (A93) |" in model_card(
        {}, {"fairness": rep}, "en")
    # without metadata the code is all there is, in both languages
    bare = fairness_report(df[["personal_status_sex"]], y, p, cutoff=0.2)
    assert shown(bare["attributes"]["personal_status_sex"]["groups"][0], "zh") == "A91"


def test_taiwan_groups_read_as_the_codebook_says(shared_data):
    df = load_taiwan(shared_data)
    name, specs = shipped_specs(df.columns)
    assert name == "taiwan"
    for c in ("SEX", "EDUCATION", "MARRIAGE"):  # every code in the file has a label in both languages
        codes = {str(v) for v in df[c].unique()}
        assert codes <= set(specs[c].labels_en) and codes <= set(specs[c].labels_zh), c
    y = df[TAIWAN_TARGET].to_numpy()
    rep = fairness_report(df[["SEX", "MARRIAGE"]], y, np.full(len(y), 0.2), cutoff=0.3, specs=specs)
    sex = {r["group"]: shown(r, "zh") for r in rep["attributes"]["SEX"]["groups"]}
    assert sex == {"1": "男 (1)", "2": "女 (2)"}
    mar = {r["group"]: shown(r, "en") for r in rep["attributes"]["MARRIAGE"]["groups"]}
    assert mar["2"] == "single (2)" and mar["0"] == "undocumented code 0 (0)"


def test_the_cli_prints_each_group_of_each_attribute_once_and_age_bands_in_age_order():
    from smepulse.credit import cli
    rng = np.random.default_rng(3)
    n = 600
    age = pd.Series(rng.integers(20, 70, n), name="owner_age")
    gender = pd.Series(rng.choice(["f", "m"], n), name="owner_gender")
    y, p = rng.random(n) < 0.1, rng.random(n) * 0.2
    rep = fairness_report(pd.concat([gender, age], axis=1), y.astype(int), p, 0.15)
    with cli.console.capture() as cap:
        cli._print_fairness({"fairness": rep, "split": {"kind": "out-of-time"}})
    rows = [line for line in cap.get().splitlines() if "owner_age" in line]
    bands = [line.split("│")[2].strip() for line in rows]
    assert bands == ["<25", "25-34", "35-44", "45-54", "55-64", "65+"]  # each once, youngest first
    assert [g["group"] for g in rep["attributes"]["owner_age"]["groups"]] == bands
