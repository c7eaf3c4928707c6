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
def read_table(path: str | Path, dictionary: bool = False) -> tuple[pa.Table, str]:
    """Read CSV, Parquet or Excel into Arrow with every column as text (types are checked later).

    dictionary=True keeps text columns dictionary-encoded, as the CSV reader and Parquet produce them (a
    fraction of the memory; the responses path uses it); otherwise they are plain strings."""
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
    if not dictionary:
        table = pa.table({f.name: table.column(f.name).cast(f.type.value_type) if pa.types.is_dictionary(f.type)
                          else table.column(f.name) for f in table.schema})
    if offset is not None:
        table = table.append_column(ROW, pa.array(np.arange(offset, offset + table.num_rows, dtype=np.int64)))
    return table, label


def _read_parquet(path: Path) -> pa.Table:
    name = str(path)
    try:  # text columns stay dictionary-encoded, as Parquet stores them (a fraction of the memory)
        schema = pq.read_schema(path)
        text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        table = pq.read_table(path, read_dictionary=text)
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


CHUNK = 8 << 20  # bytes scanned at a time: memory stays bounded whatever the file size
TEXT = pa.dictionary(pa.int32(), pa.string())  # CSV cells as text, each distinct value held once per block
UTF16_NAMES = {"utf-16-le": "UTF-16 little-endian", "utf-16-be": "UTF-16 big-endian"}


@dataclass
class _Lines:
    """Where the lines of a UTF-8 CSV are, from one pass over its bytes (no copy of the file is kept)."""
    newlines: np.ndarray  # position of every \n
    ends_record: np.ndarray  # per \n: outside quotes (it ends a record)
    after_cr: np.ndarray  # per \n: preceded by \r
    size: int
    last: int  # the last byte (-1 if empty)
    header: bytes  # the first line
    quoted: bool  # the file holds a quote character
    simple_quotes: bool  # every opening quote starts a field (else Python's csv reader numbers the records)
    utf8_error: int | None  # position of the first byte that is not UTF-8


def _too_long(line: int, file: str) -> InputError:
    return InputError(f"line {line} is longer than {MAX_LINE >> 20} MB; is this a CSV file?", file=file)


def _scan(read, file: str, check_utf8: bool = True) -> _Lines:
    """Newlines, quote parity, line length and NUL bytes, chunk by chunk from `read(n)`; a line over MAX_LINE
    stops the scan there (a 1 GB line costs 64 MB of reading, not 1 GB)."""
    newlines, ends, crs = [], [], []
    offset = quotes = line_start = lines = 0
    prev, simple, header, utf8_error = 10, True, None, None
    decoder = codecs.getincrementaldecoder("utf-8")()
    while chunk := read(CHUNK):
        a = np.frombuffer(chunk, dtype=np.uint8)
        nl = np.flatnonzero(a == 10)
        if header is None:
            if (nl[0] if nl.size else len(chunk)) > MAX_HEADER:
                raise InputError(f"the header line is longer than {MAX_HEADER >> 20} MB; is this a CSV file?",
                                 file=file)
            header = bytes(chunk[: nl[0]]) if nl.size else bytes(chunk)  # no newline: the whole file
        zero = chunk.find(b"\x00")
        if zero >= 0:
            line = lines + int(np.searchsorted(nl, zero)) + 1
            raise InputError(f"line {line}: the file holds NUL bytes, so it is not a text CSV file", file=file)
        if nl.size:
            starts = np.concatenate(([line_start - offset], nl[:-1] + 1))
            longest = int(np.argmax(nl - starts))
            if nl[longest] - starts[longest] > MAX_LINE:
                raise _too_long(lines + longest + 1, file)
            line_start = offset + int(nl[-1]) + 1
        if offset + len(chunk) - line_start > MAX_LINE:
            raise _too_long(lines + nl.size + 1, file)
        q = np.flatnonzero(a == 34) if b'"' in chunk else np.empty(0, dtype=np.int64)
        if q.size:
            opening = q[quotes % 2::2]  # the quotes with an even number of quotes before them
            before = a[opening - 1]
            if opening.size and opening[0] == 0:
                before[0] = prev
            starts_field = (before == 44) | (before == 10) | (before == 13) | (before == 34)  # , \n \r "
            simple = simple and bool(starts_field.all())
            ends.append((quotes + np.searchsorted(q, nl)) % 2 == 0)
        else:
            ends.append(np.full(nl.size, quotes % 2 == 0))
        crs.append(np.where(nl > 0, a[nl - 1], prev) == 13)
        newlines.append(nl + offset)
        if check_utf8 and utf8_error is None:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                utf8_error = max(offset + exc.start - 3, 0)  # within a character of the bad byte
        quotes += q.size
        lines += nl.size
        prev = int(a[-1])
        offset += len(chunk)
    if check_utf8 and utf8_error is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_error = max(offset - 3, 0)
    empty = np.empty(0, dtype=np.int64)
    return _Lines(np.concatenate(newlines) if newlines else empty,
                  np.concatenate(ends) if ends else empty.astype(bool),
                  np.concatenate(crs) if crs else empty.astype(bool), offset, prev if offset else -1,
                  header if header is not None else b"", quotes > 0, simple, utf8_error)


