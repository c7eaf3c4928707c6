"""The decision service: application in, decision out, recorded before it is answered.

submit(body, idempotency_key) validates, decides, appends the audit record (with its idempotency key,
in one transaction) and answers; a retry with the same key answers the first decision marked
`replayed`; the same key with another body is refused. replay(decision_id) re-runs a stored decision
from its recorded inputs (snapshot, model and policy checked by hash) and returns it for comparison.
"""
from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from smepulse.credit.train import load_model
from smepulse.decision.application import Application, parse_application
from smepulse.decision.book import DecisionBook, canonical, sha256_text
from smepulse.decision.engine import Decision, decide
from smepulse.decision.errors import DecisionError, OfferNotOpen
from smepulse.decision.experiment import load_experiment
from smepulse.decision.policy import Policy, load_policy
from smepulse.decision.programmes import ProgrammeTagger

# The fields a replay must reproduce exactly (timings are measurements, not outcomes).
OUTCOME_FIELDS = ("decision", "pd", "score", "limit", "annual_rate", "reasons", "programmes", "rules_fired",
                  "band", "snapshot_id", "policy_version", "policy_sha256", "model_version", "price_components")


class IdempotencyConflict(DecisionError):
    """The Idempotency-Key was already used with a different request body."""


def directory_sha256(d: str | Path) -> str:
    """sha256 over a model directory's files (names and bytes, sorted): the model's identity."""
    h = hashlib.sha256()
    for f in sorted(p for p in Path(d).rglob("*") if p.is_file()):
        h.update(str(f.relative_to(d)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


class DecisionService:
    def __init__(self, book: DecisionBook, model_dir: str | Path, policy: Policy | str | Path | None = None,
                 *, programmes=None, clock=None, model=None):
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

    def _decide(self, app: Application, today: date):
        """(decision, snapshot, arm fields of the record, (model_dir, model_sha256, policy) used)."""
        snap = self.book.latest_snapshot(app.uscc, today) if app.consent.given else None
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
                s = decide(app, snap, m, pol, today=today, programmes=self.programmes)
                arm["shadow"] = shadow_record(s, mdir, msha, pol)
        d = decide(app, snap, used[0], used[3], today=today, programmes=self.programmes)
        return d, snap, arm, used[1:]

    def submit(self, body: dict, idempotency_key: str | None = None) -> tuple[dict, bool]:
        """(record, replayed)."""
        t0 = time.perf_counter_ns()
        req_hash = sha256_text(canonical(body))
        if idempotency_key is not None:
            if not 1 <= len(idempotency_key) <= 200:
                raise DecisionError("Idempotency-Key must be 1-200 characters")
            with self.book.claim(idempotency_key):  # retries of one key: check, decide and record as one step
                return self._submit_locked(body, idempotency_key, req_hash, t0)
        return self._submit_locked(body, None, req_hash, t0)

    def _submit_locked(self, body, key, req_hash, t0) -> tuple[dict, bool]:
        if key is not None:
            seen = self.book.idempotent(key)
            if seen is not None:
                if seen[0] != req_hash:
                    raise IdempotencyConflict(f"Idempotency-Key {key!r} was used with a different request body; "
                                              "use a new key for a new application")
                return self.book.record(seen[1]), True
        app = parse_application(body)
        now = self.clock()
        today = app.application_date or now.date()
        d, snap, arm, (model_dir, model_sha, policy) = self._decide(app, today)
        if not d.snapshot_id:
            snap = None
        rec = {"decision_id": f"dec-{uuid.uuid4().hex}", "created_at": now.isoformat(),
               "decided_on": today.isoformat(), "application": app.model_dump(mode="json"),
               "request_sha256": req_hash, "consent": app.consent.model_dump(mode="json"),
               "firm_id": snap.firm_id if snap else None,
               "snapshot_sha256": sha256_text(canonical(snap.features)) if snap else None,
               "model_dir": str(model_dir), "model_sha256": model_sha,
               "policy_dir": str(policy.directory), "idempotency_key": key,
               **{k: getattr(d, k) for k in OUTCOME_FIELDS}, "requested_amount": d.requested_amount, **arm}
        rec["timings_ms"] = {**d.timings_ms, "service_before_record": (time.perf_counter_ns() - t0) / 1e6}
        stored = self.book.append_decision(rec, idempotency_key=key, request_sha256=req_hash)
        return stored, False

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
        return self.book.book_loan(rec, start)


def replay(book: DecisionBook, decision_id: str, *, model_dir: str | Path | None = None,
           policy_dir: str | Path | None = None, programmes=None) -> tuple[dict, dict]:
    """(stored outcome, replayed outcome). Refuses when the model, policy or snapshot is not the one recorded."""
    rec = book.record(decision_id)
    mdir = Path(model_dir or rec["model_dir"])
    if not mdir.is_dir():
        raise DecisionError(f"model directory {mdir} of decision {decision_id} is gone; pass --model")
    if directory_sha256(mdir) != rec["model_sha256"]:
        raise DecisionError(f"model in {mdir} is not the one decision {decision_id} used (sha256 differs)")
    policy = load_policy(policy_dir or rec["policy_dir"])
    if policy.sha256 != rec["policy_sha256"]:
        raise DecisionError(f"policy in {policy.directory} is not the one decision {decision_id} used "
                            "(sha256 differs)")
    app = Application.model_validate(rec["application"])
    snap = book.snapshot(rec["snapshot_id"]) if rec["snapshot_id"] else None
    if snap is not None and sha256_text(canonical(snap.features)) != rec["snapshot_sha256"]:
        raise DecisionError(f"snapshot {snap.snapshot_id} changed since decision {decision_id}")
    d = decide(app, snap, load_model(mdir), policy, today=date.fromisoformat(rec["decided_on"]),
               programmes=programmes if programmes is not None else ProgrammeTagger(book))
    if not app.consent.given:
        d.snapshot_id = None
    stored = {k: rec[k] for k in OUTCOME_FIELDS}
    again = {k: v for k, v in canonical_dict(d).items() if k in OUTCOME_FIELDS}
    sh = rec.get("shadow")
    if sh:  # the challenger's shadow decision is reproduced too, from its own recorded model and policy
        smdir, spol = Path(sh["model_dir"]), load_policy(sh["policy_dir"])
        if directory_sha256(smdir) != sh["model_sha256"] or spol.sha256 != sh["policy_sha256"]:
            raise DecisionError(f"the challenger model or policy of decision {decision_id} changed since")
        s = decide(app, snap, load_model(smdir), spol, today=date.fromisoformat(rec["decided_on"]),
                   programmes=programmes if programmes is not None else ProgrammeTagger(book))
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
