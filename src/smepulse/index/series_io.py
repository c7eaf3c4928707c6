"""Read and write tidy series files: `period, series, group, value, ...` (documented in docs/formats.md)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from smepulse.errors import InputError
from smepulse.index.diffusion import FORMULAS
from smepulse.methodology import Methodology
from smepulse.periods import MONTH_RE, QUARTER_RE


def read_series(path: str | Path, methodology: Methodology | None = None) -> pd.DataFrame:
    """Tidy series with a numeric `value` (or `up, same, down` shares, turned into values by the formula)."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=str(path))
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        elif path.suffix.lower() in (".xlsx", ".xls"):
            df = pd.read_excel(path, dtype={"period": str})
        else:
            df = pd.read_csv(path, dtype={"period": str, "series": str, "group": str, "adjustment": str})
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty", file=str(path)) from None
    if df.empty:
        raise InputError("the file has a header but no rows", file=str(path))
    for col in ("period", "series"):
        if col not in df.columns:
            raise InputError("required column is missing", file=str(path), column=col)
    shares = all(c in df.columns for c in ("up", "same", "down"))
    if "value" not in df.columns and not shares:
        raise InputError("need a value column, or up, same and down shares", file=str(path), column="value")
    if "group" not in df.columns:
        df["group"] = "all"
    df["group"] = df["group"].fillna("all")
    line = pd.Series(np.arange(2, len(df) + 2), index=df.index)
    df["period"] = df["period"].astype(str)
    bad = ~(df["period"].str.match(MONTH_RE.pattern) | df["period"].str.match(QUARTER_RE.pattern))
    if bad.any():
        i = bad.idxmax()
        raise InputError(f"period must be YYYY-MM or YYYYQn, got {df.at[i, 'period']!r}", file=str(path),
                         row=int(line[i]), column="period")
    numeric = ("value", "up", "same", "down", "n", "n_eff", "se", "se_change", "ci_low", "ci_high")
    for col in [c for c in numeric if c in df.columns]:
        raw = df[col]
        num = pd.to_numeric(raw, errors="coerce")
        bad = num.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
        if bad.any():
            i = bad.idxmax()
            raise InputError(f"not a number: {raw[i]!r}", file=str(path), row=int(line[i]), column=col)
        df[col] = num
    if "value" not in df.columns or df["value"].isna().all():
        if methodology is None:
            raise InputError("shares need a methodology to turn them into values", file=str(path))
        df["value"] = FORMULAS[methodology.formula](df["up"], df["same"], df["down"])
    dup = df.duplicated(["period", "series", "group"] + (["adjustment"] if "adjustment" in df else []),
                        keep="first")
    if dup.any():
        i = dup.idxmax()
        raise InputError(f"duplicate row for {df.at[i, 'series']} {df.at[i, 'period']} "
                         f"{df.at[i, 'group']}", file=str(path), row=int(line[i]), column="series")
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
