"""Facts and sentences of the release narrative, from hand-built series (docs/narrative.md)."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from smepulse.errors import InputError
from smepulse.methodology import load_methodology
from smepulse.periods import month_range
from smepulse.release.facts import (
    build_facts,
    check_period,
    classify_move,
    crossing,
    n_month_extreme,
    published,
    streak,
)
from smepulse.release.narrative import approx_share, narrative, num_zh
from smepulse.release.sample import synthetic_series

M = load_methodology("smei")
# every group gets a paragraph (the default writes them for notable groups only: test_notable_groups_only)
M_ALL = M.model_copy(update={"release": M.release.model_copy(update={"notable_groups_only": False})})
TODAY = date(2026, 11, 26)


def frame(spec: dict, se_change: float = 0.5, se: float = 0.4) -> pd.DataFrame:
    """spec: {(series, group): (first_month, [values...])} -> tidy monthly rows (NSA only)."""
    rows = []
    for (series, group), (start, values) in spec.items():
        for p, v in zip(month_range(start, len(values)), values, strict=False):
            rows.append({"period": p, "series": series, "group": group, "adjustment": "nsa", "value": v,
                         "n": 100, "se": se, "se_change": se_change})
    return pd.DataFrame(rows)


def ser(start: str, values: list) -> pd.Series:
    return pd.Series(values, index=month_range(start, len(values)))


# The series of the issue: 50.2 in November, 52.2 in December, last higher value in April (52.4);
# Q3 = (50.4 + 50.9 + 50.8) / 3 = 50.7, Q4 = (51.5 + 50.2 + 52.2) / 3 = 51.3.
MANUF = [51.0, 51.5, 52.0, 52.4, 51.8, 51.0, 50.4, 50.9, 50.8, 51.5, 50.2, 52.2]


def facts_of(fs, kind, series=None, group=None):
    return [f for f in fs if f.kind == kind and (series is None or f.series == series)
            and (group is None or f.group == group)]


# ------------------------------------------------------------------------------------------- definitions

def test_eight_month_high_definition():
    s = ser("2025-01", MANUF)
    e = n_month_extreme(s, "2025-12")
    assert e == {"direction": "high", "months": 8, "since": "2025-04", "start": "2025-01"}
    # equal to April is "at least as high": then April is still the month it is measured from
    s2 = s.copy()
    s2["2025-04"] = 52.2
    assert n_month_extreme(s2, "2025-12")["since"] == "2025-04"
    # a value above every earlier one: measured from the start of the data, `since` None
    s3 = s.copy()
    s3["2025-12"] = 53.0
    assert n_month_extreme(s3, "2025-12") == {"direction": "high", "months": 12, "since": None, "start": "2025-01"}


def test_extremes_are_decided_on_rounded_values():
    # 52.24 rounds to 52.2 and April's 52.16 to 52.2: April counts as "at least as high" although it is lower
    s = ser("2025-01", MANUF[:3] + [52.16] + MANUF[4:11] + [52.24])
    assert n_month_extreme(s, "2025-12")["since"] == "2025-04"
    # not a high at all when the rounded value equals last month's
    s = ser("2025-01", MANUF[:10] + [52.16, 52.24])
    assert n_month_extreme(s, "2025-12") is None
    assert published(52.25) == 52.3 and published(-0.05) == -0.1 and published(None) is None


def test_low_and_too_short_series():
    s = ser("2025-01", [49.0, 51.0, 50.5, 50.2])
    assert n_month_extreme(s, "2025-04") == {"direction": "low", "months": 3, "since": "2025-01", "start": "2025-01"}
    with pytest.raises(InputError, match="at least two months"):
        n_month_extreme(ser("2025-04", [50.2]), "2025-04")
    with pytest.raises(InputError, match="no published value"):
        n_month_extreme(s, "2025-06")


def test_crossing_and_streak():
    s = ser("2025-02", [49.5, 50.5, 51.0, 51.2, 51.0, 50.9, 49.7])
    assert crossing(s, "2025-08") == {"side": "contraction", "months": 6, "since": "2025-02", "start": "2025-02"}
    assert crossing(s, "2025-07") is None  # still above 50
    assert streak(s, "2025-07") == {"side": "expansion", "months": 5, "from_start": False, "start": "2025-02"}
    # 50.0 is neither side: the next reading above 50 is a crossing, and a streak does not run through it
    s = ser("2025-01", [51.0, 50.0, 50.4])
    assert crossing(s, "2025-03")["months"] == 2 and streak(s, "2025-03")["months"] == 1


@pytest.mark.parametrize("change,se_change,prev,move,within", [
    (2.0, 0.5, -1.3, "rebounded", False),
    (2.0, 0.5, 0.4, "rose", False),
    (2.0, None, None, "rose", False),
    (0.5, 0.8, 0.1, "edged_up", True),      # within 1.96 * 0.8: cautious
    (1.4, 0.8, 0.1, "rose", True),         # the size decides the verb; the margin is said separately
    (7.7, 5.0, 0.1, "rose_sharply", True),  # issue 9: not "edged up 7.7 points"
    (-10.2, 6.0, 0.1, "slumped", True),     # issue 9: not "eased" after "down 10.2 points"
    (-4.8, 1.0, 0.1, "slumped", False),     # the same 4.8-point fall is worded the same in every group
    (-4.8, 3.0, 0.1, "slumped", True),
    (0.3, 0.8, 0.1, "little_changed", True),
    (0.0, 0.8, 0.1, "steady", True),
    (-0.6, 0.2, 0.1, "eased", False),      # small although beyond error
    (-1.2, 0.4, 0.6, "retreated", False),
    (-1.2, 0.4, -0.1, "fell", False),
    (-3.4, 0.4, -0.1, "slumped", False),
    (3.1, 0.4, -0.5, "rebounded_sharply", False),
])
def test_verbs_by_size_direction_and_sampling_error(change, se_change, prev, move, within):
    assert classify_move(change, se_change, prev) == {"move": move, "within_error": within}


# ------------------------------------------------------------------------------------------- golden sentences

def test_rebound_to_eight_month_high_and_quarter():
    df = frame({("performance", "sector=manufacturing"): ("2025-01", MANUF)})
    fs = build_facts(df, "2025-12", M, today=TODAY)
    ch = facts_of(fs, "change", "performance", "sector=manufacturing")[0]
    assert ch.values["value"] == 52.2 and ch.values["previous"] == 50.2 and ch.values["change"] == 2.0
    assert ch.values["move"] == "rebounded"
    ex = facts_of(fs, "extreme")[0]
    assert ex.values["months"] == 8 and ex.months["since"] == "2025-04"
    q = facts_of(fs, "quarter")[0]
    assert q.values == {"quarter": "2025Q4", "value": 51.3, "previous_quarter": "2025Q3", "previous": 50.7,
                        "change": 0.6}
    en = narrative(df, "2025-12", M, "en", facts=fs).sentences()
    assert ("The performance sub-index of manufacturing SMEs rebounded 2 points to 52.2 in December, reaching an "
            "eight-month high.") not in en
    assert "The performance sub-index of manufacturing SMEs rebounded 2 points to 52.2 in December, an eight-month " \
           "high." in en
    assert "On average, the performance sub-index increased by 0.6 points from Q3 to 51.3 in Q4." in en
    zh = narrative(df, "2025-12", M, "zh", facts=fs).sentences()
    assert "12月，制造业中小企业运营分类指数较上月回升2.0个点至52.2，创八个月新高。" in zh
    assert "第四季度，运营分类指数均值为51.3，较第三季度上升0.6个点。" in zh


def test_rise_in_chinese_and_streak():
    vals = [49.0, 50.6, 51.0, 52.2]  # rose (the month before also rose), third consecutive month above 50
    df = frame({("performance", "sector=manufacturing"): ("2025-09", vals)})
    fs = build_facts(df, "2025-12", M, today=TODAY)
    st = facts_of(fs, "streak")[0]
    assert st.values["months"] == 3 and st.values["side"] == "expansion"
    zh = narrative(df, "2025-12", M, "zh", facts=fs).text
    assert "较上月上升1.2个点至52.2" in zh
    # the record (since the series began) takes precedence over the streak in the sentence
    assert "有数据以来" in zh
    vals = [52.5, 49.0, 51.6, 51.0, 51.4]
    df = frame({("performance", "sector=manufacturing"): ("2025-08", vals)})
    zh = narrative(df, "2025-12", M_ALL, "zh", today=TODAY).text
    en = narrative(df, "2025-12", M_ALL, "en", today=TODAY).text
    assert "连续三个月位于扩张区间" in zh and "the third consecutive month above 50" in en
    assert "创" not in zh  # 51.4 is below October's 51.6: a two-month high at most, not reported


def test_cross_border_sales_edge_up_to_highest_since_april():
    sales = [51.5, 52.0, 52.3, 53.0, 52.1, 51.8, 51.2, 51.9, 52.0, 51.4, 52.1, 52.6]
    df = frame({("sales", "exporter=yes"): ("2025-01", sales)}, se_change=0.8)
    fs = build_facts(df, "2025-12", M, today=TODAY)
    ch = facts_of(fs, "change", "sales")[0]
    assert ch.values["move"] == "edged_up" and ch.values["within_error"]  # 0.5 <= 1.96 * 0.8
    en = narrative(df, "2025-12", M_ALL, "en", facts=fs).sentences()
    assert "The sales index for cross-border trading SMEs edged up to its highest reading since April." in en
    zh = narrative(df, "2025-12", M_ALL, "zh", facts=fs).sentences()
    assert "跨境贸易中小企业销售指数小幅升至今年4月以来最高水平。" in zh


def test_headline_retreat_to_lowest_since_last_year_and_first_below_50():
    head = [49.8, 50.3, 50.6, 50.9, 51.0, 50.8, 50.5, 50.7, 50.4, 50.6, 51.2, 50.0]     # Sep 2024 .. Aug 2025
    perf = [50.2, 51.0, 50.8, 50.4, 50.1, 49.5, 50.5, 51.0, 51.2, 51.0, 50.9, 49.7]
    df = frame({("headline", "all"): ("2024-09", head), ("performance", "all"): ("2024-09", perf)}, se_change=0.4)
    fs = build_facts(df, "2025-08", M, today=TODAY)
    ex = facts_of(fs, "extreme", "headline")[0]
    assert ex.values["direction"] == "low" and ex.values["months"] == 11 and ex.months["since"] == "2024-09"
    cr = facts_of(fs, "crossing", "performance")[0]
    assert cr.values == {"value": 49.7, "side": "contraction", "months": 6} and cr.months["since"] == "2025-02"
    en = narrative(df, "2025-08", M, "en", facts=fs).sentences()
    assert en[0] == ("Headline SMEI retreated to 50.0 in August, the lowest reading since September 2024; the "
                     "performance sub-index fell to 49.7, the first below-50 reading in six months.")
    assert en[1] == ("The headline's fall of 1.2 points exceeds the margin of sampling error of the change "
                     "(95% margin ±0.8).")
    zh = narrative(df, "2025-08", M, "zh", facts=fs).sentences()
    assert zh[0] == "8月，中小企业信心指数回落至50.0，为2024年9月以来最低；运营分类指数降至49.7，为六个月来首次跌破50。"


def test_within_error_is_cautious_in_both_languages():
    df = frame({("headline", "all"): ("2025-01", [50.0, 51.0, 51.2, 51.5])}, se_change=0.6)
    en = narrative(df, "2025-04", M, "en", today=TODAY).sentences()
    assert en[0].startswith("Headline SMEI was little changed at 51.5 in April")
    assert "is within the margin of sampling error" in en[1]
    zh = narrative(df, "2025-04", M, "zh", today=TODAY).sentences()
    assert zh[0].startswith("4月，中小企业信心指数基本持平于51.5")


def test_movers_contrasts_and_shares():
    df = frame({
        ("headline", "sector=manufacturing"): ("2025-11", [51.0, 52.4]),
        ("headline", "sector=non_manufacturing"): ("2025-11", [50.0, 49.1]),
        ("headline", "exporter=yes"): ("2025-11", [50.0, 50.3]),
        ("headline", "exporter=no"): ("2025-11", [50.0, 50.1]),
        ("new_orders", "all"): ("2025-11", [50.0, 52.3]),
        ("profit", "all"): ("2025-11", [50.0, 51.1]),
        ("funding_cost", "all"): ("2025-11", [50.0, 48.2]),
        ("sales", "all"): ("2025-11", [50.0, 50.0]),
    })
    fx = pd.DataFrame([{"period": p, "series": "fx_expectation", "group": "all", "adjustment": "nsa",
                        "value": None, "up": 3.4, "same": 94.1, "down": 2.5, "n": 400}
                       for p in ("2025-11", "2025-12")])
    df = pd.concat([df, fx], ignore_index=True)
    fs = build_facts(df, "2025-12", M, today=TODAY)
    mv = facts_of(fs, "movers", group="all")[0]
    assert [x["series"] for x in mv.values["up"]] == ["new_orders", "profit"]
    assert [x["series"] for x in mv.values["down"]] == ["funding_cost"]
    con = {f.group: f for f in facts_of(fs, "contrast")}
    m = con["sector=manufacturing|sector=non_manufacturing"]
    assert m.values["gap"] == 3.3 and not m.values["within_error"]  # margin 1.96 * sqrt(2) * 0.4 = 1.1
    assert con["exporter=yes|exporter=no"].values["within_error"]
    br = facts_of(fs, "breadth")[0]
    assert br.values == {"above": 2, "below": 1, "at": 1, "total": 4}  # 52.3, 51.1 / 48.2 (funding) / 50.0
    en = narrative(df, "2025-12", M, "en", facts=fs).text
    assert "2 of the 4 components were above 50, 1 below and 1 at 50." in en
    assert ("the biggest gains were in new orders (up 2.3 points to 52.3) and profit (up 1.1 points to 51.1); "
            "the biggest declines were in funding cost (index down 1.8 points to 48.2: more firms reported higher "
            "funding cost)") in en
    assert "The headline SMEI was higher for manufacturing SMEs than for non-manufacturing SMEs: 52.4 against " \
           "49.1, a gap beyond the margin of sampling error." in en
    assert "the gap of 0.2 points is within the margin of sampling error" in en
    assert "Nearly 95% of SMEs expect a stable USD/CNY over the next three months" in en
    zh = narrative(df, "2025-12", M, "zh", facts=fs).text
    assert "近95%的中小企业预期未来三个月美元兑人民币汇率保持稳定" in zh
    assert "制造业中小企业信心指数（52.4）高于非制造业中小企业（49.1）" in zh
    # only the headline is compared when the sub-indexes are absent; with them, the widest significant gap
    df2 = pd.concat([df, frame({("credit", "sector=manufacturing"): ("2025-11", [50.0, 55.0]),
                                ("credit", "sector=non_manufacturing"): ("2025-11", [50.0, 47.5]),
                                ("expectation", "sector=manufacturing"): ("2025-11", [50.0, 51.0]),
                                ("expectation", "sector=non_manufacturing"): ("2025-11", [50.0, 50.5])})])
    fs2 = build_facts(df2, "2025-12", M, today=TODAY)
    assert {f.series for f in facts_of(fs2, "contrast")} == {"headline", "credit", "expectation"}
    en2 = narrative(df2, "2025-12", M, "en", facts=fs2).text
    assert "The widest gap was in the credit sub-index (55.0 for manufacturing SMEs against 47.5)." in en2
    zh2 = narrative(df2, "2025-12", M, "zh", facts=fs2).text
    assert "分类指数中差距最大的是信贷分类指数（制造业中小企业55.0，非制造业中小企业47.5）。" in zh2
    assert "新订单（上升2.3个点至52.3）" in zh
    assert "4项指数中，2项位于扩张区间，1项位于收缩区间，1项恰处荣枯线。" in zh


def test_helpers():
    assert approx_share(94.1) == ("nearly", 95) and approx_share(81.2) == ("over", 80)
    assert approx_share(50.0) == ("", 50) and approx_share(62.5) == ("", 62.5)
    assert [num_zh(n) for n in (3, 8, 10, 11, 20, 24)] == ["三", "八", "十", "十一", "二十", "二十四"]


# ------------------------------------------------------------------------------------------- bad input

def test_bad_input_messages():
    df = frame({("headline", "all"): ("2025-01", [50.0, 51.0, 51.2])})
    with pytest.raises(InputError, match="later than the latest month in the data \\(2025-03\\)"):
        check_period(df, "2025-05", TODAY)
    with pytest.raises(InputError, match="not closed yet"):
        check_period(df, "2026-11", TODAY)
    with pytest.raises(InputError, match="no data for 2024-12"):
        check_period(df, "2024-12", TODAY)
    with pytest.raises(InputError, match="must be a month"):
        check_period(df, "2025-3", TODAY)
    with pytest.raises(InputError, match="not supported"):
        narrative(df, "2025-03", M, "fr", today=TODAY)


def test_never_claims_what_the_numbers_do_not_show():
    # one month only: a level, no change, no record, no streak
    df = frame({("headline", "all"): ("2025-03", [51.2])})
    fs = build_facts(df, "2025-03", M, today=TODAY)
    assert {f.kind for f in fs} == {"level"}
    en = narrative(df, "2025-03", M, "en", facts=fs).text
    assert en.startswith("Headline SMEI stood at 51.2 in March, in expansion territory (above 50)")
    for word in ("high", "low", "rose", "fell", "consecutive", "first"):
        assert word not in en
    # a gap before the month (suppressed) gives no change either
    df = frame({("headline", "all"): ("2025-01", [50.0, None, 51.2])})
    fs = build_facts(df, "2025-03", M, today=TODAY)
    assert not facts_of(fs, "change")


def test_back_above_50_after_one_month_below():
    df = frame({("headline", "all"): ("2025-01", [51.0, 52.0, 49.5, 51.2])}, se_change=0.3)
    fs = build_facts(df, "2025-04", M, today=TODAY)
    assert facts_of(fs, "crossing")[0].values["months"] == 2
    assert narrative(df, "2025-04", M, "en", facts=fs).sentences()[0] == \
        "Headline SMEI rebounded to 51.2 in April, back above 50."
    assert narrative(df, "2025-04", M, "zh", facts=fs).sentences()[0] == "4月，中小企业信心指数回升至51.2，重回50以上。"


def test_notable_groups_only():
    # By hand: manufacturing's headline falls 2.0 points with se_change 0.5 (beyond 1.96 x 0.5 = 0.98): notable.
    # Construction moves 0.2 with no record (the same value four months back) and no crossing: no paragraph.
    # Real estate moves 0.2 too but sets a 12-month high (above each of the eleven months before): notable.
    df = frame({("headline", "sector=manufacturing"): ("2025-01", [52.0] * 10 + [53.0, 51.0]),
                ("headline", "sector=construction"): ("2025-01", [51.0] * 8 + [51.2, 51.0, 51.0, 51.2]),
                ("headline", "sector=real_estate"): ("2025-01", [50.0 + k / 100 for k in range(11)] + [50.3])})
    en = narrative(df, "2025-12", M, "en", today=TODAY)
    titles = [p.title for p in en.paragraphs]
    assert "Manufacturing SMEs" in titles and "Real estate SMEs" in titles and "Construction SMEs" not in titles
    assert "The headline SMEI of real estate SMEs was little changed at 50.3 in December, the highest reading " \
           "since the series began in January 2025." in en.sentences()
    zh = [p.title for p in narrative(df, "2025-12", M, "zh", today=TODAY).paragraphs]
    assert "制造业中小企业" in zh and "房地产业中小企业" in zh and "建筑业中小企业" not in zh


def test_an_unadjusted_group_is_said_so_once_a_paragraph():
    # a sector too short for X-13: no SA rows; its paragraph says "not seasonally adjusted" once, on the
    # headline, covering the sub-indexes after it (the group table marks every value with †)
    df = synthetic_series(M, end="2026-10", months=14, groups=["all", "sector=construction"])
    df = df[~((df["group"] == "sector=construction") & (df["adjustment"] == "sa"))]
    for lang, mark, once in (("en", "not seasonally adjusted", "(not seasonally adjusted; neither are the "
                                                                "sub-indexes that follow)"),
                             ("zh", "未经季节调整", "（未经季节调整，下列分类指数亦同）")):
        paras = narrative(df, "2026-10", M_ALL, lang).paragraphs
        p = next(p for p in paras if p.title in ("Construction SMEs", "建筑业中小企业"))
        assert p.text.count(mark) == 1 and once in p.sentences[0], p.text
        assert all(mark not in x.text for x in paras if x is not p)  # the SA groups are not marked
