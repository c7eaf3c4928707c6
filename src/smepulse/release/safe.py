"""Safe outputs: spreadsheet formulas neutralised, Markdown escaped, all files of one command written together.

- `neutralise`: a spreadsheet-bound text cell (CSV, Excel, SDMX-CSV) that starts with `=`, `+`, `-`, `@`, a tab
  or a carriage return and is not a number gets a leading `'` (OWASP, CSV injection), so no spreadsheet reads it
  as a formula. Numbers (`-2.4`, `+1e3`) are left alone.
- `md_escape`: every string put into Markdown has the characters that make markup (`\\ ` * _ [ ] < > | ~ #`, `&`)
  escaped, so a methodology title with `<script>` or `[link](...)` is shown as text.
- `Outputs`: files are written under a staging directory next to their final place and moved into place only
  when every file of the command was written; on any error nothing new appears and the staging is removed.
"""
from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

import pandas as pd
from markupsafe import Markup

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


_MD = re.compile(r"([\\`*_\[\]|~#])")


_ENTITY = re.compile(r"&(?=#?\w+;)")


def md_escape(x) -> str:
    """A value as Markdown text: markup characters backslash-escaped, `<`, `>` as entities, and `&` where it
    would start an entity (`&lt;`, `&#60;`): "S&P Global" stays as written. `Markup` values (paths and links
    the template builds itself) pass unchanged; None is empty."""
    if x is None:
        return ""
    if isinstance(x, Markup):
        return str(x)
    s = _ENTITY.sub("&amp;", str(x)).replace("<", "&lt;").replace(">", "&gt;")
    return _MD.sub(r"\\\1", s).replace("\r", " ").replace("\n", " ")


class Outputs:
    """Stage the files of one command and move them into place together.

        with Outputs(out_dir) as o:
            o.path(out_dir / "a.html").write_text(...)
            o.path(out_dir / "a.csv").write_text(...)
        # both are in place now, or neither if anything raised
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.staging = self.root / f".smepulse-staging-{uuid.uuid4().hex[:12]}"
        self.pending: list[tuple[Path, Path]] = []

    def path(self, final: str | Path) -> Path:
        final = Path(final)
        try:
            rel = final.resolve().relative_to(self.root.resolve())
        except ValueError:
            rel = Path(f"{len(self.pending)}_{final.name}")
        tmp = self.staging / rel
        tmp.parent.mkdir(parents=True, exist_ok=True)
        self.pending.append((tmp, final))
        return tmp

    def commit(self) -> None:
        for tmp, final in self.pending:
            if not tmp.exists():
                continue
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp.replace(final)
        self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def __enter__(self) -> Outputs:
        self.root.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()
