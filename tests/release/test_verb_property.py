"""The verb property (docs/narrative.md): over generated releases, no sentence's verb disagrees with the sign and
the size of its number, in English or Chinese, and 'within the margin of sampling error' appears exactly when
the change is within z standard errors of the change. The numbers are read back from the text itself."""
from __future__ import annotations

import re
from datetime import date

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smepulse.methodology import load_methodology
from smepulse.periods import month_range
from smepulse.release.facts import grade, published, size_class, z_of
from smepulse.release.narrative import narrative

M = load_methodology("smei")
M = M.model_copy(update={"release": M.release.model_copy(update={"notable_groups_only": False})})
TH = M.release.thresholds
Z = z_of(M)
PERIOD = "2025-12"
TODAY = date(2026, 11, 26)
SERIES = [("headline", "all"), ("performance", "all"), ("credit", "all"), ("headline", "sector=manufacturing")]

EN_VERBS = {"held steady at": "steady", "was little changed at": "little_changed", "edged up": "edged_up",
            "eased": "eased", "rose sharply": "rose_sharply", "rebounded sharply": "rebounded_sharply",
            "rose": "rose", "rebounded": "rebounded", "fell": "fell", "retreated": "retreated", "slumped": "slumped"}
EN = re.compile(r"\b(held steady at|was little changed at|edged up|eased|rose sharply|rebounded sharply|rose|"
                r"rebounded|fell|retreated|slumped)(?: (\d+(?:\.\d)?) points?)?(?: to)? (-?\d+\.\d)\b")
ZH_VERBS = {"上升": "rose", "回升": "rebounded", "小幅上升": "edged_up", "小幅回落": "eased", "下降": "fell",
            "回落": "retreated", "大幅下降": "slumped", "大幅上升": "rose_sharply", "大幅回升": "rebounded_sharply",
            "升至": "rose", "回升至": "rebounded", "小幅升至": "edged_up", "小幅回落至": "eased", "降至": "fell",
            "回落至": "retreated", "大幅降至": "slumped", "大幅升至": "rose_sharply", "大幅回升至": "rebounded_sharply",
            "持平于": "steady", "基本持平于": "little_changed", "与上月持平，为": "steady",
            "与上月基本持平，为": "little_changed"}
ZH = re.compile(r"(与上月基本持平，为|与上月持平，为|"
                r"较上月(?:小幅上升|小幅回落|大幅上升|大幅回升|大幅下降|上升|回升|下降|回落)(?:\d+\.\d)个点至|"
                r"基本持平于|持平于|小幅升至|小幅回落至|大幅升至|大幅回升至|大幅降至|回升至|升至|回落至|降至)"
                r"(-?\d+\.\d)")

value = st.integers(300, 700).map(lambda k: k / 10)
step = st.integers(-60, 60).map(lambda k: k / 10)


@st.composite
def releases(draw):
    rows, truth = [], {}
    used = set()
    for series, group in SERIES:
        start = draw(value)
        steps = [draw(step) for _ in range(3)]
        values = [start]
        for d in steps:
            values.append(min(100.0, max(0.0, round(values[-1] + d, 1))))
        cur = published(values[-1])
        if cur in used:  # each series ends on its own value, so a number in the text names its series
            return draw(st.nothing())
        used.add(cur)
        se_change = draw(st.sampled_from([0.3, 0.8, 1.5, 3.0]))
        for p, v in zip(month_range("2025-09", 4), values, strict=True):
            rows.append({"period": p, "series": series, "group": group, "adjustment": "nsa", "value": v, "n": 100,
                         "se": se_change, "se_change": se_change})
        d = published(cur - published(values[-2]))
        truth[cur] = (d, abs(d) <= Z * se_change)
    return pd.DataFrame(rows), truth


def _check(move: str, points: str | None, d: float) -> None:
    sign, cls = grade(move)
    assert cls == size_class(d, TH), (move, d)
    if move not in ("steady", "little_changed"):
        assert sign == (1 if d > 0 else -1), (move, d)
    if points is not None:
        assert float(points) == abs(d), (move, points, d)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much,
                                                                   HealthCheck.too_slow])
@given(releases())
def test_no_verb_disagrees_with_its_number_in_either_language(case):
    df, truth = case
    seen = 0
    for lang in ("en", "zh"):
        nar = narrative(df, PERIOD, M, lang, today=TODAY)
        for sentence in nar.sentences():
            found = list((EN if lang == "en" else ZH).finditer(sentence))
            for k, m in enumerate(found):
                if lang == "en":
                    verb, points, to = m.group(1), m.group(2), float(m.group(3))
                    move = EN_VERBS[verb]
                else:
                    phrase, to = m.group(1), float(m.group(2))
                    pts = re.search(r"(\d+\.\d)个点至$", phrase)
                    points = pts.group(1) if pts else None
                    verb = re.sub(r"^较上月|\d+\.\d个点至$", "", phrase)
                    move = ZH_VERBS[verb if pts is None else verb]
                if to not in truth:
                    continue  # a quarterly average or a contrast, not a month's change
                d, within = truth[to]
                _check(move, points, d)
                seen += 1
                # this clause: up to the next verb (or the end of the sentence)
                tail = sentence[m.end():found[k + 1].start() if k + 1 < len(found) else len(sentence)]
                if "within the margin of sampling error" in tail or "变动在抽样误差范围内" in tail:
                    assert within, (sentence, d)
    assert seen >= 4  # every series' move was found and checked (both languages)
