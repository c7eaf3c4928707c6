"""`smepulse adjust`: seasonally adjust a tidy series file with X-13ARIMA-SEATS (or STL / none)."""
from __future__ import annotations

import re
from enum import Enum
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from smepulse.errors import InputError, SeasonalError
from smepulse.seasonal.adjust import AdjustmentResult, adjust_many, results_frame
from smepulse.seasonal.spec import SpecOptions

console = Console()
err = Console(stderr=True)


class MethodChoice(str, Enum):
    x13 = "x13"
    stl = "stl"
    none = "none"


class ModeChoice(str, Enum):
    additive = "additive"
    multiplicative = "multiplicative"
    auto = "auto"


class HolidayChoice(str, Enum):
    cny = "cny"


class DecompositionChoice(str, Enum):
    x11 = "x11"
    seats = "seats"


def read_tidy(path: Path) -> pd.DataFrame:
    """period, series, [group,] value (CSV or Parquet); with an `adjustment` column, nsa rows only."""
    if not path.is_file():
        raise InputError("file not found (or not a file)", file=str(path))
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            df, label = pd.read_parquet(path), "row"
            line = pd.Series(range(1, len(df) + 1), index=df.index)
        else:  # blank lines are kept (as empty rows, dropped below) so that line numbers are the file's
            df, label = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False), "line"
            line = pd.Series(range(2, len(df) + 2), index=df.index)
            df = df.replace("", None)
            df = df[df.notna().any(axis=1)]
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty", file=str(path)) from None
    except (ValueError, OSError, pa.ArrowException, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"could not read the file: {' '.join(str(exc).split())[:200]}", file=str(path)) from None
    if df.empty:
        raise InputError("the file has a header but no rows", file=str(path))
    for col in ("period", "series", "value"):
        if col not in df.columns:
            raise InputError("required column is missing (need period, series, value)",
                             file=str(path), column=col)
    for col in ("period", "series", "group", "adjustment"):
        if col in df.columns:
            df[col] = df[col].map(lambda v: None if v is None or v != v else (str(v).strip(" \t\u00a0\u3000") or None))
    period_ok = df["period"].map(lambda v: v is not None and bool(re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])|\d{4}Q[1-4]",
                                                                               v, re.ASCII)))
    if not period_ok.all():
        i = (~period_ok).idxmax()
        raise InputError(f"{label} {int(line[i])}: period must be YYYY-MM (or YYYYQn), got {df.at[i, 'period']!r}",
                         file=str(path), column="period")
    value = pd.to_numeric(df["value"], errors="coerce")
    bad = (value.isna() & df["value"].notna()) | (value.notna() & ~np.isfinite(value.astype(float)))
    if bad.any():
        i = bad.idxmax()
        raise InputError(f"{label} {int(line[i])}: value must be a finite number, got {df.at[i, 'value']!r}",
                         file=str(path), column="value")
    df["value"] = value.astype(float)
    if "adjustment" in df.columns:
        df = df[df["adjustment"].astype(str) == "nsa"]
        if df.empty:
            raise InputError("no rows with adjustment 'nsa' to adjust", file=str(path),
                             column="adjustment")
    # Quarterly averages (2024Q4) in `smepulse compute` output are recomputed from SA months later.
    quarterly = df["period"].astype(str).str.fullmatch(r"\d{4}Q[1-4]")
    if quarterly.any():
        err.print(f"skipped {int(quarterly.sum())} quarterly rows (e.g. {df['period'][quarterly].iloc[0]}): "
                  "only months are adjusted; recompute quarterly averages from the SA months")
        df = df[~quarterly]
    keep = [c for c in ("period", "series", "group", "value") if c in df.columns]
    return df[keep].reset_index(drop=True)


def write_tidy(df: pd.DataFrame, path: Path) -> None:
    if path.suffix.lower() in (".parquet", ".pq"):
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False, float_format="%.6g")


