"""The store on a PostgreSQL server (psycopg 3): the same schema, the same Store methods, the same answers.

`open_store("postgresql://user:password@host:port/dbname")` gives a `PostgresStore`. It keeps the embedded
default's interface (`Store`): the read queries are the DuckDB store's own SQL, run through `PgConnection`, a
small facade with DuckDB's calling convention (`con.execute(sql, params).fetchall()`, `.df()`) that turns the
`?` placeholders into psycopg's `%s`, so values always travel as parameters; names reach SQL only as
`psycopg.sql.Identifier`. Bulk data never goes row by row through Python: imports and vintages are written
with COPY (CSV made by Arrow), and the heavy aggregation (the index engine) runs in an in-memory DuckDB over
the responses fetched with one COPY. Every write is one server transaction: all of it or nothing.
"""
from __future__ import annotations

import hashlib
import io
import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import duckdb
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

from smepulse.errors import StoreError
from smepulse.methodology import Methodology
from smepulse.store.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Labels,
    Store,
    _now,
    claim_response_writes,
    clash_message,
    create_or_migrate,
    long_rows,
    response_batches,
)
from smepulse.survey.responses import ROW, Responses

SERVER_INDEXES = Path(__file__).parent / "server_indexes.sql"  # the server's keys (schema.sql says why)
URL_PREFIXES = ("postgresql://", "postgres://")
_SCHEMA_LOCK = 0x736D6570  # pg_advisory_xact_lock key while creating tables ("smep")
# Opening a store for writing runs its DDL only when the stored fingerprint of the DDL files differs from these
# files' (a new store, an upgraded smepulse): CREATE INDEX IF NOT EXISTS takes a SHARE lock on `response` and
# CREATE OR REPLACE VIEW an exclusive lock on the view even when nothing changes, so every CLI command and every
# admin publish (its own connection) would wait for a running import and stall the web's submits queued behind.
_DDL_KEY = "pg_ddl_sha256"
_DDL_SHA = hashlib.sha256(b"".join(p.read_bytes() for p in (Path(__file__).parent / "schema.sql", SERVER_INDEXES,
                                                            *(script for _, script in MIGRATIONS.values())))
                          ).hexdigest()
# PostgreSQL type oids -> how a column becomes a pandas column (like DuckDB's .df()).
_INT = {20: "Int64", 21: "Int16", 23: "Int32"}
_FLOAT = {700, 701, 1700}
_TIME = {1082, 1114, 1184}
_BOOL = 16
# A `?` placeholder outside quotes and comments; quoted text and comments are kept as they are.
_TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|\?|%""", re.S)


def is_server_url(target: str | Path) -> bool:
    return str(target).startswith(URL_PREFIXES)


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def meta_value(con: PgConnection, table: str, key: str) -> str | None:
    """A value of a key/value table (the store's `meta`, the decision book's `credit_book_meta`), or None, also
    when the table does not exist yet; a plain read takes no lock a writer waits for (what the DDL fingerprints
    rely on: see _DDL_KEY)."""
    if not con.execute("SELECT to_regclass(?) IS NOT NULL", [table]).fetchall()[0][0]:
        return None
    rows = con.execute(sql.SQL("SELECT value FROM {} WHERE key = %s").format(sql.Identifier(table)), [key]).fetchall()
    return rows[0][0] if rows else None


def to_psycopg(query: str) -> str:
    """DuckDB-style `?` placeholders as psycopg's `%s` (and a literal `%` as `%%`)."""
    def swap(m: re.Match) -> str:
        t = m.group(0)
        return "%s" if t == "?" else t.replace("%", "%%")  # psycopg reads % even inside quotes and comments
    return _TOKEN.sub(swap, query)


def frame(cursor: psycopg.Cursor, rows: Sequence[tuple] | None = None) -> pd.DataFrame:
    """The rows of a finished query as a DataFrame typed like DuckDB's `.df()`."""
    desc = cursor.description or []
    rows = cursor.fetchall() if rows is None else rows
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(desc)
    data = {}
    for d, col in zip(desc, columns, strict=True):
        values = list(col)
        if d.type_code in _INT:
            s = pd.Series(values, dtype=_INT[d.type_code])
            data[d.name] = s if s.isna().any() else s.astype(_INT[d.type_code].lower())
        elif d.type_code in _FLOAT:
            data[d.name] = pd.Series([float("nan") if v is None else float(v) for v in values], dtype="float64")
        elif d.type_code in _TIME:
            data[d.name] = pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[us]")
        elif d.type_code == _BOOL and None not in values:
            data[d.name] = pd.Series(values, dtype=bool)
        else:
            data[d.name] = pd.Series(values, dtype=object if not values or None in values else None)
    return pd.DataFrame(data, columns=[d.name for d in desc])


