"""A readable summary of one month: headline, sub-indexes and groups, with the change on the month."""
from __future__ import annotations

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

from smepulse.methodology import Methodology
from smepulse.periods import from_index, month_name, to_index


def _fmt(x: float | None, signed: bool = False) -> str:
    if x is None or pd.isna(x):
        return "-"
    return f"{x:+.1f}" if signed else f"{x:.1f}"


def print_summary(series: pd.DataFrame, m: Methodology, period: str | None = None,
                  adjustment: str = "nsa", console: Console | None = None) -> None:
    console = console or Console()
    s = series[(series["period"].str.len() == 7) & (series["adjustment"] == adjustment)]
    if s.empty:
        console.print("no monthly series to summarise")
        return
    period = period or str(s["period"].max())
    prev = from_index(to_index(period) - 1)
    now = s[s["period"] == period].set_index(["series", "group"])
    cur = now["value"]
    old = s[s["period"] == prev].set_index(["series", "group"])["value"]
    n = s[s["period"] == period].set_index(["series", "group"])["n"]
    composites = [c.id for c in m.composites]
    title = f"{m.title.en}, {month_name(period)} ({'seasonally adjusted' if adjustment == 'sa' else 'not seasonally adjusted'})"
    top = Table(title=title, title_justify="left")
    for col in ("index", "value", "95% interval", "change on month", "n"):
        top.add_column(col, justify="left" if col == "index" else "right")
    for c in composites:
        if (c, "all") not in cur.index:
            continue
        row = now.loc[(c, "all")]
        change = row["value"] - old.get((c, "all"), float("nan"))
        interval = f"{row['ci_low']:.1f}-{row['ci_high']:.1f}" if pd.notna(row.get("ci_low")) else "-"
        # a move within 1.96 standard errors of the change is not distinguishable from sampling noise
        se_change = row.get("se_change")
        sig = "" if pd.isna(se_change) or pd.isna(change) else (" *" if abs(change) > 1.96 * se_change else "")
        top.add_row(c, _fmt(row["value"]), interval, _fmt(change, True) + sig, str(n.get((c, "all"), "")))
    console.print(top)
    if "se_change" in s.columns and s["se_change"].notna().any():
        console.print("* change larger than its 95% sampling margin")
    groups = [g for g in s["group"].unique() if g != "all" and (composites[-1], g) in cur.index
              and pd.notna(cur.get((composites[-1], g)))]
    if not groups or not composites:
        return
    table = Table(title=f"By group, {month_name(period)} (change: {composites[-1]}, on the month)",
                  title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("by", no_wrap=True)
    table.add_column("group", no_wrap=True)
    for c in composites:
        table.add_column(c if len(c) <= 8 else c[:6] + ".", justify="right", no_wrap=True, min_width=5)
    table.add_column("change", justify="right", no_wrap=True, min_width=5)
    table.add_column("n", justify="right", no_wrap=True, min_width=3)
    section = None
    for g in groups:
        dim, _, value = g.partition("=")
        if section is not None and dim != section:
            table.add_section()  # one block per classification keeps the labels short
        cells = [_fmt(cur.get((c, g))) for c in composites]
        last = composites[-1]
        change = cur.get((last, g), float("nan")) - old.get((last, g), float("nan"))
        first = section != dim or not table.rows
        table.add_row(dim if first else "", value.replace("_", " "), *cells, _fmt(change, True),
                      str(n.get((last, g), "")))
        section = dim
    console.print(table)
    hidden = s[(s["period"] == period) & (s["flag"] == "suppressed") & s["series"].isin(composites)]
    if not hidden.empty:
        console.print("Not published (too few respondents): " + ", ".join(dict.fromkeys(hidden["group"])))
