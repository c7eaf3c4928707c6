"""Read a wide responses file (CSV, Parquet, Excel) and validate it against a methodology.

Reading is strict and bounded: the header line must fit in 1 MB and every line in 64 MB; CSV may be UTF-8 (with
or without BOM), UTF-16 (with BOM) or GB18030/GBK, plain or gzip-compressed; line numbers are the true lines of
the file (blank lines and quoted line breaks counted). Values are normalised once, here at the edge: surrounding
spaces stripped, answer codes and classification values matched without regard to case, Chinese answer labels
(the methodology's zh labels) mapped to codes, Excel dates in the period column read as months.

Validation runs as a handful of vectorised DuckDB queries. Every problem is reported with the file, the line
(CSV, Excel) or row (Parquet) and the column; all problems are collected before failing, and nothing is written
anywhere until the whole file is valid. Values reach SQL only as parameters, names only as quoted identifiers.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import math
import re
import zlib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from smepulse.errors import InputError
from smepulse.methodology import Methodology
from smepulse.survey.sql import quote_ident

REQUIRED = ("period", "firm_id")
OPTIONAL = ("weight", "response_date")
ROW = "_row"  # the position of each row in the user's file, kept for error messages
PERIOD_RE = r"^\d{4}-(0[1-9]|1[0-2])$"  # used with full-string matching only
MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])", re.ASCII)
# Excel turns "2024-03" into the first of the month; accept that, with or without a midnight time.
MONTH_AS_DATE = re.compile(r"(\d{4})-(0[1-9]|1[0-2])-01(?:[ T]00:00(?::00(?:\.0+)?)?)?", re.ASCII)
DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
MAX_EXAMPLES = 5
MAX_HEADER = 1 << 20  # bytes
MAX_LINE = 64 << 20  # bytes
MAX_WEIGHT = 1e9  # a design weight above a billion firms per respondent is a mistake, and sums stay exact
SPACES = " \t\u00a0\u3000"  # stripped around every value: spaces, tabs, no-break and ideographic spaces
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Responses:
    """Validated responses: a DuckDB view `responses` on `con` (text answers, weight as DOUBLE, 1 if absent)."""
    con: duckdb.DuckDBPyConnection
    columns: list[str]
    source: str
    methodology: Methodology
    row_label: str  # "line" for CSV/Excel (header is line 1), "row" for Parquet (1-based)
    file_sha256: str = ""  # of the source file's bytes, when it came from a file
    table: str = "responses"  # the relation on `con` holding these rows (a store names one per handle)

    @property
    def dimensions(self) -> list[str]:
        return [d for d in self.methodology.classifications if d in self.columns]

    @property
    def questions(self) -> list[str]:
        return [q.id for q in self.methodology.questions if q.id in self.columns]

    def to_pandas(self) -> pd.DataFrame:
        return self.con.execute(f"SELECT * EXCLUDE (_row) FROM {quote_ident(self.table)} ORDER BY _row").df()


# -- reading ---------------------------------------------------------------------------------------------------
def read_table(path: str | Path) -> tuple[pa.Table, str]:
    """Read CSV, Parquet or Excel into Arrow with every column as text (types are checked later)."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InputError("file not found", file=name)
    if not path.is_file():
        raise InputError("not a regular file (a folder or a device); give the path of a data file", file=name)
    lower = path.name.lower()
    with open(path, "rb") as fh:
        magic = fh.read(8)
    try:
        if lower.endswith((".parquet", ".pq")):
            table, label = _read_parquet(path), "row"
            offset = 1
        elif lower.endswith((".xlsx", ".xlsm", ".xls")):
            if magic.startswith(b"\xd0\xcf\x11\xe0"):
                raise InputError("this is an old Excel 97-2003 workbook (.xls), which is not read; open it in "
                                 "Excel or LibreOffice and save it as .xlsx or CSV (UTF-8)", file=name)
            if not magic.startswith(b"PK\x03\x04"):
                raise InputError("not an Excel .xlsx workbook (the file is not a zip archive); if it holds CSV "
                                 "text, rename it to .csv", file=name)
            table = _read_xlsx(path)
            label, offset = "line", None
        elif lower.endswith((".csv", ".txt", ".csv.gz", ".txt.gz", ".gz", ".tsv")):
            table = _read_csv(path, magic)
            label, offset = "line", None
        else:
            raise InputError(f"unsupported file type '{path.suffix}'; use .csv, .csv.gz, .parquet or .xlsx",
                             file=name)
    except InputError:
        raise
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError, OSError, KeyError, zlib.error,
            EOFError) as exc:
        raise InputError(f"could not read the file: {' '.join(str(exc).split())[:300]}", file=name) from exc
    if table.num_rows == 0:
        raise InputError("the file has a header but no rows", file=name)
    if offset is not None:
        table = table.append_column(ROW, pa.array(np.arange(offset, offset + table.num_rows, dtype=np.int64)))
    return table, label


