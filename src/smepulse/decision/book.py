"""The decision book in the store: feature snapshots, the hash-chained audit of decisions, idempotency
keys, loans and review requests. One store connection guarded by a lock (DuckDB has one writer); what a
decision reads (snapshots, keys, listings, booked loans) is held in memory (decision/memory.py) and
records are group-committed by one writer thread (decision/commit.py).

Audit chain: record_n.hash = sha256(prev_hash || canonical JSON of record_n), prev_hash of the first
record is 64 zeros, and credit_audit_head holds the last (seq, hash), written in the same transaction,
so editing, deleting or re-ordering any record (the last one too) breaks `verify()`.

Policy versions: every policy the service runs is archived in credit_policy_version under its sha256
(its files' text, written once), so a record stays replayable after the analyst edits the directory;
`verify()` also checks every record's policy is archived and every archived version still hashes to its key.
"""
from __future__ import annotations

import hashlib
import json
import math
import threading
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from smepulse.credit.features import ID_COLUMNS, TARGET, build_features
from smepulse.decision.commit import GroupCommit
from smepulse.decision.engine import APPLICATION_FEATURES, Snapshot
from smepulse.decision.errors import DecisionError, OfferNotOpen, UnknownDecision
from smepulse.decision.memory import BookMemory
from smepulse.decision.policy import Policy, files_sha256
from smepulse.decision.uscc import firm_code
from smepulse.store.postgres import PgConnection, is_server_url, meta_value, redact

