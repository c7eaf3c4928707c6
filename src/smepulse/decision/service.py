"""The decision service: application in, decision out, recorded before it is answered.

submit(body, idempotency_key) validates, decides, appends the audit record (with its idempotency key,
in one transaction) and answers once that transaction has committed; a retry with the same key answers
the first decision marked `replayed`; the same key with another body is refused. submit_async is the
same for the web app's event loop. Nothing on this path reads the store: snapshots, keys, listings and
booked loans come from the book's memory, and the record is group-committed.

Idempotency-Keys: a key is either committed (in the book's memory, loaded from the store) or in flight
(`_pending`: the first request's Future, which every concurrent retry waits on), never neither, so
concurrent retries decide once. A key committed by another process at the same moment (two servers on
one PostgreSQL) is caught by the store's primary key: that record is refused and the request answers
the other process's decision as a replay.

replay(decision_id) re-runs a stored decision from its recorded inputs (snapshot, model and policy
checked by hash) and returns it for comparison. The policy comes from its recorded directory while that
still holds the recorded version, else from the version the book archived when the service loaded it
(policy directories are edited in place; models are artefacts kept by version, so the model directory
must still match).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
import time
import uuid
from concurrent.futures import Future
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from smepulse.credit.train import load_model
from smepulse.decision.application import Application, check_date, parse_application
from smepulse.decision.book import DecisionBook, canonical, sha256_text
from smepulse.decision.engine import Decision, apply_policy, decide
from smepulse.decision.errors import DecisionError, OfferExceedsExposure, OfferNotOpen
from smepulse.decision.experiment import load_experiment
from smepulse.decision.policy import Policy, files_sha256, load_policy, policy_from_files
from smepulse.decision.programmes import ProgrammeTagger

# The fields a replay must reproduce exactly (timings are measurements, not outcomes).
OUTCOME_FIELDS = ("decision", "pd", "score", "limit", "annual_rate", "reasons", "programmes", "rules_fired",
                  "band", "snapshot_id", "policy_version", "policy_sha256", "model_version", "price_components")


log = logging.getLogger(__name__)


class IdempotencyConflict(DecisionError):
    """The Idempotency-Key was already used with a different request body."""


def _conflict(key: str) -> IdempotencyConflict:
    return IdempotencyConflict(f"Idempotency-Key {key!r} was used with a different request body; "
                               "use a new key for a new application")


def directory_sha256(d: str | Path) -> str:
    """sha256 over a model directory's files (names and bytes, sorted): the model's identity."""
    h = hashlib.sha256()
    for f in sorted(p for p in Path(d).rglob("*") if p.is_file()):
        h.update(str(f.relative_to(d)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


class DecisionService:
    def __init__(self, book: DecisionBook, model_dir: str | Path, policy: Policy | str | Path | None = None,
                 *, programmes=None, clock=None, model=None, refresh_seconds: float | None = None):
        self.book = book
        self.model_dir = Path(model_dir)
        self.model = model if model is not None else load_model(self.model_dir)
        self.model_sha256 = directory_sha256(self.model_dir)
        self.policy = policy if isinstance(policy, Policy) else load_policy(policy)
        self.programmes = programmes if programmes is not None else ProgrammeTagger(book)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.experiment = load_experiment(self.policy)
        exp = self.experiment
        if exp is not None:  # the challenger arm: (model, model_dir, model_sha256, policy)
            self.challenger = (exp.model or self.model, exp.model_dir or self.model_dir,
                               directory_sha256(exp.model_dir) if exp.model_dir else self.model_sha256, exp.policy)
        book.archive_policy(self.policy)  # before any decision under it is recorded
        if exp is not None and exp.policy is not self.policy:
            book.archive_policy(exp.policy)
        self._pending: dict[str, tuple[str, Future]] = {}  # Idempotency-Key in flight -> (request sha256, answer)
        self._mutex = threading.Lock()
        self._snap_sha: dict[str, str] = {}
        book.memory  # noqa: B018 (load the hot state now, not on the first request)
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None
        if refresh_seconds:  # a long-running server: see snapshots, lists and loans other processes write
            self._refresher = threading.Thread(target=self._refresh, args=(refresh_seconds,),
                                               name="decision-book-refresh", daemon=True)
            self._refresher.start()

    def _refresh(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.book.memory.refresh()
            except Exception as exc:  # a store hiccup must not stop the refresher; the next round tries again
                if "closed" in str(exc).lower():  # the store was closed under us (the app shut down)
                    return
                log.warning("refreshing the decision book from the store failed: %s", exc)

    def close(self) -> None:
        """Stop the refresher and wait for it: closing the store under a running read fails "connection is busy"."""
        self._stop.set()
        if self._refresher is not None and self._refresher is not threading.current_thread():
            self._refresher.join(timeout=30)

    def _decide(self, app: Application, today: date):
        """(decision, snapshot, arm fields of the record, (model_dir, model_sha256, policy) used, booked exposure)."""
        snap = self.book.latest_snapshot(app.uscc, today) if app.consent.given else None
        booked = self.book.memory.booked_exposure(app.uscc, snap.as_of, today) if snap else 0.0
        used = (self.model, self.model_dir, self.model_sha256, self.policy)
        arm = {"arm": "champion", "experiment": None, "shadow": None}
        exp = self.experiment
        if exp is not None:
            hit, b = exp.in_challenger(app.uscc)
            arm["experiment"] = exp.summary(b)
            if hit and exp.mode == "split":
                used, arm["arm"] = self.challenger, "challenger"
            elif hit:  # shadow: decided and recorded, never used
                m, mdir, msha, pol = self.challenger
                s = decide(app, snap, m, pol, today=today, programmes=self.programmes, booked_exposure=booked)
                arm["shadow"] = shadow_record(s, mdir, msha, pol)
        d = decide(app, snap, used[0], used[3], today=today, programmes=self.programmes, booked_exposure=booked)
        return d, snap, arm, used[1:], booked

    def submit(self, body: dict, idempotency_key: str | None = None) -> tuple[dict, bool]:
        """(record, replayed), once the record is committed."""
        kind, x = self._begin(body, idempotency_key)
        if kind == "replay":
            return self.book.record(x), True
        rec, replayed = x.result()
        return rec, replayed or kind == "wait"

    async def submit_async(self, body: dict, idempotency_key: str | None = None) -> tuple[dict, bool]:
        """submit() for an event loop: the decision runs here (CPU only), the commit is awaited."""
        kind, x = self._begin(body, idempotency_key)
        if kind == "replay":
            return await asyncio.to_thread(self.book.record, x), True
        rec, replayed = await asyncio.wrap_future(x)
        return rec, replayed or kind == "wait"

    def _begin(self, body: dict, key: str | None) -> tuple[str, object]:
        """("replay", decision id) | ("wait", Future of the request in flight with this key) |
        ("own", Future of this request's (record, replayed))."""
        t0 = time.perf_counter_ns()
        req_hash = sha256_text(canonical(body))
        answer: Future = Future()
        if key is not None:
            if not 1 <= len(key) <= 200:
                raise DecisionError("Idempotency-Key must be 1-200 characters")
            with self._mutex:
                seen = self.book.memory.keys.get(key)
                if seen is not None:
                    if seen[0] != req_hash:
                        raise _conflict(key)
                    return "replay", seen[1]
                flight = self._pending.get(key)
                if flight is not None:
                    if flight[0] != req_hash:
                        raise _conflict(key)
                    return "wait", flight[1]
                self._pending[key] = (req_hash, answer)
        try:
            rec = self._record(body, key, req_hash, t0)
            committed = self.book.append_decision_future(rec, idempotency_key=key, request_sha256=req_hash)
        except BaseException as exc:
            self._settle(key, answer, exc=exc)
            raise
        committed.add_done_callback(lambda f: self._committed(key, req_hash, answer, f))
        return "own", answer

    def _committed(self, key: str | None, req_hash: str, answer: Future, f: Future) -> None:
        """Runs in the writer thread once the record's transaction ended."""
        exc = f.exception()
        if exc is None:
            return self._settle(key, answer, result=(f.result(), False))
        if key is not None:
            try:  # another process recorded this key meanwhile: its decision is the answer
                seen = self.book.idempotent(key)
                if seen is not None:
                    self.book.memory.add_key(key, *seen, own=False)
                    res = _conflict(key) if seen[0] != req_hash else None
                    return self._settle(key, answer, exc=res, result=None if res else (self.book.record(seen[1]), True))
            except Exception as again:  # noqa: BLE001 (answer the first error, the one the client should see)
                log.warning("idempotency look-up after a failed record: %s", again)
        self._settle(key, answer, exc=exc)

    def _settle(self, key: str | None, answer: Future, *, result=None, exc: BaseException | None = None) -> None:
        if key is not None:
            with self._mutex:
                self._pending.pop(key, None)
        if exc is not None:
            answer.set_exception(exc)
        else:
            answer.set_result(result)

    def _snapshot_sha256(self, snap) -> str:
        """sha256 of the snapshot's canonical features, once per snapshot (118 features: ~50 us each time)."""
        h = self._snap_sha.get(snap.snapshot_id)
        if h is None:
            if len(self._snap_sha) > 500_000:
                self._snap_sha.clear()
            h = self._snap_sha[snap.snapshot_id] = sha256_text(canonical(snap.features))
        return h

    def _record(self, body: dict, key: str | None, req_hash: str, t0: int) -> dict:
        """Validate and decide: the record to append (no store access)."""
        app = parse_application(body)
        now = self.clock()
        check_date(app, now.astimezone(UTC).date() if now.tzinfo else now.date(),
                   int(self.policy.settings.get("max_application_age_days", 1825)))
        today = app.application_date or now.date()
        d, snap, arm, (model_dir, model_sha, policy), booked = self._decide(app, today)
        if not d.snapshot_id:
            snap = None
        rec = {"decision_id": f"dec-{uuid.uuid4().hex}", "created_at": now.isoformat(),
               "decided_on": today.isoformat(), "application": app.model_dump(mode="json"),
               "request_sha256": req_hash, "consent": app.consent.model_dump(mode="json"),
               "firm_id": snap.firm_id if snap else None,
               "snapshot_sha256": self._snapshot_sha256(snap) if snap else None,
               "model_dir": str(model_dir), "model_sha256": model_sha,
               "policy_dir": str(policy.directory), "idempotency_key": key, "booked_exposure": booked,
               **{k: getattr(d, k) for k in OUTCOME_FIELDS}, "requested_amount": d.requested_amount, **arm}
        rec["timings_ms"] = {**d.timings_ms, "service_before_record": (time.perf_counter_ns() - t0) / 1e6}
        return rec

    def accept(self, decision_id: str, start: date | None = None) -> dict:
        """The applicant accepts an approved offer: it becomes a loan, once (a second accept answers the
        same loan). The offer is open `offer_valid_days` (policy settings, default 30) after the decision
        was recorded; the loan starts on the decision date plus the days that passed since, i.e. today for
        a live decision, and in step for a back-dated one."""
        rec = self.book.record(decision_id)
        if start is None:
            valid = int(self.policy.settings.get("offer_valid_days", 30))
            created = datetime.fromisoformat(rec["created_at"])
            waited = (self.clock().date() - created.date()).days
            if waited > valid and self.book.loan_for(decision_id) is None:
                raise OfferNotOpen(f"the offer of decision {decision_id} expired {waited - valid} days ago "
                                   f"(offers are open {valid} days): apply again")
            start = date.fromisoformat(rec["decided_on"]) + timedelta(days=max(0, waited))
        if self.book.loan_for(decision_id) is not None or rec["decision"] != "approve":
            return self.book.book_loan(rec, start)
        return self.book.book_loan(rec, start, exposure_check=self._exposure_check(rec))

    def _exposure_check(self, rec: dict):
        """(since, fits) for book_loan: the offer is re-decided by the policy that made it, on the same
        snapshot and PD, for the offered amount and the loans booked since (two offers open at once for one
        firm must not both be booked above its limits); anything but an approval of the full offer refuses."""
        snap = self.book.snapshot(rec["snapshot_id"])
        policies = [self.policy] + ([self.challenger[3]] if self.experiment is not None else [])
        policy = next((p for p in policies if p.sha256 == rec["policy_sha256"]), self.policy)
        offer = float(rec["limit"])
        app = Application.model_validate(rec["application"]).model_copy(update={"amount": offer})

        def fits(booked: float) -> None:
            out = apply_policy(app, dict(snap.features), rec["pd"], [], policy, booked_exposure=booked)
            if out["decision"] != "approve" or out["limit"] < offer:
                why = "; ".join(r["en"] for r in out.get("reasons", [])[:1])
                raise OfferExceedsExposure(
                    f"the offer of decision {rec['decision_id']} no longer fits the firm's exposure limit "
                    f"({booked:,.0f} yuan already booked{': ' + why if why else ''}): apply again")
        return snap.as_of, fits


def _model(decision_id: str, mdir: Path, sha: str, version: str | None, what: str = "model") -> Path:
    """The recorded model directory, refused unless it still holds the recorded version."""
    need = f"it needs {what} {version or '?'} (sha256 {sha[:12]}); pass --model DIR with that version"
    if not mdir.is_dir():
        raise DecisionError(f"{what} directory {mdir} of decision {decision_id} is gone: {need}")
    if directory_sha256(mdir) != sha:
        raise DecisionError(f"{what} in {mdir} is not the one decision {decision_id} used: {need}")
    return mdir


def recorded_policy(book: DecisionBook, decision_id: str, sha: str, directory: str,
                    override: str | Path | None = None) -> Policy:
    """The policy version a record names: from `override` or the recorded directory when its files hash
    to the recorded sha256, else rebuilt from the book's archive (whose content must hash to it too)."""
    if override is not None:
        policy = load_policy(override)
        if policy.sha256 != sha:
            raise DecisionError(f"policy in {policy.directory} is not the one decision {decision_id} used "
                                f"(sha256 {policy.sha256[:12]}, recorded {sha[:12]})")
        book.archive_policy(policy)  # now it is kept: later replays need no --policy
        return policy
    d = Path(directory)
    try:
        policy = load_policy(d) if d.is_dir() else None
    except DecisionError:  # the directory now holds a broken edit: the archive may still have the version
        policy = None
    if policy is not None and policy.sha256 == sha:
        return policy
    archived = book.archived_policy(sha)
    if archived is None:
        state = "is gone" if not d.is_dir() else "holds another version"
        raise DecisionError(f"policy {sha[:12]} of decision {decision_id} is not archived in the book and {d} "
                            f"{state}: pass --policy DIR with the files it used")
    if files_sha256(archived[1]) != sha:
        raise DecisionError(f"the archived policy {sha[:12]} of decision {decision_id} was altered (its files' "
                            "sha256 differs): the book is not trustworthy; `credit audit verify` lists it")
    return policy_from_files(d, archived[1])


def replay(book: DecisionBook, decision_id: str, *, model_dir: str | Path | None = None,
           policy_dir: str | Path | None = None, programmes=None) -> tuple[dict, dict]:
    """(stored outcome, replayed outcome). Refuses when the model, policy or snapshot is not the one recorded."""
    rec = book.record(decision_id)
    mdir = _model(decision_id, Path(model_dir or rec["model_dir"]), rec["model_sha256"], rec.get("model_version"))
    policy = recorded_policy(book, decision_id, rec["policy_sha256"], rec["policy_dir"], policy_dir)
    app = Application.model_validate(rec["application"])
    snap = book.snapshot(rec["snapshot_id"]) if rec["snapshot_id"] else None
    if snap is not None and sha256_text(canonical(snap.features)) != rec["snapshot_sha256"]:
        raise DecisionError(f"snapshot {snap.snapshot_id} changed since decision {decision_id}")
    booked = float(rec.get("booked_exposure") or 0.0)  # as recorded: the book's loans then, not now
    d = decide(app, snap, load_model(mdir), policy, today=date.fromisoformat(rec["decided_on"]),
               programmes=programmes if programmes is not None else ProgrammeTagger(book), booked_exposure=booked)
    if not app.consent.given:
        d.snapshot_id = None
    stored = {k: rec[k] for k in OUTCOME_FIELDS}
    again = {k: v for k, v in canonical_dict(d).items() if k in OUTCOME_FIELDS}
    sh = rec.get("shadow")
    if sh:  # the challenger's shadow decision is reproduced too, from its own recorded model and policy
        smdir = _model(decision_id, Path(sh["model_dir"]), sh["model_sha256"], sh.get("model_version"),
                       "challenger model")
        spol = recorded_policy(book, decision_id, sh["policy_sha256"], sh["policy_dir"])
        s = decide(app, snap, load_model(smdir), spol, today=date.fromisoformat(rec["decided_on"]),
                   programmes=programmes if programmes is not None else ProgrammeTagger(book), booked_exposure=booked)
        if not app.consent.given:
            s.snapshot_id = None
        stored["shadow"] = sh
        again["shadow"] = json.loads(canonical(shadow_record(s, smdir, sh["model_sha256"], spol)))
    return stored, again


def shadow_record(d: Decision, model_dir: Path, model_sha256: str, policy: Policy) -> dict:
    """The challenger's decision as written into a shadow-mode record."""
    return {**{k: getattr(d, k) for k in OUTCOME_FIELDS}, "model_dir": str(model_dir), "model_sha256": model_sha256,
            "policy_dir": str(policy.directory)}


def canonical_dict(d: Decision) -> dict:
    return json.loads(canonical(d.to_dict()))
