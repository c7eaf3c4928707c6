"""DuckDB-backed store. SQL is kept to what PostgreSQL also runs, so a server backend can share the schema."""
from __future__ import annotations

import os
import re
import threading
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from smepulse.errors import StoreError
from smepulse.index.engine import COLUMNS, IndexResult
from smepulse.methodology import Methodology
from smepulse.survey.responses import ROW, Responses
from smepulse.survey.sql import quote_ident

SCHEMA_VERSION = "3"
SERIES_COLUMNS = COLUMNS
HERE = Path(__file__).parent
# Responses written at a time: memory stays bounded, statements stay few. Two of DuckDB's row groups (122,880
# rows): each append fills whole row groups (a partial one left after every append wastes a third of the file).
IMPORT_BATCH = 2 * 122_880
# stored version -> (next version, the SQL that moves it)
MIGRATIONS = {"1": ("2", HERE / "migrate_1_to_2.sql"), "2": ("3", HERE / "migrate_2_to_3.sql")}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


class Store:
    """One store file. `read_only=True` (every command that only reads) opens the file without a write lock
    and without creating or migrating anything, so a store on read-only media or shared with a running
    writer can be read; writing through such a store fails with a clear error."""

    def __init__(self, path: str | Path, read_only: bool = False):
        self.path = str(path)
        self.read_only = read_only
        self._depth = 0  # nesting of transaction()
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            held = re.search(r"Conflicting lock is held in .*?\(PID (\d+)\)", str(exc))
            if held:  # one process holds a DuckDB file (a running `smepulse serve` takes the CLI's commands)
                raise StoreError(f"store {self.path} is held by another process (PID {held[1]}): wait for it to "
                                 "finish or stop it; while `smepulse serve` holds a store, the CLI sends its "
                                 "commands to that server (docs/web.md), and a store on PostgreSQL "
                                 "(--db postgresql://...) is shared by any number of processes") from None
            raise StoreError(f"cannot open store {self.path}: {_one_line(exc)}") from None
        try:
            self._check_schema()
        except BaseException:
            self.con.close()
            raise

    def _check_schema(self) -> None:
        if self.read_only:
            try:
                rows = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
            except duckdb.CatalogException:
                raise StoreError(f"{self.path} is not a smepulse store (it has no meta table); import "
                                 "responses or publish into it first") from None
            if not rows:
                raise StoreError(f"{self.path} is not a smepulse store (no schema version recorded)")
        else:
            with self.transaction():
                rows = [(create_or_migrate(self.con, self.path),)]
        if rows[0][0] != SCHEMA_VERSION:
            older = "; a command that writes to it (import, publish) brings it up to date" \
                if rows[0][0] in MIGRATIONS else ""
            raise StoreError(f"store {self.path} has schema version {rows[0][0]}, this smepulse needs "
                             f"{SCHEMA_VERSION}{older}")

    def close(self) -> None:
        self.con.close()

    def sibling(self, read_only: bool = False) -> Store:
        """The same database on a connection of its own (DuckDB `cursor()`): its own transactions (MVCC beside
        this one's, so a long publish does not stop other writers), its own temporary tables. Close it after use;
        that leaves this store open."""
        other = object.__new__(type(self))
        other.path, other.read_only, other._depth = self.path, read_only, 0
        other.con = self.con.cursor()
        return other

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------
    @contextmanager
    def transaction(self):
        """All writes inside happen together or not at all (nested uses join the outer transaction).

        A failure to commit (disk full, file size limit, I/O error) leaves the store as it was before and is
        reported as a StoreError."""
        if self.read_only:
            raise StoreError(f"store {self.path} was opened read-only; this command cannot write to it")
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        try:
            self.con.execute("BEGIN TRANSACTION")
        except duckdb.Error as exc:
            raise StoreError(f"cannot write to store {self.path}: {_one_line(exc)}") from None
        self._depth = 1
        try:
            yield self
        except BaseException as exc:
            self._depth = 0
            try:
                self.con.execute("ROLLBACK")
            except duckdb.Error:  # the transaction was already aborted by the failure
                pass
            self._restore_threads()
            if isinstance(exc, duckdb.IOException):  # a large write spills to the file before the commit
                raise StoreError(f"could not write to store {self.path} ({_one_line(exc)}); nothing was stored, "
                                 "the store is as it was before: free disk space (or fix the error) and run the "
                                 "command again") from None
            raise
        self._depth = 0
        try:
            self.con.execute("COMMIT")
        except duckdb.Error as exc:
            try:
                self.con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            self._restore_threads()
            raise StoreError(f"could not write to store {self.path} ({_one_line(exc)}); nothing was stored, "
                             "the store is as it was before: free disk space (or fix the error) and run the "
                             "command again") from None

    def _transaction(self, fn):
        with self.transaction():
            return fn()

    def _restore_threads(self) -> None:
        """After a rollback: the thread count an aborted import could not set back (one_thread)."""
        threads = vars(self).pop("_threads_after_rollback", None)
        if threads is not None:
            self.con.execute(f"SET threads = {threads}")

    def save_methodology(self, m: Methodology) -> None:
        text = Path(m.source_file).read_text(encoding="utf-8") if m.source_file else ""
        with self.transaction():
            rows = self.con.execute("SELECT sha256 FROM methodology WHERE name = ? AND version = ?",
                                    [m.name, m.version]).fetchall()
            row = rows[0] if rows else None
            if row is None:
                self.con.execute("INSERT INTO methodology VALUES (?, ?, ?, ?, ?)",
                                 [m.name, m.version, m.sha256, text, _now()])
            elif row[0] != m.sha256:
                raise StoreError(f"methodology {m.name} version {m.version} is already stored with different "
                                 "content; give the changed file a new version")

    def import_responses(self, resp: Responses, survey: str | None = None, replace: bool = False) -> str:
        """All-or-nothing import. Existing (survey, period, firm) rows are an error unless `replace`.

        The responses stream through in batches of IMPORT_BATCH rows (memory stays bounded); each batch is
        numbered from the sequence, its names and values turned into label numbers in Arrow, and each of its
        questions and dimensions appended as one run of (response_id, name, value) rows: consecutive ids and
        small numbers, which DuckDB bit-packs into a few bits per answer."""
        survey = survey or resp.methodology.name
        import_id = uuid.uuid4().hex[:12]

        def write() -> int:
            claim_response_writes(self, import_id)
            keys = resp.con.sql(f"SELECT period, firm_id, {ROW} FROM {quote_ident(resp.table)}").to_arrow_table()
            self.con.register("_keys", keys)
            clash = self.con.execute(
                f"SELECT k.firm_id, k.period, k.{ROW} FROM _keys k JOIN response r ON r.survey = ? AND "
                f"r.period = k.period AND r.firm_id = k.firm_id ORDER BY k.{ROW} LIMIT 5", [survey]).fetchall()
            if clash and not replace:
                raise StoreError(clash_message(resp, clash))
            if clash:
                self.con.execute("CREATE OR REPLACE TEMP TABLE _replaced AS SELECT r.response_id FROM response r "
                                 "JOIN _keys k ON r.survey = ? AND r.period = k.period AND r.firm_id = k.firm_id",
                                 [survey])
                for table in ("coded_answer", "coded_attribute", "response"):
                    self.con.execute(f"DELETE FROM {table} WHERE response_id IN (SELECT response_id FROM _replaced)")
                self.con.execute("DROP TABLE _replaced")
            self.con.unregister("_keys")
            labels = Labels(self.con, resp)
            answers = 0
            with one_thread(self):
                for batch in response_batches(resp, self.con, *labels.coded_select(resp)):
                    answers += self._write_batch(resp, survey, import_id, labels.checked(batch), labels)
            self.con.execute("INSERT INTO import_log VALUES (?, ?, ?, ?, ?, ?)",
                             [import_id, survey, resp.source, keys.num_rows, answers, _now()])
            return keys.num_rows

        self._transaction(write)
        return import_id

    def _write_batch(self, resp: Responses, survey: str, import_id: str, batch: pa.Table, labels: Labels) -> int:
        """One batch of wide responses (names and values as label numbers) into the three tables; the number
        of answers written. The batch is appended in its own order: no sort, no temporary table."""
        ids = self.con.execute("SELECT nextval('response_id_seq') AS id FROM range(?)", [batch.num_rows]).fetchnumpy()
        batch = batch.append_column("response_id", pa.array(np.sort(ids["id"])))
        self.con.register("_batch", batch)
        date = "TRY_CAST(response_date AS DATE)" if "response_date" in resp.columns else "NULL"
        self.con.execute(f"INSERT INTO response SELECT response_id, ?, period, firm_id, weight, {date}, ? "
                         "FROM _batch", [survey, import_id])
        for table, names in (("coded_attribute", resp.dimensions), ("coded_answer", resp.questions)):
            for name in names:  # one run per name: its ids consecutive, its label number constant
                self.con.execute(f"INSERT INTO {table} SELECT response_id, ?, {quote_ident(name)} FROM _batch",
                                 [labels.ids[name]])
        self.con.unregister("_batch")
        return sum(len(batch) - batch.column(q).null_count for q in resp.questions)

    def save_series(self, result: IndexResult, survey: str | None = None, kind: str = "final",
                    as_of: datetime | None = None, note: str = "") -> str:
        """Store computed series as a new vintage; earlier vintages are never touched."""
        m = result.methodology
        survey = survey or m.name
        as_of = as_of or _now()
        vintage_id = f"{survey}-{as_of:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        df = result.series.copy()
        for c in SERIES_COLUMNS:
            if c not in df.columns:
                df[c] = None
        df = df[SERIES_COLUMNS]
        df.insert(0, "vintage_id", vintage_id)
        with self.transaction():
            self.con.execute("INSERT INTO vintage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             [vintage_id, survey, m.name, m.version, m.sha256, result.input_hash, kind,
                              as_of, _now(), note])
            self._insert_frame("series", df)
        return vintage_id

    def _insert_frame(self, table: str, df: pd.DataFrame) -> None:
        """Append a frame to a store table, columns by name (the PostgreSQL store does it with one COPY)."""
        if df.empty:
            return
        # no unregister in a `finally`: after a failed INSERT the transaction is aborted and it would raise,
        # hiding the real error (a later register of the name replaces the view)
        self.con.register("_frame", df)
        cols = ", ".join(quote_ident(c) for c in df.columns)
        self.con.execute(f"INSERT INTO {quote_ident(table)} ({cols}) SELECT {cols} FROM _frame")
        self.con.unregister("_frame")

    # -- reading -------------------------------------------------------------------------
    def responses(self, methodology: Methodology, survey: str | None = None,
                  cutoff: str | None = None) -> Responses:
        """The stored responses as a wide temporary table of their own on the store connection (already validated).

        cutoff: only responses received on or before this date (for flash estimates)."""
        survey = survey or methodology.name
        # Names reach SQL as parameters and quoted identifiers, never as spliced literals.
        where = "survey = ?" + (" AND (response_date IS NULL OR response_date <= CAST(? AS DATE))" if cutoff else "")
        params = [survey, *([cutoff] if cutoff else [])]
        picked = self.con.sql("SELECT response_id, period, firm_id, weight, response_date, row_number() OVER "
                              f"(ORDER BY period, firm_id) AS _row FROM response WHERE {where} ORDER BY response_id",
                              params=params).to_arrow_table()
        if not picked.num_rows and not self.con.execute("SELECT count(*) FROM response WHERE survey = ?",
                                                        [survey]).fetchall()[0][0]:
            raise StoreError(f"store {self.path} has no responses for survey '{survey}'")
        ids = picked.column("response_id").to_numpy()
        attrs = _pivot(self.con, "coded_attribute", "dimension", "value", list(methodology.classifications), ids)
        dims = [d for d in methodology.classifications if attrs[d].null_count < len(ids) or not len(ids)]
        qs = [q.id for q in methodology.questions]
        answers = _pivot(self.con, "coded_answer", "question", "answer", qs, ids)
        wide = pa.table({"period": picked.column("period"), "firm_id": picked.column("firm_id"),
                         **{d: attrs[d] for d in dims}, **answers, "weight": picked.column("weight"),
                         "response_date": picked.column("response_date"), ROW: picked.column(ROW)})
        # Each handle gets its own table, so a second handle (another cutoff, another survey) never changes
        # the rows of the first; tables of handles already released are dropped here, on the caller's thread.
        # (temp table -> weak reference to its handle; made here, so siblings built without __init__ have one)
        handles: dict[str, weakref.ref] = vars(self).setdefault("_handles", {})
        for name in [n for n, ref in handles.items() if ref() is None]:
            self.con.execute(f"DROP TABLE IF EXISTS {quote_ident(name)}")
            del handles[name]
        table = f"responses_{uuid.uuid4().hex[:12]}"
        self.con.register("_wide", wide)
        self.con.execute(f"CREATE TEMP TABLE {quote_ident(table)} AS SELECT * FROM _wide")
        self.con.unregister("_wide")
        cols = ["period", "firm_id", *dims, *qs, "weight", "response_date"]
        resp = Responses(self.con, cols, f"store {self.path}", methodology, "row", table=table)
        handles[table] = weakref.ref(resp)
        return resp

    def vintages(self, survey: str | None = None) -> pd.DataFrame:
        sql = "SELECT * FROM vintage" + (" WHERE survey = ?" if survey else "") + " ORDER BY as_of, created_at"
        return self.con.execute(sql, [survey] if survey else []).df()

    def series(self, survey: str, as_of: datetime | str | None = None, kind: str | None = None,
               vintage_id: str | None = None) -> pd.DataFrame:
        """What was published as of a date: for every period, the rows of exactly one vintage, the latest
        on or before `as_of` (default: now) that contains the period; nothing is filled in from older
        vintages. Or exactly one vintage, by id."""
        if vintage_id is not None:
            df = self.con.execute("SELECT s.*, v.as_of, v.kind FROM series s JOIN vintage v USING (vintage_id) "
                                  "WHERE vintage_id = ?", [vintage_id]).df()
            if df.empty:
                raise StoreError(f"no vintage {vintage_id!r} in store {self.path}")
            return df
        where, params = _vintages_where(survey, as_of, kind)
        df = self.con.execute(f"""
            WITH candidates AS (
                SELECT DISTINCT s.period, s.vintage_id, v.as_of, v.created_at
                FROM series s JOIN vintage v USING (vintage_id) WHERE {where}),
            chosen AS (
                SELECT period, vintage_id FROM (
                    SELECT period, vintage_id, row_number() OVER (
                        PARTITION BY period ORDER BY as_of DESC, created_at DESC) AS rn FROM candidates) c
                WHERE rn = 1)
            SELECT s.*, v.as_of, v.kind FROM series s JOIN chosen c USING (period, vintage_id)
            JOIN vintage v USING (vintage_id)
            ORDER BY s.period, s.series, s."group", s.adjustment""", params).df()
        if df.empty:
            raise StoreError(f"nothing of '{survey}' was published as of {as_of or 'now'} in store {self.path}")
        return df

    def last_final_month(self, survey: str, as_of: datetime | str | None = None) -> str | None:
        """The latest month in any final vintage published by `as_of` (None if there is none)."""
        where, params = _vintages_where(survey, as_of, "final")
        row = self.con.execute(f"SELECT max(s.period) FROM series s JOIN vintage v USING (vintage_id) "
                               f"WHERE {where} AND length(s.period) = 7", params).fetchall()
        return row[0][0] if row and row[0][0] is not None else None

    def history(self, survey: str, series: str, group: str = "all", adjustment: str | None = None,
                as_of: datetime | str | None = None) -> pd.DataFrame:
        """Every value of one series and group published (by `as_of`): period, adjustment, as_of, kind,
        vintage_id, value."""
        where, params = _vintages_where(survey, as_of)
        sql = ('SELECT s.period, s.adjustment, v.as_of, v.kind, s.vintage_id, s.value FROM series s '
               f'JOIN vintage v USING (vintage_id) WHERE {where} AND s.series = ? AND s."group" = ?')
        params += [series, group]
        if adjustment:
            sql += " AND s.adjustment = ?"
            params.append(adjustment)
        return self.con.execute(sql + " ORDER BY s.period, s.adjustment, v.as_of, v.created_at", params).df()

    def revisions(self, survey: str, series: str, group: str = "all", adjustment: str | None = None,
                  as_of: datetime | str | None = None) -> pd.DataFrame:
        """First release, latest and revision per period (as known on `as_of`), each value with the vintage
        it comes from (`first_vintage`, `latest_vintage`); flash vintages give `flash`, `flash_vintage` and
        the flash-to-final revision, only for the months they contain."""
        h = self.history(survey, series, group, adjustment, as_of)
        if h.empty:
            raise StoreError(f"no published values of {series} [{group}] for survey '{survey}'")
        keys = ["period", "adjustment"]
        final = h[h["kind"] != "flash"]
        first = final.groupby(keys).first()
        last = final.groupby(keys).last()
        out = pd.DataFrame({"first_release": first["value"], "first_as_of": first["as_of"],
                            "first_vintage": first["vintage_id"],
                            "latest": last["value"], "latest_as_of": last["as_of"],
                            "latest_vintage": last["vintage_id"],
                            "vintages": final.groupby(keys).size()})
        out["revision"] = out["latest"] - out["first_release"]
        flash = h[h["kind"] == "flash"].groupby(keys).first()
        if not flash.empty:
            out = out.join(flash[["value", "vintage_id"]].rename(
                columns={"value": "flash", "vintage_id": "flash_vintage"}), how="outer")
            out["flash_revision"] = out["first_release"] - out["flash"]
        return out.reset_index()

    # -- seasonal adjustment specifications and factors (one row set per vintage) --------------
    SA_SPEC_COLUMNS = ("series", "group", "status", "method", "mode", "model", "outliers", "holiday",
                       "identification", "reviewed", "spec")
    SA_FACTOR_COLUMNS = ("period", "series", "group", "factor", "seasonal")

    def save_sa_specs(self, vintage_id: str, specs: pd.DataFrame, factors: pd.DataFrame) -> None:
        """Store the SA decisions and factors of a vintage (seasonal.adjust.specs_frame / factors_frame)."""
        specs = specs[list(self.SA_SPEC_COLUMNS)].assign(vintage_id=vintage_id)
        factors = factors[list(self.SA_FACTOR_COLUMNS)].assign(vintage_id=vintage_id)
        with self.transaction():
            self._insert_frame("sa_spec", specs)
            self._insert_frame("sa_factor", factors)

    def sa_specs(self, survey: str, vintage_id: str | None = None) -> pd.DataFrame:
        """The SA decisions of one vintage, or of the survey's latest vintage that has any (empty if none)."""
        if vintage_id is None:
            rows = self.con.execute(
                "SELECT v.vintage_id FROM vintage v WHERE v.survey = ? AND EXISTS (SELECT 1 FROM sa_spec s "
                "WHERE s.vintage_id = v.vintage_id) ORDER BY v.as_of DESC, v.created_at DESC LIMIT 1",
                [survey]).fetchall()
            if not rows:
                return pd.DataFrame(columns=["vintage_id", *self.SA_SPEC_COLUMNS])
            vintage_id = rows[0][0]
        return self.con.execute('SELECT * FROM sa_spec WHERE vintage_id = ? ORDER BY series, "group"',
                                [vintage_id]).df()

    def sa_factors(self, vintage_id: str) -> pd.DataFrame:
        """The seasonal (and holiday) factors a vintage's SA values were computed with."""
        return self.con.execute('SELECT * FROM sa_factor WHERE vintage_id = ? ORDER BY series, "group", period',
                                [vintage_id]).df()



