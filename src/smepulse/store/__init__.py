"""The store: methodology versions, responses and computed series (with vintages) in one database.

The embedded default is a DuckDB file, so aggregation runs where the data lives. Writes are single
transactions: an import or a vintage is either all there or not there at all, even after a crash.
"""
from smepulse.store.store import Store, open_store

__all__ = ["Store", "open_store"]
