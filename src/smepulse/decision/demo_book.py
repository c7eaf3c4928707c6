"""A small credit book for the demo store: simulated firms with alternative data, a trained champion
(LightGBM, calibrated) and every firm's feature snapshot as of the first day of the current month.

The API's OpenAPI examples apply for two example firms (application.EXAMPLE_FIRMS). Which way a
simulated firm goes depends on the trained model, so the examples are not left to chance: the book
decides the example application for every firm with the champion and the shipped policy, and gives
the "approved" example firm the features of the first firm (by id) approved for the full amount, and
the "declined" one those of the first firm a knock-out rule declines. Both are then decided the same
way over HTTP whatever the simulation drew (tests/decision/test_demo_examples.py)."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from smepulse.credit.features import build_features, feature_specs
from smepulse.credit.train import train
from smepulse.decision.application import EXAMPLE_FIRMS, Application, example_application
from smepulse.decision.book import DecisionBook, snapshot_applications
from smepulse.decision.engine import decide
from smepulse.decision.errors import DecisionError
from smepulse.decision.policy import load_policy
from smepulse.decision.uscc import firm_code
from smepulse.sim.credit import SimConfig, simulate


def demo_sim_config(as_of: date, n_firms: int = 1500, seed: int = 0) -> SimConfig:
    """The demo book's simulation: its data end (start + window + follow-up) is `as_of`, so nothing is
    simulated past today. Applications fall in the 24 months before the last year, each with its
    12-month outcome; snapshots as of `as_of` see the follow-up year and the history before it (far
    more than the features' 16 months of look-back)."""
    cfg = SimConfig(n_firms=n_firms, months=24, default_rate=0.08, seed=seed)
    start = (pd.Timestamp(as_of) - pd.DateOffset(months=cfg.months + cfg.outcome_months)).date()
    return replace(cfg, start=start.isoformat())


def build_credit_book(out: Path, store: Path, n_firms: int = 1500, seed: int = 0,
                      today: date | None = None) -> dict:
    today = today or datetime.now(UTC).date()
    as_of = today.replace(day=1)
    data = out / "credit" / "sim"
    simulate(demo_sim_config(as_of, n_firms, seed), data)
    f = build_features(data)
    lab = f[f["default_12m"].notna()].reset_index(drop=True)
    model = train(lab, "default_12m", time_column="application_date", exclude=["application_id", "firm_id"],
                  specs=feature_specs(), n_estimators=60)
    champion = out / "credit" / "champion"
    model.save(champion, overwrite=True)
    firms = pd.read_parquet(data / "firms.parquet", columns=["firm_id"])["firm_id"].tolist()
    table = build_features(data, snapshot_applications(firms, as_of))
    with DecisionBook(store) as book:
        n = book.write_snapshots(table, as_of, source=str(data))
        examples = write_examples(book, table, model, as_of, today)
    return {"data": data, "champion": champion, "snapshots": n, "as_of": as_of,
            "auc": model.metrics.get("auc"), "examples": examples}


def write_examples(book: DecisionBook, table: pd.DataFrame, model, as_of: date, today: date) -> dict:
    """Snapshots of the example firms (features copied from the firms chosen as the module doc says);
    {"approved": firm id copied, "declined": firm id copied}."""
    policy = load_policy()
    chosen: dict[str, int] = {}
    for row in table.sort_values("firm_id").itertuples(index=False):
        snap = book.latest_snapshot(firm_code(int(row.firm_id)), as_of)
        app = Application.model_validate({**example_application("approved"), "uscc": snap.uscc})
        d = decide(app, snap, model, policy, today=today)
        if "approved" not in chosen and d.decision == "approve" and d.limit == app.amount:
            chosen["approved"] = int(row.firm_id)
        if "declined" not in chosen and d.decision == "decline" and any(r.startswith("KO_") for r in d.rules_fired):
            chosen["declined"] = int(row.firm_id)
        if len(chosen) == 2:
            break
    missing = [k for k in EXAMPLE_FIRMS if k not in chosen]
    if missing:
        raise DecisionError(f"the demo credit book has no firm the policy {' or '.join(missing)} for the example "
                            "application: the simulation or the policy changed")
    for which, fid in chosen.items():
        rows = table[table["firm_id"] == fid].assign(firm_id=EXAMPLE_FIRMS[which])
        book.write_snapshots(rows, as_of, source=f"demo example ({which}): the features of firm {fid}")
    return chosen
