"""Release exports: CSV, Excel (one sheet per group), JSON and SDMX-CSV."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from smepulse.methodology import load_methodology
from smepulse.release.exports import sheet_name, to_sdmx, write_exports
from smepulse.release.facts import build_facts, published
from smepulse.release.report import ReleaseData, source_name
from smepulse.release.sample import synthetic_series

M = load_methodology("smei")
PERIOD = "2026-09"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("exports")
    df = synthetic_series(M, end="2026-10", months=24, seed=3,
                          groups=["all", "sector=manufacturing", "sector=non_manufacturing", "exporter=yes",
                                  "exporter=no", "sector=accommodation_catering"],
                          suppress=("sector=accommodation_catering",))
    df["kind"] = np.where(df["period"] == "2026-09", "flash", "final")
    data = ReleaseData(df, source="synthetic")
    facts = build_facts(df, PERIOD, M)
    return {"files": write_exports(data, PERIOD, M, out, facts=facts), "df": df, "facts": facts}


def test_csv_has_the_release_rows_only_up_to_the_period(exported):
    csv = pd.read_csv(exported["files"]["csv"], dtype={"period": str})
    months = csv[csv["period"].str.len() == 7]["period"]
    assert months.max() == PERIOD and "2026-10" not in set(csv["period"])
    assert "2026Q3" in set(csv["period"]) and "2026Q4" not in set(csv["period"])
    df = exported["df"]
    want = df[(df["period"] == PERIOD) & (df["series"] == "headline") & (df["group"] == "all")
              & (df["adjustment"] == "sa")]["value"].iloc[0]
    got = csv[(csv["period"] == PERIOD) & (csv["series"] == "headline") & (csv["group"] == "all")
              & (csv["adjustment"] == "sa")]["value"].iloc[0]
    assert got == published(want)  # rounded as published (one decimal; --full-precision keeps six)


def test_excel_one_sheet_per_group(exported):
    sheets = pd.read_excel(exported["files"]["xlsx"], sheet_name=None, dtype={"period": str})
    assert set(sheets) == {"release", "all", "sector=manufacturing", "sector=non_manufacturing", "exporter=yes",
                           "exporter=no", "sector=accommodation_catering"}
    manu = sheets["sector=manufacturing"].set_index("period")
    df = exported["df"]
    sel = df[(df["series"] == "performance") & (df["group"] == "sector=manufacturing") & (df["adjustment"] == "sa")]
    assert manu.loc["2026-03", "performance"] == published(sel.set_index("period").loc["2026-03", "value"])
    assert manu.index[-1].startswith("2026Q")  # quarters after the months
    assert {"fx_expectation stable %", "headline n", "headline se"} <= set(sheets["all"].columns)
    assert (sheets["release"]["period"] == PERIOD).all()
    assert sheet_name("x" * 40, set()) == "x" * 31 and sheet_name("a/b", set()) == "a_b"


def test_json_has_facts_narratives_and_month(exported):
    doc = json.loads(exported["files"]["json"].read_text(encoding="utf-8"))
    assert doc["period"] == PERIOD and doc["survey"] == "smei"
    assert len(doc["facts"]) == len(exported["facts"])
    kinds = {f["kind"] for f in doc["facts"]}
    assert {"level", "change", "contrast", "shares"} <= kinds
    assert {r["period"] for r in doc["series"]} == {PERIOD}
    assert all(v is None or v == v for r in doc["series"] for v in r.values())  # no NaN in JSON


def test_sdmx_csv(exported):
    sd = pd.read_csv(exported["files"]["sdmx"], dtype=str, keep_default_na=False)
    assert list(sd.columns[:9]) == ["DATAFLOW", "FREQ", "INDICATOR", "BREAKDOWN", "BREAKDOWN_VALUE", "RESPONSE",
                                    "ADJUSTMENT", "TIME_PERIOD", "OBS_VALUE"]
    assert set(sd["DATAFLOW"]) == {"SMEPULSE:SMEI(1.0)"}
    head = sd[(sd["INDICATOR"] == "HEADLINE") & (sd["BREAKDOWN"] == "_T") & (sd["ADJUSTMENT"] == "S")]
    assert set(head["FREQ"]) == {"M", "Q"}
    assert "2026-Q3" in set(head["TIME_PERIOD"]) and head[head["TIME_PERIOD"] == PERIOD]["OBS_STATUS"].item() == "P"
    assert head[head["TIME_PERIOD"] == "2026-08"]["OBS_STATUS"].item() == "A"
    sup = sd[(sd["BREAKDOWN_VALUE"] == "ACCOMMODATION_CATERING") & (sd["INDICATOR"] == "HEADLINE")]
    assert (sup["OBS_STATUS"] == "O").all() and (sup["OBS_VALUE"] == "").all()
    fx = sd[(sd["INDICATOR"] == "FX_EXPECTATION") & (sd["BREAKDOWN"] == "_T") & (sd["TIME_PERIOD"] == PERIOD)]
    assert set(fx["RESPONSE"]) == {"APPRECIATE", "STABLE", "DEPRECIATE"} and set(fx["UNIT_MEASURE"]) == {"PC"}
    assert fx["OBS_VALUE"].astype(float).sum() == pytest.approx(100, abs=0.15)  # shares rounded one by one
    df = exported["df"]
    want = df[(df["series"] == "fx_expectation") & (df["group"] == "all") & (df["period"] == PERIOD)]["same"].item()
    assert float(fx[fx["RESPONSE"] == "STABLE"]["OBS_VALUE"].item()) == published(want)
    # rounded as published, share rows (no SE) included: standard errors to two decimals, the rest to one
    for col, places in (("STD_ERROR", 2), ("CI_LOWER", 1), ("CI_UPPER", 1), ("OBS_VALUE", 1)):
        decimals = sd[col].str.partition(".")[2].str.len()
        assert sd[col].ne("").any() and decimals.max() <= places, (col, sd.loc[decimals.idxmax(), col])
    # every index observation appears exactly once
    keys = ["INDICATOR", "BREAKDOWN", "BREAKDOWN_VALUE", "RESPONSE", "ADJUSTMENT", "TIME_PERIOD"]
    assert not sd.duplicated(keys).any()


def test_sdmx_dataflow_from_methodology():
    df = pd.DataFrame([{"period": "2026-01", "series": "headline", "group": "region=east", "adjustment": "nsa",
                        "value": 51.0}])
    sd = to_sdmx(df, M)
    assert sd.loc[0, "BREAKDOWN"] == "REGION" and sd.loc[0, "BREAKDOWN_VALUE"] == "EAST"
    assert sd.loc[0, "OBS_STATUS"] == "A" and sd.loc[0, "UNIT_MEASURE"] == "IX"


def test_source_names_a_file_not_a_path_and_a_server_without_credentials():
    assert source_name("/home/econ/private/2026/smepulse.duckdb") == "smepulse.duckdb"
    assert source_name("postgresql://analyst:s3cret@db.example.org:5433/smei") == "db.example.org:5433/smei"
    assert "s3cret" not in source_name("postgresql://analyst:s3cret@db/smei")
