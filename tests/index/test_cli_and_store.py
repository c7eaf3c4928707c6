"""The front door end to end: sim -> compute (with a store) -> vintages; demo on a small panel."""
import gc

import pandas as pd
import pytest
from helpers import SMEI
from typer.testing import CliRunner

from smepulse.cli import app
from smepulse.index import compute
from smepulse.index.weighting import frame_from_methodology
from smepulse.sim.survey import simulate_survey
from smepulse.store import open_store
from smepulse.survey.responses import from_frame

runner = CliRunner()


@pytest.fixture(scope="module")
def sample():
    return simulate_survey(n_firms=400, n_months=12, start="2024-01", seed=3)


def test_sim_then_compute_with_frame_and_store(tmp_path, sample):
    src = tmp_path / "responses.csv"
    r = runner.invoke(app, ["sim", "--firms", "300", "--months", "6", "--start", "2024-01", "--out", str(src)])
    assert r.exit_code == 0, r.output
    out, store = tmp_path / "indices.csv", tmp_path / "s.duckdb"
    r = runner.invoke(app, ["compute", "--responses", str(src), "--frame", "methodology", "--out", str(out),
                            "--store", str(store)])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out, dtype={"period": str})
    assert set(df.columns) >= {"period", "series", "group", "value", "n", "up", "same", "down", "flag"}
    assert {"headline", "performance", "expectation", "credit", "sales", "fx_expectation"} <= set(df["series"])
    assert {"all", "sector=manufacturing", "sector=non_manufacturing", "exporter=yes", "size=small",
            "region=east"} <= set(df["group"])
    assert {"2024Q1", "2024Q2"} <= set(df["period"])
    # the store holds the same numbers under one vintage id
    with open_store(store) as st:
        v = st.vintages("smei")
        assert len(v) == 1
        stored = st.series("smei")
    assert len(stored) == len(df)
    assert stored["vintage_id"].nunique() == 1


def test_stored_responses_give_the_same_indices_as_the_file(tmp_path, sample):
    resp = from_frame(sample.responses, SMEI)
    direct = compute(resp, frame_from_methodology(SMEI)).series
    with open_store(tmp_path / "s.duckdb") as st:
        st.import_responses(resp)
        stored = compute(st.responses(SMEI), frame_from_methodology(SMEI)).series
    key = ["period", "series", "group", "adjustment"]
    a, b = direct.set_index(key).sort_index(), stored.set_index(key).sort_index()
    pd.testing.assert_series_equal(a["value"], b["value"], rtol=1e-12)
    assert (a["n"] == b["n"]).all()


def test_new_vintages_never_overwrite_old_ones(tmp_path, sample):
    resp = from_frame(sample.responses, SMEI)
    first = compute(resp)
    with open_store(tmp_path / "s.duckdb") as st:
        v1 = st.save_series(first, as_of=pd.Timestamp("2025-01-05").to_pydatetime())
        changed = first.series.assign(value=first.series["value"] + 1)
        v2 = st.save_series(type(first)(changed, SMEI, "other"), as_of=pd.Timestamp("2025-02-05").to_pydatetime())
        old = st.series("smei", as_of="2025-01-31")
        new = st.series("smei")
    assert v1 != v2
    assert old["vintage_id"].iloc[0] == v1 and new["vintage_id"].iloc[0] == v2
    merged = old.merge(new, on=["period", "series", "group", "adjustment"])
    diff = (merged["value_y"] - merged["value_x"]).dropna()
    assert len(diff) > 100 and diff.to_numpy() == pytest.approx(1.0)


def test_demo_writes_store_and_indices(tmp_path):
    r = runner.invoke(app, ["demo", "--out", str(tmp_path / "demo"), "--firms", "200", "--months", "12",
                            "--no-seasonal"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "demo" / "smepulse.duckdb").exists()
    df = pd.read_csv(tmp_path / "demo" / "indices.csv")
    assert "headline" in set(df["series"]) and "headline" in r.output
    assert "indices.csv" in r.output


def test_indices_track_the_simulated_truth(sample):
    big = simulate_survey(n_firms=2000, n_months=24, start="2023-01", seed=5)
    s = compute(from_frame(big.responses, SMEI)).series
    got = s[(s["series"] == "headline") & (s["group"] == "all") & (s["period"].str.len() == 7)]
    truth = big.truth[(big.truth["series"] == "headline") & (big.truth["group"] == "all")
                      & (big.truth["measure"] == "diffusion")]
    both = got.merge(truth, on="period")
    assert len(both) == 24
    assert both["value"].corr(both["true_value"]) > 0.9
    assert (both["value"] - both["true_value"]).abs().mean() < 1.5


def test_two_responses_handles_from_one_store_never_share_a_table(tmp_path, sample):
    """A flash handle (responses received by a cutoff) and a full one, open together on one store: each reads
    its own temporary table, so computing the second never changes the first; released handles' tables go."""
    df = sample.responses.assign(response_date=sample.responses["period"] + "-15")
    df.loc[df.index % 3 == 0, "response_date"] = df["period"] + "-28"  # a third arrive after the 20th
    with open_store(tmp_path / "s.duckdb") as st:
        st.save_methodology(SMEI)
        st.import_responses(from_frame(df, SMEI))
        flash = st.responses(SMEI, cutoff="2024-01-20")
        n_flash = len(flash.to_pandas())
        full = st.responses(SMEI)
        assert flash.table != full.table and flash.con is full.con
        assert len(flash.to_pandas()) == n_flash < len(full.to_pandas()) == len(df)
        def sales_n(resp) -> int:
            s = compute(resp).series
            cell = (s["period"] == "2024-01") & (s["series"] == "sales") & (s["group"] == "all")
            return int(s.loc[cell, "n"].iloc[0])
        assert sales_n(flash) < sales_n(full)
        old = flash.table
        del flash
        gc.collect()  # released = collected
        st.responses(SMEI)  # the next handle drops the tables of released ones
        tables = {r[0] for r in st.con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
        assert old not in tables and full.table in tables
