"""Pipeline commands: compute, import, publish (they wire index, seasonal and store together; `demo` is in
demo_cli.py, so these commands do not load the release and credit stacks the demo needs)."""
from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer
from rich.console import Console

from smepulse.index.engine import compute as compute_indices
from smepulse.index.series_io import write_series
from smepulse.index.summary import print_summary
from smepulse.methodology import load_methodology
from smepulse.periods import parse_date_option
from smepulse.pipeline.publish import (
    DEFAULT_FRAME,
    adjust_with_errors,
    publish,
    require_published,
    weighting_frame,
    with_precision,
    with_seasonal,
)
from smepulse.store import open_store, redact
from smepulse.survey.responses import load_responses

console = Console()


class FactorsChoice(str, Enum):
    concurrent = "concurrent"
    projected = "projected"


FRAME_HELP = ("Weighting: 'methodology' (default: rake to the methodology's target shares, design weights when "
              "it has none), 'design' (design weights only) or a target shares file (dimension, value, share"
              "[, effective]).")
MIN_N_HELP = ("Override the publication minimum (effective sample below which a cell is suppressed); 0 or more. "
              "Lowering it weakens disclosure control.")


def compute(
    responses: Path = typer.Option(..., "--responses", help="Wide responses file: CSV, Parquet or Excel."),
    out: Path = typer.Option(..., "--out", help="Tidy series file to write (CSV or Parquet)."),
    methodology: str = typer.Option("smei", "--methodology", help="Preset name or a methodology YAML file."),
    frame: str = typer.Option(DEFAULT_FRAME, "--frame", help=FRAME_HELP),
    min_n: int | None = typer.Option(None, "--min-n", min=0, help=MIN_N_HELP),
    store: str | None = typer.Option(None, "--store", help="Also import the responses and save the "
                                        "series as a new vintage in this store (file or postgresql:// URL)."),
    replicates: int | None = typer.Option(None, "--replicates", help="Bootstrap replicates for standard "
                                             "errors (0 = none; default from the methodology, 500 for smei)."),
    seasonal: str = typer.Option("x13", "--seasonal", help="Seasonal adjustment for the `sa` rows: x13 (with "
                                 "the Chinese New Year regressor), stl or none. Series under 3 years fall back "
                                 "to STL, under 2 years to none, with a note."),
) -> None:
    """Compute every diffusion index, sub-index and headline for every month and group.

    Example: smepulse compute --methodology smei --responses answers.csv --out indices.csv
    """
    m = load_methodology(methodology)
    resp = load_responses(responses, m)
    weights = weighting_frame(frame, m)
    point = require_published(compute_indices(resp, weights, min_n=min_n),
                              m.publication_minimum if min_n is None else min_n)
    result = with_precision(point, resp, weights, replicates)
    if seasonal != "none":
        result = adjust_with_errors(result, method=seasonal)
    write_series(result.series, out)
    if store is not None:
        with open_store(store) as st, st.transaction():  # the import and the vintage, together or not at all
            st.save_methodology(m)
            st.import_responses(resp)
            vid = st.save_series(result, note=f"compute {responses}")
        console.print(f"stored vintage {vid} in {redact(store)}")
    print_summary(result.series, m, console=console)
    for note in result.notes:
        console.print(f"[dim]{note}[/dim]")
    console.print(f"wrote {len(result.series):,} rows to {out}")


def import_cmd(
    responses: Path = typer.Option(..., "--responses", help="Wide responses file: CSV, Parquet or Excel."),
    store: str = typer.Option(..., "--store", help="Store file (created if missing) or postgresql:// URL."),
    methodology: str = typer.Option("smei", "--methodology"),
    replace: bool = typer.Option(False, "--replace", help="Overwrite responses already stored."),
) -> None:
    """Import responses into the store, all or nothing.

    Example: smepulse import --responses december.csv --store smepulse.duckdb
    """
    m = load_methodology(methodology)
    resp = load_responses(responses, m)
    with open_store(store) as st:
        with st.transaction():  # the methodology and the responses, together or not at all
            st.save_methodology(m)
            import_id = st.import_responses(resp, replace=replace)
        rows = st.con.execute("SELECT rows, answers FROM import_log WHERE import_id = ?", [import_id]).fetchall()[0]
    console.print(f"imported {rows[0]:,} responses ({rows[1]:,} answers) into {redact(store)} (import {import_id})")


def publish_cmd(
    store: str = typer.Option(..., "--store", help="Store file or postgresql:// URL with imported responses."),
    methodology: str = typer.Option("smei", "--methodology"),
    flash_cutoff: str | None = typer.Option(None, "--flash-cutoff", help="Publish a flash estimate from the "
                                               "responses received by this date (YYYY-MM-DD)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Publication date of this vintage (default now)."),
    seasonal: bool = typer.Option(True, "--seasonal/--no-seasonal"),
    replicates: int | None = typer.Option(None, "--replicates", help="Bootstrap replicates (0 = none; "
                                             "default from the methodology)."),
    review: bool = typer.Option(False, "--review", help="Annual review of the seasonal models: re-identify "
                                "the ARIMA model, outliers, holiday regressor and seasonality of every series "
                                "(default: keep those stored with the last vintage, re-estimate parameters)."),
    frame: str = typer.Option(DEFAULT_FRAME, "--frame", help=FRAME_HELP),
    min_n: int | None = typer.Option(None, "--min-n", min=0, help=MIN_N_HELP),
    factors: FactorsChoice | None = typer.Option(None, "--factors", help="Seasonal factors between reviews: "
                                                 "concurrent (re-estimated every release) or projected (the "
                                                 "year-ahead factors of the last review, applied unchanged); "
                                                 "default: the methodology's seasonal policy."),
) -> None:
    """Compute, add sampling error and seasonal adjustment, and store the result as a new vintage.

    Example: smepulse publish --store smepulse.duckdb --flash-cutoff 2026-11-10 --as-of 2026-11-10
    """
    m = load_methodology(methodology)
    if factors is not None:
        m = with_seasonal(m, factors=factors.value)
    with open_store(store) as st, st.transaction():  # the vintage, its SA specs and factors: all or nothing
        p = publish(st, m, kind="flash" if flash_cutoff else "final", cutoff=flash_cutoff,
                    as_of=parse_date_option(as_of, "--as-of") or parse_date_option(flash_cutoff, "--flash-cutoff"),
                    seasonal=seasonal, replicates=replicates, frame=frame, min_n=min_n, review=review)
    console.print(f"published {p.kind} vintage {p.vintage_id} ({len(p.result.series):,} rows) in {redact(store)}")


def register(app: typer.Typer) -> None:
    app.command("compute")(compute)
    app.command("import")(import_cmd)
    app.command("publish")(publish_cmd)
