"""`smepulse credit simulate` and `smepulse credit features`: the data half of the credit CLI.

`credit/cli.py` calls `register(app)` to add these commands to its Typer group.
"""
from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from smepulse.credit.features import GROUP_COLUMNS, build_features, feature_specs, with_group_columns
from smepulse.errors import CreditError
from smepulse.sim.credit import SimConfig, simulate

console = Console()


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                    TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=console, transient=True)


def _last_day(iso: str) -> str:
    """An exclusive end date as the last day it covers (what a reader expects to see)."""
    return str(dt.date.fromisoformat(iso) - dt.timedelta(days=1))


def simulate_cmd(
    firms: int = typer.Option(10_000, "--firms", help="Number of firms."),
    start: str = typer.Option("2023-01-01", "--start",
                              help="First day of the application window, YYYY-MM-DD (data begin earlier)."),
    months: int = typer.Option(24, "--months", help="Months of the application window [start, start + months)."),
    history_months: int = typer.Option(16, "--history-months",
                                       help="Months of flows before --start: the features' full look-back."),
    outcome_months: int = typer.Option(
        12, "--outcome-months",
        help="Months of follow-up after the window (0-60): the data end is start + months + this. 12 labels "
             "every application's 12-month outcome; less leaves the last applications censored."),
    default_rate: float = typer.Option(0.02, "--default-rate", help="Mean 12-month default rate of applications."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same files."),
    thin_share: float = typer.Option(0.15, "--thin-share", help="Share of new businesses with thin files."),
    workers: int = typer.Option(min(4, os.cpu_count() or 1), "--workers", help="Processes writing chunks."),
    out: Path = typer.Option(..., "--out", help="Output directory (created if missing)."),
) -> None:
    """Write a synthetic SME alternative-data set (firms, transactions, tax, utilities, loans, applications) as Parquet.

    Applications fall in [start, start + months). The data begin --history-months before the start and
    end --outcome-months after the window (the data end); by default 2021-09-01 to 2025-12-31, every
    application with its 12-month outcome.

    Example: smepulse credit simulate --firms 100000 --start 2023-01-01 --months 24 --seed 1 --out data/sim
    """
    try:
        dt.date.fromisoformat(start)
    except ValueError as exc:
        raise CreditError(f"--start must be YYYY-MM-DD, got '{start}'") from exc
    cfg = SimConfig(n_firms=firms, start=start, months=months, default_rate=default_rate, seed=seed,
                    thin_share=thin_share, workers=workers, history_months=history_months,
                    outcome_months=outcome_months)
    t0 = time.perf_counter()
    with _progress() as bar:
        task = bar.add_task("simulating firms", total=None)
        res = simulate(cfg, out, progress=lambda done, total: bar.update(task, completed=done, total=total))
    secs = time.perf_counter() - t0
    console.print(f"wrote {out}: {res.summary()}")
    console.print(f"applications {start} to {_last_day(res.applications_end)}; "
                  f"data {res.data_start} to {_last_day(res.data_end)} ({outcome_months} months of follow-up)")
    console.print(f"{secs:.1f} s, {res.rows['transactions'] / secs:,.0f} transactions/s")


def features_cmd(
    data: Path = typer.Option(..., "--data", help="Directory written by `credit simulate` (or the same layout)."),
    out: Path = typer.Option(..., "--out", help="Output file: .parquet or .csv."),
    applications: Path | None = typer.Option(
        None, "--applications", help="Applications file (.parquet/.csv); default DATA/applications.parquet."),
) -> None:
    """Build the point-in-time feature table, with the target default_12m, for every application.

    Example: smepulse credit features --data data/sim --out data/features.parquet
    """
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise CreditError(f"--out {out}: use a .parquet or .csv file name")
    t0 = time.perf_counter()
    with _progress() as bar:
        task = bar.add_task("building features in DuckDB", total=None)
        table = build_features(data, applications,
                               progress=lambda done, total: bar.update(task, completed=done, total=total))
    table = with_group_columns(table, data)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        table.to_csv(out, index=False)
    else:
        table.to_parquet(out, index=False)
    n_feat, labelled = len(feature_specs()), int(table["default_12m"].notna().sum())
    console.print(f"wrote {out}: {len(table):,} applications x {n_feat} features "
                  f"({labelled:,} with a 12-month outcome) in {time.perf_counter() - t0:.1f} s")
    groups = [c for c in GROUP_COLUMNS if c in table.columns]
    if groups:
        console.print(f"with protected group column(s) {', '.join(groups)}: for fairness checks, never features")


def register(app: typer.Typer) -> None:
    """Add `simulate` and `features` to the credit command group."""
    app.command("simulate")(simulate_cmd)
    app.command("features")(features_cmd)