def _pivot(con, table: str, key: str, value: str, names: list[str], ids: np.ndarray) -> dict[str, pa.Array]:
    """Wide text columns `names` of long table `table` (coded_answer or coded_attribute) for the responses `ids`
    (sorted): one scan into NumPy and a scatter per name, instead of a GROUP BY over millions of long rows (an
    order of magnitude slower). A name without rows gives a column of NULLs."""
    texts = dict(con.execute("SELECT text, label_id FROM label").fetchall())
    numbers = [texts[n] for n in names if n in texts]
    long = con.execute(f"SELECT response_id, {key}, {value} FROM {table} WHERE response_id BETWEEN ? AND ? "
                       f"AND list_contains(?, {key})", [int(ids[0]), int(ids[-1]), numbers]).fetchnumpy() \
        if numbers and len(ids) else None
    by_id = [None] * (max(texts.values(), default=0) + 1)
    for text, number in texts.items():
        by_id[number] = text
    dictionary = pa.array(by_id, type=pa.string())
    out = {}
    if long is not None:
        rid = np.ma.getdata(long["response_id"])  # plain arrays: NumPy's masked arithmetic is far slower
        position = np.full(int(ids[-1] - ids[0]) + 1, -1, dtype=np.int64)  # response_id -> row (ids are dense)
        position[ids - ids[0]] = np.arange(len(ids))
        at = position[rid - ids[0]]
        found = np.ma.getdata(long[value])
        mine = (at >= 0) & ~np.ma.getmaskarray(long[value])  # rows of the picked responses; a blank stays NULL
        keys = np.ma.getdata(long[key])
    for n in names:
        column = np.full(len(ids), -1, dtype=np.int32)
        if long is not None and n in texts:
            rows = mine & (keys == texts[n])
            column[at[rows]] = found[rows]
        out[n] = pa.DictionaryArray.from_arrays(pa.array(column, mask=column < 0), dictionary)
    return out


