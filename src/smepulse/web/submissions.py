"""The respondent's writes (block saves and submissions), group-committed (store/group_commit.py): the posts that
arrive within a few milliseconds are checked and written in ONE transaction by one writer thread, and each post is
answered only after the transaction holding it has committed. A burst of respondents then pays one disk sync and
about ten statements per batch, instead of fifteen statements and a sync each under the store's lock.

A batch with a submission first claims the store's response writes (the meta row every response import updates,
store.claim_response_writes: an import running meanwhile conflicts with it on DuckDB, or is waited for on
PostgreSQL, instead of both passing the duplicate check), then reads, in the same transaction, all it decides on:
the links (firm, wave), their submissions and drafts (one query), and whether the store has each submitting
firm's month already (imported: one query per wave). The posts are then taken in arrival order, so a double tap
within one batch stores one response and a save followed by a submit submits the saved answers. A batch that
fails is run once more (`once_more`), then written again one post at a time (GroupCommit), so only the posts
that conflict fail, each with the error and nothing of it stored."""
from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import duckdb
import psycopg
import pyarrow as pa

from smepulse.methodology import Methodology
from smepulse.store.group_commit import GroupCommit
from smepulse.store.postgres import PgConnection, is_server_url
from smepulse.store.store import Labels
from smepulse.web import fieldwork
from smepulse.web.db import Database, now
from smepulse.web.survey_ops import (
    INVITATION_COLUMNS,
    INVITATION_FROM,
    NOT_APPLICABLE,
    Invitation,
    invitation_of,
    missing_answers,
)

# another connection wrote the same row at the same moment (a CLI import of this firm's month, run inside the
# server on a sibling connection): DuckDB refuses the whole later transaction, PostgreSQL its statement
WRITE_CONFLICTS = (duckdb.TransactionException, psycopg.errors.SerializationFailure,
                   psycopg.errors.DeadlockDetected, psycopg.errors.UniqueViolation)
# PostgreSQL: a submit waits at most this long for the claim row an import holds (the import's whole length:
# minutes for a large file), then is answered 503 with Retry-After (web/respond.py), its answers kept in the draft
CLAIM_WAIT = "2s"
BUSY = psycopg.errors.LockNotAvailable  # the claim was not granted within CLAIM_WAIT

# what became of a post
INVALID, REFUSED, REPLAYED, SAVED, MISSING, ON_FILE, CREATED = (
    "invalid", "refused", "replayed", "saved", "missing", "on_file", "created")


def once_more(work):
    """`work()` (one store transaction), run again once after a write conflict: by then the other writer has
    committed or given up, so the second run sees its rows (and, say, finds the firm's month already imported)."""
    try:
        return work()
    except WRITE_CONFLICTS:
        return work()


@dataclass(frozen=True)
class Post:
    """One respondent's post: a block saved, or the form submitted."""
    token: str
    submit: bool
    answers: dict
    lang: str
    device: str
    block: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Outcome:
    kind: str
    inv: Invitation | None = None
    state: str = ""  # the link's fieldwork state (web/fieldwork.py)
    answers: dict = field(default_factory=dict)  # the draft's answers after this post
    missing: list = field(default_factory=list)
    done: dict | None = None  # the submission that stands: received_at, lang
    had_draft: bool = False  # a draft was saved before this post


@dataclass
class _Link:
    """A link as this batch sees it: read once, then changed by the batch's posts in arrival order."""
    inv: Invitation
    done: dict | None
    draft: dict | None  # answers, saves, block_seconds, started_at
    on_file: bool = False  # the store has the firm's month already (imported)
    saves: int = 0  # saves this batch adds to the draft
    lang: str = ""
    device: str = ""


LINKS = (f"SELECT {INVITATION_COLUMNS}, s.received_at, s.lang, d.answers, d.saves, d.block_seconds, d.started_at "
         f"FROM {INVITATION_FROM} LEFT JOIN submission s ON s.token = i.token LEFT JOIN draft d ON d.token = i.token "
         "WHERE i.token IN ({})")  # PostgreSQL (its joins use the keys' indexes)
# DuckDB: the same in two statements of key lookups. Its joins scan the joined tables whole (the panel's firms,
# every submission and draft: ~3 ms for a batch of one at 2,000 firms, growing with them); a lookup by key is
# an index scan. First the links, their submissions and drafts (by token), then their firms and waves (by key);
# each as one UNION ALL of rows padded to the same columns.
BY_TOKEN = ("SELECT 'i', token, firm_id, wave_id, NULL::TIMESTAMP, NULL::INTEGER FROM invitation WHERE token IN ({0}) "
            "UNION ALL SELECT 's', token, lang, NULL, received_at, NULL FROM submission WHERE token IN ({0}) "
            "UNION ALL SELECT 'd', token, answers, block_seconds, started_at, saves FROM draft WHERE token IN ({0})")
