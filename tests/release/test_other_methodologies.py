"""Releases of methodologies that are not the SMEI, end to end through the CLI from real published data:
the European Commission's consumer survey (balances, countries as groups, no standard errors) and the ISM
manufacturing PMI composed from its published components. Every expected figure is computed here from the
source file, independently of the release code, and checked against the producer's own headline column."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from smepulse.cli import app
from smepulse.release.facts import published

GEOS = {"EA": "all", "DE": "geo=DE", "FR": "geo=FR", "IT": "geo=IT", "ES": "geo=ES"}
CONFIG = """\
publisher: {en: Example Research, zh: 示例研究}
groups:
  all: {en_phrase: in the euro area, en_noun: euro-area consumers, zh: 欧元区消费者}
  geo=DE: {en_phrase: in Germany, en_noun: consumers in Germany, zh: 德国消费者}
  geo=FR: {en_phrase: in France, en_noun: consumers in France, zh: 法国消费者}
  geo=IT: {en_phrase: in Italy, en_noun: consumers in Italy, zh: 意大利消费者}
  geo=ES: {en_phrase: in Spain, en_noun: consumers in Spain, zh: 西班牙消费者}
"""
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December"]


def _release(tmp, series, methodology, period, extra=()):
    runner = CliRunner()
    out = {}
    for lang in ("en", "zh"):
        path = tmp / f"r_{lang}.md"
        r = runner.invoke(app, ["release", "--period", period, "--series", str(series), "--methodology", methodology,
                                "--lang", lang, "--out", str(path), *extra])
        assert r.exit_code == 0, r.output
        out[lang] = path.read_text(encoding="utf-8")
    return out


def _section(md: str, title: str) -> str:
    return md.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


@pytest.fixture(scope="module")
def ec(shared_data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ec")
    raw = pd.read_excel(shared_data / "ec_consumer" / "consumer_total_sa_nace2.xlsx", "CONSUMER MONTHLY")
    raw = raw.assign(period=pd.to_datetime(raw.iloc[:, 0]).dt.strftime("%Y-%m")).set_index("period")
    tidy = pd.concat([pd.DataFrame({"period": raw.index, "series": f"q{k}", "group": g, "adjustment": "sa",
                                    "value": raw[f"CONS.{geo}.TOT.{k}.BS.M"].to_numpy()})
                      for geo, g in GEOS.items() for k in range(1, 13)]).dropna(subset=["value"])
    series = tmp / "ec_consumer.csv"
    tidy.to_csv(series, index=False)  # the EC's balances only: the release composes the indicator itself
    cfg = tmp / "release.yaml"
    cfg.write_text(CONFIG, encoding="utf-8")
    md = _release(tmp, series, "ec-consumer", "2020-04", ["--config", str(cfg)])
    return {"raw": raw, "md": md, "dir": tmp}


def test_ec_consumer_headline_as_the_commission_published_it(ec):
    raw = ec["raw"]
    ea = raw[[f"CONS.EA.TOT.{k}.BS.M" for k in (1, 2, 4, 9)]].mean(axis=1)  # the 2019 definition, by hand
    cof = raw["CONS.EA.TOT.COF.BS.M"]
    assert published(ea["2020-04"]) == cof["2020-04"] == -22.7 and published(ea["2020-03"]) == cof["2020-03"]
    change = published(published(ea["2020-04"]) - published(ea["2020-03"]))
    assert change == -11.1
    lower = cof[(cof.index < "2020-04") & (cof < -22.7)].index.max()  # the last month lower than April 2020
    assert lower == "2009-03"
    since_en = f"{MONTHS_EN[int(lower[5:]) - 1]} {lower[:4]}"
    en, zh = ec["md"]["en"], ec["md"]["zh"]
    assert ("The consumer confidence indicator in the euro area slumped 11.1 points to -22.7 in April, the lowest "
            f"reading since {since_en}.") in en
    assert f"4月，欧元区消费者信心指数较上月大幅下降11.1个点至-22.7，为{lower[:4]}年{int(lower[5:])}月以来最低。" in zh
    assert "| **-22.7** · negative balance (below 0) | -11.1 |" in en


def test_ec_consumer_reads_as_a_balance_survey_in_both_languages(ec):
    en, zh = ec["md"]["en"], ec["md"]["zh"]
    # nothing of the SMEI: no firms, no currency sentence, no 50 line, no sampling error without standard errors
    for word in ("SME", "USD", "CNY", "above 50", "below 50", "sampling error", "sub-index", "nsa"):
        assert word not in en, word
    for word in ("企业", "人民币", "荣枯线", "抽样误差", "分类指数"):
        assert word not in zh, word
    assert "7 below" in en and "12项差额中" in zh
    # unemployment expectations rising is not a 'gain': a preset's components rise and fall
    assert "the biggest rises were in unemployment expectations (up 40.2 points to 63.0)" in en
    # Italy ran no survey in April 2020: no Italian sentence, no Italian row in the group table
    assert "Italy" not in _section(en, "Commentary") and "Italy" not in _section(en, "Groups at a glance")
    assert "Consumers in Germany | -16.3 (-8.7) |" in en and "德国消费者 | -16.3 (-8.7) |" in zh
    notes = _section(en, "Methodology notes")
    assert "balance" in notes and "diffusion" not in notes
    assert ("the mean of past financial situation, expected financial situation, expected general economic "
            "situation and expected major purchases (ec-consumer" in notes)  # equal weights: a mean
    assert "Chinese New Year" not in notes and "bootstrap" not in notes
    assert "0为正负回答相抵" in zh and "各项差额" in zh


def test_ec_consumer_charts_and_exports(ec):
    doc = json.loads((ec["dir"] / "r_en.json").read_text(encoding="utf-8"))
    history = json.dumps(doc["charts"]["en"]["history"])
    assert '"Balance"' in history and "confidence bands" not in history and "sub-indexes" not in history
    assert doc["provisional"] is False
    rows = pd.read_csv(ec["dir"] / "r_en_series.csv")
    head = rows[(rows.series == "consumer_confidence") & (rows.group == "all") & (rows.period == "2020-04")]
    assert head["value"].tolist() == [-22.7]  # composed, rounded as published


@pytest.fixture(scope="module")
def ism(shared_data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ism")
    raw = pd.read_csv(shared_data / "ism" / "ism_components_2020_2025.csv")
    raw = raw.assign(period=pd.to_datetime(raw["date"]).dt.strftime("%Y-%m")).set_index("period")
    names = {"new_orders": "neword", "production": "production", "employment": "employment",
             "supplier_deliveries": "supdel", "inventories": "inventories"}
    tidy = pd.concat([pd.DataFrame({"period": raw.index, "series": s, "group": "all", "adjustment": "sa",
                                    "value": raw[f"{c}_in"].to_numpy()}) for s, c in names.items()])
    series = tmp / "ism.csv"
    tidy.dropna(subset=["value"]).to_csv(series, index=False)
    return {"raw": raw, "md": _release(tmp, series, "ism-pmi", "2025-07", ["--no-exports"])}


def test_ism_pmi_july_2025_as_ism_published_it(ism):
    pmi = ism["raw"]["manu_pmi"]  # ISM's own headline: 48.0 in July 2025, 49.0 in June
    assert pmi["2025-07"] == 48.0 and pmi["2025-06"] == 49.0
    lower = pmi[(pmi.index < "2025-07") & (pmi < 48.0)].index.max()
    assert lower == "2024-10"  # so July is a nine-month low
    en, zh = ism["md"]["en"], ism["md"]["zh"]
    assert "The manufacturing PMI retreated 1 point to 48.0 in July, a nine-month low." in en
    assert "7月，制造业PMI较上月回落1.0个点至48.0，创九个月新低。" in zh
    assert "1 of the 5 components was above 50 and 4 below." in en
    assert "5项指数中，1项位于扩张区间，4项位于收缩区间。" in zh
    assert not re.search(r"[a-z]+_[a-z]+|new orders|production", _section(zh, "解读")), _section(zh, "解读")
    assert "新订单" in zh and "SME" not in en and "中小企业" not in zh
