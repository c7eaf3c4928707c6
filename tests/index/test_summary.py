"""compute's terminal summary (index/summary.py): every group with a published value appears; a group without a
seasonally adjusted series shows its unadjusted values marked †, with the unadjusted change on the month."""
from __future__ import annotations

import re

import pandas as pd
from rich.console import Console
from typer.testing import CliRunner

from smepulse.cli import app
from smepulse.index.summary import print_summary
from smepulse.methodology import load_methodology
from smepulse.release.sample import groups_of, synthetic_series
from smepulse.sim.survey import simulate_survey

M = load_methodology("smei")
PERIOD = "2026-10"
NSA_ONLY = ("sector=construction", "sector=wholesale_retail")


def _text(df: pd.DataFrame) -> str:
    console = Console(width=80, record=True, color_system=None)
    print_summary(df, M, console=console)
    return console.export_text()


def _group_row(text: str, g: str) -> list[str]:
    dim, _, label = g.partition("=")
    label = label.replace("_", " ")
    words = label.split()
    for k in range(len(words), 0, -1):  # a long name may wrap between words (the numbers stay on its first line)
        for line in text.splitlines():
            m = re.match(rf"\s*(?:{re.escape(dim)}\s+)?{re.escape(' '.join(words[:k]))}\s{{2,}}(\d.*)$", line)
            if m:
                return m.group(1).split()
    raise AssertionError(f"{g} is not in the summary:\n{text}")


def test_groups_without_sa_appear_marked_with_their_own_change():
    df = synthetic_series(M, end=PERIOD, months=14)
    df = df[~(df["group"].isin(NSA_ONLY) & (df["adjustment"] == "sa"))].reset_index(drop=True)
    text = _text(df)
    last = M.composites[-1].id
    for g in groups_of(M):
        if g == "all":
            continue
        cells = _group_row(text, g)
        adj = "nsa" if g in NSA_ONLY else "sa"
        rows = df[(df["series"] == last) & (df["group"] == g) & (df["adjustment"] == adj)].set_index("period")
        assert cells[len(M.composites) - 1] == f"{rows.at[PERIOD, 'value']:.1f}" + ("†" if g in NSA_ONLY else "")
        assert cells[len(M.composites)] == f"{rows.at[PERIOD, 'value'] - rows.at['2026-09', 'value']:+.1f}"
    assert "† not seasonally adjusted" in text


def test_compute_prints_every_group_it_publishes(tmp_path):
    sample = simulate_survey(n_firms=300, n_months=6, start="2025-01", seed=5)
    src = tmp_path / "responses.csv"
    sample.responses.to_csv(src, index=False)
    out = tmp_path / "indices.csv"
    res = CliRunner().invoke(app, ["compute", "--responses", str(src), "--out", str(out), "--replicates", "0"],
                             terminal_width=200)
    assert res.exit_code == 0, res.output
    series = pd.read_csv(out)
    now = series[(series["period"] == series["period"].max()) & series["value"].notna()
                 & series["series"].isin([c.id for c in M.composites]) & (series["group"] != "all")]
    assert not (series["adjustment"] == "sa").any()  # six months: no seasonal adjustment, every group unadjusted
    assert len(set(now["group"])) > 5
    for g in set(now["group"]):
        assert "†" in " ".join(_group_row(res.output, g))