class PgResult:
    """What `PgConnection.execute` returns: DuckDB's result calls on one psycopg cursor."""

    def __init__(self, cursor: psycopg.Cursor):
        self.cursor = cursor

    def fetchall(self) -> list[tuple]:
        return self.cursor.fetchall() if self.cursor.description else []

    def fetchone(self) -> tuple | None:
        return self.cursor.fetchone() if self.cursor.description else None

    def df(self) -> pd.DataFrame:
        return frame(self.cursor)

    @property
    def description(self):
        return self.cursor.description

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount


class PgConnection:
    """A psycopg connection (autocommit: BEGIN/COMMIT are explicit, as on DuckDB) with DuckDB's calling
    convention, so the app's SQL (parameters as `?`, plain SQL both engines run) works on either store."""

    def __init__(self, url: str):
        self.url = url
        try:
            self.raw = psycopg.connect(url, autocommit=True, connect_timeout=10,
                                       application_name="smepulse")
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {redact(url)}: {_one_line(exc)}") from None

    def execute(self, query: str | sql.Composable, params: Sequence | None = None) -> PgResult:
        if isinstance(query, str) and params is not None:
            query = to_psycopg(query)
        cur = self.raw.cursor()
        cur.execute(query, None if params is None else list(params))
        return PgResult(cur)

    def executemany(self, query: str, rows: Sequence[Sequence]) -> None:
        with self.raw.cursor() as cur:
            cur.executemany(to_psycopg(query), [list(r) for r in rows])

    def copy_in(self, table: str, columns: Sequence[str], data: pa.Table) -> None:
        """Append an Arrow table to `table` with one COPY (CSV written by Arrow: NULL unquoted, every value quoted)."""
        buf = io.BytesIO()
        pacsv.write_csv(data, buf, pacsv.WriteOptions(include_header=False, quoting_style="all_valid"))
        stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
            sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns))
        with self.raw.cursor() as cur, cur.copy(stmt) as copy:
            copy.write(buf.getvalue())

    def copy_out(self, query: sql.Composable, params: Sequence, types: dict[str, pa.DataType]) -> pa.Table:
        """A query's result as an Arrow table through one COPY ... TO STDOUT (CSV parsed by Arrow)."""
        buf = io.BytesIO()
        with self.raw.cursor() as cur:
            # COPY takes no bind parameters: psycopg's client-side binding quotes the values into the query.
            bound = psycopg.ClientCursor(self.raw).mogrify(query, list(params))
            stmt = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv, HEADER)").format(sql.SQL(bound))
            with cur.copy(stmt) as copy:
                for chunk in copy:
                    buf.write(chunk)
        if not buf.tell():
            return pa.table({c: pa.array([], type=t) for c, t in types.items()})
        buf.seek(0)
        return pacsv.read_csv(buf, convert_options=pacsv.ConvertOptions(
            column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False))

    def close(self) -> None:
        self.raw.close()


