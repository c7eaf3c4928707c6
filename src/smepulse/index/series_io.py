"""Read and write tidy series files: `period, series, group, value, ...` (documented in docs/formats.md)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from smepulse.errors import InputError
from smepulse.index.diffusion import FORMULAS
from smepulse.methodology import Methodology
from smepulse.periods import MONTH_RE, QUARTER_RE
from smepulse.survey.responses import MONTH_AS_DATE, ROW, SPACES, read_table

VALUE_RANGES = {"diffusion": (0.0, 100.0), "balance": (-100.0, 100.0)}
NUMERIC = ("value", "up", "same", "down", "n", "n_eff", "se", "se_change", "ci_low", "ci_high")
TEXT = ("period", "series", "group", "adjustment")
MONTH = re.compile(MONTH_RE.pattern, re.ASCII)  # ASCII digits only (no full-width digits), whole strings only
QUARTER = re.compile(QUARTER_RE.pattern, re.ASCII)


def _ranges(formula: str | None) -> dict[str, tuple[float, float]]:
    """What each number may be: values and intervals on the formula's scale (without a methodology: either
    scale, -100..100), shares in percent, counts and standard errors not negative."""
    lo, hi = VALUE_RANGES.get(formula or "", (-100.0, 100.0))
    return {"value": (lo, hi), "ci_low": (lo, hi), "ci_high": (lo, hi), "up": (0.0, 100.0), "same": (0.0, 100.0),
            "down": (0.0, 100.0), "n": (0.0, np.inf), "n_eff": (0.0, np.inf), "se": (0.0, np.inf),
            "se_change": (0.0, np.inf)}


def _text(col: pd.Series) -> pd.Series:
    """A column as stripped text (blank -> missing); dates as `YYYY-MM-DD HH:MM:SS` (periods parse them)."""
    if pd.api.types.is_datetime64_any_dtype(col):
        col = col.dt.strftime("%Y-%m-%d %H:%M:%S")
    out = col.astype(object).where(col.notna(), None)
    out = out.map(lambda v: None if v is None else (str(v).strip(SPACES) or None))
    return out


def _period(v: str | None) -> str | None:
    """`YYYY-MM`, `YYYYQn` (any case), or the first of a month as Excel writes it (`2025-08-01 00:00:00`)."""
    if v is None:
        return None
    if MONTH.fullmatch(v):
        return v
    if QUARTER.fullmatch(v.upper()):
        return v.upper()
    d = MONTH_AS_DATE.fullmatch(v)
    return f"{d.group(1)}-{d.group(2)}" if d else v


def read_series(path: str | Path, methodology: Methodology | None = None) -> pd.DataFrame:
    """Tidy series with a numeric `value` (or `up, same, down` shares, turned into values by the formula).

    Read as `import` reads responses (CSV in UTF-8/GBK/UTF-16, gzip, Excel, Parquet; true line numbers);
    periods `YYYY-MM`, `YYYYQn` or an Excel first-of-month date; every number finite and in range
    (`_ranges`); one row per period, series, group (and adjustment). Errors name file, line and column."""
    name = str(path)
    table, label = read_table(path)
    df = table.to_pandas()
    line = df.pop(ROW).astype(np.int64)

    def where(i, column: str) -> str:
        return f"file {name}, {label} {int(line[i])}, column '{column}'"

    for col in ("period", "series"):
        if col not in df.columns:
            raise InputError("required column is missing", file=name, column=col)
    shares = all(c in df.columns for c in ("up", "same", "down"))
    if "value" not in df.columns and not shares:
        raise InputError("need a value column, or up, same and down shares", file=name, column="value")
    for col in [c for c in TEXT if c in df.columns]:
        df[col] = _text(df[col])
    if "group" not in df.columns:
        df["group"] = "all"
    df["group"] = df["group"].fillna("all")
    if "adjustment" in df.columns:
        df["adjustment"] = df["adjustment"].str.lower()
    df["period"] = df["period"].map(_period)
    ok = df["period"].map(lambda p: p is not None and bool(MONTH.fullmatch(p) or QUARTER.fullmatch(p)))
    if not ok.all():
        i = (~ok).idxmax()
        raise InputError(f"{where(i, 'period')}: period must be YYYY-MM or YYYYQn, got {df.at[i, 'period']!r}")
    if df["series"].isna().any():
        raise InputError(f"{where(df['series'].isna().idxmax(), 'series')}: the series name is blank")
    formula = methodology.formula if methodology is not None else None
    for col, (lo, hi) in _ranges(formula).items():
        if col not in df.columns:
            continue
        raw = df[col]
        if pd.api.types.is_numeric_dtype(raw):
            num = raw.astype(float)
        else:
            text = _text(raw)
            num = pd.to_numeric(text, errors="coerce")
            bad = num.isna() & text.notna()
            if bad.any():
                i = bad.idxmax()
                raise InputError(f"{where(i, col)}: not a number: {text[i]!r}")
        bad = num.notna() & ~(np.isfinite(num) & (num >= lo) & (num <= hi))
        if bad.any():
            i = bad.idxmax()
            v = num[i]
            what = "is not a finite number" if not np.isfinite(v) else f"is outside {lo:g} to {hi:g}"
            scale = f" ({formula} series)" if col in ("value", "ci_low", "ci_high") and formula else ""
            raise InputError(f"{where(i, col)}: {col} {raw[i]!r} {what}{scale}: correct or remove the row")
        df[col] = num
    if "value" not in df.columns or df["value"].isna().all():
        if not shares:
            raise InputError("every value is blank, and there are no up, same and down shares", file=name,
                             column="value")
        if methodology is None:
            raise InputError("shares need a methodology to turn them into values", file=name)
        df["value"] = FORMULAS[methodology.formula](df["up"], df["same"], df["down"])
    dup = df.duplicated(["period", "series", "group"] + (["adjustment"] if "adjustment" in df else []),
                        keep="first")
    if dup.any():
        i = dup.idxmax()
        raise InputError(f"{where(i, 'series')}: duplicate row for {df.at[i, 'series']} {df.at[i, 'period']} "
                         f"{df.at[i, 'group']}")
    return df


def write_series(df: pd.DataFrame, path: str | Path) -> Path:
    """Write tidy series; CSV keeps six decimals (values are rounded only when presented)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix.lower() in (".parquet", ".pq"):
        df.to_parquet(tmp, index=False)
    else:  # Arrow's CSV writer: several times faster than pandas' to_csv with a float format
        floats = df.select_dtypes("float").columns
        table = pa.Table.from_pandas(df.assign(**{c: df[c].round(6) for c in floats}), preserve_index=False)
        pacsv.write_csv(table, tmp, pacsv.WriteOptions(quoting_style="needed"))
    tmp.replace(path)  # a crash mid-write never leaves a half-written output
    return path
