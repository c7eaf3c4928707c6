"""Vintage commands: publish, series (as of a date), revisions."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from smepulse.errors import InputError
from smepulse.index.series_io import write_series
from smepulse.methodology import load_methodology
from smepulse.store import open_store

console = Console()


def _date(text: Optional[str], option: str) -> Optional[datetime]:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} must be a date like 2026-11-05, got {text!r}") from None


def publish_cmd(
    store: Path = typer.Option(..., "--store", help="Store file with imported responses."),
    methodology: str = typer.Option("smei", "--methodology"),
    flash_cutoff: Optional[str] = typer.Option(None, "--flash-cutoff", help="Publish a flash estimate from the "
                                               "responses received by this date (YYYY-MM-DD)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Publication date of this vintage (default now)."),
    seasonal: bool = typer.Option(True, "--seasonal/--no-seasonal"),
    replicates: Optional[int] = typer.Option(None, "--replicates", help="Bootstrap replicates (0 = none; "
                                             "default from the methodology)."),
) -> None:
    """Compute, add sampling error and seasonal adjustment, and store the result as a new vintage.

    Example: smepulse publish --store smepulse.duckdb --flash-cutoff 2026-11-10 --as-of 2026-11-10
    """
    from smepulse.release.publish import publish
    m = load_methodology(methodology)
    with open_store(store) as st:
        p = publish(st, m, kind="flash" if flash_cutoff else "final", cutoff=flash_cutoff,
                    as_of=_date(as_of, "--as-of") or _date(flash_cutoff, "--flash-cutoff"), seasonal=seasonal,
                    replicates=replicates)
    console.print(f"published {p.kind} vintage {p.vintage_id} ({len(p.result.series):,} rows) in {store}")


def series_cmd(
    store: Path = typer.Option(..., "--store"),
    out: Path = typer.Option(..., "--out", help="Tidy series file to write."),
    survey: str = typer.Option("smei", "--survey"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="What had been published by this date."),
    vintage: Optional[str] = typer.Option(None, "--vintage", help="Exactly one vintage, by id."),
) -> None:
    """Write the series as published on a date (each period from the latest vintage then), or one vintage.

    Example: smepulse series --store smepulse.duckdb --as-of 2026-10-15 --out as_published.csv
    """
    with open_store(store) as st:
        df = st.series(survey, as_of=_date(as_of, "--as-of"), vintage_id=vintage)
    write_series(df, out)
    console.print(f"wrote {len(df):,} rows from {df['vintage_id'].nunique()} vintage(s) to {out}")


def revisions_cmd(
    store: Path = typer.Option(..., "--store"),
    series: str = typer.Option("headline", "--series"),
    group: str = typer.Option("all", "--group"),
    adjustment: Optional[str] = typer.Option(None, "--adjustment", help="sa or nsa (default both)."),
    survey: str = typer.Option("smei", "--survey"),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the table as CSV."),
) -> None:
    """Revision table of one series: first release, latest, revision, and flash-to-final where flashed.

    Example: smepulse revisions --store smepulse.duckdb --series headline --group all --adjustment sa
    """
    with open_store(store) as st:
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
    from smepulse.release.release_cli import release_cmd
    app.command("release")(release_cmd)
    app.command("publish")(publish_cmd)
    app.command("series")(series_cmd)
    app.command("revisions")(revisions_cmd)