def _records(lines: _Lines) -> tuple[np.ndarray, int] | None:
    """(the 1-based line on which each data record starts, the longest record in bytes), blank lines skipped
    and quoted line breaks counted; None when the quoting is unusual (Python's csv reader then decides)."""
    if not lines.simple_quotes:
        return None
    at = np.flatnonzero(lines.ends_record)
    term = lines.newlines[at]
    starts = np.concatenate(([0], term + 1))
    stops = np.concatenate((term, [lines.size]))
    cr_end = np.concatenate((lines.after_cr[at], [lines.last == 13]))
    length = stops - starts
    blank = (length == 0) | ((length == 1) & cr_end)
    numbers = np.concatenate(([1], at + 2))[~blank]
    return numbers[1:], int(length.max(initial=0))


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 without a byte-order mark, told by its NUL bytes: the header's ASCII names in UTF-16 have a zero
    byte after (little-endian) or before (big-endian) every character; UTF-8 text has no NUL bytes at all."""
    sample = head[: 1024 - (min(len(head), 1024) % 2)]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd >= 0.4 * half and even <= 0.1 * odd:  # a few zeros elsewhere: characters such as U+4E00
        return "utf-16-le"
    if even >= 0.4 * half and odd <= 0.1 * even:
        return "utf-16-be"
    return None


def _transcoded(raw: bytes, file: str) -> tuple[bytes, str] | None:
    """A CSV that is not UTF-8 (UTF-16 with or without BOM) as UTF-8 bytes; None when it looks like UTF-8."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        enc, label = "utf-16", "UTF-16"
    else:
        enc = _utf16_without_bom(raw[:1024])
        if enc is None:
            return None
        label = UTF16_NAMES[enc] + " without a byte-order mark"
    try:
        return raw.decode(enc).encode("utf-8"), enc
    except UnicodeDecodeError as exc:
        raise InputError(f"looks like {label} but byte {exc.start} is not {label.split(' without')[0]}; save the "
                         "file as CSV UTF-8", file=file) from None


def _open_bytes(path: Path, magic: bytes):
    """A binary stream of the file's bytes, decompressed when it is gzip."""
    name = str(path)
    if magic.startswith(b"\x1f\x8b"):
        return gzip.open(path, "rb")
    if path.name.lower().endswith(".gz"):
        raise InputError("named .gz but not gzip-compressed; rename it to .csv", file=name)
    return open(path, "rb")


def _read_all(path: Path, magic: bytes) -> bytes:
    try:
        with _open_bytes(path, magic) as fh:
            return fh.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise _unreadable(exc, str(path), magic) from None


def _unreadable(exc: BaseException, file: str, magic: bytes) -> InputError:
    what = "broken gzip file" if magic.startswith(b"\x1f\x8b") else "cannot read the file"
    return InputError(f"{what} ({' '.join(str(exc).split())[:200]})", file=file)


