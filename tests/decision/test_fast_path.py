"""The decision's fast path equals the reference path: PD, score and reasons from `decide` (one float vector,
one pred_contrib call) against the batch scorer on a pandas frame, and the policy through the engine's
loader (Policy.evaluate_all) against zen-engine's own ZenDecision.evaluate of the same graph, over every
snapshot of the test book at several amounts and terms."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import zen

from smepulse.credit.reasons import explain
from smepulse.decision.application import Application
from smepulse.decision.book import DecisionBook
from smepulse.decision.engine import application_features, decide, knockout_inputs, model_explanation
from smepulse.decision.policy import DEFAULT_DIR, TABLES, _merge, load_policy

from .conftest import AS_OF

ASKS = ((20_000, 6), (150_000, 12), (900_000, 36))


@pytest.fixture(scope="module")
def applicants(sim_book):
    with DecisionBook(sim_book["store"]) as book:
        snaps = [book.latest_snapshot(c, AS_OF) for c in book.firm_codes(1000)]
    out = []
    for s in snaps:
        for amount, term in ASKS:
            app = Application(uscc=s.uscc, amount=amount, term_months=term, application_date=AS_OF,
                              consent={"given": True, "text_version": "v"})
            out.append((app, s, {**s.features, **application_features(s.features, amount, term)}))
    assert len(out) >= 500
    return out


def test_pd_score_and_reasons_equal_the_batch_scorer(sim_book, applicants):
    model, policy = sim_book["model"], load_policy()
    frame, _ = model.score_frame(pd.DataFrame([f for _, _, f in applicants]), top_n=3)
    worst = 0.0
    for (app, snap, feats), (_, ref) in zip(applicants, frame.iterrows(), strict=True):
        d = decide(app, snap, model, policy)
        ex = explain(model, feats, top_n=3)
        worst = max(worst, abs(d.pd - ref["pd"]), abs(ex.pd - ref["pd"]))
        assert d.score == ex.score == ref["score"]
        want = [ref[f"reason_code_{i}"] for i in (1, 2, 3) if isinstance(ref[f"reason_code_{i}"], str)]
        assert [r.code for r in ex.reasons] == want
        assert [r.zh for r in ex.reasons] == [ref[f"reason_zh_{i}"] for i in range(1, len(want) + 1)]
    assert worst <= 1e-12
    assert not math.isnan(worst)


def test_the_policy_through_the_engine_equals_zen_decision_evaluate(applicants):
    policy = load_policy()
    graphs = {t: json.loads((DEFAULT_DIR / f"{t}.json").read_text(encoding="utf-8")) for t in TABLES}
    reference = zen.ZenEngine().create_decision(json.dumps(_merge(graphs)[0]))
    seen = set()
    for app, _, feats in applicants:
        for pd_ in (0.004, 0.03, 0.09, 0.3):
            ctx = {**knockout_inputs(app, feats), "pd": pd_, "term_months": app.term_months}
            ref = reference.evaluate(ctx)["result"]
            got = policy.evaluate_all(dict(ctx))
            for t in TABLES:
                rows = ref.get(t)
                rows = rows if isinstance(rows, list) else ([rows] if rows else [])
                assert got[t].fired == [r.pop("_rule") for r in rows]
                assert got[t].rows == rows
                seen.update(got[t].fired)
    assert len(seen) >= 8  # knock-outs, several bands and prices were exercised, not one row


def test_the_snapshot_vector_path_equals_explain(sim_book, applicants):
    """model_explanation (the snapshot's vector built once, application features set per decision) gives
    what explain gives on the whole mapping, for every applicant, twice (the second time from the cache)."""
    model = sim_book["model"]
    for _ in range(2):
        for _, snap, feats in applicants:
            a, b = model_explanation(model, snap, feats, 3), explain(model, feats, top_n=3)
            assert abs(a.pd - b.pd) <= 1e-12 and a.score == b.score
            words = [(r.code, r.value, r.en, r.zh) for r in b.reasons]
            assert [(r.code, r.value, r.en, r.zh) for r in a.reasons] == words
