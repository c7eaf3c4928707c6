"""The narrative of a release, in English and Chinese, rendered from facts (`smepulse.release.facts`).

Two templates per fact, one per language; neither is a translation of the other's output. Every number in a
sentence is a published (one-decimal) number from the fact, so the words always agree with the tables.
Definitions and wording rules: docs/narrative.md.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from smepulse.errors import InputError
from smepulse.periods import to_index
from smepulse.release.facts import (
    Fact,
    build_facts,
    choose_adjustment,
    component_ids,
    composite_order,
    confidence_pct,
    is_provisional,
    neutral_of,
)

LANGS = ("en", "zh")
SINCE_FORM_FROM = 10  # from ten months on a record names the month ("lowest since September 2024")
NOTABLE_RECORD = 12   # a group paragraph is written for a headline record of a year or more
GROUP_RECORDS = 2     # at most this many component records in a group's paragraph

EN_NUM = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
EN_ORD = ["zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
          "eleventh", "twelfth"]
ZH_DIGITS = "零一二三四五六七八九"

# ---------------------------------------------------------------------------------------------- formatting

def fmt_en(x: float) -> str:
    """One decimal as published; English drops a trailing .0 in a change ("2 points")."""
    s = f"{abs(x) if x is not None else 0:.1f}"
    s = s[:-2] if s.endswith(".0") else s
    return ("-" if x is not None and x < 0 else "") + s


def level_en(x: float) -> str:
    """A level as the tables show it, one decimal always ("to 45.0", "at -22.0"); changes use fmt_en."""
    return f"{x:.1f}"


def fmt_zh(x: float) -> str:
    """One decimal as published, always shown (较上月上升2.0个点)."""
    return f"{x:.1f}"


def points_en(x: float) -> str:
    return f"{fmt_en(abs(x))} point" + ("" if abs(x) == 1 else "s")


def num_en(n: int) -> str:
    return EN_NUM[n] if 0 <= n < 10 else str(n)


def ordinal_en(n: int) -> str:
    if n < len(EN_ORD):
        return EN_ORD[n]
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def num_zh(n: int) -> str:
    """Chinese numerals for counts of months: 8 -> 八, 11 -> 十一, 24 -> 二十四."""
    if n < 10:
        return ZH_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else ZH_DIGITS[tens]) + "十" + (ZH_DIGITS[ones] if ones else "")
    return str(n)


def month_en(period: str, ref: str) -> str:
    t = to_index(period)
    name = pd.Timestamp(year=t // 12, month=t % 12 + 1, day=1).strftime("%B")
    return name if period[:4] == ref[:4] else f"{name} {period[:4]}"


def month_zh(period: str, ref: str) -> str:
    t = to_index(period)
    return f"{t % 12 + 1}月" if period[:4] == ref[:4] else f"{t // 12}年{t % 12 + 1}月"


def since_zh(period: str, ref: str) -> str:
    """The month of a '以来' phrase: '今年1月' within the release's year (a bare '1月以来' reads as any January)."""
    return ("今年" if period[:4] == ref[:4] else "") + month_zh(period, ref)


def quarter_en(q: str, ref: str) -> str:
    return q[4:] if q[:4] == ref[:4] else f"{q[4:]} {q[:4]}"


def quarter_zh(q: str, ref: str) -> str:
    name = f"第{ZH_DIGITS[int(q[-1])]}季度"
    return name if q[:4] == ref[:4] else f"{q[:4]}年{name}"


def approx_share(s: float) -> tuple[str, float]:
    """Round a share to a multiple of 5 with a qualifier when within 2 points: 94.1 -> ("nearly", 95)."""
    q = 5 * round(s / 5)
    if s == q:
        return "", q
    if 0 < q - s <= 2:
        return "nearly", q
    if 0 < s - q <= 2:
        return "over", q
    return "", s


def inline_en(label: str) -> str:
    """A label inside a sentence: 'Consumer confidence' -> 'consumer confidence'; acronyms and 'Headline SMEI'
    keep their capitals where they matter ('headline SMEI', 'PMI')."""
    first = label.split(" ")[0]
    if first.isupper() and len(first) > 1:
        return label
    return label[:1].lower() + label[1:]


