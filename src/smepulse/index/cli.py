"""Index commands that need no store: compose, methodologies."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.console import Console

from smepulse.errors import InputError
from smepulse.index.compose import compose, quarterly, skipped
from smepulse.index.series_io import read_series, write_series
from smepulse.methodology import list_presets, load_methodology

console = Console()
err = Console(stderr=True)


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
    composed = compose(monthly[monthly["series"].isin(m.inputs)], m)
    comp = composed[composed["value"].notna()]
    gaps = skipped(monthly[monthly["series"].isin(m.inputs)], composed, m)
    listed = "; ".join(f"{r.period}{'' if r.group == 'all' else ' ' + r.group} {r.series} (missing {r.missing})"
                       for r in gaps.itertuples())
    # shares (up, same, down) turned into indices are output too: "nothing" means no composite and no such index
    from_shares = "up" in monthly and bool(monthly["up"].notna().any())
    if comp.empty and not from_shares:
        raise InputError(f"nothing was composed: {listed or 'no component series of ' + m.name + ' in the file'}",
                         file=str(series))
    if len(gaps):
        err.print(f"[yellow]skipped {len(gaps)}: {listed}[/yellow]", soft_wrap=True)
    out_df = pd.concat([monthly, comp], ignore_index=True)
    q = quarterly(out_df)
    out_df = pd.concat([out_df, q], ignore_index=True)
    write_series(out_df, out)
    only = " (indices computed from shares only)" if comp.empty else ""
    months = comp["period"].nunique()
    console.print(f"{m.title.en}: {months} months composed{only}; wrote {len(out_df):,} rows to {out}")
    if m.headline:
        last = comp[comp["series"] == m.headline].sort_values("period").tail(3)
        for _, r in last.iterrows():
            console.print(f"  {r['period']} {r['group']}: {m.headline} = {r['value']:.1f}")


def methodologies() -> None:
    """List the shipped methodologies and presets.

    Example: smepulse methodologies
    """
    for name in list_presets():
        m = load_methodology(name)
        console.print(f"{name:14s} {m.version:6s} {m.title.en} / {m.title.zh}")


def register(app: typer.Typer) -> None:
    app.command("compose")(compose_cmd)
    app.command("methodologies")(methodologies)