def _read_parquet(path: Path) -> pa.Table:
    name = str(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"not a readable Parquet file ({' '.join(str(exc).split())[:200]})", file=name) from exc
    for f in table.schema:
        t = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
        if pa.types.is_nested(t):
            raise InputError(f"column holds {t} values; every column must hold plain values (text or numbers), "
                             "one answer per cell", file=name, column=f.name)
        if pa.types.is_binary(t) or pa.types.is_large_binary(t):
            raise InputError("column holds binary values; write text (UTF-8) columns", file=name, column=f.name)
    _check_names(table.column_names, name)
    return table


def _check_names(names: list[str], file: str) -> None:
    seen: dict[str, int] = {}
    for i, n in enumerate(names, start=1):
        if n == "" or n is None:
            raise InputError(f"column {i} of the header has no name", file=file)
        if n in seen:
            raise InputError(f"duplicate column '{n}' (columns {seen[n]} and {i} of the header); keep one",
                             file=file, column=n)
        seen[n] = i
    if ROW in seen:
        raise InputError(f"column name '{ROW}' is reserved by smepulse and is not a question or "
                         "classification; rename or remove that column", file=file, column=ROW)


def _decode(data: bytes, file: str) -> tuple[bytes, str]:
    """UTF-8 bytes of a CSV in UTF-8 (BOM or not), UTF-16 (BOM) or GB18030/GBK; the encoding found."""
    if data.startswith(codecs.BOM_UTF8):
        data, enc = data[len(codecs.BOM_UTF8):], "utf-8"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16").encode("utf-8"), "utf-16"
        except UnicodeDecodeError as exc:
            raise InputError(f"starts as UTF-16 but byte {exc.start} is not UTF-16; save the file as CSV "
                             "UTF-8", file=file) from None
    else:
        enc = "utf-8"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(memoryview(data)[: 1 << 20])
        data.decode("utf-8")  # the whole file: UTF-8 validation is fast
        return data, enc
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        line = data.count(b"\n", 0, utf8_error.start) + 1
        raise InputError(f"line {line}: the file is neither UTF-8 nor GBK/GB18030 (byte "
                         f"0x{data[utf8_error.start]:02x}); save it as 'CSV UTF-8' from your spreadsheet",
                         file=file) from None
    return text.encode("utf-8"), "gb18030"


