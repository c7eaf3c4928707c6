"""Vintage commands: series (as of a date), revisions, and the release."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from smepulse.index.series_io import write_series
from smepulse.periods import parse_date_option
from smepulse.release.release_cli import release_cmd
from smepulse.store import open_store

console = Console()


def series_cmd(
    store: str = typer.Option(..., "--store", help="Store file or postgresql:// URL."),
    out: Path = typer.Option(..., "--out", help="Tidy series file to write."),
    survey: str = typer.Option("smei", "--survey"),
    as_of: str | None = typer.Option(None, "--as-of", help="What had been published by this date."),
    vintage: str | None = typer.Option(None, "--vintage", help="Exactly one vintage, by id."),
) -> None:
    """Write the series as published on a date (each period from the latest vintage then), or one vintage.

    Example: smepulse series --store smepulse.duckdb --as-of 2026-10-15 --out as_published.csv
    """
    with open_store(store, read_only=True) as st:
        df = st.series(survey, as_of=parse_date_option(as_of, "--as-of"), vintage_id=vintage)
    write_series(df, out)
    console.print(f"wrote {len(df):,} rows from {df['vintage_id'].nunique()} vintage(s) to {out}")


def revisions_cmd(
    store: str = typer.Option(..., "--store", help="Store file or postgresql:// URL."),
    series: str = typer.Option("headline", "--series"),
    group: str = typer.Option("all", "--group"),
    adjustment: str | None = typer.Option(None, "--adjustment", help="sa or nsa (default both)."),
    survey: str = typer.Option("smei", "--survey"),
    out: Path | None = typer.Option(None, "--out", help="Also write the table as CSV."),
) -> None:
    """Revision table of one series: first release, latest, revision, and flash-to-final where flashed.

    Example: smepulse revisions --store smepulse.duckdb --series headline --group all --adjustment sa
    """
    with open_store(store, read_only=True) as st:
        rev = st.revisions(survey, series, group, adjustment)
    if out:
        write_series(rev, out)
    table = Table(title=f"Revisions of {series} [{group}]", title_justify="left")
    cols = [c for c in ("period", "adjustment", "flash", "first_release", "latest", "revision", "flash_revision",
                        "vintages") if c in rev.columns]
    for c in cols:
        table.add_column(c, justify="left" if c in ("period", "adjustment") else "right")
    for _, r in rev.tail(24).iterrows():
        table.add_row(*[("-" if pd.isna(r[c]) else f"{r[c]:.2f}" if isinstance(r[c], float) else str(r[c]))
                        for c in cols])
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("release")(release_cmd)
    app.command("series")(series_cmd)
    app.command("revisions")(revisions_cmd)