def join_overlap(prefix: str, name: str) -> str:
    """Chinese group prefix and series name without the repeated part: 欧元区消费者 + 消费者信心指数."""
    for k in range(min(len(prefix), len(name)), 1, -1):
        if prefix.endswith(name[:k]):
            return prefix + name[k:]
    return prefix + name


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def join_en(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# ---------------------------------------------------------------------------------------------- names

class Names:
    """Series and group names in one language, from the methodology's bilingual texts and its release config.

    Chinese follows NBS / Caixin usage: the headline by its own name (中小企业信心指数), a sub-index (composite)
    is a 分类指数 (运营分类指数), the index of a question is a 指数 (新订单指数)."""

    def __init__(self, methodology, lang: str):
        self.m, self.lang = methodology, lang
        self.text = {q.id: q.text for q in methodology.questions}
        self.text.update({c.id: c.text for c in methodology.composites if c.text is not None})
        self.text.update(methodology.release.labels)
        self.composites = {c.id for c in methodology.composites}
        self.inverted = {q.id for q in methodology.questions if q.inverted}
        self.groups = methodology.release.groups

    def label(self, series: str) -> str:
        t = self.text.get(series)
        if t is None:
            return series.replace("_", " ")
        raw = getattr(t, self.lang) or t.en
        if self.lang == "en":
            return raw.split(" (")[0]
        return raw.split("（")[0]

    def series(self, series: str, group: str = "all", with_group: bool = True) -> str:
        """English: 'the performance sub-index of manufacturing SMEs' / 'the headline SMEI'. Chinese:
        '制造业中小企业运营分类指数'."""
        balance = self.m.formula == "balance"
        bare = not with_group or (group == "all" and group not in self.groups)
        if self.lang == "en":
            if series == self.m.headline:
                base = "the " + inline_en(self.label(series))
            elif series in self.composites:
                base = f"the {self.label(series).lower()} sub-index"
            else:
                base = f"the {self.label(series).lower()} {'balance' if balance else 'index'}"
            return base if bare else f"{base} {self.group_phrase(group)}"
        if series == self.m.headline:
            name = self.label(series)
        elif series in self.composites:
            name = f"{self.label(series)}分类指数"
        else:
            name = f"{self.label(series)}{'差额' if balance else '指数'}"
        if bare:
            return name
        prefix = self.group_zh(group)
        if series == self.m.headline and prefix.endswith("企业") and name.startswith("中小企业"):
            name = name[len("中小企业"):]  # 中型企业信心指数 (not 中型企业中小企业信心指数)
        return join_overlap(prefix, name)  # 制造业中小企业 + 中小企业信心指数 -> 制造业中小企业信心指数

    def subject(self, series: str, group: str) -> str:
        """At the start of a sentence."""
        if self.lang == "en" and series == self.m.headline and group == "all" and group not in self.groups \
                and self.label(series).startswith("Headline"):
            return self.label(series)  # "Headline SMEI"
        return cap(self.series(series, group))

    def _dim_value(self, group: str) -> tuple[str, str, str]:
        dim, _, value = group.partition("=")
        c = self.m.classifications.get(dim)
        dim_text = (getattr(c.text, self.lang) if c and c.text else dim.replace("_", " "))
        return dim, value, dim_text

    def group_phrase(self, group: str) -> str:
        if group in self.groups:
            return self.groups[group].en_phrase
        return f"of {self.group_noun(group)}"

    def group_noun(self, group: str) -> str:
        if group == "all" and group not in self.groups:
            return "SMEs" if self.m.kind == "survey" else "all respondents"
        if group in self.groups:
            return self.groups[group].en_noun
        dim, value, dim_text = self._dim_value(group)
        if dim not in self.m.classifications:  # a preset's group without a label in the release config
            return f"respondents ({dim_text}: {value.replace('_', ' ')})"
        return f"respondents with {dim_text.lower()} {value.replace('_', ' ')}"

    def group_zh(self, group: str) -> str:
        if group in self.groups:
            return self.groups[group].zh
        if group == "all":
            return "全部受访企业"
        dim, value, dim_text = self._dim_value(group)
        if dim not in self.m.classifications:
            return f"受访者（{dim_text}：{value}）"
        return f"{dim_text}为{value}的受访企业"

    def group_title(self, group: str) -> str:
        if self.lang == "en":
            if group == "all" and group not in self.groups:
                return "All SMEs" if self.m.kind == "survey" else "All respondents"
            return cap(self.group_noun(group))
        if group == "all" and group not in self.groups:
            return "全部中小企业" if self.m.kind == "survey" else "全部受访企业"
        return self.group_zh(group)

    def group_short(self, group: str) -> str:
        """A group's name without 'SMEs' (chart and table labels): 'manufacturing', '制造业'."""
        if self.lang == "zh":
            return self.group_title(group).removesuffix("中小企业").removesuffix("地区") or self.group_title(group)
        noun = self.group_title(group)
        for cut in (" SMEs", "SMEs in the ", "SMEs in "):
            noun = noun.replace(cut, "")
        return cap(noun)


def group_order(methodology, groups: list[str]) -> list[str]:
    """'all' first, then the contrasts' groups, then each classification's values in the release config's
    `group_order` (else the methodology's order: regions east, central, west, northeast), derived groups last."""
    rank = {}
    k = 0
    for a, b in methodology.release.contrasts:
        for g in (a, b):
            if g not in rank:
                rank[g], k = k, k + 1
    for dim, c in methodology.classifications.items():
        values = list(methodology.release.group_order.get(dim, ())) + list(c.values) + list(c.derived or {})
        for v in values:
            g = f"{dim}={v}"
            if g not in rank:
                rank[g], k = k, k + 1
    out = [g for g in groups if g == "all"]
    rest = [g for g in groups if g != "all"]
    return out + sorted(rest, key=lambda g: (rank.get(g, k + 1), rest.index(g)))


# ---------------------------------------------------------------------------------------------- clauses

EN_DETAILED = {"rose": "rose", "rebounded": "rebounded", "edged_up": "edged up", "eased": "eased", "fell": "fell",
               "retreated": "retreated", "slumped": "slumped", "rose_sharply": "rose sharply",
               "rebounded_sharply": "rebounded sharply"}
ZH_DETAILED = {"rose": "上升", "rebounded": "回升", "edged_up": "小幅上升", "eased": "小幅回落", "fell": "下降",
               "retreated": "回落", "slumped": "大幅下降", "rose_sharply": "大幅上升", "rebounded_sharply": "大幅回升"}
ZH_SUMMARY = {"rose": "升至", "rebounded": "回升至", "edged_up": "小幅升至", "eased": "小幅回落至", "fell": "降至",
              "retreated": "回落至", "slumped": "大幅降至", "rose_sharply": "大幅升至", "rebounded_sharply": "大幅回升至",
              "steady": "持平于", "little_changed": "基本持平于"}
# answer codes in Chinese when a share-only question has no sentence of its own in the release config
CODE_ZH = {"up": "上升", "same": "持平", "down": "下降", "better": "改善", "worse": "恶化", "higher": "较高",
           "lower": "较低", "more": "增加", "less": "减少", "stable": "稳定", "appreciate": "升值",
           "depreciate": "贬值", "yes": "是", "no": "否", "increase": "增加", "decrease": "减少"}
WITHIN_EN = "within the margin of sampling error"
WITHIN_ZH = "变动在抽样误差范围内"

# sides of the no-change level, by formula: diffusion indices around 50, balances around 0
SIDE_WORDS = {
    "diffusion": {"en": {"expansion": "in expansion territory (above 50)",
                         "contraction": "in contraction territory (below 50)",
                         "unchanged": "exactly at the 50 no-change mark"},
                  "zh": {"expansion": "位于扩张区间", "contraction": "位于收缩区间", "unchanged": "恰处50荣枯线"}},
    "balance": {"en": {"expansion": "a positive balance (above zero)", "contraction": "a negative balance (below zero)",
                       "unchanged": "a zero balance"},
                "zh": {"expansion": "差额为正", "contraction": "差额为负", "unchanged": "差额为零"}},
}


def verb_en(change: Fact, points: bool) -> str:
    v, mv = change.values["value"], change.values["move"]
    if mv == "steady":
        return f"held steady at {level_en(v)}"
    if mv == "little_changed":
        return f"was little changed at {level_en(v)}"
    pts = f" {points_en(change.values['change'])}" if points else ""
    return f"{EN_DETAILED[mv]}{pts} to {level_en(v)}"


def verb_zh(change: Fact, points: bool) -> str:
    v, mv = change.values["value"], change.values["move"]
    if not points:
        return f"{ZH_SUMMARY[mv]}{fmt_zh(v)}"
    if mv == "steady":
        return f"与上月持平，为{fmt_zh(v)}"
    if mv == "little_changed":
        return f"与上月基本持平，为{fmt_zh(v)}"
    return f"较上月{ZH_DETAILED[mv]}{fmt_zh(abs(change.values['change']))}个点至{fmt_zh(v)}"


class Clauses:
    """Crossings, records, streaks and sides of the no-change level (50 or 0) in one language."""

    def __init__(self, lang: str, ref: str, formula: str = "diffusion"):
        self.lang, self.ref, self.formula = lang, ref, formula
        self.level = "50" if formula == "diffusion" else ("zero" if lang == "en" else "0")

    def extras(self, facts: dict) -> list[str]:
        """At most two clauses, in this order of priority: a crossing of the no-change level, then the record
        (not repeated when the crossing already implies it); a streak only when neither applies; else the side."""
        out = []
        cr, st, ex, lv = (facts.get(k) for k in ("crossing", "streak", "extreme", "level"))
        if cr:
            out.append(self.crossing(cr))
        if ex and not (cr and (cr.values["months"] is None or ex.values["months"] <= cr.values["months"])):
            out.append(self.extreme(ex, alone=not out))
        if st and not out:
            out.append(self.streak(st))
        if not out and lv:
            out.append(SIDE_WORDS[self.formula][self.lang][lv.values["side"]])
        return out

    def extreme(self, f: Fact, alone: bool) -> str:
        n, hi, since, ref = f.values["months"], f.values["direction"] == "high", f.months["since"], self.ref
        if self.lang == "en":
            word = "high" if hi else "low"
            if since is None:
                return (f"the {'highest' if hi else 'lowest'} reading since the series began in "
                        f"{month_en(f.months['start'], '')}")
            if n < SINCE_FORM_FROM:
                article = "an" if num_en(n)[0] in "aeiou" else "a"
                return f"{article} {num_en(n)}-month {word}"
            return f"the {'highest' if hi else 'lowest'} reading since {month_en(since, ref)}"
        word = "高" if hi else "低"
        if since is None:
            return f"为有数据以来（{month_zh(f.months['start'], '')}起）最{word}"
        if n < SINCE_FORM_FROM:
            return f"创{num_zh(n)}个月新{word}"
        return f"为{since_zh(since, ref)}以来最{word}"

    def crossing(self, f: Fact) -> str:
        above, n, lvl = f.values["side"] == "expansion", f.values["months"], self.level
        if n == 2:  # only last month was on the other side: "back above 50" rather than "first in two months"
            if self.lang == "en":
                return f"back {'above' if above else 'below'} {lvl}"
            return f"重回{lvl}以上" if above else f"重新跌破{lvl}"
        if self.lang == "en":
            what = f"the first {'above' if above else 'below'}-{lvl} reading"
            if n is None:
                return f"{what} since the series began in {month_en(f.months['start'], '')}"
            return f"{what} in {num_en(n)} months"
        what = f"首次升至{lvl}以上" if above else f"首次跌破{lvl}"
        if n is None:
            return f"为有数据以来（{month_zh(f.months['start'], '')}起）{what}"
        return f"为{num_zh(n)}个月来{what}"

    def streak(self, f: Fact) -> str:
        above, k = f.values["side"] == "expansion", f.values["months"]
        if self.lang == "en":
            where = f"{'above' if above else 'below'} {self.level}"
            if f.values["from_start"]:
                return f"{where} in every month since the series began in {month_en(f.months['start'], '')}"
            return f"the {ordinal_en(k)} consecutive month {where}"
        if self.formula == "diffusion":
            where = "位于扩张区间" if above else "位于收缩区间"
        else:
            where = "差额为正" if above else "差额为负"
        if f.values["from_start"]:
            return f"自{month_zh(f.months['start'], '')}有数据以来持续{where}"
        return f"连续{num_zh(k)}个月{where}"


def _join_extras(parts: list[str], lang: str) -> str:
    if not parts:
        return ""
    if lang == "en":
        return ", " + " and ".join(parts)
    return "，" + "，".join(parts)


# ---------------------------------------------------------------------------------------------- sentences

@dataclass
class Paragraph:
    title: str
    sentences: list[str] = field(default_factory=list)
    group: str = "all"

    @property
    def text(self) -> str:
        return _join_sentences(self.sentences)


def _join_sentences(sentences: list[str]) -> str:
    out = ""
    for s in sentences:
        if out and s[:1].isascii() and out[-1:].isascii():
            out += " "
        out += s
    return out


@dataclass
class Narrative:
    period: str
    lang: str
    adjustment: str
    paragraphs: list[Paragraph]
    facts: list[Fact]

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.paragraphs)

    def sentences(self) -> list[str]:
        return [s for p in self.paragraphs for s in p.sentences]


