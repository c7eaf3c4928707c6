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


def _preferred(s: pd.DataFrame, adjustment: str) -> pd.DataFrame:
    """One row per (period, series, group): the wanted adjustment where it has a value, else the unadjusted row,
    so a group too short or too gappy for seasonal adjustment still shows (marked) rather than vanishing."""
    s = s.assign(_rank=(s["adjustment"] != adjustment) | s["value"].isna())
    s = s.sort_values("_rank", kind="stable").drop_duplicates(["period", "series", "group"])
    return s.drop(columns="_rank")


def print_summary(series: pd.DataFrame, m: Methodology, period: str | None = None,
                  adjustment: str = "sa", console: Console | None = None) -> None:
    """The headline table and one row per group with a published value; where `adjustment` (SA by default)
    has no value the unadjusted one is shown, marked †, with its own change on the month."""
    console = console or Console()
    s = series[(series["period"].str.len() == 7)]
    if s.empty:
        console.print("no monthly series to summarise")
        return
    if "adjustment" not in s.columns:
        s = s.assign(adjustment="nsa")
    s = _preferred(s, adjustment)
    period = period or str(s["period"].max())
    prev = from_index(to_index(period) - 1)
    now = s[s["period"] == period].set_index(["series", "group"])
    cur = now["value"]
    marked = now["adjustment"] != adjustment
    old = s[s["period"] == prev].set_index(["series", "group"])
    # a change compares like with like: an unadjusted value with the unadjusted month before
    old_value = old["value"].where(old["adjustment"] == now["adjustment"].reindex(old.index))
    n = now["n"]
    composites = [c.id for c in m.composites]
    wanted = "seasonally adjusted" if adjustment == "sa" else "not seasonally adjusted"
    title = f"{m.title.en}, {month_name(period)} ({wanted})"

    def value(c, g) -> str:
        return _fmt(cur.get((c, g))) + ("†" if marked.get((c, g), False) and pd.notna(cur.get((c, g))) else "")

    top = Table(title=title, title_justify="left")
    for col in ("index", "value", "95% interval", "change on month", "n"):
        top.add_column(col, justify="left" if col == "index" else "right")
    for c in composites:
        if (c, "all") not in cur.index:
            continue
        row = now.loc[(c, "all")]
        change = row["value"] - old_value.get((c, "all"), float("nan"))
        interval = f"{row['ci_low']:.1f}-{row['ci_high']:.1f}" if pd.notna(row.get("ci_low")) else "-"
        # a move within 1.96 standard errors of the change is not distinguishable from sampling noise
        se_change = row.get("se_change")
        sig = "" if pd.isna(se_change) or pd.isna(change) else (" *" if abs(change) > 1.96 * se_change else "")
        top.add_row(c, value(c, "all"), interval, _fmt(change, True) + sig, str(n.get((c, "all"), "")))
    console.print(top)
    if "se_change" in s.columns and s["se_change"].notna().any():
        console.print("* change larger than its 95% sampling margin")
    groups = [g for g in series["group"].unique() if g != "all"  # in the data's order, adjusted or not
              and any(pd.notna(cur.get((c, g))) for c in composites)]
    if groups and composites:
        _print_groups(console, groups, composites, period, value, cur, old_value, n)
    if marked[cur.notna()].any():
        console.print(f"† {'not seasonally adjusted' if adjustment == 'sa' else 'seasonally adjusted'} "
                      "(too short or gappy a series for the other; its own change on the month)")
    hidden = s[(s["period"] == period) & (s["flag"] == "suppressed") & s["series"].isin(composites)]
    if not hidden.empty:
        console.print("Not published (too few respondents): " + ", ".join(dict.fromkeys(hidden["group"])))


def _print_groups(console, groups, composites, period, value, cur, old_value, n) -> None:
    # nothing is cut at 80 columns: tight padding, headers shortened, every column as wide as its longest text
    table = Table(title=f"By group, {month_name(period)} (change: {composites[-1]}, on the month)",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True)
    dims = [g.partition("=")[0] for g in groups]
    labels = [g.partition("=")[2].replace("_", " ") for g in groups]
    table.add_column("by", no_wrap=True, min_width=max(len(d) for d in dims))
    # a long group name wraps between words rather than pushing the numbers off an 80-column terminal
    table.add_column("group", min_width=max(len(w) for x in labels for w in x.split()))
    for c in composites:
        head = c if len(c) <= 8 else c[:6] + "."
        table.add_column(head, justify="right", no_wrap=True, min_width=max(len(head), 5))
    table.add_column("change", justify="right", no_wrap=True, min_width=6)
    table.add_column("n", justify="right", no_wrap=True, min_width=max(3, *(len(str(n.get((composites[-1], g), "")))
                                                                          for g in groups)))
    section = None
    last = composites[-1]
    for g in groups:
        dim, label = g.partition("=")[0], g.partition("=")[2].replace("_", " ")
        if section is not None and dim != section:
            table.add_section()  # one block per classification keeps the labels short
        change = cur.get((last, g), float("nan")) - old_value.get((last, g), float("nan"))
        first = section != dim or not table.rows
        table.add_row(dim if first else "", label, *[value(c, g) for c in composites],
                      _fmt(change, True), str(n.get((last, g), "")))
        section = dim
    console.print(table)