BY_KEY = ("SELECT 'f', firm_id, name, sector, region, size, exporter, weight, status, NULL::DATE, NULL::DATE FROM firm "
          "WHERE firm_id IN ({}) UNION ALL SELECT 'w', wave_id, survey, period, NULL, NULL, NULL, NULL, status, opens, "
          "closes FROM wave WHERE wave_id IN ({})")
ID_BLOCK = 64  # response ids taken from the sequence at a time (one statement less in most batches)
# (a correlated EXISTS on response in LINKS costs DuckDB ~10 ms; this, per wave, ~1 ms)
ON_FILE = "SELECT DISTINCT firm_id FROM response WHERE survey = ? AND period = ? AND firm_id IN ({})"
DRAFTS = ("INSERT INTO draft VALUES {} ON CONFLICT (token) DO UPDATE SET answers = excluded.answers, lang = "
          "excluded.lang, device = excluded.device, updated_at = excluded.updated_at, saves = draft.saves + "
          "excluded.saves, block_seconds = excluded.block_seconds")
# the columns of the tables a submission appends to (store/schema.sql, web/ops_schema.sql), in table order
COLUMNS = {"response": ("response_id", "survey", "period", "firm_id", "weight", "response_date", "import_id"),
           "coded_attribute": ("response_id", "dimension", "value"),  # label numbers (store.Labels)
           "coded_answer": ("response_id", "question", "answer"),
           "submission": ("token", "wave_id", "firm_id", "channel", "received_at", "started_at", "lang", "device",
                          "saves", "block_seconds")}
SMALL = 80  # parameters up to which a VALUES list costs DuckDB less CPU than an Arrow table (measured)


def _marks(n: int, width: int = 1) -> str:
    one = "?" if width == 1 else "(" + ", ".join(["?"] * width) + ")"
    return ", ".join([one] * n)


def _append(con, table: str, rows: list[list]) -> None:
    """Rows appended to one of COLUMNS' tables in one statement: a few as a multi-row VALUES (DuckDB binds each
    parameter, ~0.02 ms each), more as one Arrow table (~1.3 ms however many on DuckDB; one COPY on PostgreSQL)."""
    if not rows:
        return
    names = COLUMNS[table]
    if len(rows) * len(names) <= SMALL:
        con.execute(f"INSERT INTO {table} VALUES {_marks(len(rows), len(names))}", [x for r in rows for x in r])
        return
    data = pa.table({c: [r[k] for r in rows] for k, c in enumerate(names)})
    if isinstance(con, PgConnection):
        con.copy_in(table, names, data)
    else:
        con.from_arrow(data).insert_into(table)


def _clamp(seconds: float) -> float:
    return max(0.0, min(seconds, 3600.0))


# DuckDB: posts arriving one by one less than this apart are written two or more at a time (store/group_commit.py):
# a batch of one costs ~8 ms of CPU there, of two ~10 ms, so at 100 posts/s the writer is no longer busy all the
# time; the first post of such a batch waits at most this long for the next. PostgreSQL: none (a batch of one costs
# ~1 ms of the server's CPU)
LINGER_S = 0.015


