"""SQL text helpers, the one place every module quotes with: identifiers and literal lists are quoted, never
spliced bare (values themselves go as parameters wherever the engine allows)."""
from __future__ import annotations

from collections.abc import Iterable


def quote_ident(name: str) -> str:
    """A SQL identifier, quoted (names from users' files and methodologies are never spliced bare)."""
    return '"' + str(name).replace('"', '""') + '"'


def in_list(values: Iterable[object]) -> str:
    """A SQL list of string literals, quoted: `('a', 'b''c')`. For IN lists built from methodology values
    (inside a GROUPING SETS query, where parameters cannot go); prefer parameters elsewhere."""
    return "(" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) + ")"