class Labels:
    """The label numbers of a store's texts (table `label`, schema.sql), adding texts it has not seen. Use it
    only after claim_response_writes: writers take their turn, so no text gets two numbers."""

    def __init__(self, con, resp: Responses | None = None):
        self.con = con
        self.ids: dict[str, int] = {t: i for i, t in con.execute("SELECT label_id, text FROM label").fetchall()}
        self.names: list[str] = []  # the columns `coded` turns into numbers
        if resp is not None:  # what validated responses can hold: the methodology's names, codes and values
            m = resp.methodology
            questions = {q.id: q for q in m.questions}
            self.names = [*resp.dimensions, *resp.questions]
            self.add([*self.names, *(v for d in resp.dimensions for v in m.classifications[d].values),
                      *(c for q in resp.questions for c in questions[q].codes)])

    def add(self, texts) -> None:
        new = [t for t in dict.fromkeys(str(t) for t in texts) if t not in self.ids]
        if new:
            rows = self.con.execute("INSERT INTO label SELECT nextval('label_id_seq'), t FROM "
                                    "unnest(CAST(? AS VARCHAR[])) AS u(t) RETURNING label_id, text", [new]).fetchall()
            self.ids.update((t, i) for i, t in rows)

    def coded_select(self, resp: Responses) -> tuple[str, list]:
        """SELECT list and parameters for validated responses with their classification and question columns
        as label numbers, computed by DuckDB where the responses are (a few bytes per cell cross to Arrow, not
        the text); -1 marks a value the methodology does not list (`checked` refuses it)."""
        m = resp.methodology
        questions = {q.id: q for q in m.questions}
        parts, params = [], []
        for c in resp.columns:
            if c not in self.names:
                parts.append(quote_ident(c))
                continue
            values = m.classifications[c].values if c in m.classifications else questions[c].codes
            col = quote_ident(c)
            cases = " ".join([f"WHEN {col} = ? THEN ?"] * len(values))
            parts.append(f"CAST(CASE WHEN {col} IS NULL THEN NULL {cases} ELSE -1 END AS INTEGER) AS {col}")
            params += [x for v in values for x in (v, self.ids[v])]
        return ", ".join(parts), params

    def checked(self, batch: pa.Table) -> pa.Table:
        """The batch of `coded_select`, refused if a value had no label number (never stored as a blank)."""
        for name in self.names:
            low = pc.min(batch.column(name)).as_py()
            if low is not None and low < 0:
                raise StoreError(f"column '{name}' holds a value its methodology does not list; nothing was "
                                 "imported (the responses were not validated against this methodology)")
        return batch

    def numbers(self, text: pa.ChunkedArray) -> pa.ChunkedArray:
        """The label number of each text (int32; NULL stays NULL), adding texts not seen yet."""
        keys = pa.array(list(self.ids), type=pa.string())
        numbers = pc.take(pa.array(list(self.ids.values()), type=pa.int32()), pc.index_in(text, value_set=keys))
        if numbers.null_count > text.null_count:  # a value the methodology does not list (not validated here)
            self.add(pc.unique(pc.filter(text, pc.and_(pc.is_valid(text), pc.is_null(numbers)))).to_pylist())
            return self.numbers(text)
        return numbers


