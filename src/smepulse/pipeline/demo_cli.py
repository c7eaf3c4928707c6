"""`smepulse demo`: its own module, because the demo loads every pillar (release, credit, decisions)."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from smepulse.pipeline.demo import run_demo

console = Console()


def demo(
    out: Path = typer.Option(Path("demo"), "--out", help="Folder for the store, indices.csv and reports."),
    firms: int = typer.Option(600, "--firms", help="Panel size."),
    months: int = typer.Option(36, "--months", help="Months simulated."),
    seed: int = typer.Option(0, "--seed"),
    seasonal: bool = typer.Option(True, "--seasonal/--no-seasonal", help="Seasonally adjust with X-13."),
) -> None:
    """Simulate a 600-firm survey, store it, compute and adjust every index, and summarise the latest month.

    Example: smepulse demo --out demo
    """
    run_demo(out, n_firms=firms, n_months=months, seed=seed, seasonal=seasonal, console=console)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
