"""The DuckDB decision writer's linger: records arriving one by one at a steady rate share a transaction (the
first waits for a second), the chain they form verifies and every caller gets its own committed record; a lone
record is not held back for the linger."""
from __future__ import annotations

import json
import time

from smepulse.decision.book import DecisionBook


def rec(i: int) -> dict:
    return {"decision_id": f"dec-linger-{i}", "decision": "approve", "application": {"uscc": f"U{i:04d}"},
            "pd": 0.01 * i}


def counting(book: DecisionBook) -> list[int]:
    sizes: list[int] = []
    inner = book._group._write

    def write(items):
        sizes.append(len(items))
        return inner(items)
    book._group._write = write
    return sizes


def test_a_steady_stream_is_written_two_at_a_time_and_the_chain_verifies(tmp_path):
    with DecisionBook(tmp_path / "s.duckdb", commit_window_ms=2, commit_linger_ms=400) as book:
        sizes = counting(book)
        futs = []
        for i in range(6):  # 60 ms apart: far longer than the window, far shorter than the linger
            futs.append(book.append_decision_future(rec(i), idempotency_key=f"k{i}", request_sha256="r" * 64))
            time.sleep(0.06)
        out = [f.result(timeout=30) for f in futs]
        assert sum(sizes) == 6
        assert sizes[-1] >= 2 and max(sizes) >= 2, sizes  # from the third on, the first of a batch waited for more
        assert [r["seq"] for r in out] == list(range(6))
        v = book.verify()
        assert v.ok and v.records == 6, v.problems
        for i, r in enumerate(out):
            assert book.record(r["decision_id"]) == json.loads(json.dumps(r))
            assert book.idempotent(f"k{i}")[1] == r["decision_id"]


def test_a_lone_record_is_not_held_for_the_linger(tmp_path):
    with DecisionBook(tmp_path / "s.duckdb", commit_window_ms=2, commit_linger_ms=5000) as book:
        sizes = counting(book)
        t = time.monotonic()
        book.append_decision(rec(0))
        assert time.monotonic() - t < 4.0  # the window (2 ms) plus the write, not the 5 s linger
        assert sizes == [1] and book.verify().ok


def test_the_book_lingers_on_duckdb_only_by_default(tmp_path):
    from smepulse.decision.book import DUCKDB_LINGER_MS
    with DecisionBook(tmp_path / "s.duckdb") as book:
        assert book._group.linger_s == DUCKDB_LINGER_MS / 1000 > 0


def test_a_lingering_batch_closes_linger_window_after_its_second_item():
    from smepulse.decision.commit import GroupCommit
    batches: list[list] = []
    gc = GroupCommit(lambda items: batches.append(list(items)) or list(items), window_s=0.5, linger_s=5.0,
                     linger_window_s=0.01)
    try:
        for i in range(3):  # 0.6 s apart: longer than the window (each written alone), shorter than the linger
            gc.submit(i)
            time.sleep(0.6)
        t = time.monotonic()
        assert gc.submit(3).result(timeout=10) == 3
        assert time.monotonic() - t < 0.4  # 10 ms after the second item of the lingering batch, not the 0.5 s window
        assert batches[-1] == [2, 3], batches  # the third waited for the fourth
    finally:
        gc.close()
