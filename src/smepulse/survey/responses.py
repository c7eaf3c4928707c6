"""Read a wide responses file (CSV, Parquet, Excel) and validate it against a methodology.

Validation runs as a handful of vectorised DuckDB queries, so 10 million answers are checked in well under a
second. Every problem is reported with the file, the line (CSV, Excel) or row (Parquet) and the column; all
problems are collected before failing, and nothing is written anywhere until the whole file is valid.
"""
from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from smepulse.errors import InputError
from smepulse.methodology import Methodology

REQUIRED = ("period", "firm_id")
OPTIONAL = ("weight", "response_date")
ROW = "_row"  # the position of each row in the user's file, kept for error messages
PERIOD_RE = r"^\d{4}-(0[1-9]|1[0-2])$"
MAX_EXAMPLES = 5


@dataclass
class Responses:
    """Validated responses: a DuckDB view `responses` on `con` (text answers, weight as DOUBLE, 1 if absent)."""
    con: duckdb.DuckDBPyConnection
    columns: list[str]
    source: str
    methodology: Methodology
    row_label: str  # "line" for CSV/Excel (header is line 1), "row" for Parquet (1-based)
    file_sha256: str = ""  # of the source file's bytes, when it came from a file

    @property
    def dimensions(self) -> list[str]:
        return [d for d in self.methodology.classifications if d in self.columns]

    @property
    def questions(self) -> list[str]:
        return [q.id for q in self.methodology.questions if q.id in self.columns]

    def to_pandas(self) -> pd.DataFrame:
        return self.con.execute("SELECT * EXCLUDE (_row) FROM responses ORDER BY _row").df()


