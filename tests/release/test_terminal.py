"""The demo's terminal tables (release/terminal.py): every group with a published cell appears, a group without
a seasonally adjusted series shows its unadjusted value marked †, a suppressed one is marked x, the numbers are
the release's (rounded as published, the change of the rounded values), and nothing is cut at 80 columns."""
from __future__ import annotations

import re

import pytest
from rich.console import Console

from smepulse.methodology import load_methodology
from smepulse.release.facts import published
from smepulse.release.narrative import Names
from smepulse.release.report import ReleaseData, build_release
from smepulse.release.sample import groups_of, synthetic_series
from smepulse.release.terminal import print_release_summary

M = load_methodology("smei")
PERIOD = "2026-10"
NSA_ONLY = ("sector=construction", "sector=wholesale_retail")  # too short for X-13: no SA rows, as in the demo
SUPPRESSED = ("region=northeast", "sector=real_estate")


@pytest.fixture(scope="module")
def df():
    d = synthetic_series(M, end=PERIOD, months=14, suppress=SUPPRESSED)
    return d[~(d["group"].isin(NSA_ONLY) & (d["adjustment"] == "sa"))].reset_index(drop=True)


def _print(df, lang):
    rel = build_release(ReleaseData(df, source="synthetic"), PERIOD, M, lang, charts=False)
    console = Console(width=80, record=True, color_system=None)
    print_release_summary(rel, console)
    return console.export_text()


def _row(text: str, name: str) -> str:
    """The row of a group; a long name may wrap between words onto the next line (the numbers stay on the first)."""
    lines = text.splitlines()
    words = name.split()
    for k in range(len(words), 0, -1):
        head, rest = " ".join(words[:k]), " ".join(words[k:])
        for i, line in enumerate(lines):
            if re.match(rf"\s*{re.escape(head)}\s{{2,}}", line) and (not rest or lines[i + 1].strip() == rest):
                return line.replace(head, name, 1)
    raise AssertionError(f"{name} is not in the table:\n{text}")


def test_every_group_with_a_published_cell_appears_in_english(df):
    text = _print(df, "en")
    names = Names(M, "en")
    now = df[(df["period"] == PERIOD) & (df["series"] == "headline")]
    published_groups = set(now.loc[now["value"].notna(), "group"]) | set(now.loc[now["flag"] == "suppressed",
                                                                                 "group"])
    assert published_groups == set(groups_of(M))  # the data hold every group of the methodology
    for g in groups_of(M):
        name = "All SMEs" if g == "all" else names.group_short(g)
        row = _row(text, name)  # raises StopIteration when the group is missing
        cells = row.strip()[len(name):].split()
        if g in SUPPRESSED:
            assert cells[0] == "x" and cells.count("x") == 4, row
            continue
        adj = "nsa" if g in NSA_ONLY else "sa"
        cur = now[(now["group"] == g) & (now["adjustment"] == adj)].iloc[0]
        prev = df[(df["period"] == "2026-09") & (df["series"] == "headline") & (df["group"] == g)
                  & (df["adjustment"] == adj)].iloc[0]
        value = f"{published(cur['value']):.1f}" + ("†" if g in NSA_ONLY else "")
        change = published(published(cur["value"]) - published(prev["value"])) + 0.0
        assert cells[0] == value and cells[1].rstrip("*") == f"{change:+.1f}", (g, row)
        assert cells[-1] == f"{int(cur['n']):,}"
    assert "† not seasonally adjusted" in text and "x suppressed" in text
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80


def test_chinese_tables_name_every_group_and_fit(df):
    text = _print(df, "zh")
    for g in groups_of(M):
        name = "全部中小企业" if g == "all" else Names(M, "zh").group_short(g)
        assert _row(text, name)
    assert "† 未经季节调整" in text and "x 样本不足未发布" in text and "…" not in text
