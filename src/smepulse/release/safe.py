"""Safe outputs: spreadsheet formulas neutralised, Markdown escaped, all files of one command written together.

- Spreadsheet cells: `smepulse.spreadsheet.neutralise` / `neutralise_frame` (one implementation for every pillar): a
  spreadsheet-bound text cell that would be read as a formula gets a leading `'`.
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

from markupsafe import Markup

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
