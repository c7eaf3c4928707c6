"""Audit: append-only hash-chained records, verify catches edits and deletions, replay reproduces the
stored decision; Idempotency-Key retries (also concurrent) answer the first decision and book once."""
from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import duckdb
import pytest
from typer.testing import CliRunner

from smepulse.cli import app
from smepulse.decision.book import DecisionBook
from smepulse.decision.errors import DecisionError, OfferNotOpen
from smepulse.decision.service import DecisionService, IdempotencyConflict, replay
from smepulse.decision.uscc import firm_code

from .conftest import AS_OF


def body(fid, amount=120_000, consent=True):
    return {"uscc": firm_code(fid), "amount": amount, "term_months": 12, "purpose": "working_capital",
            "application_date": AS_OF.isoformat(),
            "consent": {"given": consent, "text_version": "consent-2026-12", "given_at": "2024-12-01T08:00:00Z"}}


@pytest.fixture
def service(sim_book, tmp_path):
    store = tmp_path / "store.duckdb"
    shutil.copy(sim_book["store"], store)
    book = DecisionBook(store)
    yield DecisionService(book, sim_book["model_dir"], clock=lambda: datetime(2024, 12, 1, 9, tzinfo=UTC))
    book.close()


def test_records_chain_and_verify_catches_an_edit_and_a_deletion(service, sim_book):
    ids = [service.submit(body(f))[0]["decision_id"] for f in sim_book["firms"][:6]]
    book = service.book
    assert book.verify().ok and book.verify().records == 6
    rec = book.record(ids[2])
    for key in ("application", "consent", "snapshot_id", "model_sha256", "policy_sha256", "rules_fired", "pd",
                "limit", "annual_rate", "reasons", "programmes", "timings_ms", "prev_hash"):
        assert key in rec
    assert rec["consent"]["text_version"] == "consent-2026-12"
    # edit: a friendlier PD written into record 2
    edited = {**rec, "pd": 0.001}
    book.con.execute("UPDATE credit_decision SET record = ? WHERE seq = 2", [json.dumps(edited)])
    v = book.verify()
    assert not v.ok and "record 2" in v.problems[0] and "edited" in v.problems[0]
    book.con.execute("UPDATE credit_decision SET record = ? WHERE seq = 2",
                     [json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)])
    assert book.verify().ok
    # deletion in the middle, then of the last record
    book.con.execute("DELETE FROM credit_decision WHERE seq = 3")
    assert "missing" in book.verify().problems[0]


def test_deleting_the_last_record_is_caught(service, sim_book):
    for f in sim_book["firms"][:3]:
        service.submit(body(f))
    service.book.con.execute("DELETE FROM credit_decision WHERE seq = 2")
    v = service.book.verify()
    assert not v.ok and "deleted" in v.problems[-1]


def test_replay_reproduces_every_stored_decision_exactly(service, sim_book):
    outcomes = set()
    for f in sim_book["firms"][:15]:
        rec, _ = service.submit(body(f))
        stored, again = replay(service.book, rec["decision_id"])
        assert again == stored
        outcomes.add(rec["decision"])
    rec, _ = service.submit(body(sim_book["firms"][0], consent=False))
    assert rec["decision"] == "decline" and rec["snapshot_id"] is None and rec["pd"] is None
    stored, again = replay(service.book, rec["decision_id"])
    assert again == stored


def test_replay_refuses_a_changed_model(service, sim_book, tmp_path):
    rec, _ = service.submit(body(sim_book["firms"][1]))
    other = tmp_path / "model"
    shutil.copytree(sim_book["model_dir"], other)
    (other / "metrics.json").write_text("{}")
    with pytest.raises(DecisionError, match="not the one"):
        replay(service.book, rec["decision_id"], model_dir=other)


def test_idempotency_key_retry_same_body_and_different_body(service, sim_book):
    b = body(sim_book["firms"][2])
    first, replayed = service.submit(b, "key-1")
    assert not replayed
    again, replayed = service.submit(dict(b), "key-1")
    assert replayed and again["decision_id"] == first["decision_id"] and again == first
    with pytest.raises(IdempotencyConflict, match="different request body"):
        service.submit({**b, "amount": 999}, "key-1")
    assert service.book.verify().records == 1


def test_concurrent_retries_record_and_book_once(service, sim_book):
    fid = next(f for f in sim_book["firms"] if service.submit(body(f))[0]["decision"] == "approve")
    n0 = service.book.verify().records
    b = body(fid, amount=30_000)

    def go(_):
        rec, replayed = service.submit(b, "retry-key")
        loan = service.accept(rec["decision_id"]) if rec["decision"] == "approve" else None
        return rec["decision_id"], replayed, loan["loan_id"] if loan else None

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(go, range(16)))
    assert len({r[0] for r in results}) == 1
    assert sum(not r[1] for r in results) == 1  # exactly one first answer, 15 replays
    assert service.book.verify().records == n0 + 1 and service.book.verify().ok
    loans = service.book.loans()
    assert len(loans[loans["decision_id"] == results[0][0]]) == 1
    loan = loans.iloc[-1]
    assert loan["amount"] == 30_000 and loan["term_months"] == 12 and str(loan["start_date"])[:10] == "2024-12-01"