def _read_csv(path: Path, magic: bytes) -> pa.Table:
    name = str(path)
    with open(path, "rb") as fh:
        if magic.startswith(b"\x1f\x8b"):
            data = _gunzip(fh, name)
        elif path.name.lower().endswith(".gz"):
            raise InputError("named .gz but not gzip-compressed; rename it to .csv", file=name)
        else:
            head = fh.read(MAX_HEADER + 1)
            if b"\n" not in head and len(head) > MAX_HEADER:
                raise InputError(f"the header line is longer than {MAX_HEADER >> 20} MB; is this a CSV file?",
                                 file=name)
            data = head + fh.read()
    data, _enc = _decode(data, name)
    if not data.strip():
        raise InputError("the file is empty", file=name)
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise InputError(f"line {line}: the file holds NUL bytes, so it is not a text CSV file", file=name)
    arr = np.frombuffer(data, dtype=np.uint8)
    nl = np.flatnonzero(arr == 10)
    starts = np.concatenate(([0], nl + 1))
    ends = np.concatenate((nl, [len(data)]))
    lengths = ends - starts
    if lengths.max(initial=0) > MAX_LINE:
        line = int(np.argmax(lengths)) + 1
        raise InputError(f"line {line} is longer than {MAX_LINE >> 20} MB; is this a CSV file?", file=name)
    first = data[: ends[0]].decode("utf-8").rstrip("\r")
    try:
        header = next(csv.reader([first]))
    except (csv.Error, StopIteration) as exc:
        raise InputError(f"line 1: cannot read the header ({exc})", file=name) from None
    names = [h.strip(SPACES) for h in header]
    if not any(names):
        raise InputError("the file is empty (no header line)", file=name)
    _check_names(names, name)
    quoted = b'"' in data
    bad_rows: list[int] = []

    def invalid(row) -> str:
        bad_rows.append(1)
        return "skip"

    table = pacsv.read_csv(
        pa.BufferReader(data),
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=MAX_LINE + (1 << 20)),
        parse_options=pacsv.ParseOptions(newlines_in_values=quoted, invalid_row_handler=invalid),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                             strings_can_be_null=True, null_values=[""],
                                             quoted_strings_can_be_null=True))
    if bad_rows:  # the error path: find the true lines with Python's csv reader
        raise InputError(_ragged(data, len(names), len(bad_rows), name))
    lines = _record_lines(data, lengths, starts, quoted, name)
    if len(lines) != table.num_rows:  # should not happen; never report wrong lines
        raise InputError(f"could not number the lines ({len(lines)} records, {table.num_rows} rows read); is "
                         "a quote left open?", file=name)
    return table.append_column(ROW, pa.array(lines, type=pa.int64()))


def _ragged(data: bytes, n: int, count: int, file: str) -> str:
    shown: list[str] = []
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    prev = 0
    try:
        for i, row in enumerate(reader):
            start, prev = prev + 1, reader.line_num
            if i and row and len(row) != n and len(shown) < MAX_EXAMPLES:
                shown.append(f"file {file}, line {start}: expected {n} values (as in the header), got {len(row)}")
    except csv.Error as exc:
        shown.append(f"file {file}, line {prev + 1}: {exc}")
    return f"{count} line(s) with the wrong number of values:\n" + "\n".join(shown)


def _gunzip(fh, name: str) -> bytes:
    try:
        with gzip.GzipFile(fileobj=fh) as gz:
            return gz.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"broken gzip file ({exc})", file=name) from None


def _record_lines(data: bytes, lengths: np.ndarray, starts: np.ndarray, quoted: bool, file: str) -> np.ndarray:
    """The 1-based line on which each data record starts, skipping blank lines, counting quoted line breaks."""
    if not quoted:
        blank = (lengths == 0) | ((lengths == 1) & (np.frombuffer(data, np.uint8)[np.minimum(starts, len(data) - 1)]
                                                  == 13))
        if len(data) and data.endswith(b"\n"):
            blank = blank[:-1]  # the empty "line" after the final newline
        numbers = np.flatnonzero(~blank) + 1
        return numbers[1:]  # the header is the first non-blank line
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    out: list[int] = []
    prev = 0
    try:
        for i, row in enumerate(reader):
            start, prev = prev + 1, reader.line_num
            if i == 0 or not row:
                continue
            out.append(start)
    except csv.Error as exc:
        raise InputError(f"line {prev + 1}: {exc}", file=file) from None
    return np.asarray(out, dtype=np.int64)


