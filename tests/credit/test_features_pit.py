"""Point-in-time proof: altering everything recorded on or after an application's date moves no feature.

For one application per firm (drawn by hypothesis), every fact the firm's data records on or after
that date is rewritten: amounts, counts, kinds and dates of future transactions (some dropped, some
duplicated), future tax filings, bills and loans, and the not-yet-happened payment, late, default and
repayment events of earlier bills and loans. The features of those applications must not change.
A control alters the past instead and must change them, so the check is not vacuous.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smepulse.credit.features import build_features
from smepulse.sim.credit import SimConfig, simulate

TABLES = ("firms", "transactions", "tax", "utilities", "loans")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("pit")
    simulate(SimConfig(n_firms=150, months=20, default_rate=0.05, seed=21, chunk_firms=75), root)
    tables = {t: pd.read_parquet(root / (f"{t}.parquet" if t in ("firms", "loans") else t)) for t in TABLES}
    apps = pd.read_parquet(root / "applications.parquet")
    return root, tables, apps, build_features(root, apps).set_index("application_id")


def _shift_future(s: pd.Series, d: pd.Series, rng, null_share=0.0) -> pd.Series:
    """Dates on/after d (or missing) -> other dates on/after d, some missing. Earlier dates unchanged."""
    s = pd.to_datetime(s)
    fut = s.isna() | (s >= d)
    new = d + pd.to_timedelta(rng.integers(0, 90, len(s)), unit="D")
    new = new.where(rng.random(len(s)) >= null_share)
    return s.where(~fut, new).dt.date


def alter_future(tables: dict, dates: pd.Series, rng) -> dict:
    """Rewrite every fact dated on/after each firm's date in `dates` (firm_id -> date)."""
    out = {"firms": tables["firms"]}
    tx = tables["transactions"].copy()
    d = pd.to_datetime(tx["firm_id"].map(dates))
    fut = pd.to_datetime(tx["date"]) >= d
    f = tx[fut].copy()
    f["amount"] = f["amount"] * rng.uniform(0, 5, len(f))
    f["n_customers"] = pd.array(rng.integers(1, 999, len(f)), "Int32")
    f["kind"] = rng.choice(["sale", "refund", "supplier_payment"], len(f))
    f["counterparty_id"] = pd.array(rng.integers(1, 9, len(f)), "Int32")
    f["date"] = _shift_future(f["date"], d[fut], rng)
    f = f[rng.random(len(f)) > 0.3]  # drop some future rows, duplicate others
    out["transactions"] = pd.concat([tx[~fut], f, f.sample(frac=0.5, random_state=1)], ignore_index=True)

    tax = tables["tax"].copy()
    d = pd.to_datetime(tax["firm_id"].map(dates))
    fut = pd.to_datetime(tax["filing_date"]) >= d
    tax.loc[fut, "declared_sales"] *= rng.uniform(0, 5, fut.sum())
    tax.loc[fut, "tax_paid"] *= rng.uniform(0, 5, fut.sum())
    tax.loc[fut, "filing_date"] = _shift_future(tax.loc[fut, "filing_date"], d[fut], rng)
    out["tax"] = tax[~fut | (rng.random(len(tax)) > 0.3)]

    ut = tables["utilities"].copy()
    d = pd.to_datetime(ut["firm_id"].map(dates))
    fut = pd.to_datetime(ut["bill_date"]) >= d
    ut.loc[fut, "amount"] *= rng.uniform(0, 5, fut.sum())
    ut.loc[fut, "due_date"] = _shift_future(ut.loc[fut, "due_date"], d[fut], rng)
    ut["paid_date"] = _shift_future(ut["paid_date"], d, rng, null_share=0.3)  # future payments only
    out["utilities"] = ut

    ln = tables["loans"].copy()
    d = pd.to_datetime(ln["firm_id"].map(dates))
    fut = pd.to_datetime(ln["start_date"]) >= d
    ln.loc[fut, "amount"] *= rng.uniform(0, 5, fut.sum())
    ln.loc[fut, "lender"] = rng.choice(["platform", "other"], fut.sum())
    for c in ("first_late_date", "default_date", "repaid_date"):
        ln[c] = _shift_future(ln[c], d, rng, null_share=0.5)
    new = ln[fut].copy()
    new["start_date"] = _shift_future(new["start_date"], d[fut], rng)
    out["loans"] = pd.concat([ln[~fut], new], ignore_index=True)
    return out


def _write(tables: dict, root) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for t, df in tables.items():
        df.to_parquet(root / f"{t}.parquet", index=False)


def _pick(apps: pd.DataFrame, rng) -> pd.DataFrame:
    """One application per firm, chosen at random."""
    return apps.sample(frac=1, random_state=rng.integers(2**31)).drop_duplicates("firm_id")


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 1))
def test_altering_the_future_changes_no_feature(world, tmp_path_factory, seed):
    _root, tables, apps, base = world
    rng = np.random.default_rng(seed)
    chosen = _pick(apps, rng)
    dates = pd.to_datetime(chosen.set_index("firm_id")["application_date"])
    altered = alter_future(tables, dates, rng)
    assert len(altered["transactions"]) != len(tables["transactions"])  # the future really was rewritten
    root = tmp_path_factory.mktemp("altered")
    _write(altered, root)
    got = build_features(root, chosen).set_index("application_id")
    want = base.loc[got.index]
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9, check_categorical=False)


def test_control_altering_the_past_does_change_features(world, tmp_path):
    """The same comparison notices a change made the day before each application."""
    _root, tables, apps, base = world
    rng = np.random.default_rng(0)
    chosen = _pick(apps, rng)
    dates = pd.to_datetime(chosen.set_index("firm_id")["application_date"])
    altered = dict(tables)
    tx = tables["transactions"].copy()
    d = pd.to_datetime(tx["firm_id"].map(dates))
    past = (pd.to_datetime(tx["date"]) < d) & (pd.to_datetime(tx["date"]) >= d - pd.Timedelta(days=20))
    tx.loc[past, "amount"] *= 2
    altered["transactions"] = tx
    _write(altered, tmp_path)
    got = build_features(tmp_path, chosen).set_index("application_id")
    changed = ~np.isclose(got["revenue_30d"], base.loc[got.index, "revenue_30d"])
    assert changed.mean() > 0.9