def insert_long_rows(con, response_id: int, attributes: list[tuple[str, str]],
                     answers: list[tuple[str, str]]) -> None:
    """One response's classifications and answers, (name, value) text pairs, into the coded tables; one
    statement per table. Call it after claim_response_writes (web submissions do)."""
    labels = Labels(con)
    labels.add(t for pair in [*attributes, *answers] for t in pair)
    for table, pairs in (("coded_attribute", attributes), ("coded_answer", answers)):
        if pairs:  # row-by-row executemany is slow on DuckDB
            con.execute(f"INSERT INTO {table} VALUES " + ", ".join(["(?, ?, ?)"] * len(pairs)),
                        [x for n, v in pairs for x in (response_id, labels.ids[str(n)], labels.ids[str(v)])])


def long_rows(source: str, key: str, names: list[str]) -> tuple[str, list]:
    """SQL for the long rows (key, name, value) of wide columns `names` of table `source`, blanks left out,
    sorted by (name, key) so each name's values lie together; names travel as parameters and quoted
    identifiers."""
    parts = " UNION ALL ".join(f"SELECT {key}, ? AS name, CAST({quote_ident(n)} AS VARCHAR) AS value "
                               f"FROM {source} WHERE {quote_ident(n)} IS NOT NULL" for n in names)
    return f"SELECT * FROM ({parts}) ORDER BY name, {key}", list(names)


