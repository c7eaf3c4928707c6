"""The demo credit book's simulation ends at its as-of date: nothing is simulated past today, every
application has its 12-month outcome, and the as-of snapshots have the features' full look-back."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from smepulse.decision.demo_book import demo_sim_config
from smepulse.sim.credit import simulate_applications


@pytest.mark.parametrize("as_of", [date(2026, 12, 1), date(2025, 3, 1)])
def test_demo_data_end_is_the_as_of_date(as_of):
    cfg = demo_sim_config(as_of, n_firms=400, seed=0)
    start = pd.Timestamp(cfg.start)
    # hand-computed: 24 months of applications + 12 of follow-up = 36 months before as_of
    assert start == pd.Timestamp(as_of) - pd.DateOffset(years=3)
    assert start + pd.DateOffset(months=cfg.months + cfg.outcome_months) == pd.Timestamp(as_of)
    _firms, apps = simulate_applications(cfg)
    d = pd.to_datetime(apps["application_date"])
    assert d.min() >= start and d.max() < pd.Timestamp(as_of) - pd.DateOffset(years=1)
    assert apps["default_12m"].notna().all()
    seen = pd.to_datetime(apps["default_date"].dropna())
    assert len(seen) > 0 and seen.max() < pd.Timestamp(as_of)  # no event dated on or after as_of
