"""A dozen responses worked out on paper (see helpers.DOZEN): weighted and unweighted, an inverted question,
blank answers, a derived group, post-stratification and a balance methodology."""
from pathlib import Path

import pandas as pd
import pytest
from helpers import DOZEN, run, value

from smepulse.methodology import load_methodology


def test_unweighted_diffusion_with_blank_and_inverted_question():
    s = run(DOZEN.drop(columns="weight"))
    # sales: 11 answered (f05 blank): 4 up, 3 same, 4 down -> 36.36 + 0.5 * 27.27 = 50.0
    assert value(s, "sales") == pytest.approx(50.0)
    row = s[(s.series == "sales") & (s.group == "all") & (s.period == "2024-03")].iloc[0]
    assert row["n"] == 11
    assert (row["up"], row["same"], row["down"]) == pytest.approx((400 / 11, 300 / 11, 400 / 11))
    # funding_cost is inverted: 5 up, 3 same, 3 down of 11 -> %down + 0.5 %same = 27.27 + 13.64
    assert value(s, "funding_cost") == pytest.approx(450 / 11)
    # manufacturing sales: 2 up, 1 same, 1 down of 4 -> 62.5; non-manufacturing: 2/2/3 of 7 -> 300/7
    assert value(s, "sales", "sector=manufacturing") == pytest.approx(62.5)
    assert value(s, "sales", "sector=non_manufacturing") == pytest.approx(300 / 7)
    # sub-indexes re-weight over the questions present; the headline over the sub-indexes present
    assert value(s, "performance") == pytest.approx(50.0)
    assert value(s, "credit") == pytest.approx(450 / 11)
    assert value(s, "headline") == pytest.approx((50.0 + 450 / 11) / 2)
    assert s[(s.series == "headline") & (s.group == "all")]["n"].iloc[0] == 12


def test_design_weighted_diffusion():
    s = run(DOZEN)
    # sales weights: up 2+1+3+1 = 7, same 1+1+2 = 4, down 4 x 1 = 4, of 15 -> 46.67 + 13.33 = 60
    assert value(s, "sales") == pytest.approx(60.0)
    # funding cost: up 8, same 4, down 3, of 15 -> inverted 20 + 13.33
    assert value(s, "funding_cost") == pytest.approx(100 / 3)
    # n counts answers, not weight
    assert s[(s.series == "sales") & (s.group == "all")]["n"].iloc[0] == 11


def test_post_stratified_to_sector_targets():
    frame = pd.DataFrame({"dimension": "sector",
                          "value": ["manufacturing", "construction", "real_estate", "wholesale_retail"],
                          "share": [0.5, 0.2, 0.2, 0.1], "effective": "2020-01"})
    s = run(DOZEN.drop(columns="weight"), frame=frame)
    # weights: manufacturing 0.5*12/5 = 1.2, construction and real estate 0.8, wholesale 1.2
    # sales: up 2.4+0.8+1.2 = 4.4, same 1.2+0.8+0.8 = 2.8, down 1.2+0.8+0.8+0.8 = 3.6 of 10.8
    assert value(s, "sales") == pytest.approx((4.4 + 1.4) / 10.8 * 100)
    row = s[(s.series == "sales") & (s.group == "all")].iloc[0]
    assert row["n_eff"] == pytest.approx(10.8 ** 2 / (4 * 1.44 + 6 * 0.64 + 1.44))
    # within a sector, post-stratification changes nothing
    assert value(s, "sales", "sector=manufacturing") == pytest.approx(62.5)


def test_balance_methodology_from_user_yaml(tmp_path):
    text = Path(load_methodology("smei").source_file).read_text(encoding="utf-8")
    path = tmp_path / "smei-balance.yaml"
    path.write_text(text.replace("formula: diffusion", "formula: balance").replace("name: smei", "name: b"))
    s = run(DOZEN.drop(columns="weight"), methodology=load_methodology(path))
    assert value(s, "sales") == pytest.approx(0.0)  # 4 up - 4 down
    assert value(s, "funding_cost") == pytest.approx(-200 / 11)  # inverted: (3 down - 5 up) / 11


def test_below_publication_minimum_is_suppressed_not_published():
    s = run(DOZEN, min_n=5)
    wholesale = s[(s.group == "sector=wholesale_retail") & (s.series == "sales")].iloc[0]
    assert wholesale["flag"] == "suppressed" and pd.isna(wholesale["value"])
    assert value(s, "sales") == pytest.approx(60.0)


def test_quarterly_average_needs_three_months():
    months = []
    for k, p in enumerate(["2024-01", "2024-02", "2024-03", "2024-04"]):
        d = DOZEN.drop(columns="weight").assign(period=p)
        d.loc[d.index[:k], "sales"] = "up"  # sales rises month by month
        months.append(d)
    s = run(pd.concat(months))
    jan, feb, mar = (value(s, "sales", period=p) for p in ("2024-01", "2024-02", "2024-03"))
    assert value(s, "sales", period="2024Q1") == pytest.approx((jan + feb + mar) / 3)
    assert s[(s.period == "2024Q2")].empty  # only April: incomplete quarter
    q1 = s[(s.series == "sales") & (s.group == "all") & (s.period == "2024Q1")].iloc[0]
    assert q1["n"] == 11  # the same 11 respondents each month: the panel counted once, not 33
