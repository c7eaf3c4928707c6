"""The decision book in the store: feature snapshots, the hash-chained audit of decisions, idempotency
keys, loans and review requests. One DuckDB connection guarded by a lock (DuckDB has one writer).

Audit chain: record_n.hash = sha256(prev_hash || canonical JSON of record_n), prev_hash of the first
record is 64 zeros, and credit_audit_head holds the last (seq, hash), written in the same transaction,
so editing, deleting or re-ordering any record (the last one too) breaks `verify()`.
"""
from __future__ import annotations

import hashlib
import json
import math
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from smepulse.credit.features import ID_COLUMNS, TARGET, build_features
from smepulse.decision.engine import APPLICATION_FEATURES, Snapshot
from smepulse.decision.errors import DecisionError, OfferNotOpen, UnknownDecision
from smepulse.decision.uscc import firm_code
from smepulse.store.postgres import PgConnection, is_server_url, redact

GENESIS = "0" * 64
SCHEMA = Path(__file__).with_name("schema.sql")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def canonical(obj) -> str:
    """The one JSON text a record is hashed as: sorted keys, no NaN (None), compact."""
    return json.dumps(_clean(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _clean(v):
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (datetime, date, pd.Timestamp)):
        return v.isoformat()
    return v


def _value(v):
    if isinstance(v, str):
        return v
    if v is None or pd.isna(v):
        return None
    return float(v)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    problems: list[str]


class DecisionBook:
    """Decision tables in a store file (or an open DuckDB connection, e.g. the web app's store)."""

    def __init__(self, store: str | Path | duckdb.DuckDBPyConnection | PgConnection, lock=None):
        if isinstance(store, duckdb.DuckDBPyConnection | PgConnection):
            self.con, self.path = store, None
        elif is_server_url(store):
            self.con, self.path = PgConnection(str(store)), redact(str(store))
        else:
            Path(store).parent.mkdir(parents=True, exist_ok=True)
            try:
                self.con, self.path = duckdb.connect(str(store)), str(store)
            except duckdb.Error as exc:
                raise DecisionError(f"cannot open store {store}: {exc}") from None
        self.lock = lock or threading.RLock()  # share the owner's lock when sharing its connection
        with self.lock:
            self.con.execute(SCHEMA.read_text())
        self._latest: dict[str, Snapshot | None] = {}
        self._commit = threading.Condition()  # group commit of decision records (append_decision)
        self._queue: list[dict] = []
        self._writing = False
        self._keys: dict[str, list] = {}  # Idempotency-Key -> [lock, users] (claim)
        self._keys_mutex = threading.Lock()

    def close(self) -> None:
        if self.path is not None:
            self.con.close()

    def __enter__(self) -> DecisionBook:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _tx(self, fn):
        with self.lock:
            self.con.execute("BEGIN TRANSACTION")
            try:
                out = fn()
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            self.con.execute("COMMIT")
            return out

    # ------------------------------------------------------------ feature snapshots
    def write_snapshots(self, table: pd.DataFrame, as_of: date, source: str) -> int:
        """Store a feature table (one row per firm, from `credit features`) as snapshots as of `as_of`."""
        drop = set(ID_COLUMNS) | {TARGET} | set(APPLICATION_FEATURES)
        cols = [c for c in table.columns if c not in drop]
        built = _now()
        rows = []
        for rec in table.to_dict("records"):
            feats = {c: _value(rec[c]) for c in cols}
            text = canonical(feats)
            fid = int(rec["firm_id"])
            sid = f"snap-{as_of.isoformat()}-{fid}-{sha256_text(text)[:12]}"
            rows.append((sid, fid, firm_code(fid), as_of, built, text, sha256_text(text), source))

        def write():
            self.con.executemany(  # upsert both engines run (DuckDB and PostgreSQL)
                "INSERT INTO credit_feature_snapshot VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (snapshot_id) DO "
                "UPDATE SET built_at = EXCLUDED.built_at, source = EXCLUDED.source", rows)
        self._tx(write)
        self._latest.clear()
        return len(rows)

    def latest_snapshot(self, uscc: str, on: date) -> Snapshot | None:
        """The firm's newest snapshot dated on or before `on` (None: the lender has no data on it)."""
        key = f"{uscc}|{on.isoformat()}"
        if key in self._latest:
            return self._latest[key]
        with self.lock:
            row = self.con.execute(
                "SELECT snapshot_id, firm_id, uscc, as_of, features FROM credit_feature_snapshot "
                "WHERE uscc = ? AND as_of <= ? ORDER BY as_of DESC LIMIT 1", [uscc, on]).fetchone()
        snap = None if row is None else Snapshot(row[0], int(row[1]), row[2], row[3], json.loads(row[4]))
        if len(self._latest) > 100_000:
            self._latest.clear()
        self._latest[key] = snap
        return snap

    def snapshot(self, snapshot_id: str) -> Snapshot:
        with self.lock:
            row = self.con.execute("SELECT snapshot_id, firm_id, uscc, as_of, features FROM credit_feature_snapshot "
                                   "WHERE snapshot_id = ?", [snapshot_id]).fetchone()
        if row is None:
            raise DecisionError(f"feature snapshot {snapshot_id} is not in the store")
        return Snapshot(row[0], int(row[1]), row[2], row[3], json.loads(row[4]))

    def firm_codes(self, limit: int = 10) -> list[str]:
        with self.lock:
            return [r[0] for r in self.con.execute(
                "SELECT DISTINCT uscc FROM credit_feature_snapshot ORDER BY uscc LIMIT ?", [limit]).fetchall()]

    # ------------------------------------------------------------ audit
    @contextmanager
    def claim(self, key: str):
        """Hold an Idempotency-Key: concurrent requests with one key run one after the other (the first
        decides and records, the others then find its record); different keys run side by side."""
        with self._keys_mutex:
            entry = self._keys.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._keys_mutex:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._keys[key]

    def append_decision(self, record: dict, *, idempotency_key: str | None = None,
                        request_sha256: str | None = None, after=None) -> dict:
        """Append one decision record to the chain (and its idempotency key) in one transaction, and
        return it once committed. `after(record)` runs inside the same transaction (e.g. booking).

        Group commit: a commit costs a disk sync (~10 ms on a VM disk), so records arriving while one is
        being written wait and are written together in the next transaction, in arrival order, each
        chained to the one before; every caller returns only after its own record is committed. A
        failing record is retried alone so it cannot take the others down with it."""
        item = {"record": record, "key": idempotency_key, "req": request_sha256, "after": after,
                "done": False, "result": None, "error": None}
        with self._commit:
            self._queue.append(item)
            while not item["done"]:
                if self._writing:
                    self._commit.wait()
                    continue
                self._writing, batch, self._queue = True, self._queue, []
                self._commit.release()
                try:
                    self._write_batch(batch)
                finally:
                    self._commit.acquire()
                    self._writing = False
                    self._commit.notify_all()
        if item["error"] is not None:
            raise item["error"]
        return item["result"]

    def _write_batch(self, batch: list[dict]) -> None:
        def write(items):
            head = self.con.execute("SELECT seq, hash FROM credit_audit_head WHERE id = 1").fetchone()
            seq, prev = (0, GENESIS) if head is None else (int(head[0]) + 1, head[1])
            out, rows, keys = [], [], []
            for it in items:
                rec = {**it["record"], "seq": seq, "prev_hash": prev}
                text = canonical(rec)
                h = sha256_text(prev + text)
                rows.append([seq, rec["decision_id"], _now(), rec["application"]["uscc"], rec["decision"], text,
                             prev, h])
                if it["key"] is not None:
                    keys.append([it["key"], it["req"], rec["decision_id"], _now()])
                out.append(rec)
                seq, prev = seq + 1, h
            self.con.executemany("INSERT INTO credit_decision VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            if keys:
                self.con.executemany("INSERT INTO credit_idempotency VALUES (?, ?, ?, ?)", keys)
            self.con.execute("INSERT INTO credit_audit_head VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE "
                             "SET seq = EXCLUDED.seq, hash = EXCLUDED.hash", [seq - 1, prev])
            for it, rec in zip(items, out, strict=True):
                if it["after"] is not None:
                    it["after"](rec)
            return out
        try:
            recs = self._tx(lambda: write(batch))
        except BaseException as exc:
            if len(batch) == 1:
                batch[0]["error"], batch[0]["done"] = exc, True
                return
            for it in batch:  # one bad record: write the others one by one
                self._write_batch([it])
            return
        for it, rec in zip(batch, recs, strict=True):
            it["result"], it["done"] = rec, True

    def record(self, decision_id: str) -> dict:
        with self.lock:
            row = self.con.execute("SELECT record FROM credit_decision WHERE decision_id = ?", [decision_id]).fetchone()
        if row is None:
            raise UnknownDecision(f"decision {decision_id} is not in the audit log")
        return json.loads(row[0])

    def last_application(self, uscc: str) -> dict | None:
        """The firm's newest recorded application (what it asked for last time), or None."""
        with self.lock:
            row = self.con.execute("SELECT record FROM credit_decision WHERE uscc = ? ORDER BY seq DESC LIMIT 1",
                                   [uscc]).fetchone()
        return None if row is None else json.loads(row[0])["application"]

    def idempotent(self, key: str) -> tuple[str, str] | None:
        with self.lock:
            row = self.con.execute("SELECT request_sha256, decision_id FROM credit_idempotency WHERE key = ?",
                                   [key]).fetchone()
        return None if row is None else (row[0], row[1])

    def verify(self) -> VerifyResult:
        """Walk the chain: every record's hash, its link to the previous one, no gaps, the head."""
        with self.lock:
            rows = self.con.execute("SELECT seq, record, prev_hash, hash FROM credit_decision ORDER BY seq").fetchall()
            head = self.con.execute("SELECT seq, hash FROM credit_audit_head WHERE id = 1").fetchone()
        problems, prev = [], GENESIS
        for i, (seq, text, prev_hash, h) in enumerate(rows):
            if seq != i:
                problems.append(f"record {i} is missing (next stored record is seq {seq})")
                break
            rec = json.loads(text)
            if prev_hash != prev or rec.get("prev_hash") != prev:
                problems.append(f"record {seq} does not link to record {seq - 1} (deleted or re-ordered)")
            if sha256_text(prev + canonical(rec)) != h or sha256_text(prev_hash + text) != h:
                problems.append(f"record {seq} ({rec.get('decision_id')}) was edited: its hash does not match")
            prev = h
        if head is None and rows:
            problems.append("the audit head is missing")
        elif head is not None and (not rows or int(head[0]) != rows[-1][0] or head[1] != prev):
            problems.append(f"the audit head says the last record is seq {head[0]}; "
                            f"the log ends at {rows[-1][0] if rows else 'nothing'} (records deleted)")
        return VerifyResult(not problems, len(rows), problems)

    # ------------------------------------------------------------ loans and reviews
    def loan_for(self, decision_id: str) -> dict | None:
        with self.lock:
            cur = self.con.execute("SELECT * FROM credit_loan WHERE decision_id = ?", [decision_id])
            row = cur.fetchone()
            names = [d[0] for d in cur.description]
        return None if row is None else dict(zip(names, row, strict=True))

    def book_loan(self, rec: dict, start: date) -> dict:
        """An accepted offer becomes a loan, once per decision."""
        if rec["decision"] != "approve":
            raise OfferNotOpen(f"decision {rec['decision_id']} is {rec['decision']}: only an approved offer "
                                "can be accepted")
        loan = self.loan_for(rec["decision_id"])
        if loan is not None:
            return loan
        term = int(rec["application"]["term_months"])
        maturity = (pd.Timestamp(start) + pd.DateOffset(months=term)).date()
        row = [f"loan-{rec['decision_id']}", rec["decision_id"], rec["application"]["uscc"],
               rec.get("firm_id"), float(rec["limit"]), float(rec["annual_rate"]), term, start, maturity,
               canonical(rec.get("programmes", [])), _now()]

        def write():
            # checked again inside the transaction: concurrent accepts of one offer book one loan
            if self.con.execute("SELECT 1 FROM credit_loan WHERE decision_id = ?", [rec["decision_id"]]).fetchone():
                return
            self.con.execute("INSERT INTO credit_loan VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        self._tx(write)
        return self.loan_for(rec["decision_id"])

    def loans(self) -> pd.DataFrame:
        with self.lock:
            return self.con.execute("SELECT * FROM credit_loan ORDER BY start_date, loan_id").df()

    def request_review(self, decision_id: str, note: str = "") -> str:
        self.record(decision_id)
        rid = f"review-{uuid.uuid4().hex[:12]}"

        def write():
            self.con.execute("INSERT INTO credit_review VALUES (?, ?, ?, ?, 'open', NULL, NULL)",
                             [rid, decision_id, _now(), note[:2000]])
        self._tx(write)
        return rid

    def reviews(self, status: str = "open") -> list[dict]:
        with self.lock:
            cur = self.con.execute(
                "SELECT r.review_id, r.decision_id, r.requested_at, r.note, r.status, d.uscc, d.decision "
                "FROM credit_review r JOIN credit_decision d USING (decision_id) WHERE r.status = ? "
                "ORDER BY r.requested_at", [status])
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def snapshot_applications(firm_ids, as_of: date) -> pd.DataFrame:
    """One placeholder application per firm dated `as_of`: the `credit features` batch then gives every
    firm-level feature as of that date (the application-time ones are added online)."""
    ids = list(firm_ids)
    return pd.DataFrame({"application_id": [f"snapshot-{as_of.isoformat()}-{i}" for i in ids], "firm_id": ids,
                         "application_date": pd.Timestamp(as_of), "amount": np.nan, "term_months": np.nan})


def build_snapshots(data_dir: str | Path, book: DecisionBook, as_of: date, firm_ids=None) -> int:
    """Run the point-in-time feature batch for every firm (or `firm_ids`) as of `as_of` into the store."""
    if firm_ids is None:
        firm_ids = pd.read_parquet(Path(data_dir) / "firms.parquet", columns=["firm_id"])["firm_id"].tolist() \
            if (Path(data_dir) / "firms.parquet").is_file() else \
            pd.read_parquet(Path(data_dir) / "firms", columns=["firm_id"])["firm_id"].tolist()
    table = build_features(data_dir, snapshot_applications(firm_ids, as_of))
    return book.write_snapshots(table, as_of, source=str(data_dir))
