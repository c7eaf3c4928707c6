"""The decision book's hot state held in memory, so that a decision touches the store only to record
itself: each firm's newest feature snapshot, the Idempotency-Keys already used, the candidate listings
and the loans booked per firm (its exposure in this book).

Loaded once (on first use) from the store; written through by this process (the book updates it after
each commit); and refreshed from the store by `refresh()` (the decision service calls it every second
from a thread), so a snapshot batch, a candidate import or a loan written by another process shows up
without a restart. Refresh compares cheap watermarks (row count, newest write time) per table and reads
only rows written since the last one (less a margin: a transaction that started earlier may commit
later). It reads on its own connection (a DuckDB cursor, a second PostgreSQL connection), never under
the request path's lock.
"""
from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta

import duckdb

from smepulse.decision.engine import Snapshot
from smepulse.store.postgres import PgConnection

# rows re-read before the last watermark, so a transaction stamped earlier that commits later is not missed:
# a snapshot batch may run for minutes; keys and loans are written in short transactions (and a key used by
# another process at once is caught by the store's primary key anyway)
MARGINS = (timedelta(hours=1), timedelta(seconds=5), None, timedelta(seconds=30))
WATERMARKS = ("SELECT (SELECT count(*) FROM credit_feature_snapshot), (SELECT max(built_at) FROM "
              "credit_feature_snapshot), (SELECT count(*) FROM credit_idempotency), (SELECT max(created_at) FROM "
              "credit_idempotency), (SELECT count(*) FROM credit_candidate), (SELECT max(imported_at) FROM "
              "credit_candidate), (SELECT count(*) FROM credit_loan), (SELECT max(booked_at) FROM credit_loan)")
SNAPSHOTS = ("SELECT snapshot_id, firm_id, uscc, as_of, features, built_at FROM credit_feature_snapshot "
             "WHERE built_at >= ?")
NEWEST = ("SELECT snapshot_id, firm_id, uscc, as_of, features, built_at FROM (SELECT *, row_number() OVER "
          "(PARTITION BY uscc ORDER BY as_of DESC, built_at DESC) AS rn FROM credit_feature_snapshot) t WHERE rn = 1")
KEYS = "SELECT key, request_sha256, decision_id FROM credit_idempotency WHERE created_at >= ?"
CANDIDATES = ("SELECT uscc, programme, list_batch, class, project_id, listed_on FROM credit_candidate "
              "ORDER BY listed_on, list_batch")
LOANS = "SELECT loan_id, uscc, start_date, maturity_date, amount FROM credit_loan WHERE booked_at >= ?"
EPOCH = datetime(1970, 1, 1)


def _day(v) -> date:
    return v.date() if isinstance(v, datetime) else v


