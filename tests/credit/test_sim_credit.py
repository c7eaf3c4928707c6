"""The SME alternative-data generator: deterministic, and reproduces the statistics it promises."""
from __future__ import annotations

import datetime as dt
import json

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from smepulse.cli import app, run
from smepulse.errors import CreditError
from smepulse.seasonal.holidays import cny_dates
from smepulse.sim.credit import SectorShock, SimConfig, simulate, simulate_applications

TABLES = ("firms.parquet", "applications.parquet", "loans.parquet", "transactions", "tax", "utilities")


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    res = simulate(SimConfig(n_firms=1500, start="2023-01-01", months=24, default_rate=0.03, seed=11,
                             chunk_firms=500), out)
    return out, res


def _read(path):
    return pq.read_table(path).to_pandas()


def test_same_seed_same_files_any_worker_count(tmp_path):
    cfg = SimConfig(n_firms=300, months=12, seed=4, chunk_firms=100)
    simulate(cfg, tmp_path / "a")
    simulate(SimConfig(**{**cfg.__dict__, "workers": 2}), tmp_path / "b")
    simulate(SimConfig(**{**cfg.__dict__, "seed": 5}), tmp_path / "c")
    for t in TABLES:
        a, b, c = (_read(tmp_path / x / t) for x in "abc")
        pd.testing.assert_frame_equal(a, b)
        assert not (len(a) == len(c) and a.equals(c)), f"{t}: a different seed gave the same table"


def test_all_tables_written_with_documented_columns(sim):
    out, res = sim
    con = duckdb.connect()
    for t in TABLES:
        path = out / t if t.endswith(".parquet") else out / t / "*.parquet"
        n = con.execute(f"SELECT COUNT(*) FROM read_parquet('{path}')").fetchone()[0]
        assert n == res.rows[t.removesuffix(".parquet")] > 0
    tx = con.execute(f"SELECT kind, COUNT(*), MIN(amount) FROM read_parquet('{out}/transactions/*.parquet') "
                     "GROUP BY kind").fetchall()
    assert {k for k, _, _ in tx} == {"sale", "refund", "supplier_payment"}
    assert all(m > 0 for _, _, m in tx)
    # Applications in the window 2023-01..2024-12; the data run 12 months on, to the data end
    # 2026-01-01 (exclusive), and no further.
    meta = json.loads((out / "simulation.json").read_text())
    assert (meta["data_start"], meta["applications_end"], meta["data_end"]) == (
        "2021-09-01", "2025-01-01", "2026-01-01")
    a = con.execute(f"SELECT MIN(application_date), MAX(application_date) FROM '{out}/applications.parquet'").fetchone()
    assert a[0] >= dt.date(2023, 1, 1) and a[1] < dt.date(2025, 1, 1)
    for t, col in (("transactions", "date"), ("tax", "filing_date"), ("utilities", "paid_date")):
        mx = con.execute(f"SELECT MAX({col}) FROM read_parquet('{out}/{t}/*.parquet')").fetchone()[0]
        assert dt.date(2025, 12, 1) <= mx < dt.date(2026, 1, 1), t
    for col in ("start_date", "first_late_date", "default_date", "repaid_date"):
        mx = con.execute(f"SELECT MAX({col}) FROM '{out}/loans.parquet'").fetchone()[0]
        assert mx < dt.date(2026, 1, 1), col


def test_base_default_rate_close_to_setting(sim):
    apps = _read(sim[0] / "applications.parquet")
    labelled = apps["default_12m"].dropna()
    assert len(labelled) > 700
    se = np.sqrt(0.03 * 0.97 / len(labelled))
    assert abs(labelled.mean() - 0.03) < 4 * se + 0.003