def _report(results: list[AdjustmentResult]) -> None:
    table = Table(title="Seasonal adjustment", show_lines=False)
    for col in ("series", "group", "method", "mode", "model", "outliers", "CNY (t)", "Q"):
        table.add_column(col, no_wrap=col in ("model", "method"))
    for r in results:
        cny = r.regression[r.regression["variable"].str.startswith("cny")] if len(r.regression) else []
        hol = f"{cny.iloc[0]['estimate']:.2f} ({cny.iloc[0]['t']:.1f})" if len(cny) else (
            "dropped" if "dropped" in r.diagnostics.get("holiday", "") else "")
        table.add_row(r.series, r.group, r.method, r.mode, r.model, ", ".join(r.outliers),
                      hol, r.diagnostics.get("f3.q", ""))
    console.print(table)
    for r in results:
        for w in r.warnings:
            console.print(f"[yellow]warning[/yellow] {r.series} {r.group}: {w}".replace("  ", " "))


def adjust(
    series: Path = typer.Option(..., "--series", help="Tidy input: CSV or Parquet with period "
                                "(YYYY-MM), series, [group,] value. With an adjustment column, "
                                "the nsa rows are used."),
    out: Path = typer.Option(..., "--out", help="Output file (CSV or Parquet): the input rows as "
                             "adjustment=nsa plus adjusted rows adjustment=sa, with seasonal_factor, "
                             "trend, method and note columns."),
    method: MethodChoice = typer.Option(MethodChoice.x13, "--method", help="x13 (X-13ARIMA-SEATS; "
                                        "series under 3 years fall back to STL), stl, or none."),
    holiday: HolidayChoice | None = typer.Option(None, "--holiday", help="Moving-holiday "
                                                    "regressor for X-13 to test and use: cny (each shape "
                                                    "of the policy tried, the lowest AICc kept)."),
    mode: ModeChoice = typer.Option(ModeChoice.additive, "--mode", help="additive (diffusion "
                                    "indices, balances), multiplicative (positive levels), or auto "
                                    "(X-13 tests log vs none)."),
    decomposition: DecompositionChoice = typer.Option(DecompositionChoice.x11, "--decomposition",
                                                      help="X-13 filter: x11 or seats."),
    arima: str | None = typer.Option(None, "--arima", help="Fixed ARIMA model, e.g. "
                                        "'(0 1 1)(0 1 1)'; default: automatic selection."),
    workers: int | None = typer.Option(None, "--workers", help="Parallel X-13 runs "
                                          "(default: one per CPU)."),
    keep_going: bool = typer.Option(False, "--keep-going", help="Pass series that cannot be "
                                    "adjusted through unadjusted, with the reason in `note`, "
                                    "instead of stopping."),
) -> None:
    """Seasonally adjust every (series, group) in a tidy file with X-13ARIMA-SEATS.

    Example: smepulse adjust --series indices.csv --out indices_sa.csv --holiday cny --mode additive
    """
    df = read_tidy(series)
    options = SpecOptions(decomposition=decomposition.value, arima=arima)
    n = df.groupby(["series"] + (["group"] if "group" in df else [])).ngroups
    with Progress(TextColumn("adjusting"), BarColumn(), MofNCompleteColumn(), console=err,
                  transient=True) as progress:
        task = progress.add_task("adjust", total=n)
        try:
            results = adjust_many(df, workers=workers, errors="warn" if keep_going else "raise",
                                  on_done=lambda _: progress.advance(task), method=method.value,
                                  mode=mode.value, holiday=holiday.value if holiday else None,
                                  options=options)
        except SeasonalError as exc:
            progress.stop()
            err.print(f"[red]error[/red] {exc}")
            raise typer.Exit(2) from None
    frame = results_frame(results, has_group="group" in df.columns)
    write_tidy(frame, out)
    _report(results)
    console.print(f"wrote {len(frame)} rows ({n} series, nsa and sa) to {out}")


def register(app: typer.Typer) -> None:
    app.command("adjust")(adjust)
