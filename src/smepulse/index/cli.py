"""Index commands: compute, compose, import, sim, demo, methodologies."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.console import Console

from smepulse.index.compose import compose, quarterly
from smepulse.index.engine import compute as compute_indices
from smepulse.index.series_io import read_series, write_series
from smepulse.index.summary import print_summary
from smepulse.index.weighting import frame_from_methodology, read_frame
from smepulse.methodology import list_presets, load_methodology
from smepulse.survey.responses import load_responses

console = Console()
err = Console(stderr=True)


def _frame(frame: Optional[str], m):
    if frame is None:
        return None
    if frame == "methodology":
        if not m.targets:
            raise typer.BadParameter(f"methodology {m.name} has no target shares")
        return frame_from_methodology(m)
    return read_frame(frame, m)


def compute(
    responses: Path = typer.Option(..., "--responses", help="Wide responses file: CSV, Parquet or Excel."),
    out: Path = typer.Option(..., "--out", help="Tidy series file to write (CSV or Parquet)."),
    methodology: str = typer.Option("smei", "--methodology", help="Preset name or a methodology YAML file."),
    frame: Optional[str] = typer.Option(None, "--frame", help="Target shares file (dimension, value, share"
                                        "[, effective]) to post-stratify/rake to, or 'methodology' for the "
                                        "methodology's own targets."),
    min_n: Optional[int] = typer.Option(None, "--min-n", help="Override the publication minimum."),
    store: Optional[Path] = typer.Option(None, "--store", help="Also import the responses and save the "
                                         "series as a new vintage in this store file."),
    replicates: Optional[int] = typer.Option(None, "--replicates", help="Bootstrap replicates for standard "
                                             "errors (0 = none; default from the methodology, 500 for smei)."),
    seasonal: str = typer.Option("x13", "--seasonal", help="Seasonal adjustment for the `sa` rows: x13 (with "
                                 "the Chinese New Year regressor), stl or none. Series under 3 years fall back "
                                 "to STL, under 2 years to none, with a note."),
) -> None:
    """Compute every diffusion index, sub-index and headline for every month and group.

    Example: smepulse compute --methodology smei --responses answers.csv --frame methodology --out indices.csv
    """
    m = load_methodology(methodology)
    resp = load_responses(responses, m)
    from smepulse.release.publish import with_precision
    weights = _frame(frame, m)
    result = with_precision(compute_indices(resp, weights, min_n=min_n), resp, weights, replicates)
    if seasonal != "none":
        from smepulse.release.publish import adjust_with_errors
        result = adjust_with_errors(result, method=seasonal)
    write_series(result.series, out)
    if store is not None:
        from smepulse.store import open_store
        with open_store(store) as st:
            st.save_methodology(m)
            st.import_responses(resp)
            vid = st.save_series(result, note=f"compute {responses}")
        console.print(f"stored vintage {vid} in {store}")
    print_summary(result.series, m, console=console)
    for note in result.notes:
        console.print(f"[dim]{note}[/dim]")
    console.print(f"wrote {len(result.series):,} rows to {out}")


def compose_cmd(
    methodology: str = typer.Option(..., "--methodology", help="Preset name (nbs-pmi, caixin-pmi, ism-pmi, "
                                    "ism-services, ec-consumer, ec-industry) or YAML file."),
    series: Path = typer.Option(..., "--series", help="Tidy file: period, series, value (or up, same, down), "
                                "optional group."),
    out: Path = typer.Option(..., "--out", help="Output file: the input rows plus composites and quarters."),
) -> None:
    """Compose published component series into headlines, as the preset's producer does.

    Example: smepulse compose --methodology ism-pmi --series ism_components.csv --out ism_pmi.csv
    """
    m = load_methodology(methodology)
    df = read_series(series, m)
    unknown = sorted(set(df["series"]) - set(m.inputs) - {c.id for c in m.composites})
    if unknown:
        err.print(f"[yellow]note: series not used by {m.name}: {', '.join(unknown)}[/yellow]")
    monthly = df[df["period"].str.len() == 7]
    comp = compose(monthly[monthly["series"].isin(m.inputs)], m)
    comp = comp[comp["value"].notna()]
    out_df = pd.concat([monthly, comp], ignore_index=True)
    q = quarterly(out_df)
    out_df = pd.concat([out_df, q], ignore_index=True)
    write_series(out_df, out)
    console.print(f"{m.title.en}: {comp['period'].nunique()} months composed; wrote {len(out_df):,} rows to {out}")
    if m.headline:
        last = comp[comp["series"] == m.headline].sort_values("period").tail(3)
        for _, r in last.iterrows():
            console.print(f"  {r['period']} {r['group']}: {m.headline} = {r['value']:.1f}")


def import_cmd(
    responses: Path = typer.Option(..., "--responses", help="Wide responses file: CSV, Parquet or Excel."),
    store: Path = typer.Option(..., "--store", help="Store file (created if missing)."),
    methodology: str = typer.Option("smei", "--methodology"),
    replace: bool = typer.Option(False, "--replace", help="Overwrite responses already stored."),
) -> None:
    """Import responses into the store, all or nothing.

    Example: smepulse import --responses december.csv --store smepulse.duckdb
    """
    from smepulse.store import open_store
    m = load_methodology(methodology)
    resp = load_responses(responses, m)
    with open_store(store) as st:
        st.save_methodology(m)
        import_id = st.import_responses(resp, replace=replace)
        rows = st.con.execute("SELECT rows, answers FROM import_log WHERE import_id = ?", [import_id]).fetchall()[0]
    console.print(f"imported {rows[0]:,} responses ({rows[1]:,} answers) into {store} (import {import_id})")


def methodologies() -> None:
    """List the shipped methodologies and presets.

    Example: smepulse methodologies
    """
    for name in list_presets():
        m = load_methodology(name)
        console.print(f"{name:14s} {m.version:6s} {m.title.en} / {m.title.zh}")


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
    from smepulse.index.demo import run_demo
    run_demo(out, n_firms=firms, n_months=months, seed=seed, seasonal=seasonal, console=console)


def sim(
    out: Path = typer.Option(..., "--out", help="Responses file to write (.csv or .parquet)."),
    firms: int = typer.Option(600, "--firms"),
    months: int = typer.Option(36, "--months"),
    start: str = typer.Option("2023-01", "--start", help="First month, YYYY-MM."),
    seed: int = typer.Option(0, "--seed"),
    answers: Optional[int] = typer.Option(None, "--answers", help="Write about this many answers to "
                                          "Parquet instead (panel size chosen to match), e.g. 10000000."),
    truth: Optional[Path] = typer.Option(None, "--truth", help="Also write the population truth here."),
) -> None:
    """Simulate a survey panel's responses in the wide responses format.

    Example: smepulse sim --firms 600 --months 36 --out responses.csv
    Example: smepulse sim --answers 10000000 --out big.parquet
    """
    from smepulse.sim.survey import simulate_survey, write_parquet
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
    app.command("demo")(demo)
    app.command("sim")(sim)
    app.command("compute")(compute)
    app.command("compose")(compose_cmd)
    app.command("import")(import_cmd)
    app.command("methodologies")(methodologies)