def read_table(path: str | Path) -> tuple[pa.Table, str]:
    """Read CSV, Parquet or Excel into Arrow with every column as text (types are checked later)."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=str(path))
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            table = pq.read_table(path)
            label = "row"
            offset = 1
        elif suffix in (".xlsx", ".xlsm", ".xls"):
            df = pd.read_excel(path, dtype=str)
            table = pa.Table.from_pandas(df, preserve_index=False)
            label, offset = "line", 2
        elif suffix in (".csv", ".txt", ".gz"):
            with open(path, "rb") as fh:
                header = fh.readline().decode("utf-8-sig").strip()
            if not header:
                raise InputError("the file is empty", file=str(path))
            names = next(csv.reader([header]))
            table = pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in names}, strings_can_be_null=True,
                    null_values=[""]))
            label, offset = "line", 2
        else:
            raise InputError(f"unsupported file type '{suffix}'; use .csv, .parquet or .xlsx", file=str(path))
    except (pa.ArrowInvalid, ValueError, OSError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"could not read the file: {exc}", file=str(path)) from exc
    if table.num_rows == 0:
        raise InputError("the file has a header but no rows", file=str(path))
    table = table.append_column(ROW, pa.array(np.arange(offset, offset + table.num_rows, dtype=np.int64)))
    return table, label


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _in_list(values) -> str:
    return "(" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) + ")"


def _suspect(table: pa.Table, col: str, m: Methodology) -> bool:
    """Could this column hold a bad value? Decided on its distinct values, which are few (dictionary-encoded
    Parquet answers make this nearly free); a False here is certain, a True is checked row by row."""
    data = table.column(col)
    if col == "weight":
        if not (pa.types.is_floating(data.type) or pa.types.is_integer(data.type)):
            return True
        w = data.to_numpy(zero_copy_only=False).astype(float)
        return bool(data.null_count or not np.isfinite(w).all() or (w <= 0).any())
    if col == "firm_id":
        text = pc.cast(data, pa.string()) if not pa.types.is_string(data.type) else data
        return bool(data.null_count or pc.any(pc.equal(pc.utf8_trim_whitespace(text), "")).as_py())
    values = pc.unique(data)
    if pa.types.is_dictionary(values.type):
        values = values.dictionary.take(values.indices.drop_null())
    values = {v for v in values.to_pylist() if v is not None}
    if col == "period":
        return bool(data.null_count) or any(not re.match(PERIOD_RE, str(v)) for v in values)
    if col in m.classifications:
        return bool(data.null_count) or not values <= set(m.classifications[col].values)
    return not {str(v) for v in values} <= set(m.question(col).codes)


def validate(table: pa.Table, methodology: Methodology, source: str, row_label: str = "row",
             con: duckdb.DuckDBPyConnection | None = None) -> Responses:
    """Check columns, periods, duplicates, classification values, answer codes and weights."""
    cols = [c for c in table.column_names if c != ROW]
    problems: list[str] = []

    def where(row: int | None, column: str | None) -> str:
        parts = [f"file {source}"]
        if row is not None:
            parts.append(f"{row_label} {row}")
        if column:
            parts.append(f"column '{column}'")
        return ", ".join(parts)

    for c in REQUIRED:
        if c not in cols:
            problems.append(f"{where(None, c)}: required column is missing (columns are: {', '.join(cols)})")
    questions = {q.id: q for q in methodology.questions}
    dims = methodology.classifications
    known = set(REQUIRED) | set(OPTIONAL) | set(questions) | set(dims)
    for c in cols:
        if c not in known:
            kind = "question or classification"
            problems.append(f"{where(None, c)}: unknown {kind} '{c}' for methodology "
                            f"'{methodology.name}' (questions: {', '.join(questions)})")
    present_q = [q for q in questions if q in cols]
    if not present_q and "period" in cols:
        problems.append(f"{where(None, None)}: no question columns found")
    if problems:
        raise InputError("\n".join(problems))

    # Text columns from Parquet/Excel may arrive typed; compare everything as text.
    con = con or duckdb.connect()
    con.register("raw_responses", table)
    def text(c: str) -> str:  # casting a column that is already text would cost a copy of it
        t = table.schema.field(c).type
        t = t.value_type if pa.types.is_dictionary(t) else t
        return _q(c) if pa.types.is_string(t) or pa.types.is_large_string(t) else \
            f"CAST({_q(c)} AS VARCHAR) AS {_q(c)}"

    casts = ", ".join(text(c) for c in cols if c != "weight")
    weight_sql = ""
    if "weight" in cols:
        numeric = pa.types.is_floating(table.schema.field("weight").type) or \
            pa.types.is_integer(table.schema.field("weight").type)
        weight_sql = (", CAST(weight AS DOUBLE) AS weight, CAST(NULL AS VARCHAR) AS _weight_text" if numeric
                      else ", TRY_CAST(weight AS DOUBLE) AS weight, CAST(weight AS VARCHAR) AS _weight_text")
    con.execute(f"CREATE TEMP VIEW r AS SELECT {casts}{weight_sql}, {ROW} FROM raw_responses")

    checks: list[tuple[str, str, str]] = [  # (column, condition for a bad row, message)
        ("period", f"period IS NULL OR NOT regexp_matches(period, '{PERIOD_RE}')",
         "period must look like YYYY-MM"),
        ("firm_id", "firm_id IS NULL OR trim(firm_id) = ''", "firm_id is blank"),
    ]
    if "weight" in cols:
        checks.append(("weight", "weight IS NULL OR NOT isfinite(weight) OR weight <= 0",
                       "weight must be a positive number (blank is not allowed once the column exists)"))
    for d, cls in dims.items():
        if d in cols:
            checks.append((d, f"{_q(d)} IS NULL OR {_q(d)} NOT IN {_in_list(cls.values)}",
                           f"{d} must be one of {', '.join(cls.values)}"))
    for qid in present_q:
        codes = questions[qid].codes
        checks.append((qid, f"{_q(qid)} IS NOT NULL AND {_q(qid)} NOT IN {_in_list(codes)}",
                       f"answer must be one of {', '.join(codes)} or blank"))
    # Fast screen on the distinct values (Arrow); only suspect columns are scanned row by row.
    checks = [c for c in checks if _suspect(table, c[0], methodology)]
    counts = con.execute("SELECT " + ", ".join(f"sum(CASE WHEN {cond} THEN 1 ELSE 0 END)"
                                               for _, cond, _ in checks)
                         + " FROM r").fetchall()[0] if checks else []
    for (col, cond, msg), count in zip(checks, counts, strict=False):
        if count:
            rows = con.execute(f"SELECT {ROW}, CAST({_q(col)} AS VARCHAR) FROM r WHERE {cond} "
                               f"ORDER BY {ROW} LIMIT {MAX_EXAMPLES}").fetchall()
            if col == "weight":
                rows = con.execute(f"SELECT {ROW}, coalesce(_weight_text, CAST(weight AS VARCHAR)) FROM r "
                                   f"WHERE {cond} ORDER BY {ROW} LIMIT {MAX_EXAMPLES}").fetchall()
            for row, value in rows:
                problems.append(f"{where(row, col)}: {msg}, got {value!r}")
            if count > len(rows):
                problems.append(f"{where(None, col)}: ... and {count - len(rows)} more rows like these")
    dups = con.execute(f"""
        SELECT firm_id, period, list({ROW} ORDER BY {ROW}) FROM r
        WHERE firm_id IS NOT NULL AND period IS NOT NULL
        GROUP BY firm_id, period HAVING count(*) > 1 ORDER BY min({ROW}) LIMIT {MAX_EXAMPLES}""").fetchall()
    for firm, period, rows in dups:
        problems.append(f"{where(rows[1], 'firm_id')}: duplicate response of firm {firm!r} for {period} "
                        f"(also at {row_label} {rows[0]})")
    if problems:
        raise InputError(f"{len(problems)} problem(s) found; nothing was computed or imported:\n" + "\n".join(problems))

    weight = "weight" if "weight" in cols else "1.0"
    keep = ", ".join(_q(c) for c in cols if c not in ("weight",))
    con.execute(f"CREATE OR REPLACE TEMP VIEW responses AS SELECT {keep}, {weight} AS weight, {ROW} FROM r")
    return Responses(con, [c for c in cols] + ([] if "weight" in cols else ["weight"]), source,
                     methodology, row_label)


def load_responses(path: str | Path, methodology: Methodology,
                   con: duckdb.DuckDBPyConnection | None = None) -> Responses:
    table, label = read_table(path)
    resp = validate(table, methodology, str(path), label, con)
    resp.file_sha256 = _file_sha256(Path(path))
    return resp


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def from_frame(df: pd.DataFrame | pa.Table, methodology: Methodology, source: str = "<dataframe>",
               con: duckdb.DuckDBPyConnection | None = None) -> Responses:
    """Validate an in-memory wide table (e.g. from the simulator); rows are numbered from 1."""
    table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    table = table.append_column(ROW, pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64)))
    return validate(table, methodology, source, "row", con)
