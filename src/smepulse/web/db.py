"""The app's one handle on the store (a DuckDB file, or a PostgreSQL database by URL), plus the operational tables.

The server process holds one store connection for its whole life; requests share it under a lock (DuckDB
serialises writers anyway), so reads and writes from many threads never see "database is locked". On
PostgreSQL the same SQL runs through the store's connection facade (store/postgres.py): `?` parameters, plain
SQL both engines run, explicit BEGIN/COMMIT, the server's own row locks and constraints."""
from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from smepulse.errors import StoreError
from smepulse.store import Store, is_server_url, open_store

OPS_SCHEMA = (Path(__file__).parent / "ops_schema.sql").read_text(encoding="utf-8")
_OPS_SCHEMA_LOCK = 0x736D6571  # PostgreSQL advisory lock while the ops tables are created


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Database:
    """store: the smepulse Store (responses, vintages); ops tables live in the same database."""

    def __init__(self, target: str | Path):
        self.target = str(target)
        self.store: Store = open_store(self.target)
        self.lock = threading.RLock()
        self._depth = 0
        with self.transaction() as con:
            if is_server_url(self.target):  # two processes starting at once: CREATE IF NOT EXISTS races
                con.execute("SELECT pg_advisory_xact_lock(?)", [_OPS_SCHEMA_LOCK])
            con.execute(OPS_SCHEMA)

    def close(self) -> None:
        with self.lock:
            self.store.close()

    @contextmanager
    def connection(self) -> Iterator:
        """The store connection for reads (and single-statement writes), held under the lock."""
        with self.lock:
            yield self.store.con

    @contextmanager
    def transaction(self) -> Iterator:
        """All or nothing: statements inside commit together or not at all."""
        with self.lock:
            con = self.store.con
            if self._depth:  # nested: part of the outer transaction
                yield con
                return
            self._depth += 1
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            else:
                con.execute("COMMIT")
            finally:
                self._depth -= 1

    @contextmanager
    def private_store(self) -> Iterator[Store]:
        """The store on a connection of its own, for long work (a publish) that must not hold up the web: on
        DuckDB a sibling connection of the held file (its own MVCC transaction beside the web's short ones),
        on PostgreSQL a second connection. Closed on leaving; the app's own connection stays open."""
        if is_server_url(self.target):
            store = open_store(self.target)
        else:
            with self.lock:  # the held connection is not to be touched by two threads at once
                store = self.store.sibling()
        try:
            yield store
        finally:
            store.close()

    def rows(self, sql: str, params: list | tuple = ()) -> list[tuple]:
        with self.connection() as con:
            return con.execute(sql, list(params)).fetchall()

    def execute(self, sql: str, params: list | tuple = ()) -> None:
        with self.connection() as con:
            con.execute(sql, list(params))

    def ping(self) -> bool:
        try:
            return self.rows("SELECT 1") == [(1,)]
        except Exception:  # noqa: BLE001 (any failure means the store is not reachable)
            return False

    def secret(self) -> str:
        """The key that signs sessions and CSRF tokens, made once per store and kept in it."""
        with self.transaction() as con:
            row = con.execute("SELECT value FROM web_meta WHERE key = 'secret'").fetchall()
            if row:
                return row[0][0]
            value = secrets.token_urlsafe(48)
            con.execute("INSERT INTO web_meta VALUES ('secret', ?)", [value])
            return value


def open_database(target: str | Path) -> Database:
    text = str(target)
    if not is_server_url(text) and not Path(text).parent.exists():
        raise StoreError(f"store folder {Path(text).parent} does not exist: give --store PATH of a store "
                         "(e.g. demo/smepulse.duckdb after `make demo`)")
    return Database(text)
