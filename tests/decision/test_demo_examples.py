"""The decision API's OpenAPI examples against a credit book built by the demo's own code
(decision/demo_book.py, as `make demo` runs it): the "demo" example is
approved and the "declined" one declined by a knock-out, over real HTTP, each example sent as it stands
in the OpenAPI description (no date: decided today on the book's fresh snapshots)."""
from __future__ import annotations

import httpx
import pytest

from live_server import Server
from smepulse.decision.application import EXAMPLE_FIRMS
from smepulse.decision.demo_book import build_credit_book
from smepulse.decision.uscc import firm_code
from smepulse.web.app import create_app
from smepulse.web.config import WebConfig


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    store = out / "smepulse.duckdb"
    credit = build_credit_book(out, store)  # as `make demo` builds it: 1,500 firms
    app = create_app(WebConfig(store=store, release_charts=False))  # the champion at STORE_DIR/credit/champion
    srv = Server(app).start()
    yield srv.url, credit
    srv.stop()
    app.state.db.close()


def test_the_openapi_examples_are_approved_and_declined_on_the_demo_book(demo):
    url, credit = demo
    spec = httpx.get(f"{url}/openapi.json").json()
    examples = spec["paths"]["/api/v1/credit/decisions"]["post"]["requestBody"]["content"]["application/json"][
        "examples"]
    assert set(examples) == {"demo", "declined"}
    approved = httpx.post(f"{url}/api/v1/credit/decisions", json=examples["demo"]["value"],
                          headers={"Idempotency-Key": "example-approved"})
    assert approved.status_code == 201, approved.text
    a = approved.json()
    assert a["decision"] == "approve" and a["limit"] == examples["demo"]["value"]["amount"] and a["reasons"] == []
    assert 0 < a["pd"] < 1 and a["annual_rate"] > 0
    declined = httpx.post(f"{url}/api/v1/credit/decisions", json=examples["declined"]["value"])
    assert declined.status_code == 201, declined.text
    d = declined.json()
    assert d["decision"] == "decline" and d["limit"] == 0 and d["reasons"][0]["code"].startswith("KO_")
    assert {r["zh"] for r in d["reasons"]} and all(r["en"] for r in d["reasons"])
    retry = httpx.post(f"{url}/api/v1/credit/decisions", json=examples["demo"]["value"],
                       headers={"Idempotency-Key": "example-approved"})
    assert retry.status_code == 200 and retry.json()["decision_id"] == a["decision_id"] and retry.json()["replayed"]
    # the example firms carry the features of the firms chosen in the book, recorded as the snapshot source
    assert set(credit["examples"]) == set(EXAMPLE_FIRMS) and credit["examples"]["approved"] <= 1500
    assert examples["demo"]["value"]["uscc"] == firm_code(EXAMPLE_FIRMS["approved"])
