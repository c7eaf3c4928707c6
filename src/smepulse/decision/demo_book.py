"""A small credit book for the demo store: simulated firms with alternative data, a trained champion
(LightGBM, calibrated) and every firm's feature snapshot as of the first day of the current month, so
the API's example application (firm 1) is decided on fresh data."""
from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from smepulse.credit.features import build_features, feature_specs
from smepulse.credit.train import train
from smepulse.decision.book import DecisionBook, build_snapshots
from smepulse.sim.credit import SimConfig, simulate


def build_credit_book(out: Path, store: Path, n_firms: int = 1500, seed: int = 0,
                      today: date | None = None) -> dict:
    today = today or datetime.now(UTC).date()
    as_of = today.replace(day=1)
    start = (pd.Timestamp(as_of) - pd.DateOffset(months=24)).date()
    data = out / "credit" / "sim"
    simulate(SimConfig(n_firms=n_firms, start=start.isoformat(), months=24, default_rate=0.08, seed=seed), data)
    f = build_features(data)
    lab = f[f["default_12m"].notna()].reset_index(drop=True)
    model = train(lab, "default_12m", time_column="application_date", exclude=["application_id", "firm_id"],
                  specs=feature_specs(), n_estimators=60)
    champion = out / "credit" / "champion"
    model.save(champion, overwrite=True)
    with DecisionBook(store) as book:
        n = build_snapshots(data, book, as_of)
    return {"data": data, "champion": champion, "snapshots": n, "as_of": as_of,
            "auc": model.metrics.get("auc")}