class Renderer:
    def __init__(self, facts: list[Fact], methodology, lang: str, period: str, adjustment: str = "sa",
                 provisional: bool = False):
        if lang not in LANGS:
            raise InputError(f"language {lang!r} is not supported: use one of {', '.join(LANGS)}")
        self.lang, self.period, self.m, self.adjustment = lang, period, methodology, adjustment
        self.provisional = provisional
        self.names = Names(methodology, lang)
        self.cl = Clauses(lang, period, methodology.formula)
        self.conf = confidence_pct(methodology)
        self.thresholds = methodology.release.thresholds
        self.by = defaultdict(dict)
        self.other: list[Fact] = []
        for f in facts:
            if f.kind in ("level", "change", "extreme", "crossing", "streak", "quarter"):
                self.by[(f.series, f.group)][f.kind] = f
            else:
                self.other.append(f)
        self.composites = composite_order(methodology)
        self.questions = component_ids(methodology)
        self.neutral = neutral_of(methodology)

    def _unadjusted(self, series: str, group: str) -> bool:
        lv = self.by.get((series, group), {}).get("level")
        return self.adjustment == "sa" and lv is not None and lv.values.get("adjustment") == "nsa"

    def _nsa_mark(self, series: str, group: str) -> str:
        """Said once a paragraph: on the first unadjusted composite of the group (the composites come in order),
        covering the ones after it when they are unadjusted too, not four times over."""
        if not self._unadjusted(series, group):
            return ""
        if series in self.composites:
            before = self.composites[:self.composites.index(series)]
            if any(self._unadjusted(c, group) for c in before):
                return ""
            after = self.composites[self.composites.index(series) + 1:]
            if after and all(self._unadjusted(c, group) for c in after if (c, group) in self.by):
                return (" (not seasonally adjusted; neither are the sub-indexes that follow)" if self.lang == "en" else
                        "（未经季节调整，下列分类指数亦同）")
        return " (not seasonally adjusted)" if self.lang == "en" else "（未经季节调整）"

    # -- one series
    def movement(self, series: str, group: str, points: bool, month: bool, subject: bool = True,
                 error_clause: bool = True) -> str | None:
        """'The performance sub-index of manufacturing SMEs rebounded 2 points to 52.2 in December, an
        eight-month high' (no full stop). A change within the margin of sampling error says so."""
        fs = self.by.get((series, group))
        if not fs or "level" not in fs:
            return None
        en = self.lang == "en"
        who = (self.names.subject(series, group) if subject else self.names.series(series, group)) + \
            self._nsa_mark(series, group)
        ch = fs.get("change")
        if ch:
            body = (verb_en if en else verb_zh)(ch, points)
        else:  # no comparable previous month: the level only, never a change
            v = fs["level"].values["value"]
            body = f"stood at {level_en(v)}" if en else f"为{fmt_zh(v)}"
        parts = self.cl.extras(fs)
        if ch and error_clause and ch.values["within_error"] and ch.values["move"] not in ("steady", "little_changed"):
            parts = parts[:1] + [WITHIN_EN if en else WITHIN_ZH]
        tail = _join_extras(parts, self.lang)
        if en:
            return f"{who} {body}{' in ' + month_en(self.period, self.period) if month else ''}{tail}"
        when = f"{month_zh(self.period, self.period)}，" if month else ""
        return f"{when}{who}{body}{tail}"

    def quarter(self, series: str, group: str) -> str | None:
        f = self.by.get((series, group), {}).get("quarter")
        if not f:
            return None
        v, d, q, pq = f.values["value"], f.values["change"], f.values["quarter"], f.values["previous_quarter"]
        name = self.names.series(series, group, with_group=False)
        if self.lang == "en":
            qe, pqe = quarter_en(q, self.period), quarter_en(pq, self.period)
            if d == 0:
                return f"On average, {name} was unchanged from {pqe} at {level_en(v)} in {qe}."
            how = "increased" if d > 0 else "decreased"
            return f"On average, {name} {how} by {points_en(d)} from {pqe} to {level_en(v)} in {qe}."
        qz, pqz = quarter_zh(q, self.period), quarter_zh(pq, self.period)
        if d == 0:
            return f"{qz}，{name}均值为{fmt_zh(v)}，与{pqz}持平。"
        return f"{qz}，{name}均值为{fmt_zh(v)}，较{pqz}{'上升' if d > 0 else '下降'}{fmt_zh(abs(d))}个点。"

    def meaning(self, series: str, change: float) -> str:
        """What a move of an inverted question's index means ('fewer firms reported higher funding cost')."""
        if series not in self.names.inverted or change == 0:
            return ""
        lab = self.names.label(series)
        if self.lang == "en":
            return f"{'fewer' if change > 0 else 'more'} firms reported higher {lab.lower()}"
        return f"报告{lab}上升的企业{'减少' if change > 0 else '增多'}"

    def compact_record(self, series: str, group: str) -> str | None:
        """Components: 'The sales index for cross-border trading SMEs edged up to its highest reading since
        April.' (always the since-form)."""
        fs = self.by.get((series, group), {})
        ex, ch = fs.get("extreme"), fs.get("change")
        if not ex or not ch or ch.values["move"] in ("steady", "little_changed"):
            return None
        hi = ex.values["direction"] == "high"
        since, start = ex.months["since"], ex.months["start"]
        mv = ch.values["move"]
        mean = self.meaning(series, ch.values["change"])
        if self.lang == "en":
            what = f"{'highest' if hi else 'lowest'} reading since " + (
                month_en(since, self.period) if since else f"the series began in {month_en(start, '')}")
            return f"{self.names.subject(series, group)} {EN_DETAILED[mv]} to its {what}" + \
                (f" ({mean})" if mean else "") + "."
        what = (f"{since_zh(since, self.period)}以来" if since else f"有数据以来（{month_zh(start, '')}起）") + \
            f"最{'高' if hi else '低'}水平"
        return f"{self.names.subject(series, group)}{ZH_SUMMARY[mv]}{what}" + (f"，{mean}" if mean else "") + "。"

    def error_sentence(self, series: str, group: str) -> str | None:
        ch = self.by.get((series, group), {}).get("change")
        if not ch or ch.values.get("margin") is None or ch.values["change"] == 0:
            return None
        d, mg, within = ch.values["change"], ch.values["margin"], ch.values["within_error"]
        if self.lang == "en":
            move = f"{'rise' if d > 0 else 'fall'} of {points_en(d)}"
            where = "is within" if within else "exceeds"
            who = "The headline's" if series == self.m.headline else cap(self.names.series(series, group)) + "'s"
            return f"{who} {move} {where} the margin of sampling error of the change ({self.conf}% margin ±{fmt_en(mg)})."
        move = f"{'上升' if d > 0 else '下降'}{fmt_zh(abs(d))}个点"
        where = "在抽样误差范围内" if within else "超出抽样误差"
        return f"{self.names.series(series, group)}较上月{move}，{where}（{self.conf}%置信水平下误差幅度±{fmt_zh(mg)}个点）。"

    # -- paragraphs
    def overview(self) -> Paragraph:
        en = self.lang == "en"
        p = Paragraph("Overview" if en else "概览", group="all")
        head = self.m.headline
        ch = self.by.get((head, "all"), {}).get("change")
        sized = ch is not None and ch.values.get("margin") is None  # no margin sentence follows: say the size here
        lead = self.movement(head, "all", points=sized, month=True, error_clause=False,
                             subject=not self.provisional)
        if lead and self.provisional:  # a flash says so in its first sentence
            lead = ("According to the flash (provisional) estimate, " + lead) if en else "快报（初步数据）显示，" + lead
        if lead:
            notable, rest = [], []
            for s in self.composites:
                if s == head or (s, "all") not in self.by:
                    continue
                fs = self.by[(s, "all")]
                (notable if ("crossing" in fs or "extreme" in fs) else rest).append(s)
            clauses = [lead] + [self.movement(s, "all", points=False, month=False, subject=False) for s in notable]
            p.sentences.append(("; " if en else "；").join(c for c in clauses if c) + ("." if en else "。"))
            err = self.error_sentence(head, "all")
            if err:
                p.sentences.append(err)
            others = [self.movement(s, "all", points=True, month=False, subject=False) for s in rest]
            others = [o for o in others if o]
            if others:
                p.sentences.append(cap(join_en(others)) + "." if en else "；".join(others) + "。")
        for s in self.composites:
            q = self.quarter(s, "all")
            if q:
                p.sentences.append(q)
        return p

    def breadth(self, f: Fact) -> str:
        a, b, z, n = (f.values[k] for k in ("above", "below", "at", "total"))
        lvl = self.cl.level
        side = next((k for k, x in (("above", a), ("below", b), ("at", z)) if x == n), None)
        if side:  # 'All 3 components were below zero', not '0 of the 3 components were above zero and 3 below'
            if self.lang == "en":
                return f"All {n} components were {side} {lvl}."
            words = {"diffusion": {"above": "均位于扩张区间", "below": "均位于收缩区间", "at": "均恰处荣枯线"},
                     "balance": {"above": "均为正", "below": "均为负", "at": "均为零"}}
            noun = "指数" if self.m.formula == "diffusion" else "差额"
            return f"{n}项{noun}{words.get(self.m.formula, words['diffusion'])[side]}。"
        if self.lang == "en":
            parts = [f"{a} of the {n} components {'was' if a == 1 else 'were'} above {lvl}", f"{b} below"] + \
                ([f"{z} at {lvl}"] if z else [])
            return join_en(parts) + "."
        if self.m.formula == "diffusion":
            return f"{n}项指数中，{a}项位于扩张区间，{b}项位于收缩区间" + (f"，{z}项恰处荣枯线" if z else "") + "。"
        return f"{n}项差额中，{a}项为正，{b}项为负" + (f"，{z}项为零" if z else "") + "。"

    def components(self, group: str, limit: int = 3) -> list[str]:
        out = []
        br = next((f for f in self.other if f.kind == "breadth" and f.group == group), None)
        if br:
            out.append(self.breadth(br))
        mv = next((f for f in self.other if f.kind == "movers" and f.group == group), None)
        if mv and group == "all":
            out.append(self.movers(mv))
        ranked = sorted((q for q in self.questions if "extreme" in self.by.get((q, group), {})),
                        key=lambda q: -self.by[(q, group)]["extreme"].values["months"])
        base = len(out)
        for q in ranked:
            if self.by[(q, group)]["extreme"].values["months"] < 6 or len(out) - base >= limit:
                continue
            s = self.compact_record(q, group)
            if s:
                out.append(s)
        return out

    def movers(self, f: Fact) -> str:
        """The components that moved most. Every component index reads 'higher = better' (inverted questions
        are inverted in the index), so rises are improvements; an inverted question says what its move means."""
        en = self.lang == "en"
        lab = self.names.label

        def item(x):
            mean = self.meaning(x["series"], x["change"])
            if en:
                idx = "index " if mean else ""
                return (f"{lab(x['series']).lower()} ({idx}{'up' if x['change'] > 0 else 'down'} "
                        f"{points_en(x['change'])} to {level_en(x['value'])}" + (f": {mean}" if mean else "") + ")")
            return (f"{lab(x['series'])}{'指数' if mean else ''}（{'上升' if x['change'] > 0 else '下降'}"
                    f"{fmt_zh(abs(x['change']))}个点至{fmt_zh(x['value'])}" + (f"，{mean}" if mean else "") + "）")
        up, down = f.values["up"], f.values["down"]
        # a survey's indexes all read 'higher = better'; a preset's published inputs need not (unemployment
        # expectations, prices), so their moves are rises and falls, not gains and declines
        good, bad = ("gains", "declines") if self.m.kind == "survey" else ("rises", "falls")
        if en:
            parts = []
            if up:
                parts.append(f"the biggest {good} were in {join_en([item(x) for x in up])}")
            if down:
                parts.append(f"the biggest {bad} were in {join_en([item(x) for x in down])}")
            return "Among the components, " + "; ".join(parts) + "."
        parts = []
        if up:
            parts.append("和".join(item(x) for x in up) + "升幅最大")
        if down:
            parts.append("和".join(item(x) for x in down) + "降幅最大")
        return ("各项差额中，" if self.m.formula == "balance" else "各项指数中，") + "；".join(parts) + "。"

    def contrast(self, f: Fact) -> str:
        a, b = f.values["a"], f.values["b"]
        va, vb, gap = f.values["value_a"], f.values["value_b"], f.values["gap"]
        name = self.names
        if self.lang == "en":
            series = name.series(f.series, "all")
            if f.values["within_error"] or gap == 0:
                return (f"{cap(series)} was similar for {name.group_noun(a)} ({level_en(va)}) and "
                        f"{name.group_noun(b)} ({level_en(vb)}): the gap of {points_en(gap)} is within the margin of "
                        "sampling error.")
            hi, lo = (a, b) if gap > 0 else (b, a)
            vh, vl = max(va, vb), min(va, vb)
            return (f"{cap(series)} was higher for {name.group_noun(hi)} than for {name.group_noun(lo)}: "
                    f"{level_en(vh)} against {level_en(vl)}, a gap beyond the margin of sampling error.")
        s = name.series(f.series, a)
        if f.values["within_error"] or gap == 0:
            return (f"{s}（{fmt_zh(va)}）与{name.group_zh(b)}（{fmt_zh(vb)}）相差{fmt_zh(abs(gap))}个点，"
                    f"在抽样误差范围内。")
        return f"{s}（{fmt_zh(va)}）{'高于' if gap > 0 else '低于'}{name.group_zh(b)}（{fmt_zh(vb)}），差距超出抽样误差。"

    def widest(self, f: Fact) -> str:
        """The sub-index with the widest gap between the two groups (beyond sampling error)."""
        va, vb = f.values["value_a"], f.values["value_b"]
        if self.lang == "en":
            return (f"The widest gap was in {self.names.series(f.series, 'all')} ({level_en(va)} for "
                    f"{self.names.group_noun(f.values['a'])} against {level_en(vb)}).")
        return (f"分类指数中差距最大的是{self.names.series(f.series, 'all', with_group=False)}"
                f"（{self.names.group_zh(f.values['a'])}{fmt_zh(va)}，{self.names.group_zh(f.values['b'])}{fmt_zh(vb)}）。")

    def shares(self, f: Fact) -> str:
        """A share-only question: the release config's sentence for it, else the shares listed."""
        sh = {k: v for k, v in f.values["shares"].items() if v is not None}
        en = self.lang == "en"
        tpl = self.m.release.shares_sentences.get(f.series)
        if tpl is not None and set(sh) == set(f.values["shares"]):
            fields = {}
            for k, v in sh.items():
                qual, x = approx_share(v)
                # shares side by side keep their decimal: "6.4% ... and 4.0%", not "and 4%"
                fields[k], fields[f"{k}_zh"] = fmt_zh(v), fmt_zh(v)
                fields[f"{k}_approx"] = (f"{qual} " if qual else "") + fmt_en(x)
                fields[f"{k}_approx_zh"] = {"nearly": "近", "over": "超过", "": ""}[qual] + fmt_en(x)
            return cap(" ".join((tpl.en if en else tpl.zh).split()) .format(**fields)) if en else \
                tpl.zh.format(**fields)
        label = self.names.label(f.series)
        if en:
            return f"{label}: " + ", ".join(f"{fmt_en(v)}% {k.replace('_', ' ')}" for k, v in sh.items()) + "."
        return f"{label}：" + "，".join(f"{CODE_ZH.get(k, k)}{fmt_zh(v)}%" for k, v in sh.items()) + "。"

    def notable(self, group: str) -> bool:
        """A group gets its own paragraph when its headline or a sub-index moved beyond the margin of sampling
        error (or, without standard errors, by at least the `moderate` threshold), or its headline crossed the
        no-change level or set a record of a year or more (NOTABLE_RECORD)."""
        head = self.by.get((self.m.headline, group), {})
        if "crossing" in head or ("extreme" in head and head["extreme"].values["months"] >= NOTABLE_RECORD):
            return True
        for s in self.composites:
            ch = self.by.get((s, group), {}).get("change")
            if ch and ch.values["move"] not in ("steady", "little_changed"):
                if ch.values.get("margin") is None:
                    if abs(ch.values["change"]) >= self.thresholds.moderate:
                        return True
                elif not ch.values["within_error"]:
                    return True
        return False

    def group(self, group: str) -> Paragraph | None:
        """Short: each composite's move, the quarterly average of the first one only (the others are in the
        tables) and at most GROUP_RECORDS component records."""
        p = Paragraph(self.names.group_title(group), group=group)
        for s in self.composites:
            m = self.movement(s, group, points=True, month=not p.sentences)  # the month once per paragraph
            if m:
                first = not p.sentences
                p.sentences.append(m + ("." if self.lang == "en" else "。"))
                q = self.quarter(s, group) if first else None
                if q:
                    p.sentences.append(q)
        p.sentences += self.components(group, limit=GROUP_RECORDS)
        return p if p.sentences else None

    def render(self) -> list[Paragraph]:
        en = self.lang == "en"
        out = [self.overview()]
        comp = self.components("all")
        sh = [self.shares(f) for f in self.other if f.kind == "shares"]
        if comp or sh:
            out.append(Paragraph("Components" if en else ("各项差额" if self.m.formula == "balance" else "各项指数"),
                                 comp + sh))
        con = []
        for a, b in self.m.release.contrasts:
            fs = [f for f in self.other if f.kind == "contrast" and f.group == f"{a}|{b}"]
            head = [f for f in fs if f.series == self.m.headline]
            con += [self.contrast(f) for f in head or fs[:1]]
            sub = [f for f in fs if f.series != self.m.headline and not f.values["within_error"]
                   and f.values["gap"] != 0]
            if head and sub:
                con.append(self.widest(max(sub, key=lambda f: abs(f.values["gap"]))))
        if con:
            out.append(Paragraph("Sectors and groups" if en else "行业与企业类型", con))
        groups = list(dict.fromkeys(g for (_, g) in self.by if g != "all"))
        for g in group_order(self.m, groups):
            if self.m.release.notable_groups_only and not self.notable(g):
                continue
            p = self.group(g)
            if p:
                out.append(p)
        return [p for p in out if p.sentences]


def render(facts: list[Fact], methodology, lang: str, period: str, adjustment: str = "sa",
           provisional: bool = False) -> list[Paragraph]:
    return Renderer(facts, methodology, lang, period, adjustment, provisional).render()


def narrative(df: pd.DataFrame, period: str, methodology, lang: str = "en", adjustment: str | None = None,
              facts: list[Fact] | None = None, today: date | None = None) -> Narrative:
    """Facts and sentences of the release for `period` in `lang` ('en' or 'zh')."""
    if lang not in LANGS:
        raise InputError(f"language {lang!r} is not supported: use one of {', '.join(LANGS)}")
    if facts is None:
        facts = build_facts(df, period, methodology, adjustment=adjustment, today=today)
    adj = adjustment or choose_adjustment(df, period)
    prov = is_provisional(df, period, methodology)
    return Narrative(period, lang, adj, render(facts, methodology, lang, period, adj, prov), facts)
