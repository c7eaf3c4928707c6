"""The generator never looks ahead: two simulations with the same past and different futures (health
innovations from a fork month on drawn from another seed) write identical data for everything dated
before the fork, and identical point-in-time features for every application before it. Forks early in
the 24-month window and in its last months (the applications that only the 12-month follow-up labels)
are both checked. A control run with the old look-ahead (daily health interpolated toward the next
month) must fail the same comparison."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import smepulse.sim.credit as simc
from smepulse.credit.features import build_features
from smepulse.sim.credit import SimConfig, simulate

FORK = "2023-09"
LATE_FORK = "2024-11"  # month 23 of the window 2023-01..2024-12; the data run on to 2026-01


def _cfg(fork_seed: int, fork: str = FORK) -> SimConfig:
    return SimConfig(n_firms=600, months=24, seed=7, default_rate=0.08, chunk_firms=300, fork_month=fork,
                     fork_seed=fork_seed)


def _read(d, t) -> pd.DataFrame:
    return pq.read_table(d / t).to_pandas()


def _ts(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s)


def _past(d, T: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """Everything dated before T, events after T masked (they may differ)."""
    out = {"firms": _read(d, "firms.parquet")}
    a = _read(d, "applications.parquet")
    out["applications"] = a.loc[_ts(a.application_date) < T,
                                ["application_id", "firm_id", "application_date", "amount", "term_months"]]
    ln = _read(d, "loans.parquet").drop(columns="loan_id")
    ln = ln[_ts(ln.start_date) < T].copy()
    for c in ("first_late_date", "default_date", "repaid_date"):
        ln[c] = _ts(ln[c]).where(_ts(ln[c]) < T)
    out["loans"] = ln
    tx = _read(d, "transactions")
    out["transactions"] = tx[_ts(tx.date) < T]
    tax = _read(d, "tax")
    out["tax"] = tax[_ts(tax.filing_date) < T]
    u = _read(d, "utilities")
    u = u[_ts(u.bill_date) < T].copy()
    u["paid_date"] = _ts(u.paid_date).where(_ts(u.paid_date) < T)
    out["utilities"] = u
    for k, v in out.items():
        out[k] = v.sort_values(list(v.columns[:3])).reset_index(drop=True)
    return out


def _features_before_t(d, T: pd.Timestamp) -> pd.DataFrame:
    f = build_features(d)
    f = f[_ts(f.application_date) < T].drop(columns="default_12m")
    return f.sort_values("application_id").reset_index(drop=True)


@pytest.fixture(scope="module", params=[FORK, LATE_FORK])
def futures(request, tmp_path_factory):
    a, b = tmp_path_factory.mktemp("future_a"), tmp_path_factory.mktemp("future_b")
    simulate(_cfg(1, request.param), a)
    simulate(_cfg(2, request.param), b)
    return a, b, pd.Timestamp(f"{request.param}-01")


def test_same_past_different_future_same_pre_fork_data(futures):
    a, b, T = futures
    pa, pb = _past(a, T), _past(b, T)
    for t in pa:
        assert len(pa[t]) > 0, t
        pd.testing.assert_frame_equal(pa[t], pb[t], obj=t)
    fa = _features_before_t(a, T)
    pd.testing.assert_frame_equal(fa, _features_before_t(b, T))
    # the comparison covers applications of the three months before the fork, features and all
    recent = fa[_ts(fa.application_date) >= T - pd.DateOffset(months=3)]
    assert len(recent) > 40 and recent.yoy_growth_90d.notna().mean() > 0.6
    # the futures really differ: later sales and outcomes of applications before the fork
    ta, tb = _read(a, "transactions"), _read(b, "transactions")
    late_a, late_b = ta[_ts(ta.date) >= T], tb[_ts(tb.date) >= T]
    assert not (len(late_a) == len(late_b) and np.allclose(late_a.amount.sum(), late_b.amount.sum()))
    oa, ob = _read(a, "applications.parquet"), _read(b, "applications.parquet")
    m = oa.merge(ob, on="application_id")
    m = m[_ts(m.application_date_x) < T]
    assert (m.default_12m_x.fillna(-1) != m.default_12m_y.fillna(-1)).sum() >= 3


def _lookahead_daily_health(h, days, start):
    """The old interpolation between month midpoints: the second half of a month moves toward the next."""
    t = (days - start).astype(float) / 30.44 + 0.5  # column 0 of h is the month before start
    i0 = np.clip(np.floor(t).astype(int), 0, h.shape[1] - 1)
    i1 = np.clip(i0 + 1, 0, h.shape[1] - 1)
    w = np.clip(t - np.floor(t), 0, 1).astype(np.float32)
    return h[:, i0] * (1 - w) + h[:, i1] * w


def test_control_a_look_ahead_is_caught(tmp_path, monkeypatch):
    monkeypatch.setattr(simc, "_daily_health", _lookahead_daily_health)
    simulate(_cfg(1), tmp_path / "a")
    simulate(_cfg(2), tmp_path / "b")
    T = pd.Timestamp(f"{FORK}-01")
    pa, pb = _past(tmp_path / "a", T), _past(tmp_path / "b", T)
    assert not pa["transactions"].equals(pb["transactions"])


def test_history_before_the_start_gives_year_on_year_features(futures):
    f = build_features(futures[0])  # once per fork: any future must give this
    lab = f[f.default_12m.notna()]
    assert len(lab) == len(f) > 200  # the 12-month follow-up labels every application
    months = _ts(lab.application_date).dt.to_period("M")
    assert months.min() == pd.Period("2023-01") and months.max() == pd.Period("2024-12")  # the whole window
    # every firm with a year of platform history has year-on-year features, in training rows too
    old = lab[lab.platform_tenure_days > 480]
    assert len(old) > 100 and old.yoy_growth_90d.notna().mean() > 0.97
    assert lab.yoy_growth_90d.notna().mean() > 0.6
