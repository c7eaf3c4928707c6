"""The decision book on both backends with the same assertions: a DuckDB file and a real PostgreSQL server
(`store_target` runs each test twice). Snapshots, a chained decision, idempotent retry, a loan booked once,
audit verify catching an edit, and replay equal to the stored decision."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from smepulse.decision.book import DecisionBook, build_snapshots
from smepulse.decision.service import DecisionService, replay

from .conftest import AS_OF
from .test_audit import body


def test_decision_book_on_both_backends(store_target, sim_book):
    firms = sim_book["firms"][:40]
    with DecisionBook(store_target) as book:
        assert build_snapshots(sim_book["data"], book, AS_OF, firms) == len(firms)
        assert build_snapshots(sim_book["data"], book, AS_OF, firms) == len(firms)  # rebuilt: upsert, no error
        svc = DecisionService(book, sim_book["model_dir"], clock=lambda: datetime(2024, 12, 1, 9, tzinfo=UTC))
        recs = [svc.submit(body(f))[0] for f in firms[:8]]
        approved = next(r for r in recs if r["decision"] == "approve")
        again, replayed = svc.submit(body(firms[0]), "key-1")
        first, replayed_first = svc.submit(body(firms[0]), "key-1")
        assert (replayed, replayed_first) == (False, True) and first["decision_id"] == again["decision_id"]
        loan = svc.accept(approved["decision_id"])
        assert svc.accept(approved["decision_id"])["loan_id"] == loan["loan_id"]
        assert len(book.loans()) == 1
        v = book.verify()
        assert v.ok and v.records == 9
        stored, again_out = replay(book, recs[3]["decision_id"], model_dir=sim_book["model_dir"])
        assert stored == again_out
        edited = {**book.record(recs[2]["decision_id"]), "pd": 0.001}
        book.con.execute("UPDATE credit_decision SET record = ? WHERE decision_id = ?",
                         [json.dumps(edited), recs[2]["decision_id"]])
        assert not book.verify().ok