class PostgresStore(Store):
    """The store in a PostgreSQL database (created on first use, like a new store file)."""

    def __init__(self, url: str, read_only: bool = False):
        self.url = url
        self.path = redact(url)
        self.read_only = read_only
        self._depth = 0
        self.con = PgConnection(url)
        self._engine: duckdb.DuckDBPyConnection | None = None
        try:
            self._check_schema()
        except BaseException:
            self.con.close()
            raise

    def _check_schema(self) -> None:
        if self.read_only:  # the server refuses every write in this session, not only the store's own
            self.con.execute("SET default_transaction_read_only = on")
            exists = self.con.execute("SELECT to_regclass('meta') IS NOT NULL").fetchall()[0][0]
            rows = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() if exists else []
            if not rows:
                raise StoreError(f"{self.path} is not a smepulse store (no schema version recorded)")
        elif self._stored(_DDL_KEY) == _DDL_SHA and self._stored("schema_version") == SCHEMA_VERSION:
            rows = [(SCHEMA_VERSION,)]  # made by these very files: no DDL, so no table locks (see _DDL_KEY)
        else:
            with self.transaction():  # one creator at a time: CREATE IF NOT EXISTS races on a server
                self.con.execute("SELECT pg_advisory_xact_lock(?)", [_SCHEMA_LOCK])
                rows = [(create_or_migrate(self.con, self.path),)]
                self.con.execute(SERVER_INDEXES.read_text(encoding="utf-8"))
                self.con.execute("DELETE FROM meta WHERE key = ?", [_DDL_KEY])
                self.con.execute("INSERT INTO meta VALUES (?, ?)", [_DDL_KEY, _DDL_SHA])
        if rows[0][0] != SCHEMA_VERSION:
            raise StoreError(f"store {self.path} has schema version {rows[0][0]}, this smepulse needs "
                             f"{SCHEMA_VERSION}")

    def _stored(self, key: str) -> str | None:
        return meta_value(self.con, "meta", key)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        self.con.close()

    @property
    def engine(self) -> duckdb.DuckDBPyConnection:
        """The in-memory DuckDB where the index engine aggregates what this store fetched."""
        if self._engine is None:
            self._engine = duckdb.connect()
        return self._engine

    # -- writing -------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[PostgresStore]:
        """All writes inside commit together or not at all (nested uses join the outer transaction)."""
        if self.read_only:
            raise StoreError(f"store {self.path} was opened read-only; this command cannot write to it")
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.con.execute("BEGIN")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            self.con.execute("ROLLBACK")
            raise
        self._depth = 0
        try:
            self.con.execute("COMMIT")
        except psycopg.Error as exc:
            raise StoreError(f"cannot write to store {self.path}: {_one_line(exc)}") from None

    def _transaction(self, fn):
        with self.transaction():
            return fn()

    def save_methodology(self, m: Methodology) -> None:
        with self.transaction():
            super().save_methodology(m)

    def import_responses(self, resp: Responses, survey: str | None = None, replace: bool = False) -> str:
        """All-or-nothing import (COPY into the server, batch by batch). Existing (survey, period, firm) rows
        are an error unless `replace`."""
        survey = survey or resp.methodology.name
        import_id = uuid.uuid4().hex[:12]
        with self.transaction():
            claim_response_writes(self, import_id)  # a row lock: a second import waits for this one
            self.con.execute("DROP TABLE IF EXISTS _incoming, _incoming_attribute, _incoming_answer")
            self.con.execute("CREATE TEMP TABLE _incoming (response_id BIGINT DEFAULT nextval('response_id_seq'), "
                             "period VARCHAR, firm_id VARCHAR, weight DOUBLE PRECISION, response_date DATE, "
                             "_row BIGINT) ON COMMIT DROP")
            for table in ("_incoming_attribute", "_incoming_answer"):  # names and values as label numbers
                self.con.execute(sql.SQL("CREATE TEMP TABLE {} (_row BIGINT, name INTEGER, value INTEGER) "
                                         "ON COMMIT DROP").format(sql.Identifier(table)))
            labels = Labels(self.con, resp)
            eng = self.engine
            date = "TRY_CAST(response_date AS DATE)" if "response_date" in resp.columns else "CAST(NULL AS DATE)"
            answers = rows = 0
            for batch in response_batches(resp, eng):
                eng.register("_batch", batch)
                key = eng.sql(f"SELECT period, firm_id, weight, {date} AS response_date, {ROW} FROM _batch")
                self.con.copy_in("_incoming", ["period", "firm_id", "weight", "response_date", ROW],
                                 key.to_arrow_table())
                for table, names in (("_incoming_attribute", resp.dimensions), ("_incoming_answer", resp.questions)):
                    if names:
                        query, params = long_rows("_batch", ROW, names)
                        data = eng.sql(query, params=params).to_arrow_table()
                        data = pa.table({"_row": data.column(0), "name": labels.numbers(data.column(1)),
                                         "value": labels.numbers(data.column(2))})
                        self.con.copy_in(table, ["_row", "name", "value"], data)
                        answers += data.num_rows if table == "_incoming_answer" else 0
                eng.unregister("_batch")
                rows += batch.num_rows
            clash = self.con.execute(
                "SELECT i.firm_id, i.period, i._row FROM _incoming i JOIN response r ON r.survey = ? AND "
                "r.period = i.period AND r.firm_id = i.firm_id ORDER BY i._row LIMIT 5", [survey]).fetchall()
            if clash and not replace:
                raise StoreError(clash_message(resp, clash))
            if clash:
                self.con.execute("CREATE TEMP TABLE _replaced ON COMMIT DROP AS SELECT r.response_id FROM response "
                                 "r JOIN _incoming i ON r.survey = ? AND r.period = i.period AND "
                                 "r.firm_id = i.firm_id", [survey])
                for table in ("coded_answer", "coded_attribute", "response"):
                    self.con.execute(sql.SQL("DELETE FROM {} WHERE response_id IN (SELECT response_id FROM "
                                             "_replaced)").format(sql.Identifier(table)))
            self.con.execute("INSERT INTO response SELECT response_id, ?, period, firm_id, weight, response_date, ? "
                             "FROM _incoming", [survey, import_id])
            for table, incoming in (("coded_attribute", "_incoming_attribute"), ("coded_answer", "_incoming_answer")):
                self.con.execute(sql.SQL("INSERT INTO {} SELECT i.response_id, x.name, x.value FROM {} x "
                                         "JOIN _incoming i USING (_row)").format(sql.Identifier(table),
                                                                                  sql.Identifier(incoming)))
            self.con.execute("INSERT INTO import_log VALUES (?, ?, ?, ?, ?, ?)",
                             [import_id, survey, resp.source, rows, answers, _now()])
        return import_id

    def _insert_frame(self, table: str, df: pd.DataFrame) -> None:
        """One COPY per frame (Store.save_series and save_sa_specs call this)."""
        if df.empty:
            return
        # DuckDB turns the frame into Arrow with the store's types (pandas objects, NaN and None alike).
        eng = self.engine
        eng.register("_frame", df)
        try:
            data = eng.sql("SELECT * FROM _frame").to_arrow_table()
        finally:
            eng.unregister("_frame")
        self.con.copy_in(table, list(df.columns), data)

    # -- reading -------------------------------------------------------------------------
    def responses(self, methodology: Methodology, survey: str | None = None,
                  cutoff: str | None = None) -> Responses:
        """The stored responses, pivoted wide on the server and fetched with one COPY into an in-memory
        DuckDB table `responses` (where the index engine aggregates them)."""
        survey = survey or methodology.name
        stored = {r[0] for r in self.con.execute(
            "SELECT DISTINCT a.dimension FROM response_attribute a JOIN response r USING (response_id) "
            "WHERE r.survey = ?", [survey]).fetchall()}
        dims = [d for d in methodology.classifications if d in stored]
        qs = [q.id for q in methodology.questions]
        if not self.con.execute("SELECT count(*) FROM response WHERE survey = ?", [survey]).fetchall()[0][0]:
            raise StoreError(f"store {self.path} has no responses for survey '{survey}'")
        params: list = []
        pivots = []
        for alias, table, key, value, names in (("a", "response_attribute", "dimension", "value", dims),
                                                ("q", "response_answer", "question", "answer", qs)):
            cols = [sql.SQL("max(CASE WHEN x.{} = %s THEN x.{} END) AS {}").format(
                sql.Identifier(key), sql.Identifier(value), sql.Identifier(n)) for n in names]
            params += list(names) + [survey]
            pivots.append(sql.SQL("(SELECT x.response_id{} FROM {} x JOIN response s USING (response_id) "
                                  "WHERE s.survey = %s GROUP BY x.response_id) {}").format(
                                      sql.SQL("").join(sql.SQL(", ") + c for c in cols), sql.Identifier(table),
                                      sql.Identifier(alias)))
        where = sql.SQL("r.survey = %s")
        params.append(survey)
        if cutoff:
            where += sql.SQL(" AND (r.response_date IS NULL OR r.response_date <= CAST(%s AS DATE))")
            params.append(cutoff)
        picked = [sql.SQL("a.{}").format(sql.Identifier(d)) for d in dims] + \
                 [sql.SQL("q.{}").format(sql.Identifier(x)) for x in qs]
        query = sql.SQL("SELECT r.period, r.firm_id, {}r.weight, r.response_date, "
                        "row_number() OVER (ORDER BY r.period, r.firm_id) AS _row FROM response r "
                        "LEFT JOIN {} USING (response_id) LEFT JOIN {} USING (response_id) "
                        "WHERE {}").format(sql.SQL("").join(p + sql.SQL(", ") for p in picked),
                                           pivots[0], pivots[1], where)
        types = {"period": pa.string(), "firm_id": pa.string(), **{c: pa.string() for c in [*dims, *qs]},
                 "weight": pa.float64(), "response_date": pa.date32(), "_row": pa.int64()}
        data = self.con.copy_out(query, params, types)
        eng = self.engine
        eng.register("_fetched", data)
        try:
            eng.execute("CREATE OR REPLACE TABLE responses AS SELECT * FROM _fetched")
        finally:
            eng.unregister("_fetched")
        cols = ["period", "firm_id", *dims, *qs, "weight", "response_date"]
        return Responses(eng, cols, f"store {self.path}", methodology, "row")