def _quarter(apps: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(apps["application_date"]).dt.to_period("Q")


def test_every_application_of_the_window_is_labelled():
    """The default 12-month follow-up: every application of all 24 months has its 12-month outcome,
    and the last quarter's default rate is not cut off. Exactly: a two-year follow-up (which observes
    more) gives every application the same default_12m, so no label is a truncated outcome."""
    cfg = SimConfig(n_firms=20_000, months=24, default_rate=0.03, seed=2)
    _firms, apps = simulate_applications(cfg)
    assert apps["default_12m"].notna().all() and apps["default_12m"].isin([0, 1]).all()
    months = pd.to_datetime(apps["application_date"]).dt.to_period("M")
    assert set(months) == set(pd.period_range("2023-01", "2024-12", freq="M"))
    rate = apps.groupby(_quarter(apps))["default_12m"].mean()
    first, last = rate[pd.Period("2023Q1")], rate[pd.Period("2024Q4")]
    # ~5,000 applications a quarter: a cut-off (defaults of late applications unseen) would drive the
    # last quarter toward 0; quarters also move with the macro cycle and the sector shock (measured
    # 0.48-1.03 over seeds 0-3 at 2%), hence the wide band.
    assert 0.4 * first < last < 2.5 * first
    _f, longer = simulate_applications(SimConfig(**{**cfg.__dict__, "outcome_months": 24}))
    later = ["outcome", "default_date"]  # a default after the 12 months is seen only by the longer one
    pd.testing.assert_frame_equal(apps.drop(columns=later), longer.drop(columns=later))
    seen = apps["default_date"].notna()
    assert apps.loc[seen, "default_date"].equals(longer.loc[seen, "default_date"])


@pytest.mark.parametrize(("outcome_months", "last_labelled"), [(0, "2024-01-01"), (6, "2024-07-01")])
def test_a_short_follow_up_censors_the_late_applications(outcome_months, last_labelled):
    """With less than 12 months of follow-up the data end falls inside the last applications' 12
    months (window end 2025-01-01 + follow-up): those are censored (NaN, outcome 'open' unless already
    in default), never labelled 0; the others keep exactly the labels of the full follow-up."""
    cfg = SimConfig(n_firms=6000, months=24, default_rate=0.05, seed=3)
    _f, full = simulate_applications(cfg)
    _f, short = simulate_applications(SimConfig(**{**cfg.__dict__, "outcome_months": outcome_months}))
    assert short["application_id"].equals(full["application_id"])
    d = pd.to_datetime(short["application_date"])
    mature = d <= pd.Timestamp(last_labelled)  # application day + 12 months on or before the data end
    assert short.loc[~mature, "default_12m"].isna().all() and short.loc[mature, "default_12m"].notna().all()
    assert (~mature).sum() > 1000
    assert (short.loc[mature, "default_12m"] == full.loc[mature, "default_12m"]).all()
    late = short[~mature]
    assert (late["outcome"] == "open").mean() > 0.5  # longer terms still running at the data end
    # a default seen before the data end is a default, whether or not the 12 months are over
    assert ((late["outcome"] == "default") == late["default_date"].notna()).all()


@pytest.mark.parametrize("rate", [0.01, 0.03])
def test_default_rate_follows_the_setting(rate):
    _firms, apps = simulate_applications(SimConfig(n_firms=20_000, months=24, default_rate=rate, seed=2))
    labelled = apps["default_12m"].dropna()
    se = np.sqrt(rate * (1 - rate) / len(labelled))
    assert abs(labelled.mean() - rate) < 4 * se + 0.002


def test_cny_dip_in_daily_sales(sim):
    out = sim[0]
    daily = duckdb.sql(f"SELECT date, SUM(amount) AS s FROM read_parquet('{out}/transactions/*.parquet') "
                       "WHERE kind = 'sale' GROUP BY date").df().set_index("date")["s"]
    daily.index = pd.to_datetime(daily.index)
    cny = pd.Timestamp(cny_dates()[2024])  # 2024-02-10

    def mean(lo, hi):  # mean daily sales from cny+lo to cny+hi days
        return daily[(daily.index >= cny + pd.Timedelta(days=lo)) & (daily.index <= cny + pd.Timedelta(days=hi))].mean()

    normal = (mean(-35, -22) + mean(22, 35)) / 2
    assert mean(0, 5) < 0.5 * normal
    assert mean(60, 70) > 0.8 * normal  # a placebo window two months later shows no dip


def test_thin_file_share(sim):
    out = sim[0]
    firms, apps = _read(out / "firms.parquet"), _read(out / "applications.parquet")
    first = apps.groupby("firm_id")["application_date"].min()
    onboard = firms.set_index("firm_id")["onboard_date"]
    history = (pd.to_datetime(first) - pd.to_datetime(onboard.reindex(first.index))).dt.days
    share = (history < 181).sum() / len(firms)
    assert abs(share - 0.15) < 0.03
    # Their transaction data really is thin: none before onboarding.
    tx_first = duckdb.sql(f"SELECT firm_id, MIN(date) AS d FROM read_parquet('{out}/transactions/*.parquet') "
                          "GROUP BY firm_id").df().set_index("firm_id")["d"]
    thin = history[history < 181].index
    assert (pd.to_datetime(tx_first.reindex(thin).dropna()) >= pd.to_datetime(onboard[thin].reindex(
        tx_first.reindex(thin).dropna().index))).all()


def test_sector_shock_raises_that_sectors_defaults():
    def rates(shocks):
        firms, apps = simulate_applications(SimConfig(n_firms=8000, months=24, default_rate=0.04, seed=9,
                                                      shocks=shocks))
        m = apps.merge(firms[["firm_id", "sector"]], on="firm_id")
        d = m["outcome"].eq("default")
        return d[m["sector"] == "construction"].mean(), d[m["sector"] != "construction"].mean()

    base_c, base_o = rates(())
    shock_c, shock_o = rates((SectorShock("construction", "2023-04", months=12, size=-1.0),))
    assert shock_c > 1.6 * base_c
    assert shock_c / shock_o > 1.6 * base_c / base_o


def test_defaulters_sales_fall_before_default(sim):
    """Health drives both: defaulters' sales trend down in the 90 days before default."""
    out = sim[0]
    apps = _read(out / "applications.parquet")
    d = apps.dropna(subset=["default_date"])
    assert len(d) >= 20
    con = duckdb.connect()
    con.register("d", d[["firm_id", "default_date"]])
    r = con.execute(f"""
        SELECT SUM(CASE WHEN t.date >= d.default_date - INTERVAL 90 DAY THEN amount ELSE 0 END)
             / SUM(CASE WHEN t.date < d.default_date - INTERVAL 180 DAY THEN amount ELSE 0 END)
        FROM d JOIN read_parquet('{out}/transactions/*.parquet') t ON t.firm_id = d.firm_id AND t.kind = 'sale'
         AND t.date < d.default_date AND t.date >= d.default_date - INTERVAL 270 DAY""").fetchone()[0]
    assert r < 0.9


def test_bad_config_is_refused(tmp_path):
    with pytest.raises(CreditError, match="default_rate"):
        simulate(SimConfig(n_firms=10, default_rate=0.9), tmp_path)
    with pytest.raises(CreditError, match="start"):
        simulate(SimConfig(n_firms=10, start="2023-13-01"), tmp_path)
    with pytest.raises(CreditError, match="sector"):
        simulate(SimConfig(n_firms=10, shocks=(SectorShock("mining", "2023-03"),)), tmp_path)
    for bad in (-1, 61):
        with pytest.raises(CreditError, match=f"outcome_months must be 0-60, got {bad}"):
            simulate(SimConfig(n_firms=10, outcome_months=bad), tmp_path)


def test_cli_outcome_months(tmp_path, capsys):
    """`credit simulate --outcome-months`: the data end is start + months + follow-up, and the command
    says so; a bad value is one line and exit code 2 (through the CLI's front door, `run`)."""
    r = CliRunner().invoke(app, ["credit", "simulate", "--firms", "40", "--start", "2024-03-01", "--months", "6",
                                 "--outcome-months", "3", "--workers", "1", "--out", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    meta = json.loads((tmp_path / "s" / "simulation.json").read_text())
    assert (meta["applications_end"], meta["data_end"]) == ("2024-09-01", "2024-12-01")
    assert "applications 2024-03-01 to 2024-08-31; data 2022-11-01 to 2024-11-30" in " ".join(r.output.split())
    capsys.readouterr()
    code = run(["credit", "simulate", "--firms", "40", "--outcome-months", "61", "--out", str(tmp_path / "t")])
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == "error: outcome_months must be 0-60, got 61"


def test_a_long_follow_up_writes_every_table_to_its_data_end(tmp_path):
    """6 months of applications and 30 of follow-up: flows, tax and bills run to the data end
    (2024-01 + 36 months), so the hidden health covers the whole follow-up; nothing is applied for in it."""
    simulate(SimConfig(n_firms=60, start="2024-01-01", months=6, outcome_months=30, seed=1, history_months=0),
             tmp_path)
    con = duckdb.connect()
    for t, col in (("transactions", "date"), ("tax", "period"), ("utilities", "period")):
        mx = con.execute(f"SELECT MAX({col}) FROM read_parquet('{tmp_path}/{t}/*.parquet')").fetchone()[0]
        assert mx >= dt.date(2026, 11, 1) and mx < dt.date(2027, 1, 1), t
    mx = con.execute(f"SELECT MAX(application_date) FROM '{tmp_path}/applications.parquet'").fetchone()[0]
    assert mx < dt.date(2024, 7, 1)