class BookMemory:
    def __init__(self, con):
        # a connection of our own for loading and refreshing (the owner's is guarded by its lock)
        self._reader = con.cursor() if isinstance(con, duckdb.DuckDBPyConnection) else PgConnection(con.url)
        self._read_lock = threading.Lock()
        self._write_lock = threading.Lock()  # in-process write-through and refresh merge one at a time
        self.snapshots: dict[str, tuple[Snapshot, datetime]] = {}  # uscc -> (newest snapshot, built_at)
        self.keys: dict[str, tuple[str, str]] = {}  # Idempotency-Key -> (request sha256, decision id)
        self.listings: dict[str, list[tuple]] = {}  # uscc -> [(programme, batch, class, project, listed_on)]
        self.loans: dict[str, dict[str, tuple[date, date, float]]] = {}  # uscc -> loan id -> (start, end, amount)
        with self._read_lock:
            marks = self._reader.execute(WATERMARKS).fetchone()
            newest = self._reader.execute(NEWEST).fetchall()
            keys = self._reader.execute(KEYS, [EPOCH]).fetchall()
            cands = self._reader.execute(CANDIDATES).fetchall()
            loans = self._reader.execute(LOANS, [EPOCH]).fetchall()
        self._marks = tuple(marks)
        self._own = {"keys": 0, "loans": 0}  # rows this process inserted since the last refresh
        self.add_snapshot_rows(newest)
        self.keys = {k: (r, d) for k, r, d in keys}
        self._set_listings(cands)
        self._add_loan_rows(loans)

    def close(self) -> None:
        with self._read_lock:
            self._reader.close()

    # ------------------------------------------------------------ reads (the request path)
    def newest_snapshot(self, uscc: str) -> Snapshot | None:
        hit = self.snapshots.get(uscc)
        return None if hit is None else hit[0]

    def listed(self, uscc: str, on: date) -> list[tuple]:
        return [r[:4] for r in self.listings.get(uscc, ()) if r[4] <= on]

    def booked_exposure(self, uscc: str, since: date, on: date) -> float:
        """Principal of this book's loans to the firm that started on or after `since` (the snapshot's
        date, so not yet in the snapshot's open_loan_amount) and are not matured on `on`."""
        with self._write_lock:
            loans = list(self.loans.get(uscc, {}).values())
        return float(sum(a for start, end, a in loans if start >= since and end > on))

    # ------------------------------------------------------------ write-through (after a commit)
    def add_snapshot_rows(self, rows) -> None:
        """Rows (snapshot_id, firm_id, uscc, as_of, features JSON, built_at): a firm's newest wins."""
        with self._write_lock:
            for sid, fid, uscc, as_of, text, built in rows:
                as_of = _day(as_of)
                cur = self.snapshots.get(uscc)
                if cur is None or (as_of, built) >= (cur[0].as_of, cur[1]):
                    self.snapshots[uscc] = (Snapshot(sid, int(fid), uscc, as_of, json.loads(text)), built)

    def add_key(self, key: str, request_sha256: str, decision_id: str, *, own: bool = True) -> None:
        """own: this process inserted the row (so refresh need not read it back)."""
        self.keys[key] = (request_sha256, decision_id)
        if own:
            with self._write_lock:
                self._own["keys"] += 1

    def add_loan(self, loan_id: str, uscc: str, start: date, maturity: date, amount: float) -> None:
        """A loan this process booked."""
        self._add_loan_rows([(loan_id, uscc, start, maturity, amount)])
        with self._write_lock:
            self._own["loans"] += 1

    def _add_loan_rows(self, rows) -> None:
        with self._write_lock:
            for loan_id, uscc, start, end, amount in rows:
                self.loans.setdefault(uscc, {})[loan_id] = (_day(start), _day(end), float(amount))

    def _set_listings(self, rows) -> None:
        out: dict[str, list[tuple]] = {}
        for uscc, prog, batch, cls, project, listed in rows:
            out.setdefault(uscc, []).append((prog, batch, cls, project, _day(listed)))
        self.listings = out

    def reload_listings(self) -> None:
        with self._read_lock:
            rows = self._reader.execute(CANDIDATES).fetchall()
        self._set_listings(rows)

    # ------------------------------------------------------------ refresh from the store
    def refresh(self) -> bool:
        """Read what changed in the store since the last refresh; True when anything did. Keys and loans
        are append-only: when their count grew by exactly the rows this process inserted meanwhile,
        nobody else wrote any and nothing is read back."""
        with self._read_lock:
            with self._write_lock:
                own, self._own = self._own, {"keys": 0, "loans": 0}
            marks = tuple(self._reader.execute(WATERMARKS).fetchone())
            old, changed = self._marks, {}
            for i, (sql, name) in enumerate(((SNAPSHOTS, "snapshots"), (KEYS, "keys"), (None, "candidates"),
                                             (LOANS, "loans"))):
                if marks[2 * i:2 * i + 2] == old[2 * i:2 * i + 2]:
                    continue
                if name in own and marks[2 * i] - old[2 * i] == own[name]:
                    continue
                since = (old[2 * i + 1] or EPOCH) - (MARGINS[i] or timedelta(0))
                changed[name] = self._reader.execute(CANDIDATES if sql is None else sql,
                                                     [] if sql is None else [since]).fetchall()
            self._marks = marks
        if "snapshots" in changed:
            self.add_snapshot_rows(changed["snapshots"])
        for k, r, d in changed.get("keys", ()):
            self.keys.setdefault(k, (r, d))
        if "candidates" in changed:
            self._set_listings(changed["candidates"])
        if "loans" in changed:
            self._add_loan_rows(changed["loans"])
        return bool(changed)
