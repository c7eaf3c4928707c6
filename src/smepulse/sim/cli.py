"""`smepulse sim`: the synthetic survey panel."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from smepulse.index.series_io import write_series
from smepulse.sim.survey import simulate_survey, write_parquet

console = Console()


def sim(
    out: Path = typer.Option(..., "--out", help="Responses file to write (.csv or .parquet)."),
    firms: int = typer.Option(600, "--firms"),
    months: int = typer.Option(36, "--months"),
    start: str = typer.Option("2023-01", "--start", help="First month, YYYY-MM."),
    seed: int = typer.Option(0, "--seed"),
    answers: int | None = typer.Option(None, "--answers", help="Write about this many answers to "
                                          "Parquet instead (panel size chosen to match), e.g. 10000000."),
    truth: Path | None = typer.Option(None, "--truth", help="Also write the population truth here."),
) -> None:
    """Simulate a survey panel's responses in the wide responses format.

    Example: smepulse sim --firms 600 --months 36 --out responses.csv
    Example: smepulse sim --answers 10000000 --out big.parquet
    """
    if answers is not None:
        stats = write_parquet(out, n_answers=answers, seed=seed, n_months=months, start=start)
        console.print(f"wrote {stats['rows']:,} responses ({stats['answers']:,} answers) to {out} "
                      f"in {stats['seconds']:.2f} s")
        return
    sample = simulate_survey(n_firms=firms, n_months=months, start=start, seed=seed)
    if out.suffix.lower() in (".parquet", ".pq"):
        sample.responses.to_parquet(out, index=False)
    else:
        sample.responses.to_csv(out, index=False)
    if truth is not None:
        write_series(sample.truth, truth)
    console.print(sample.summary())
    console.print(f"wrote {len(sample.responses):,} responses to {out}")


def register(app: typer.Typer) -> None:
    app.command("sim")(sim)