GENESIS = "0" * 64
REVIEW_OUTCOMES = ("upheld", "revised")  # the automated decision stands / the reviewer changed it
SCHEMA = Path(__file__).with_name("schema.sql")
SCHEMA_SHA = hashlib.sha256(SCHEMA.read_bytes()).hexdigest()
_SCHEMA_LOCK = 0x63726564  # pg_advisory_xact_lock key while the book's tables are created ("cred")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def canonical(obj) -> str:
    """The one JSON text a record is hashed as: sorted keys, no NaN (None), compact."""
    return json.dumps(_clean(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _clean(v):
    t = type(v)  # the plain JSON types first, by exact type (a record is mostly these): ~3x faster, same text
    if t is str or t is int or t is bool or v is None:
        return v
    if t is float:
        return v if math.isfinite(v) else None
    if t is dict:
        return {k if type(k) is str else str(k): _clean(x) for k, x in v.items()}
    if t is list:
        return [_clean(x) for x in v]
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


def _files_sha(text: str) -> str | None:
    """The policy sha256 of an archived row's files (None: not a {name: text} object)."""
    try:
        files = json.loads(text)
        return files_sha256(files) if isinstance(files, dict) and all(isinstance(v, str) for v in files.values()) \
            else None
    except (json.JSONDecodeError, AttributeError):
        return None


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _insert_rows(con, table: str, rows: list[list], chunk: int = 64) -> None:
    """Multi-row INSERT ... VALUES (?, ...), (?, ...) with bound parameters: one statement for many rows
    (DuckDB's executemany runs one statement per row, ~1 ms each on a busy machine). `table` is one of
    ours, never user input."""
    if table not in ("credit_decision", "credit_idempotency"):
        raise ValueError(f"not a decision table: {table!r}")
    for i in range(0, len(rows), chunk):
        part = rows[i:i + chunk]
        marks = "(" + ", ".join("?" * len(part[0])) + ")"
        con.execute(f'INSERT INTO "{table}" VALUES ' + ", ".join([marks] * len(part)),
                    [v for r in part for v in r])


def _pg_schema(con: PgConnection) -> None:
    """The book's tables on PostgreSQL: the DDL runs only when the fingerprint of schema.sql stored in
    credit_book_meta differs (a new database, an upgraded smepulse), as the store's own DDL (store/postgres.py):
    CREATE INDEX IF NOT EXISTS takes a SHARE lock on credit_decision and ALTER TABLE ... ADD COLUMN IF NOT
    EXISTS an ACCESS EXCLUSIVE lock on credit_review even when nothing changes, so every CLI command opening
    the book would wait for a running server's group commit, and stall the decisions queued behind it."""
    if meta_value(con, "credit_book_meta", "ddl_sha256") == SCHEMA_SHA:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("SELECT pg_advisory_xact_lock(?)", [_SCHEMA_LOCK])  # one creator at a time
        con.execute(SCHEMA.read_text())
        con.execute("CREATE TABLE IF NOT EXISTS credit_book_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
        con.execute("DELETE FROM credit_book_meta WHERE key = ?", ["ddl_sha256"])
        con.execute("INSERT INTO credit_book_meta VALUES (?, ?)", ["ddl_sha256", SCHEMA_SHA])
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _one_statement(n_records: int, n_keys: int, first: bool) -> str:
    """A batch's whole write as one PostgreSQL statement (one implicit transaction in autocommit): the records,
    their Idempotency-Keys and the audit head (INSERT for the first record, else UPDATE), with bound parameters
    (records x 8, keys x 4, then the head's seq and hash). A primary-key clash anywhere fails all of it."""
    mark = lambda n: "(" + ", ".join("?" * n) + ")"  # noqa: E731
    parts = ["d AS (INSERT INTO credit_decision VALUES " + ", ".join([mark(8)] * n_records) + ")"]
    if n_keys:
        parts.append("k AS (INSERT INTO credit_idempotency VALUES " + ", ".join([mark(4)] * n_keys) + ")")
    head = ("INSERT INTO credit_audit_head VALUES (1, ?, ?)" if first
            else "UPDATE credit_audit_head SET seq = ?, hash = ? WHERE id = 1")
    return "WITH " + ", ".join(parts) + " " + head


# DuckDB: how long the first record of a batch waits for a second when decisions come at a steady rate
# (docs/benchmarks.md, "Credit decisions"): at 200/s they come ~5 ms apart
DUCKDB_LINGER_MS = 6.0
DUCKDB_LINGER_WINDOW_MS = 0.5  # then from the second: the third comes ~5 ms later, waiting longer only adds latency


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    problems: list[str]
    unarchived: dict[str, int] = field(default_factory=dict)  # policy sha256 -> records (not tampering: older)


class DecisionBook:
    """Decision tables in a store file (or an open DuckDB connection, e.g. the web app's store)."""

    def __init__(self, store: str | Path | duckdb.DuckDBPyConnection | PgConnection, lock=None, *,
                 commit_window_ms: float | None = None, commit_linger_ms: float | None = None):
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
            if isinstance(self.con, PgConnection):
                _pg_schema(self.con)
            else:
                self.con.execute(SCHEMA.read_text())
        self._latest: dict[str, Snapshot | None] = {}  # back-dated look-ups (older than the newest snapshot)
        if commit_window_ms is None:  # how long the first record of a batch waits for others (docs/benchmarks.md):
            # PostgreSQL's batch is one cheap statement (~0.2 ms of CPU) and its commit waits for the disk, which
            # batches what arrives meanwhile anyway; DuckDB's costs 3-4 ms of CPU whatever its size
            commit_window_ms = 0.5 if isinstance(self.con, PgConnection) else 2.0
        if commit_linger_ms is None:  # DuckDB, decisions arriving at a steady rate: the first waits this long for a
            # second, so that two or more share a transaction (~2-3 ms of CPU whatever its size); PostgreSQL: none
            commit_linger_ms = 0.0 if isinstance(self.con, PgConnection) else DUCKDB_LINGER_MS
        self._group = GroupCommit(self._write_records, commit_window_ms / 1000, linger_s=commit_linger_ms / 1000,
                                  linger_window_s=DUCKDB_LINGER_WINDOW_MS / 1000)
        self._memory: BookMemory | None = None
        self._memory_lock = threading.Lock()
        self._head: tuple[int, str] | None = None  # the audit head after this book's last commit

    @property
    def memory(self) -> BookMemory:
        """The book's hot state, loaded from the store on first use."""
        if self._memory is None:
            with self._memory_lock:
                if self._memory is None:
                    self._memory = BookMemory(self.con)
        return self._memory

    def close(self) -> None:
        self._group.close()
        if self._memory is not None:
            self._memory.close()
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
        return self._write_snapshot_rows(rows)

    def _write_snapshot_rows(self, rows: list[tuple]) -> int:
        """rows: (snapshot_id, firm_id, uscc, as_of, built_at, features JSON, sha256, source)."""

        def write():
            self.con.executemany(  # upsert both engines run (DuckDB and PostgreSQL)
                "INSERT INTO credit_feature_snapshot VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (snapshot_id) DO "
                "UPDATE SET built_at = EXCLUDED.built_at, source = EXCLUDED.source", rows)
        self._tx(write)
        self._latest.clear()
        if self._memory is not None:
            self._memory.add_snapshot_rows([(r[0], r[1], r[2], r[3], r[5], r[4]) for r in rows])
        return len(rows)

    def latest_snapshot(self, uscc: str, on: date) -> Snapshot | None:
        """The firm's newest snapshot dated on or before `on` (None: the lender has no data on it).
        From memory (the firm's newest snapshot, or none: an unknown firm); only an application dated
        before the newest snapshot reads the store."""
        newest = self.memory.newest_snapshot(uscc)
        if newest is None or newest.as_of <= on:
            return newest
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
    def append_decision(self, record: dict, *, idempotency_key: str | None = None,
                        request_sha256: str | None = None, after=None) -> dict:
        """Append one decision record to the chain (and its idempotency key) and return it once committed.
        `after(record)` runs inside the same transaction (e.g. booking)."""
        return self.append_decision_future(record, idempotency_key=idempotency_key, request_sha256=request_sha256,
                                           after=after).result()

    def append_decision_future(self, record: dict, *, idempotency_key: str | None = None,
                               request_sha256: str | None = None, after=None) -> Future:
        """The same, answered as a Future that resolves once the record is committed (group commit:
        the records arriving within a few ms are written in one transaction, in arrival order, each
        chained to the one before)."""
        return self._group.submit({"record": record, "key": idempotency_key, "req": request_sha256, "after": after})

    def _write_records(self, items: list[dict]) -> list[dict]:
        """One transaction: the records (chained from the head), their keys, the new head. The head is
        remembered between batches; after a failure it is read again (another process on the same
        PostgreSQL may have appended: its seq makes our insert fail on the primary key, never fork)."""
        # PostgreSQL, no `after`: the whole transaction is one statement (data-modifying CTEs, autocommit), one
        # round trip instead of five (BEGIN, two INSERTs, the head, COMMIT): ~0.3 ms less CPU a batch here
        one_statement = isinstance(self.con, PgConnection) and all(it["after"] is None for it in items)

        def write():
            head = self._head or self.con.execute("SELECT seq, hash FROM credit_audit_head WHERE id = 1").fetchone()
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
            if one_statement:
                self.con.execute(_one_statement(len(rows), len(keys), head is None),
                                 [v for r in rows for v in r] + [v for k in keys for v in k] + [seq - 1, prev])
                return out, (seq - 1, prev)
            _insert_rows(self.con, "credit_decision", rows)
            _insert_rows(self.con, "credit_idempotency", keys)
            if head is None:  # the first record; later an UPDATE (DuckDB's upsert costs twice its CPU)
                self.con.execute("INSERT INTO credit_audit_head VALUES (1, ?, ?)", [seq - 1, prev])
            else:
                self.con.execute("UPDATE credit_audit_head SET seq = ?, hash = ? WHERE id = 1", [seq - 1, prev])
            for it, rec in zip(items, out, strict=True):
                if it["after"] is not None:
                    it["after"](rec)
            return out, (seq - 1, prev)
        self._head = None  # unknown until this transaction commits
        if one_statement:
            with self.lock:
                out, self._head = write()
        else:
            out, self._head = self._tx(write)
        if self._memory is not None:  # committed: later retries find the key in memory
            for it, rec in zip(items, out, strict=True):
                if it["key"] is not None:
                    self._memory.add_key(it["key"], it["req"], rec["decision_id"])
        return out

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
        policies, unarchived = self._check_archive(rows)
        problems += policies
        return VerifyResult(not problems, len(rows), problems, unarchived)

    # ------------------------------------------------------------ policy versions
    def archive_policy(self, policy: Policy) -> None:
        """Keep this policy version's files under its sha256 (once: a version already archived is left as is)."""
        if not policy.files:
            return
        text = canonical(policy.files)
        self._tx(lambda: self.con.execute(
            "INSERT INTO credit_policy_version VALUES (?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
            [policy.sha256, policy.version, str(policy.directory), text, _now()]))

    def archived_policy(self, sha256: str) -> tuple[str, dict[str, str]] | None:
        """(directory it came from, {file name: text}) of an archived policy version, or None."""
        with self.lock:
            row = self.con.execute("SELECT directory, files FROM credit_policy_version WHERE sha256 = ?",
                                   [sha256]).fetchone()
        return None if row is None else (row[0], json.loads(row[1]))

    def _check_archive(self, rows) -> tuple[list[str], dict[str, int]]:
        """(problems: archived versions whose content no longer hashes to their key, {policy sha256 of
        records with no archived version: how many records})."""
        with self.lock:
            archived = dict(self.con.execute("SELECT sha256, files FROM credit_policy_version").fetchall())
        problems = [f"archived policy {sha[:12]} was altered: its files' sha256 is not {sha[:12]}"
                    for sha, files in sorted(archived.items()) if _files_sha(files) != sha]
        missing: dict[str, int] = {}
        for _seq, text, _prev, _h in rows:
            rec = json.loads(text)
            for sha in (rec.get("policy_sha256"), (rec.get("shadow") or {}).get("policy_sha256")):
                if sha and sha not in archived:
                    missing[sha] = missing.get(sha, 0) + 1
        return problems, missing

    # ------------------------------------------------------------ loans and reviews
    def loan_for(self, decision_id: str) -> dict | None:
        with self.lock:
            cur = self.con.execute("SELECT * FROM credit_loan WHERE decision_id = ?", [decision_id])
            row = cur.fetchone()
            names = [d[0] for d in cur.description]
        return None if row is None else dict(zip(names, row, strict=True))

    def book_loan(self, rec: dict, start: date, *, exposure_check=None) -> dict:
        """An accepted offer becomes a loan, once per decision. `exposure_check` = (since, fits): inside the
        booking transaction, fits(booked) gets the principal of the firm's loans in this book that started
        on or after `since` and are not matured at `start`, and raises to refuse (nothing is booked)."""
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
            if exposure_check is not None:  # read in this transaction: loans booked since the decision count
                since, fits = exposure_check
                if isinstance(self.con, PgConnection):  # servers sharing one database: one accept per firm at a time
                    self.con.execute("SELECT pg_advisory_xact_lock(hashtext(?))", [rec["application"]["uscc"]])
                fits(float(self.con.execute(
                    "SELECT COALESCE(SUM(amount), 0) FROM credit_loan WHERE uscc = ? AND start_date >= ? "
                    "AND maturity_date > ?", [rec["application"]["uscc"], since, start]).fetchone()[0]))
            self.con.execute("INSERT INTO credit_loan VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        self._tx(write)
        loan = self.loan_for(rec["decision_id"])
        if self._memory is not None:
            self._memory.add_loan(loan["loan_id"], loan["uscc"], loan["start_date"], loan["maturity_date"],
                                  loan["amount"])
        return loan

    def loans(self) -> pd.DataFrame:
        with self.lock:
            return self.con.execute("SELECT * FROM credit_loan ORDER BY start_date, loan_id").df()

    def request_review(self, decision_id: str, note: str = "") -> str:
        """A human review of the decision (PIPL art. 24): one open request per decision (a second tap while
        one is open answers the same request)."""
        self.record(decision_id)
        rid = f"review-{uuid.uuid4().hex[:12]}"

        def write():
            row = self.con.execute("SELECT review_id FROM credit_review WHERE decision_id = ? AND status = 'open'",
                                   [decision_id]).fetchone()
            if row is not None:
                return row[0]
            self.con.execute("INSERT INTO credit_review VALUES (?, ?, ?, ?, 'open', NULL, NULL, NULL, NULL)",
                             [rid, decision_id, _now(), note[:2000]])
            return rid
        return self._tx(write)

    def resolve_review(self, review_id: str, outcome: str, reviewer: str, note: str = "") -> dict:
        """Close an open review with its outcome (REVIEW_OUTCOMES), who resolved it and when."""
        if outcome not in REVIEW_OUTCOMES:
            raise DecisionError(f"review outcome {outcome!r} is not one of {', '.join(REVIEW_OUTCOMES)}")

        def write():
            row = self.con.execute("SELECT status FROM credit_review WHERE review_id = ?", [review_id]).fetchone()
            if row is None:
                raise UnknownDecision(f"review {review_id} is not in the book")
            if row[0] != "open":
                raise DecisionError(f"review {review_id} is already {row[0]}")
            self.con.execute("UPDATE credit_review SET status = 'resolved', reviewer = ?, resolved_at = ?, "
                             "outcome = ?, resolution_note = ? WHERE review_id = ?",
                             [reviewer, _now(), outcome, note[:2000], review_id])
        self._tx(write)
        return next(r for r in self.reviews("resolved") if r["review_id"] == review_id)

    def reviews(self, status: str = "open") -> list[dict]:
        with self.lock:
            cur = self.con.execute(
                "SELECT r.review_id, r.decision_id, r.requested_at, r.note, r.status, r.reviewer, r.resolved_at, "
                "r.outcome, r.resolution_note, d.uscc, d.decision "
                "FROM credit_review r JOIN credit_decision d USING (decision_id) WHERE r.status = ? "
                "ORDER BY r.requested_at", [status])
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def review_of(self, decision_id: str) -> dict | None:
        """The decision's newest review request (open or resolved), or None."""
        with self.lock:
            cur = self.con.execute("SELECT review_id, status, reviewer, resolved_at, outcome, resolution_note "
                                   "FROM credit_review WHERE decision_id = ? ORDER BY requested_at DESC LIMIT 1",
                                   [decision_id])
            row = cur.fetchone()
            names = [d[0] for d in cur.description]
        return None if row is None else dict(zip(names, row, strict=True))


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
