"""The decision book on both backends with the same assertions: a DuckDB file and a real PostgreSQL server
(`store_target` runs each test twice). Snapshots, a chained decision, idempotent retry, a loan booked once,
audit verify catching an edit, and replay equal to the stored decision; the same through the CLI."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from smepulse.cli import app
from smepulse.decision.book import DecisionBook, build_snapshots
from smepulse.decision.errors import DecisionError, OfferExceedsExposure
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


def test_cli_decide_replay_and_audit_take_a_file_or_a_postgresql_url(store_target, sim_book, tmp_path):
    def cli(*args):
        return CliRunner().invoke(app, ["credit", *args])
    with DecisionBook(store_target) as book:
        build_snapshots(sim_book["data"], book, AS_OF, sim_book["firms"][:12])
    application = tmp_path / "app.json"
    application.write_text(json.dumps(body(sim_book["firms"][1])), encoding="utf-8")
    model = str(sim_book["model_dir"])
    first = cli("decide", str(application), "--store", store_target, "--model", model, "--idempotency-key", "cli-1")
    assert first.exit_code == 0, first.output
    dec = json.loads(first.stdout)
    assert dec["decision"] in ("approve", "decline", "refer") and dec["replayed"] is False
    again = json.loads(cli("decide", str(application), "--store", store_target, "--model", model,
                           "--idempotency-key", "cli-1").stdout)
    assert again["replayed"] is True and again["decision_id"] == dec["decision_id"]
    ok = cli("audit", "verify", "--store", store_target)
    assert ok.exit_code == 0 and "1 records" in ok.stdout, ok.output
    r = cli("replay", dec["decision_id"], "--store", store_target)
    assert r.exit_code == 0 and "exactly" in r.stdout, r.output
    with DecisionBook(store_target) as book:
        book.con.execute("UPDATE credit_decision SET record = replace(record, '\"limit\":', '\"limit\":1') "
                         "WHERE seq = 0")
    bad = cli("audit", "verify", "--store", store_target)
    assert isinstance(bad.exception, DecisionError) and "edited" in str(bad.exception)
    differs = cli("replay", dec["decision_id"], "--store", store_target)
    assert isinstance(differs.exception, DecisionError) and "differs in limit" in str(differs.exception)
    missing = cli("audit", "verify", "--store", str(tmp_path / "nope.duckdb"))
    assert isinstance(missing.exception, DecisionError) and "does not exist" in str(missing.exception)
    assert not (tmp_path / "nope.duckdb").exists()


def test_two_servers_on_one_store_see_each_others_snapshots_keys_and_loans(store_target, sim_book):
    """Two books on one store (two server processes on one PostgreSQL; two connections to one DuckDB
    file): what one writes, the other's memory learns on refresh(); a key both use before either
    refreshes is recorded once, the second answering the first's decision as a replay."""
    clock = lambda: datetime(2024, 12, 1, 9, tzinfo=UTC)  # noqa: E731
    firms = sim_book["firms"][:10]
    with DecisionBook(store_target) as a, DecisionBook(store_target) as b:
        build_snapshots(sim_book["data"], a, AS_OF, firms[:5])
        one, two = DecisionService(a, sim_book["model_dir"], clock=clock), DecisionService(b, sim_book["model_dir"],
                                                                                           clock=clock)
        build_snapshots(sim_book["data"], b, AS_OF, firms[5:])
        assert one.submit(body(firms[7]))[0]["decision"] == "refer"  # not yet seen by the first
        assert a.memory.refresh()
        assert one.submit(body(firms[7]))[0]["snapshot_id"] is not None
        first, replayed = two.submit(body(firms[1]), "shared-key")
        assert not replayed
        again, replayed = one.submit(body(firms[1]), "shared-key")  # the first has not refreshed: the store refuses
        assert replayed and again["decision_id"] == first["decision_id"]
        assert a.verify().ok and a.verify().records == 3
        approved = next(r for f in firms[5:] for r in [two.submit(body(f, amount=30_000))[0]]
                        if r["decision"] == "approve")
        loan = two.accept(approved["decision_id"])
        a.memory.refresh()
        assert a.memory.booked_exposure(loan["uscc"], AS_OF, AS_OF) == 30_000
        # two offers for one firm, one on each server, each of its whole capacity: the second accept reads
        # the store inside its transaction (not its memory, which has not refreshed) and refuses
        big = 2_000_000
        fid, x = next((f, r) for f in firms[5:] for r in [two.submit(body(f, amount=big))[0]]
                      if r["decision"] == "approve" and 20_000 <= r["limit"] < big and f != approved["firm_id"])
        y = one.submit(body(fid, amount=x["limit"]))[0]
        assert y["decision"] == "approve" and y["limit"] == x["limit"]
        two.accept(x["decision_id"])
        with pytest.raises(OfferExceedsExposure, match="no longer fits"):
            one.accept(y["decision_id"])
        assert a.loan_for(y["decision_id"]) is None and b.loan_for(y["decision_id"]) is None


def test_reopening_the_book_on_postgresql_takes_no_table_lock(pg_url):
    """The book's DDL runs once per schema.sql (its fingerprint in credit_book_meta): opening the book again
    (every CLI command does) takes no table lock, so it does not wait behind a transaction writing the book
    (a running server's group commit). CREATE INDEX IF NOT EXISTS and ALTER TABLE ... IF NOT EXISTS would."""
    import threading

    import psycopg

    with DecisionBook(pg_url):
        pass
    writer = psycopg.connect(pg_url)  # a transaction holding what an INSERT holds, on the tables the DDL touches
    writer.execute("LOCK TABLE credit_decision, credit_review, credit_feature_snapshot IN ROW EXCLUSIVE MODE")
    opened = threading.Event()

    def reopen() -> None:
        with DecisionBook(pg_url):
            opened.set()
    t = threading.Thread(target=reopen, daemon=True)
    t.start()
    try:
        assert opened.wait(15), "opening the book waited for a writer's table lock: it ran its DDL again"
    finally:
        writer.rollback()
        writer.close()
        t.join(30)
    with DecisionBook(pg_url) as book:  # and a changed schema.sql (another fingerprint) runs the DDL again
        book.con.execute("UPDATE credit_book_meta SET value = 'old' WHERE key = 'ddl_sha256'")
        book.con.execute("DROP INDEX credit_decision_uscc")
    with DecisionBook(pg_url) as book:
        assert book.con.execute("SELECT to_regclass('credit_decision_uscc') IS NOT NULL").fetchone()[0]
