"""A small credit book for decision tests: simulated firms, their feature snapshots, a trained champion."""
from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from live_server import Server
from smepulse.credit.features import build_features, feature_specs
from smepulse.credit.train import train
from smepulse.decision.book import DecisionBook, build_snapshots
from smepulse.decision.policy import DEFAULT_DIR
from smepulse.sim.credit import SimConfig, simulate
from smepulse.web.app import create_app
from smepulse.web.auth import add_user
from smepulse.web.config import WebConfig

AS_OF = date(2024, 12, 1)
STAFF = ("risk", "risk staff password 1")
ADMIN = ("riskadmin", "risk admin password 1")  # may resolve reviews


@pytest.fixture(scope="session")
def sim_book(tmp_path_factory):
    root = tmp_path_factory.mktemp("credit_book")
    data = root / "sim"
    simulate(SimConfig(n_firms=600, default_rate=0.08, seed=13, months=24), data)
    f = build_features(data)
    lab = f[f["default_12m"].notna()].reset_index(drop=True)
    model = train(lab, "default_12m", time_column="application_date", exclude=["application_id", "firm_id"],
                  specs=feature_specs(), n_estimators=40)
    model_dir = model.save(root / "champion")
    store = root / "store.duckdb"
    with DecisionBook(store) as book:
        firms = pd.read_parquet(data / "firms.parquet")["firm_id"].tolist()[:200]
        build_snapshots(data, book, AS_OF, firms)
    return {"data": data, "model": model, "model_dir": model_dir, "store": store, "features": f, "firms": firms}


def policy_reaching_back_to_as_of(dest: Path) -> Path:
    """The shipped policy with `max_application_age_days` reaching from today back to AS_OF plus a year. Tests
    back-date applications to AS_OF (the book's snapshots are as of then) against a server on the real clock:
    under the shipped 1,825 days they would start failing on 2029-11-30."""
    shutil.copytree(DEFAULT_DIR, dest)
    settings = json.loads((dest / "settings.json").read_text(encoding="utf-8"))
    settings["max_application_age_days"] = (datetime.now(UTC).date() - AS_OF).days + 366
    (dest / "settings.json").write_text(json.dumps(settings, indent=1), encoding="utf-8")
    return dest


@pytest.fixture(scope="session")
def server(sim_book, tmp_path_factory):
    """ONE app over a copy of the credit book, served by uvicorn on a free loopback port: its base URL."""
    store = tmp_path_factory.mktemp("web") / "smepulse.duckdb"
    shutil.copy(sim_book["store"], store)
    policy = policy_reaching_back_to_as_of(tmp_path_factory.mktemp("policy") / "policy")
    app = create_app(WebConfig(store=store, release_charts=False, extra={"credit_model": str(sim_book["model_dir"]),
                                                                         "credit_policy": str(policy)}))
    add_user(app.state.db, *STAFF, role="viewer")
    add_user(app.state.db, *ADMIN, role="admin")
    srv = Server(app).start()
    yield srv.url
    srv.stop()  # tests/live_server.py runs without lifespan: stop the decision service's refresher here, as the
    svc = getattr(app.state, "decision_service", None)  # app's shutdown does, before the store is closed
    if svc is not None:
        svc.close()
    app.state.db.close()