class RespondentWriter:
    """post(Post) -> Future of its Outcome, resolved after the commit that stores it (or with the write error)."""

    def __init__(self, db: Database, m: Methodology, policy: Callable[[], fieldwork.LinkPolicy],
                 window_s: float = 0.002, linger_s: float = LINGER_S):
        self.db, self.m, self.policy = db, m, policy
        self._known: dict[str, int] = {}  # label text -> number, as of the last commit
        self._pending: dict[str, int] | None = None
        self._ids: list[int] = []  # response ids a committed batch took from the sequence and left unused
        self._ids_left: list[int] = []
        server = is_server_url(db.target)
        claim = "UPDATE meta SET value = 'web' WHERE key = 'responses_written'"
        # on PostgreSQL the wait for the claim is bounded (CLAIM_WAIT), then back to the server's setting
        self._claim = (f"SET LOCAL lock_timeout = '{CLAIM_WAIT}'; {claim}; SET LOCAL lock_timeout = DEFAULT"
                       if server else claim)
        self._group = GroupCommit(lambda posts: once_more(lambda: self._write(posts)), window_s,
                                  name="respondent writer", linger_s=0.0 if server else linger_s,
                                  fail_whole=(BUSY,))

    def post(self, p: Post) -> Future:
        return self._group.submit(p)

    def waiting(self) -> int:
        """Posts queued behind the batch being written."""
        return self._group.waiting()

    def close(self) -> None:
        """Write what is queued, then stop the writer thread."""
        self._group.close()

    def _write(self, posts: list[Post]) -> list[Outcome]:
        policy, t = self.policy(), now()
        self._pending, self._ids_left = None, self._ids
        with self.db.transaction() as con:
            if any(p.submit for p in posts):  # before reading: on PostgreSQL an import's rows are seen after it
                con.execute(self._claim)
            links = self._links(con, posts)
            self._mark_on_file(con, [links[p.token] for p in posts if p.submit and p.token in links])
            out = [self._take(p, links.get(p.token), policy, t) for p in posts]
            self._store(con, links, list(zip(posts, out, strict=True)), t)
        # committed
        if self._pending is not None:
            self._known = dict(self._pending)
        self._ids = self._ids_left
        return out

    @staticmethod
    def _links(con, posts: list[Post]) -> dict[str, _Link]:
        tokens = list(dict.fromkeys(p.token for p in posts))
        links = {}
        rows = (con.execute(LINKS.format(_marks(len(tokens))), tokens).fetchall() if isinstance(con, PgConnection)
                else RespondentWriter._lookups(con, tokens))
        for row in rows:
            received, lang, answers, saves, secs, started = row[15:]
            links[row[0]] = _Link(invitation_of(row[:15]), None if received is None else
                                  {"received_at": received, "lang": lang},
                                  None if answers is None else {"answers": json.loads(answers), "saves": saves,
                                                                "block_seconds": json.loads(secs),
                                                                "started_at": started})
        return links

    @staticmethod
    def _lookups(con, tokens: list[str]) -> list[tuple]:
        """LINKS' rows, from BY_TOKEN and BY_KEY (DuckDB)."""
        links, subs, drafts = {}, {}, {}
        for kind, tok, a, b, at, n in con.execute(BY_TOKEN.format(_marks(len(tokens))), tokens * 3).fetchall():
            if kind == "i":
                links[tok] = (a, b)
            elif kind == "s":
                subs[tok] = (at, a)
            else:
                drafts[tok] = (a, n, b, at)
        if not links:
            return []
        firm_ids = list(dict.fromkeys(f for f, _ in links.values()))
        wave_ids = list(dict.fromkeys(w for _, w in links.values()))
        firms, waves = {}, {}
        for kind, key, *rest in con.execute(BY_KEY.format(_marks(len(firm_ids)), _marks(len(wave_ids))),
                                            [*firm_ids, *wave_ids]).fetchall():
            if kind == "f":
                firms[key] = tuple(rest[:7])
            else:  # survey, period, opens, closes, status
                waves[key] = (rest[0], rest[1], rest[7], rest[8], rest[6])
        return [(tok, f, *firms[f], w, *waves[w], *subs.get(tok, (None, None)), *drafts.get(tok, (None,) * 4))
                for tok, (f, w) in links.items() if f in firms and w in waves]

    @staticmethod
    def _mark_on_file(con, submitting: list[_Link]) -> None:
        """Which firms' months the store has already (imported): read after the claim."""
        by_month: dict[tuple[str, str], dict[str, _Link]] = {}
        for link in submitting:
            if link.done is None:
                by_month.setdefault((link.inv.wave.survey, link.inv.wave.period), {})[link.inv.firm_id] = link
        for (survey, period), firms in by_month.items():
            for (firm,) in con.execute(ON_FILE.format(_marks(len(firms))), [survey, period, *firms]).fetchall():
                firms[firm].on_file = True

    def _take(self, p: Post, link: _Link | None, policy, t) -> Outcome:
        """The post's outcome, in the order the checks always ran; the link's state moves on with it."""
        if link is None or (not link.inv.active and link.done is None):
            return Outcome(INVALID)
        inv, state = link.inv, policy.state(link.inv.wave)
        if state == fieldwork.EXPIRED:
            return Outcome(REFUSED, inv, state)
        if link.done is not None:  # a double tap or a retry: the first submission stands
            return Outcome(REPLAYED, inv, state, done=link.done)
        had_draft = link.draft is not None
        if state != fieldwork.OPEN:  # nothing is saved, and the draft saved in time stays as it was
            return Outcome(REFUSED, inv, state, had_draft=had_draft)
        merged = {**(link.draft or {}).get("answers", {}), **p.answers}
        missing = missing_answers(self.m, merged) if p.submit else []
        if not p.submit or missing:  # a save; a submit with answers missing saves what it has
            self._save(link, p, merged, t)
            return Outcome(MISSING if missing else SAVED, inv, state, merged, missing, had_draft=had_draft)
        if link.on_file:
            return Outcome(ON_FILE, inv, state, merged)
        link.done = {"received_at": t, "lang": p.lang}
        return Outcome(CREATED, inv, state, merged, done=link.done, had_draft=had_draft)

    @staticmethod
    def _save(link: _Link, p: Post, merged: dict, t) -> None:
        draft = link.draft or {"saves": 0, "block_seconds": {}, "started_at": t}
        secs = dict(draft["block_seconds"])
        if p.block:
            secs[p.block] = round(secs.get(p.block, 0.0) + _clamp(p.seconds), 1)
        link.draft = {**draft, "answers": merged, "saves": draft["saves"] + 1, "block_seconds": secs}
        link.saves, link.lang, link.device = link.saves + 1, p.lang, p.device

    def _labels(self, con, texts: set[str]) -> dict[str, int]:
        """Label numbers of `texts` (store.Labels, after the claim): from the numbers known at the last commit
        when it has them all (a number never changes), else read from the store, adding new texts; kept for later
        batches only once this one commits (a batch rolled back takes its new numbers with it)."""
        if texts <= self._known.keys():
            return self._known
        labels = Labels(con)
        labels.add(sorted(texts))
        self._pending = labels.ids
        return labels.ids

    def _response_ids(self, con, n: int) -> list[int]:
        """n response ids (store/schema.sql's sequence): those a committed batch took and left, then a block of
        ID_BLOCK or more; what is left is kept for later batches only once this one commits (a nextval rolled
        back with its transaction may be handed out again)."""
        have = list(self._ids)
        if len(have) < n:
            have += [r[0] for r in con.execute("SELECT nextval('response_id_seq') FROM generate_series(1, ?)",
                                               [max(ID_BLOCK, n - len(have))]).fetchall()]
        self._ids_left = have[n:]
        return have[:n]

    def _store(self, con, links: dict[str, _Link], taken: list[tuple[Post, Outcome]], t) -> None:
        drafts = [[tok, json.dumps(k.draft["answers"]), k.lang, k.device, k.draft["started_at"], t, k.saves,
                   json.dumps(k.draft["block_seconds"])] for tok, k in links.items() if k.saves]
        if drafts:
            con.execute(DRAFTS.format(_marks(len(drafts), 8)), [x for r in drafts for x in r])
        created = [(p, o) for p, o in taken if o.kind == CREATED]
        if not created:
            return
        ids = self._response_ids(con, len(created))
        responses, attrs, given, subs, per_wave = [], [], [], [], {}
        texts = {x for _, o in created for pair in [*o.inv.attributes.items(), *o.answers.items()] for x in pair}
        label = self._labels(con, texts)
        for rid, (p, o) in zip(ids, created, strict=True):
            inv, draft = o.inv, links[o.inv.token].draft
            wave = inv.wave
            responses.append([rid, wave.survey, wave.period, inv.firm_id, inv.weight, t.date(), f"web-{wave.wave_id}"])
            attrs += [[rid, label[d], label[v]] for d, v in inv.attributes.items() if d in self.m.classifications]
            answered = [[rid, label[q], label[a]] for q, a in o.answers.items() if a != NOT_APPLICABLE]
            given += answered
            subs.append([inv.token, wave.wave_id, inv.firm_id, "web", t, draft["started_at"] if draft else t,
                         p.lang, p.device, draft["saves"] if draft else 0,
                         json.dumps(draft["block_seconds"]) if draft else "{}"])
            n, k = per_wave.get(wave.wave_id, (0, 0))
            per_wave[wave.wave_id] = (n + 1, k + len(answered))
        for table, rows in (("response", responses), ("coded_attribute", attrs), ("coded_answer", given),
                            ("submission", subs)):
            _append(con, table, rows)
        for wave_id, (n, k) in per_wave.items():
            con.execute("UPDATE import_log SET rows = rows + ?, answers = answers + ? WHERE import_id = ?",
                        [n, k, f"web-{wave_id}"])