def _read_csv(path: Path, magic: bytes) -> pa.Table:
    """Scan the bytes once (lines, quotes, bounds, UTF-8), then let Arrow parse them: straight from the file
    when it is UTF-8, from memory when it had to be transcoded (UTF-16, GB18030)."""
    name = str(path)
    data: bytes | None = None  # the UTF-8 bytes, when held in memory
    with _open_bytes(path, magic) as fh:
        try:
            head = fh.read(1024)
            converted = _transcoded(head + fh.read(), name) if _is_utf16(head) else None
        except (OSError, EOFError, zlib.error) as exc:
            raise _unreadable(exc, name, magic) from None
    if converted is not None:
        data = converted[0]
    try:
        if data is not None:
            lines = _scan(io.BytesIO(data).read, name)
        else:
            with _open_bytes(path, magic) as fh:
                lines = _scan(fh.read, name)
    except (OSError, EOFError, zlib.error) as exc:
        raise _unreadable(exc, name, magic) from None
    if lines.utf8_error is not None:  # GB18030/GBK (Chinese spreadsheets' CSV) or a broken file
        raw = _read_all(path, magic)
        try:
            data = raw.decode("gb18030").encode("utf-8")
        except UnicodeDecodeError:
            start = _utf8_error_at(raw)
            line = raw.count(b"\n", 0, start) + 1
            raise InputError(f"line {line}: the file is neither UTF-8 nor GBK/GB18030 (byte 0x{raw[start]:02x}); "
                             "save it as 'CSV UTF-8' from your spreadsheet", file=name) from None
        lines = _scan(io.BytesIO(data).read, name, check_utf8=False)
    if lines.size == 0:
        raise InputError("the file is empty", file=name)
    first = lines.header.decode("utf-8").lstrip("\ufeff").rstrip("\r")
    try:
        header = next(csv.reader([first]))
    except (csv.Error, StopIteration) as exc:
        raise InputError(f"line 1: cannot read the header ({exc})", file=name) from None
    names = [h.strip(SPACES) for h in header]
    if not any(names):
        raise InputError("the file is empty (no header line)", file=name)
    _check_names(names, name)
    found = _records(lines)
    longest = found[1] if found else MAX_LINE
    bad_rows: list[int] = []

    def invalid(row) -> str:
        bad_rows.append(1)
        return "skip"

    source = pa.BufferReader(data) if data is not None else _arrow_source(path, magic)
    table = pacsv.read_csv(
        source,
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=max(4 << 20, 2 * longest + 4096)),
        parse_options=pacsv.ParseOptions(newlines_in_values=lines.quoted, invalid_row_handler=invalid),
        convert_options=pacsv.ConvertOptions(column_types={n: TEXT for n in names}, strings_can_be_null=True,
                                             null_values=[""], quoted_strings_can_be_null=True))
    if bad_rows or found is None or len(found[0]) != table.num_rows:
        text = data if data is not None else _read_all(path, magic)  # rare: unusual quoting or a problem
        if bad_rows:  # the error path: find the true lines with Python's csv reader
            raise InputError(_ragged(text, len(names), len(bad_rows), name))
        numbers = _python_record_lines(text, name)
        if len(numbers) != table.num_rows:  # should not happen; never report wrong lines
            raise InputError(f"could not number the lines ({len(numbers)} records, {table.num_rows} rows read); "
                             "is a quote left open?", file=name)
    else:
        numbers = found[0]
    return table.append_column(ROW, pa.array(numbers, type=pa.int64()))


def _is_utf16(head: bytes) -> bool:
    return head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _utf16_without_bom(head) is not None


def _arrow_source(path: Path, magic: bytes):
    return pa.input_stream(str(path), compression="gzip" if magic.startswith(b"\x1f\x8b") else None)


def _utf8_error_at(raw: bytes) -> int:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return 0


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


def _python_record_lines(data: bytes, file: str) -> np.ndarray:
    """The 1-based line on which each data record starts, by Python's csv reader (for unusual quoting)."""
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
    """The column as text: string or dictionary-of-string chunks (dictionaries are kept: small and fast)."""
    t = data.type.value_type if pa.types.is_dictionary(data.type) else data.type
    if pa.types.is_string(t):
        return data
    if pa.types.is_dictionary(data.type):
        data = data.cast(t)
    if pa.types.is_large_string(t):
        return data.cast(pa.string())
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return pc.strftime(data, format="%Y-%m-%d %H:%M:%S" if pa.types.is_timestamp(t) else "%Y-%m-%d")
    if pa.types.is_floating(t):  # 3.0 -> "3", as spreadsheets show it
        out = [None if v is None else (str(int(v)) if math.isfinite(v) and v == int(v) and abs(v) < 1e15
                                       else repr(v)) for v in data.to_pylist()]
        return pa.chunked_array([pa.array(out, type=pa.string())])
    return data.cast(pa.string())


def _map_values(data: pa.ChunkedArray, fn) -> pa.ChunkedArray:
    """Apply `fn` (text array -> text array of the same length) to each distinct value of each chunk, and keep
    the chunk dictionary-encoded: cheap on millions of rows, as periods, codes and firms repeat."""
    out = []
    for chunk in data.chunks:
        enc = chunk if pa.types.is_dictionary(chunk.type) else pc.dictionary_encode(chunk)
        mapped = fn(enc.dictionary)
        if mapped.equals(enc.dictionary) and not mapped.null_count and enc.type == TEXT:
            out.append(enc)  # already canonical (the usual case): keep the chunk as it is
            continue
        values = pc.unique(pc.drop_null(mapped))
        indices = pc.take(pc.index_in(mapped, value_set=values), enc.indices)
        out.append(pa.DictionaryArray.from_arrays(indices.cast(pa.int32()), values.cast(pa.string())))
    return pa.chunked_array(out, type=pa.dictionary(pa.int32(), pa.string()))


