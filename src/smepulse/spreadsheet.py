"""Spreadsheet-bound cells (CSV, Excel, SDMX-CSV) made safe, for every pillar that writes them.

A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return and is not a number gets a leading `'`
(OWASP, CSV injection), so no spreadsheet reads it as a formula. Numbers (`-2.4`, `+1e3`) are left alone. Lowest
layer (pandas only), so the release, the decision ledger and the web exports share this one implementation.
"""
from __future__ import annotations

import re

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise(x):
    """Prefix `'` to a text cell a spreadsheet would read as a formula; anything else unchanged."""
    if isinstance(x, str) and x.startswith(FORMULA_START) and not _NUMBER.fullmatch(x):
        return "'" + x
    return x


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Every text cell and column name of a table bound for a spreadsheet, neutralised."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(neutralise)
    out.columns = [neutralise(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out
