"""schemathesis (version 4) against the app's own OpenAPI description, over real HTTP to a running server.

Every documented operation is fuzzed from its declared parameters and bodies: the read API (series, its CSV,
Excel and SDMX-CSV, vintages, choices), the pages' JSON twins, /healthz and the credit decision API. Each
response must not be a server error, must have a status code the description declares, and must match the
declared schema. The server holds a copy of the web tests' store (survey vintages) with a credit book and a
champion model added, so decisions are real decisions."""
from __future__ import annotations

import threading
import time

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis import GenerationMode

from decision.conftest import AS_OF, policy_reaching_back_to_as_of, sim_book  # noqa: F401 (sim_book: a fixture)
from live_server import Server
from smepulse.decision.application import PURPOSES
from smepulse.decision.book import DecisionBook, build_snapshots
from smepulse.decision.uscc import firm_code
from smepulse.web.app import create_app
from smepulse.web.auth import add_user
from smepulse.web.config import WebConfig

CHECKS = [schemathesis.checks.not_a_server_error, schemathesis.checks.status_code_conformance,
          schemathesis.checks.content_type_conformance, schemathesis.checks.response_schema_conformance]
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def api(store_copy, sim_book, web, tmp_path_factory):  # noqa: F811 (sim_book is the imported fixture)
    """A server over a copy of the web tests' store plus a credit book: its schema and a signed-in viewer's cookie."""
    store = store_copy("schemathesis")
    with DecisionBook(store) as book:
        build_snapshots(sim_book["data"], book, AS_OF, sim_book["firms"])
    # applications are dated AS_OF against the real clock: a policy whose age bound reaches back that far
    policy = policy_reaching_back_to_as_of(tmp_path_factory.mktemp("policy") / "policy")
    app = create_app(WebConfig(store=store, release_charts=False,
                               extra={"credit_model": str(sim_book["model_dir"]), "credit_policy": str(policy)}))
    add_user(app.state.db, *web.VIEWER, role="viewer")
    srv = Server(app).start()
    with httpx.Client(base_url=srv.url) as c:
        web.sign_in(c, web.VIEWER)
        cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
    yield schemathesis.openapi.from_url(f"{srv.url}/openapi.json"), {"Cookie": cookie}
    srv.stop()
    svc = getattr(app.state, "decision_service", None)
    if svc is not None:  # its refresher reads the store every second (a cursor of the DuckDB connection): stopped
        svc.close()      # and waited for, or closing the store under a running read fails "connection is busy"
        for t in threading.enumerate():
            if t.name == "decision-book-refresh":
                t.join(5)
    app.state.db.close()


# Every operation of the description, fuzzed one by one; the test below fails when one is added without being here.
OPERATIONS = ["GET /healthz", "GET /api/v1/series", "GET /api/v1/series.csv", "GET /api/v1/series.xlsx",
              "GET /api/v1/series.sdmx.csv", "GET /api/v1/vintages",
              "GET /api/v1/choices", "GET /release.json", "GET /explore.json", "GET /api/v1/admin/me",
              "GET /api/v1/admin/panel", "GET /api/v1/admin/waves", "GET /api/v1/admin/waves/{wave_id}/rate",
              "POST /api/v1/credit/decisions",
              "POST /api/v1/credit/decisions/{decision_id}/accept"]


def test_every_operation_of_the_description_is_fuzzed(api):
    described = {f"{r.ok().method.upper()} {r.ok().path}" for r in api[0].get_all_operations()}
    assert described == set(OPERATIONS)


# operations with inputs a request can break (a pattern, a type, a JSON body); the others take no parameter, or
# only a free string in the path, so no request to them is invalid
CONSTRAINED = ["GET /api/v1/series", "GET /api/v1/series.csv", "GET /api/v1/series.xlsx", "GET /api/v1/series.sdmx.csv",
               "GET /release.json", "GET /explore.json", "GET /api/v1/admin/waves/{wave_id}/rate",
               "POST /api/v1/credit/decisions"]
# Invalid requests are refused by the declared validation before the store is read, the same code on either
# backend: they are fuzzed on the embedded default only; valid ones (answers read from the store) on both.
CASES = [pytest.param(op, GenerationMode.POSITIVE, id=f"{op} positive") for op in OPERATIONS] + \
    [pytest.param(op, GenerationMode.NEGATIVE, id=f"{op} negative", marks=pytest.mark.backends("duckdb"))
     for op in CONSTRAINED]


@pytest.mark.parametrize(("label", "mode"), CASES)
def test_operation_conforms_to_its_description(api, label, mode):
    """Valid requests (as declared) and invalid ones (a wrong type, a value off the pattern, a missing body)."""
    schema, signed_in = api
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    headers = signed_in if "/admin/" in path else None  # the admin API as a signed-in viewer

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(max_examples=25, derandomize=True, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(checks=CHECKS, headers=headers)

    t0 = time.perf_counter()
    run()
    TIMINGS[f"{label} {mode.value}"] = time.perf_counter() - t0


@hypothesis.given(k=st.integers(0, 199), amount=st.floats(1_000, 3_000_000), term=st.integers(1, 60),
                  purpose=st.sampled_from(PURPOSES))
@hypothesis.settings(max_examples=15, derandomize=True, deadline=None, database=None,
                     suppress_health_check=list(HealthCheck))
def test_valid_applications_get_decisions_that_match_the_description(api, sim_book, k, amount, term, purpose):  # noqa: F811
    """Random bodies rarely carry a valid credit code; these do, so the 201 answer and the offer's acceptance are
    checked against their declared schemas too."""
    schema, _ = api
    body = {"uscc": firm_code(sim_book["firms"][k]), "amount": round(amount, 2), "term_months": term,
            "purpose": purpose, "application_date": AS_OF.isoformat(),
            "consent": {"given": True, "text_version": "consent-2026-12", "given_at": "2024-12-01T08:00:00Z"}}
    decided = schema["/api/v1/credit/decisions"]["POST"].Case(body=body, media_type="application/json")
    response = decided.call_and_validate(checks=CHECKS)
    assert response.status_code == 201, response.text
    answer = response.json()
    accept = schema["/api/v1/credit/decisions/{decision_id}/accept"]["POST"].Case(
        path_parameters={"decision_id": answer["decision_id"]})
    accepted = accept.call_and_validate(checks=CHECKS)
    assert accepted.status_code == (201 if answer["decision"] == "approve" else 409), accepted.text