def response_batches(resp: Responses, target, select: str = "*", params: list | None = None) -> Iterator[pa.Table]:
    """The validated wide responses (or `select` of them) in batches of exactly IMPORT_BATCH rows (the last one
    shorter), each one contiguous Arrow chunk (DuckDB starts a row group at every chunk). Streamed from their
    own connection; read whole first when they live on `target`, the connection being written."""
    result = resp.con.sql(f"SELECT {select} FROM {quote_ident(resp.table)}", params=params or None)
    if resp.con is target:
        table = result.to_arrow_table()
        for start in range(0, table.num_rows, IMPORT_BATCH):
            yield table.slice(start, IMPORT_BATCH).combine_chunks()
        return
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in result.to_arrow_reader(IMPORT_BATCH):  # DuckDB picks its own batch size
        pending.append(batch)
        rows += batch.num_rows
        while rows >= IMPORT_BATCH:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, IMPORT_BATCH).combine_chunks()
            rest = table.slice(IMPORT_BATCH)
            pending, rows = rest.to_batches(), rest.num_rows
    if rows:
        yield pa.Table.from_batches(pending).combine_chunks()


@contextmanager
def one_thread(store: Store) -> Iterator[None]:
    """DuckDB on one thread while inside: an append on several threads leaves each thread a part-filled block
    (a store three times the size); the appends are cheap, the validation before them keeps its threads. The
    setting is not transactional: after a failure that aborted the transaction, the rollback restores it."""
    threads = int(store.con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    store.con.execute("SET threads = 1")
    try:
        yield
    finally:
        try:
            store.con.execute(f"SET threads = {threads}")
        except duckdb.Error:  # the transaction is aborted: only ROLLBACK runs now
            store._threads_after_rollback = threads


def claim_response_writes(store: Store, import_id: str) -> None:
    """Write the meta row every response import updates: two imports at once then conflict (DuckDB) or queue
    (PostgreSQL) instead of both passing the duplicate check."""
    try:
        store.con.execute("UPDATE meta SET value = ? WHERE key = 'responses_written'", [import_id])
    except duckdb.TransactionException:
        raise StoreError(f"store {store.path}: another import is writing responses; nothing was imported, run "
                         "the command again when it has finished") from None


def clash_message(resp: Responses, clash: list[tuple]) -> str:
    where = "; ".join(f"{resp.row_label} {row}: firm {f!r} {p}" for f, p, row in clash)
    return (f"file {resp.source}: responses already in the store ({where}); nothing was imported. Use --replace "
            "to overwrite them.")


def create_or_migrate(con, path: str) -> str:
    """Inside a write transaction: bring an older store to this schema, create what is missing; the version.
    Both backends run it (the SQL is what DuckDB and PostgreSQL share)."""
    has_meta = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta' "
                           "AND table_schema = current_schema()").fetchall()[0][0]
    rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() if has_meta else []
    version = rows[0][0] if rows else None
    while version in MIGRATIONS:
        version, script = MIGRATIONS[version]
        con.execute(script.read_text(encoding="utf-8"))
    if version not in (None, SCHEMA_VERSION):
        raise StoreError(f"store {path} has schema version {version}, this smepulse needs {SCHEMA_VERSION} "
                         "(a newer smepulse made it)")
    con.execute((HERE / "schema.sql").read_text(encoding="utf-8"))
    if version is None:
        con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
    return SCHEMA_VERSION


