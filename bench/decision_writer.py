"""The decision book's writer alone at a steady rate: records submitted `--rate` per second from one thread (as the
event loop hands them over), each with an Idempotency-Key, written by the book's group commit; prints the CPU
(process_time, all threads) per record, the records per transaction and the wait from submit to commit. Compares
group-commit settings on the same store without HTTP or the model in the way.

    cp /tmp/decdemo/smepulse.duckdb /tmp/w.duckdb
    PYTHONPATH=src python bench/decision_writer.py --store /tmp/w.duckdb --rate 200 --seconds 10 \
        --linger-ms 0 6            # one run per linger, in the order given
"""
from __future__ import annotations

import argparse
import os
import time
import uuid

from smepulse.decision.book import DecisionBook


def record(i: int) -> dict:
    return {"decision_id": f"dec-{uuid.uuid4().hex}", "decision": "approve" if i % 3 else "refer",
            "application": {"uscc": "91110000MA00000001", "amount": 250000 + i, "term_months": 12,
                            "purpose": "working_capital"},
            "pd": 0.0312, "limit": 250000, "rate": 0.089, "reasons": [{"feature": f"f{j}", "value": j * 0.5,
                                                                         "contribution": -0.01 * j} for j in range(4)],
            "policy": {"sha256": "0" * 64, "version": "3k"}, "tags": ["bench"]}


def run(store: str, rate: float, seconds: float, linger_ms: float, window_ms: float | None, threads: int) -> str:
    with DecisionBook(store, commit_window_ms=window_ms, commit_linger_ms=linger_ms) as book:
        if threads:
            book.con.execute(f"SET threads = {int(threads)}")
        sizes: list[int] = []
        inner = book._group._write  # count the batches: the same write, its sizes noted

        def counted(items):
            sizes.append(len(items))
            return inner(items)
        book._group._write = counted
        n = int(rate * seconds)
        futs, waits = [], []
        book.append_decision(record(-1))  # the head read, the first statement's warm-up
        sizes.clear()
        cpu0, t0 = time.process_time(), time.monotonic()
        for i in range(n):
            at = t0 + i / rate
            if (d := at - time.monotonic()) > 0:
                time.sleep(d)
            s = time.monotonic()
            fut = book.append_decision_future(record(i), idempotency_key=f"k-{uuid.uuid4().hex}",
                                              request_sha256="1" * 64)
            fut.add_done_callback(lambda _f, s=s: waits.append(time.monotonic() - s))  # in the writer, at commit
            futs.append(fut)
        for f in futs:
            f.result()
        cpu = time.process_time() - cpu0
        ok = book.verify().ok
    waits.sort()
    return (f"linger {linger_ms:g} ms, threads {threads or 'default'}: {n} records, "
            f"CPU {cpu / n * 1000:.3f} ms per record, "
            f"{len(sizes)} transactions ({n / len(sizes):.2f} records each), wait p50 "
            f"{waits[len(waits) // 2] * 1000:.1f} p99 {waits[int(len(waits) * 0.99)] * 1000:.1f} ms, chain verifies "
            f"{ok}, load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True, help="a DuckDB file (a copy: it is written to) or postgresql:// URL")
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--window-ms", type=float, default=None, help="default: the book's")
    ap.add_argument("--threads", type=int, default=0, help="DuckDB's threads setting (0: its default)")
    ap.add_argument("--linger-ms", type=float, nargs="+", default=[0.0, 6.0])
    args = ap.parse_args()
    for linger in args.linger_ms:
        print(run(args.store, args.rate, args.seconds, linger, args.window_ms, args.threads), flush=True)


if __name__ == "__main__":
    main()
