"""Small builders shared by the index tests."""
from __future__ import annotations

import pandas as pd

from smepulse.index import compute
from smepulse.methodology import load_methodology
from smepulse.survey.responses import from_frame

SMEI = load_methodology("smei")

# A dozen responses worked out on paper in test_hand_computed.py.
DOZEN = pd.DataFrame({
    "period": ["2024-03"] * 12,
    "firm_id": [f"f{i:02d}" for i in range(1, 13)],
    "sector": ["manufacturing"] * 5 + ["construction"] * 3 + ["real_estate"] * 3 + ["wholesale_retail"],
    "weight": [2, 1, 1, 1, 1, 3, 1, 1, 1, 1, 2, 1],
    "sales": ["up", "up", "same", "down", None, "up", "same", "down", "down", "down", "same", "up"],
    "funding_cost": ["up", "same", "down", None, "up", "up", "same", "down", "up", "up", "same", "down"],
})


def run(df: pd.DataFrame, methodology=SMEI, frame=None, min_n: int = 0) -> pd.DataFrame:
    return compute(from_frame(df, methodology), frame, min_n=min_n).series


def value(series: pd.DataFrame, name: str, group: str = "all", period: str = "2024-03") -> float:
    row = series[(series["series"] == name) & (series["group"] == group) & (series["period"] == period)]
    assert len(row) == 1, f"expected one row for {name} {group} {period}, got {len(row)}"
    return float(row["value"].iloc[0])
