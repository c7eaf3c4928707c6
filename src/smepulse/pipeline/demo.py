"""`smepulse demo`: simulate a survey, store it, compute and adjust every index, summarise the latest month."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from smepulse.decision.demo_book import build_credit_book
from smepulse.index.series_io import write_series
from smepulse.methodology import load_methodology
from smepulse.periods import from_index, to_index
from smepulse.pipeline.publish import publish
from smepulse.release.report import Release, load_from_store, release_files
from smepulse.release.terminal import print_release_summary
from smepulse.sim.survey import simulate_survey
from smepulse.store import open_store
from smepulse.survey.responses import from_frame

DEMO_START = "2023-11"  # 36 months ending October 2026, so X-13 has the three years it needs


def _response_dates(periods, seed: int):
    """Responses arrive during the first 20 days of the month after the one they describe."""
    rng = np.random.default_rng(seed)
    start = pd.to_datetime(periods + "-01") + pd.offsets.MonthBegin(1)
    return (start + pd.to_timedelta(rng.integers(0, 20, len(periods)), unit="D")).dt.strftime("%Y-%m-%d")


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
        responses = sample.responses.assign(response_date=_response_dates(sample.responses["period"], seed))
        responses.to_csv(out / "responses.csv", index=False)
        progress.update(step, completed=1, description="simulated the survey")
        step = progress.add_task("storing responses", total=1)
        latest = str(responses["period"].max())
        flash_cutoff = f"{from_index(to_index(latest) + 1)}-10"
        final_date = f"{from_index(to_index(latest) + 1)}-25"
        with open_store(store_path) as st:
            st.save_methodology(m)
            st.import_responses(from_frame(responses, m, source="simulator"))
            progress.update(step, completed=1, description="stored responses")
            published = {}
            for kind, cutoff, as_of in (("flash", flash_cutoff, flash_cutoff), ("final", None, final_date)):
                label = f"{kind}: indices, sampling error" + (", X-13 with CNY" if seasonal else "")
                step = progress.add_task(label, total=None)
                published[kind] = publish(
                    st, m, kind=kind, cutoff=cutoff, as_of=datetime.fromisoformat(as_of), seasonal=seasonal,
                    on_adjusted=lambda r, s=step: progress.advance(s), note=f"demo {kind}")
                progress.update(step, total=1, completed=1)
            revisions = st.revisions("smei", "headline", "all", "sa" if seasonal else "nsa")
    result = published["final"].result
    indices = write_series(result.series, out / "indices.csv")
    console.print(sample.summary())
    releases, english = _write_releases(store_path, latest, m, out, console)
    print_release_summary(english, console)  # every group, the release's own numbers
    last = revisions[revisions["period"] == latest].iloc[0]
    console.print(f"Flash estimate of the headline for {latest} (responses by {flash_cutoff}): {last['flash']:.1f}; "
                  f"final ({final_date}): {last['first_release']:.1f}; revision {last['flash_revision']:+.1f}")
    console.print(f"\nOutputs in {out}/: store [bold]{store_path}[/bold] (vintages "
                  f"{published['flash'].vintage_id}, {published['final'].vintage_id}), "
                  f"indices [bold]{indices}[/bold] ({len(result.series):,} rows), responses.csv", soft_wrap=True)
    docs = ", ".join(str(releases[k]) for k in ("en.html", "zh.html", "en.pdf", "zh.pdf", "en.md", "zh.md"))
    console.print(f"Release of {latest}: [bold]{docs}[/bold]; exports {releases['csv']}, {releases['xlsx']}, "
                  f"{releases['json']}, {releases['sdmx']}", soft_wrap=True)
    with console.status("building the credit book: firms, champion model, feature snapshots"):
        credit = build_credit_book(out, store_path, seed=seed)
    console.print(f"Credit book: {credit['snapshots']:,} firm snapshots as of {credit['as_of']}, champion "
                  f"{credit['champion']} (AUC {credit['auc']:.3f}); POST /api/v1/credit/decisions", soft_wrap=True)
    return {"credit": credit, "store": store_path, "indices": indices, "vintage": published["final"].vintage_id,
            "result": result,
            "releases": releases}


def _write_releases(store_path: Path, period: str, m, out: Path, console: Console) -> tuple[dict, Release]:
    """The release of the latest month in English and Chinese (HTML, PDF, Markdown) and its exports; the files
    written and the English release (the terminal prints its tables, so they agree with it to the decimal)."""
    rels: list[Release] = []
    with console.status("writing the English and Chinese releases"):
        written = release_files(load_from_store(store_path, m.name), period, m, out, releases=rels)
    return written, next(r for r in rels if r.lang == "en")
