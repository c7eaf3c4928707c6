"""The store: methodology versions, responses and computed series (with vintages) in one database.

The embedded default is a DuckDB file, so aggregation runs where the data lives. A `postgresql://` URL opens
the same store on a PostgreSQL server (store/postgres.py). Writes are single transactions: an import or a
vintage is either all there or not there at all, even after a crash.
"""
from __future__ import annotations

from pathlib import Path

from smepulse.store import store as _embedded
from smepulse.store.postgres import PostgresStore, is_server_url, redact
from smepulse.store.store import Store


def open_store(target: str | Path, **options) -> Store:
    """A store file path (DuckDB, created if missing) or a postgresql:// URL (the database must exist;
    the store's tables are created in it on first use). `options` (e.g. read_only) go to the backend."""
    if is_server_url(target):
        return PostgresStore(str(target), **options)
    return _embedded.open_store(target, **options)


__all__ = ["PostgresStore", "Store", "is_server_url", "open_store", "redact"]