def _read_xlsx(path: Path) -> pa.Table:
    """The first sheet; cells that are formulas without a cached value are an error (not blanks)."""
    name = str(path)
    try:
        values = openpyxl.load_workbook(path, read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (OSError, KeyError, ValueError, zlib.error) as exc:
        raise InputError(f"not a readable .xlsx workbook ({' '.join(str(exc).split())[:200]})", file=name) from None
    except Exception as exc:  # noqa: BLE001 (openpyxl raises its own InvalidFileException and zipfile errors)
        raise InputError(f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})", file=name) from None
    try:
        ws_v, ws_f = values.worksheets[0], formulas.worksheets[0]
        rows_v = ws_v.iter_rows(values_only=True)
        rows_f = ws_f.iter_rows(values_only=True)
        header = next(rows_v, None)
        next(rows_f, None)
        if header is None or all(h is None for h in header):
            raise InputError(f"the file is empty (sheet '{ws_v.title}' has no header row)", file=name)
        names = ["" if h is None else str(h).strip(SPACES) for h in header]
        while names and names[-1] == "":
            names.pop()
        _check_names(names, name)
        period_at = names.index("period") if "period" in names else -1
        cols: list[list] = [[] for _ in names]
        lines: list[int] = []
        problems: list[str] = []
        for line, (rv, rf) in enumerate(zip(rows_v, rows_f, strict=False), start=2):
            if all(v is None for v in rv):
                continue
            for j in range(len(names)):
                v = rv[j] if j < len(rv) else None
                f = rf[j] if j < len(rf) else None
                if v is None and isinstance(f, str) and f.startswith("="):
                    if len(problems) < MAX_EXAMPLES:
                        problems.append(f"file {name}, line {line}, column '{names[j]}': cell "
                                        f"{openpyxl.utils.get_column_letter(j + 1)}{line} is a formula ({f[:40]}) "
                                        "without a saved value; open and save the workbook in Excel, or paste "
                                        "values")
                cols[j].append(_excel_text(v, j == period_at))
            lines.append(line)
            if len(rv) > len(names) and any(v is not None for v in rv[len(names):]):
                raise InputError(f"line {line}: a value beyond the last named column", file=name)
    finally:
        values.close()
        formulas.close()
    if problems:
        raise InputError(f"{len(problems)} formula cell(s) without a value:\n" + "\n".join(problems))
    table = pa.table({n: pa.array(c, type=pa.string()) for n, c in zip(names, cols, strict=True)})
    return table.append_column(ROW, pa.array(lines, type=pa.int64()))


def _excel_text(v: object, is_period: bool) -> str | None:
    if v is None:
        return None
    if isinstance(v, datetime):
        if is_period and v.day == 1 and v.time() == datetime.min.time():
            return f"{v:%Y-%m}"
        return v.isoformat(sep=" ") if v.time() != datetime.min.time() else f"{v:%Y-%m-%d}"
    if isinstance(v, date):
        return f"{v:%Y-%m}" if is_period and v.day == 1 else v.isoformat()
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        if math.isfinite(v) and v == int(v) and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    return str(v)


# -- normalising -----------------------------------------------------------------------------------------------
def _as_text(data: pa.ChunkedArray) -> pa.ChunkedArray:
    t = data.type.value_type if pa.types.is_dictionary(data.type) else data.type
    if pa.types.is_dictionary(data.type):
        data = data.cast(t)
    if pa.types.is_string(t):
        return data
    if pa.types.is_large_string(t):
        return data.cast(pa.string())
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return pc.strftime(data, format="%Y-%m-%d %H:%M:%S" if pa.types.is_timestamp(t) else "%Y-%m-%d")
    if pa.types.is_floating(t):  # 3.0 -> "3", as spreadsheets show it
        out = [None if v is None else (str(int(v)) if math.isfinite(v) and v == int(v) and abs(v) < 1e15
                                       else repr(v)) for v in data.to_pylist()]
        return pa.chunked_array([pa.array(out, type=pa.string())])
    return data.cast(pa.string())


