"""`smepulse demo`: simulate a survey, store it, compute and adjust every index, summarise the latest month."""
from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from smepulse.index.adjusted import add_seasonal
from smepulse.index.engine import compute
from smepulse.index.series_io import write_series
from smepulse.index.summary import print_summary
from smepulse.index.weighting import frame_from_methodology
from smepulse.methodology import load_methodology
from smepulse.sim.survey import simulate_survey
from smepulse.store import open_store
from smepulse.survey.responses import from_frame

DEMO_START = "2023-11"  # 36 months ending October 2026, so X-13 has the three years it needs


def run_demo(out: Path, n_firms: int = 600, n_months: int = 36, seed: int = 0, seasonal: bool = True,
             console: Console | None = None) -> dict:
    console = console or Console()
    out.mkdir(parents=True, exist_ok=True)
    store_path = out / "smepulse.duckdb"
    for old in (store_path, store_path.with_name(store_path.name + ".wal")):
        old.unlink(missing_ok=True)  # the demo rebuilds its own store from scratch
    m = load_methodology("smei")
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=False) as progress:
        step = progress.add_task("simulating the survey", total=1)
        sample = simulate_survey(n_firms=n_firms, n_months=n_months, start=DEMO_START, seed=seed)
        sample.responses.to_csv(out / "responses.csv", index=False)
        progress.update(step, completed=1, description="simulated the survey")
        step = progress.add_task("storing responses", total=1)
        with open_store(store_path) as st:
            st.save_methodology(m)
            st.import_responses(from_frame(sample.responses, m, source="simulator"))
            progress.update(step, completed=1, description="stored responses")
            step = progress.add_task("computing indices", total=1)
            result = compute(st.responses(m), frame_from_methodology(m))
            progress.update(step, completed=1, description="computed indices")
            if seasonal:
                n_series = int(((result.series["adjustment"] == "nsa") & (result.series["period"].str.len() == 7)
                                & ~result.series["series"].isin([c.id for c in m.composites])
                                & result.series["value"].notna())
                               .pipe(lambda x: result.series[x][["series", "group"]].drop_duplicates().shape[0]))
                step = progress.add_task("seasonal adjustment (X-13, CNY)", total=n_series)
                result = add_seasonal(result, on_done=lambda r: progress.advance(step))
            vintage = st.save_series(result, note="demo")
    indices = write_series(result.series, out / "indices.csv")
    console.print(sample.summary())
    print_summary(result.series, m, adjustment="sa" if seasonal else "nsa", console=console)
    console.print(f"\nOutputs in {out}/: store [bold]{store_path}[/bold] (vintage {vintage}), "
                  f"indices [bold]{indices}[/bold] ({len(result.series):,} rows), responses.csv")
    return {"store": store_path, "indices": indices, "vintage": vintage, "result": result}