def _vintages_where(survey: str, as_of: datetime | str | None = None,
                    kind: str | None = None) -> tuple[str, list]:
    """SQL condition on `vintage v`: this survey's vintages published by `as_of`, of one kind if given."""
    where, params = "v.survey = ?", [survey]
    if as_of is not None:
        where += " AND v.as_of <= CAST(? AS TIMESTAMP)"
        params.append(str(as_of))
    if kind:
        where += " AND v.kind = ?"
        params.append(kind)
    return where, params


# -- a store lent to the commands a running server runs for the CLI (web/cli_api.py) --------------------------
_LENT = threading.local()


@contextmanager
def lend(store: Store) -> Iterator[None]:
    """While inside, in this thread only, `open_store` of `store`'s file gives `store.sibling()` instead of
    opening the file again: a DuckDB file takes one writing process, and the server holding it is that process.
    So a CLI command run inside `smepulse serve` works on the server's own store, in transactions of its own."""
    previous = getattr(_LENT, "store", None)
    _LENT.store = store
    try:
        yield
    finally:
        _LENT.store = previous


def _lent(path: str, read_only: bool) -> Store | None:
    held = getattr(_LENT, "store", None)
    if held is not None and os.path.realpath(path) == os.path.realpath(held.path):
        return held.sibling(read_only=read_only)
    return None


def open_store(path: str | Path, read_only: bool = False) -> Store:
    """Open (for writing: create) a store file (`smepulse.store.open_store` also takes postgresql:// URLs).
    Commands that only read pass `read_only=True`: the file must exist and is neither created nor migrated."""
    text = str(path)
    lent = _lent(text, read_only)
    if lent is not None:
        return lent
    if read_only:
        if not Path(text).is_file():
            raise StoreError(f"store {text} does not exist (or is not a file): give the path of a store made "
                             "by `smepulse import`, `publish` or `demo`")
        return Store(text, read_only=True)
    if Path(text).is_dir():
        raise StoreError(f"store {text} is a folder; give the path of a store file, e.g. {text}/smepulse.duckdb")
    Path(text).parent.mkdir(parents=True, exist_ok=True)
    return Store(text)