def _map_distinct(data: pa.ChunkedArray, fn) -> pa.ChunkedArray:
    """Apply `fn` to each distinct value (few for periods, codes and classifications): cheap on millions of rows."""
    enc = pc.dictionary_encode(data.combine_chunks() if data.num_chunks != 1 else data.chunk(0))
    uniques = enc.dictionary.to_pylist()
    mapped = pa.array([fn(u) for u in uniques], type=pa.string())
    return pa.chunked_array([pc.take(mapped, enc.indices)])


def _strip(v: str | None) -> str | None:
    if v is None:
        return None
    v = v.strip(SPACES)
    return v or None


def _period(v: str | None) -> str | None:
    s = _strip(v)
    if s is None:
        return None
    if MONTH.fullmatch(s):
        return s
    m = MONTH_AS_DATE.fullmatch(s)
    return f"{m.group(1)}-{m.group(2)}" if m else v  # a bad value stays as it was, for the error message


def _code_lookup(codes: tuple[str, ...], labels: dict[str, tuple[str, ...]]) -> dict[str, str]:
    look = {c.casefold(): c for c in codes}
    for code, names in labels.items():
        for n in names:
            look.setdefault(n.strip().casefold(), code)
    return look


def normalise(table: pa.Table, methodology: Methodology) -> pa.Table:
    """Text everywhere; spaces stripped; periods, codes and classification values in their canonical form."""
    out = {}
    questions = {q.id: q for q in methodology.questions}
    for name in table.column_names:
        data = table.column(name)
        if name == ROW:
            out[name] = data
            continue
        if name == "weight" and (pa.types.is_floating(data.type) or pa.types.is_integer(data.type)):
            out[name] = data.cast(pa.float64())
            continue
        data = _as_text(data)
        if name == "period":
            data = _map_distinct(data, _period)
        elif name in questions:
            q = questions[name]
            look = _code_lookup(q.codes, methodology.code_labels(q))
            data = _map_distinct(data, lambda v, look=look: None if _strip(v) is None
                                 else look.get(_strip(v).casefold(), v))
        elif name in methodology.classifications:
            look = {v.casefold(): v for v in methodology.classifications[name].values}
            data = _map_distinct(data, lambda v, look=look: None if _strip(v) is None
                                 else look.get(_strip(v).casefold(), v))
        else:  # firm_id, weight as text, response_date, unknown columns
            data = pc.utf8_trim(data, characters=SPACES)
            data = pc.if_else(pc.equal(data, ""), pa.scalar(None, pa.string()), data)
        out[name] = data
    return pa.table(out)