def _each(fn):
    """A per-value function as a function on a text array."""
    return lambda values: pa.array([fn(v) for v in values.to_pylist()], type=pa.string())


def _trimmed(values: pa.Array) -> pa.Array:
    values = pc.utf8_trim(values, characters=SPACES)
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


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
            data = _map_values(data, _each(_period))
        elif name in questions:
            q = questions[name]
            look = _code_lookup(q.codes, methodology.code_labels(q))
            data = _map_values(data, _each(lambda v, look=look: None if _strip(v) is None
                                           else look.get(_strip(v).casefold(), v)))
        elif name in methodology.classifications:
            look = {v.casefold(): v for v in methodology.classifications[name].values}
            data = _map_values(data, _each(lambda v, look=look: None if _strip(v) is None
                                           else look.get(_strip(v).casefold(), v)))
        else:  # firm_id, weight as text, response_date, unknown columns
            data = _map_values(data, _trimmed)
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
    clean = _clean_columns(table, methodology, present_q)
    checks = [c for c in checks if c[0] not in clean]
    params = [p for c in checks for p in c[3]]
    counts = con.execute("SELECT " + ", ".join(f"count(*) FILTER (WHERE {cond})" for _, cond, _, _, _ in checks)
                         + " FROM r", params).fetchall()[0] if checks else ()
    for (col, cond, msg, ps, shown), count in zip(checks, counts, strict=True):
        if count:
            rows = con.execute(f"SELECT {ROW}, CAST({shown} AS VARCHAR) FROM r WHERE {cond} "
                               f"ORDER BY {ROW} LIMIT {MAX_EXAMPLES}", ps).fetchall()
            for row, value in rows:
                got = "a blank cell (empty, or only spaces and tabs)" if value is None else repr(value)
                problems.append(f"{where(row, col)}: {msg}, got {got}")
            if count > len(rows):
                problems.append(f"{where(None, col)}: ... and {count - len(rows)} more rows like these")
    # counts first, the rows of the few duplicated keys after (lists for every key would cost memory)
    dups = con.execute(f"""
        WITH d AS (SELECT firm_id, period, min({ROW}) AS first FROM r WHERE firm_id IS NOT NULL AND
                   period IS NOT NULL GROUP BY firm_id, period HAVING count(*) > 1 ORDER BY first LIMIT {MAX_EXAMPLES})
        SELECT d.firm_id, d.period, list(r.{ROW} ORDER BY r.{ROW}) FROM d JOIN r USING (firm_id, period)
        GROUP BY d.firm_id, d.period, d.first ORDER BY d.first""").fetchall()
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


def _clean_columns(table: pa.Table, methodology: Methodology, questions: list[str]) -> set[str]:
    """The period, classification and question columns whose every dictionary value passes its check (the
    normalised columns are dictionary-encoded): no row of them can fail, so the per-row checks skip them. A
    column with a bad value keeps its per-row check, which finds the rows for the message."""
    codes = {q.id: q.codes for q in methodology.questions}
    wanted = {"period": (lambda d: pc.match_substring_regex(d, r"\A\d{4}-(0[1-9]|1[0-2])\z"), False),
              **{d: (lambda v, ok=cls.values: pc.is_in(v, value_set=pa.array(ok, pa.string())), False)
                 for d, cls in methodology.classifications.items()},
              **{q: (lambda v, ok=codes[q]: pc.is_in(v, value_set=pa.array(ok, pa.string())), True)
                 for q in questions}}
    out = set()
    for name, (ok, nulls_ok) in wanted.items():
        if name not in table.column_names:
            continue
        data = table.column(name)
        if (nulls_ok or not data.null_count) and all(
                pa.types.is_dictionary(c.type) and pc.all(ok(c.dictionary)).as_py() is not False for c in data.chunks):
            out.add(name)
    return out


def load_responses(path: str | Path, methodology: Methodology,
                   con: duckdb.DuckDBPyConnection | None = None) -> Responses:
    table, label = read_table(path, dictionary=True)
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