def test_only_an_approved_offer_becomes_a_loan(service, sim_book):
    rec, _ = service.submit(body(sim_book["firms"][0], consent=False))
    with pytest.raises(DecisionError, match="only an approved offer"):
        service.accept(rec["decision_id"])


def test_a_failed_record_leaves_no_loan_and_no_decision(service, sim_book):
    """The loan is booked from a recorded decision only; a failure inside the record transaction rolls back."""
    def boom(rec):
        raise duckdb.Error("disk full")
    with pytest.raises(duckdb.Error):
        service.book.append_decision({"decision_id": "dec-x", "decision": "approve",
                                      "application": {"uscc": firm_code(1)}}, after=boom)
    assert service.book.verify().records == 0
    with pytest.raises(DecisionError, match="not in the audit log"):
        service.accept("dec-x")


def test_cli_audit_verify_and_replay(service, sim_book):
    rec, _ = service.submit(body(sim_book["firms"][3]))
    path = service.book.path
    service.book.close()

    def cli(*args):
        return CliRunner().invoke(app, ["credit", *args])
    ok = cli("audit", "verify", "--store", path)
    assert ok.exit_code == 0 and "1 records" in ok.stdout, ok.stdout
    r = cli("replay", rec["decision_id"], "--store", path)
    assert r.exit_code == 0 and "exactly" in r.stdout, r.stdout
    con = duckdb.connect(path)
    con.execute("UPDATE credit_decision SET decision = 'approve', record = replace(record, '\"limit\":', "
                "'\"limit\":1') WHERE seq = 0")
    con.close()
    bad = cli("audit", "verify", "--store", path)
    assert isinstance(bad.exception, DecisionError) and "edited" in str(bad.exception)  # main(): one line, exit 2
    service.book = DecisionBook(path)


def test_an_offer_is_open_thirty_days_and_the_loan_starts_when_accepted(service, sim_book):
    recs = [service.submit(body(f, amount=30_000))[0] for f in sim_book["firms"][:30]]
    a, b = [r for r in recs if r["decision"] == "approve"][:2]
    service.clock = lambda: datetime(2024, 12, 11, 9, tzinfo=UTC)  # accepted 10 days after the decision
    loan = service.accept(a["decision_id"])
    assert str(loan["start_date"])[:10] == "2024-12-11" and str(loan["maturity_date"])[:10] == "2025-12-11"
    service.clock = lambda: datetime(2025, 1, 1, 9, tzinfo=UTC)  # 31 days: closed (policy offer_valid_days 30)
    with pytest.raises(OfferNotOpen, match="expired 1 days ago"):
        service.accept(b["decision_id"])
    assert service.accept(a["decision_id"])["loan_id"] == loan["loan_id"]  # a booked loan stays booked


def test_concurrent_applications_are_group_committed_into_one_intact_chain(service, sim_book):
    firms = sim_book["firms"][:40]
    with ThreadPoolExecutor(8) as pool:
        recs = list(pool.map(lambda f: service.submit(body(f), f"key-{f}")[0], firms))
    v = service.book.verify()
    assert v.ok and v.records == 40
    assert sorted(r["seq"] for r in recs) == list(range(40))  # every caller got its own committed record
    for r in recs:
        assert service.book.record(r["decision_id"]) == json.loads(json.dumps(r))
    assert all(service.book.idempotent(f"key-{f}")[1] == r["decision_id"] for f, r in zip(firms, recs, strict=True))


def test_a_booked_loan_counts_in_the_firms_next_decision_and_replays(service, sim_book):
    """The snapshot cannot know a loan this book booked after it: the next decision adds it to the
    exposure (limit capacity drops by the loan's principal), records it, and replay uses the record."""
    big = 2_000_000  # above the capacity of the firm chosen: the offer is its capacity
    fid, first = next((f, r) for f in sim_book["firms"][:80]
                      for r in [service.submit(body(f, amount=big))[0]] if r["decision"] == "approve"
                      and 20_000 <= r["limit"] < big)
    assert first["booked_exposure"] == 0
    small, _ = service.submit(body(fid, amount=10_000))
    loan = service.accept(small["decision_id"])
    again, _ = service.submit(body(fid, amount=big))
    assert again["booked_exposure"] == loan["amount"] == 10_000
    assert again["limit"] == first["limit"] - 10_000  # capacity less the booked principal (rounding 1,000)
    stored, replayed = replay(service.book, again["decision_id"])
    assert stored == replayed