# -- validating ------------------------------------------------------------------------------------------------
def validate(table: pa.Table, methodology: Methodology, source: str, row_label: str = "row",
             con: duckdb.DuckDBPyConnection | None = None, today: date | None = None) -> Responses:
    """Check columns, periods, duplicates, classification values, answer codes, weights and dates."""
    cols = [c for c in table.column_names if c != ROW]
    problems: list[str] = []

    def where(row: int | None, column: str | None) -> str:
        parts = [f"file {source}"]
        if row is not None:
            parts.append(f"{row_label} {row}")
        if column:
            parts.append(f"column '{column}'")
        return ", ".join(parts)

    if len(set(cols)) != len(cols):
        dup = next(c for c in cols if cols.count(c) > 1)
        raise InputError(f"{where(None, dup)}: duplicate column '{dup}'; keep one")
    for c in REQUIRED:
        if c not in cols:
            problems.append(f"{where(None, c)}: required column is missing (columns are: {', '.join(cols)})")
    questions = {q.id: q for q in methodology.questions}
    dims = methodology.classifications
    known = set(REQUIRED) | set(OPTIONAL) | set(questions) | set(dims)
    for c in cols:
        if c not in known:
            problems.append(f"{where(None, c)}: unknown question or classification {c!r} for methodology "
                            f"'{methodology.name}' (questions: {', '.join(questions)})")
    present_q = [q for q in questions if q in cols]
    if not present_q and "period" in cols:
        problems.append(f"{where(None, None)}: no question columns found")
    if problems:
        raise InputError("\n".join(problems))
    for f in table.schema:
        t = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
        if pa.types.is_nested(t):
            raise InputError(f"{where(None, f.name)}: column holds {t} values; one plain value per cell")

    table = normalise(table, methodology)
    today = today or date.today()
    con = con or duckdb.connect()
    con.register("raw_responses", table)
    numeric_weight = "weight" in cols and pa.types.is_floating(table.schema.field("weight").type)
    select = [quote_ident(c) for c in cols if c not in ("weight", "response_date")]
    if "weight" in cols:
        select.append("CAST(weight AS DOUBLE) AS weight, CAST(NULL AS VARCHAR) AS _weight_text" if numeric_weight
                      else "TRY_CAST(weight AS DOUBLE) AS weight, weight AS _weight_text")
    if "response_date" in cols:
        select.append("CASE WHEN regexp_full_match(response_date, '\\d{4}-\\d{2}-\\d{2}') THEN "
                      "CAST(try_strptime(response_date, '%Y-%m-%d') AS DATE) END AS response_date, "
                      "response_date AS _date_text")
    con.execute(f"CREATE OR REPLACE TEMP VIEW r AS SELECT {', '.join(select)}, {ROW} FROM raw_responses")

    # (column, condition for a bad row, message, parameters, text shown)
    checks: list[tuple[str, str, str, list, str]] = [
        ("period", "period IS NULL OR NOT regexp_full_match(period, '\\d{4}-(0[1-9]|1[0-2])')",
         "period must be a month YYYY-MM (or an Excel date on the first of the month)", [], "period"),
        ("firm_id", "firm_id IS NULL OR regexp_matches(firm_id, '[\\x00-\\x1f\\x7f]')",
         "firm_id is blank or holds a control character (tab, line break)", [], "firm_id"),
    ]
    if "weight" in cols:
        checks.append(("weight", "weight IS NULL OR NOT isfinite(weight) OR weight <= 0 OR weight > ?",
                       f"weight must be a positive number up to {MAX_WEIGHT:g} (blank is not allowed once the "
                       "column exists)", [MAX_WEIGHT],
                       "coalesce(_weight_text, CAST(weight AS VARCHAR))"))
    if "response_date" in cols:
        checks.append(("response_date", "_date_text IS NOT NULL AND (response_date IS NULL OR response_date > ?)",
                       f"response_date must be a real date YYYY-MM-DD, not after today ({today})", [today],
                       "_date_text"))
    for d, cls in dims.items():
        if d in cols:
            checks.append((d, f"{quote_ident(d)} IS NULL OR NOT list_contains(?, {quote_ident(d)})",
                           f"{d} must be one of {', '.join(cls.values)}", [list(cls.values)], quote_ident(d)))
    for qid in present_q:
        codes = questions[qid].codes
        checks.append((qid, f"{quote_ident(qid)} IS NOT NULL AND NOT list_contains(?, {quote_ident(qid)})",
                       f"answer must be one of {', '.join(codes)} or blank", [list(codes)], quote_ident(qid)))
    params = [p for c in checks for p in c[3]]
    counts = con.execute("SELECT " + ", ".join(f"count(*) FILTER (WHERE {cond})" for _, cond, _, _, _ in checks)
                         + " FROM r", params).fetchall()[0]
    for (col, cond, msg, ps, shown), count in zip(checks, counts, strict=True):
        if count:
            rows = con.execute(f"SELECT {ROW}, CAST({shown} AS VARCHAR) FROM r WHERE {cond} "
                               f"ORDER BY {ROW} LIMIT {MAX_EXAMPLES}", ps).fetchall()
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
    keep = ", ".join(quote_ident(c) for c in cols if c != "weight")
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
    if ROW in table.column_names:
        raise InputError(f"column name '{ROW}' is reserved by smepulse; rename or remove it", file=source,
                         column=ROW)
    table = table.append_column(ROW, pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64)))
    return validate(table, methodology, source, "row", con)
