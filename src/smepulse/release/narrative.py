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
from smepulse.release.facts import COMPOSITE_ORDER, CONTRASTS, Fact, build_facts, choose_adjustment

LANGS = ("en", "zh")
SINCE_FORM_FROM = 10  # from ten months on a record names the month ("lowest since September 2024")

EN_NUM = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
EN_ORD = ["zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
          "eleventh", "twelfth"]
ZH_DIGITS = "零一二三四五六七八九"

# group phrases: English "of/for ... SMEs" after a series name, a plural noun for contrasts; Chinese prefix
EN_GROUP = {
    "sector=manufacturing": ("of manufacturing SMEs", "manufacturing SMEs"),
    "sector=non_manufacturing": ("of non-manufacturing SMEs", "non-manufacturing SMEs"),
    "exporter=yes": ("for cross-border trading SMEs", "cross-border trading SMEs"),
    "exporter=no": ("for domestic SMEs", "domestic SMEs"),
    "size=micro": ("of micro enterprises", "micro enterprises"),
    "size=small": ("of small enterprises", "small enterprises"),
    "size=medium": ("of medium-sized enterprises", "medium-sized enterprises"),
}
SECTOR_EN = {"non_manufacturing": "non-manufacturing", "wholesale_retail": "wholesale and retail",
             "transport_logistics": "transport and logistics", "accommodation_catering": "accommodation and catering",
             "it_finance": "IT and finance", "real_estate": "real estate", "other_services": "other services"}
ZH_GROUP = {
    "all": "中小企业", "sector=manufacturing": "制造业中小企业", "sector=non_manufacturing": "非制造业中小企业",
    "sector=construction": "建筑业中小企业", "sector=real_estate": "房地产业中小企业",
    "sector=wholesale_retail": "批发零售业中小企业", "sector=transport_logistics": "交通物流业中小企业",
    "sector=accommodation_catering": "住宿餐饮业中小企业", "sector=it_finance": "信息技术与金融业中小企业",
    "sector=other_services": "其他服务业中小企业", "region=east": "东部地区中小企业",
    "region=central": "中部地区中小企业", "region=west": "西部地区中小企业", "region=northeast": "东北地区中小企业",
    "size=micro": "微型企业", "size=small": "小型企业", "size=medium": "中型企业",
    "exporter=yes": "跨境贸易中小企业", "exporter=no": "非跨境贸易中小企业",
}


# ---------------------------------------------------------------------------------------------- formatting

def fmt_en(x: float) -> str:
    """One decimal as published; English drops a trailing .0 ("2 points", "to 50")."""
    s = f"{abs(x) if x is not None else 0:.1f}"
    s = s[:-2] if s.endswith(".0") else s
    return ("-" if x is not None and x < 0 else "") + s


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


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def join_en(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# ---------------------------------------------------------------------------------------------- names

class Names:
    """Series and group names in one language, from the methodology's bilingual texts."""

    def __init__(self, methodology, lang: str):
        self.m, self.lang = methodology, lang
        self.text = {q.id: q.text for q in methodology.questions}
        self.text.update({c.id: c.text for c in methodology.composites})
        self.composites = {c.id for c in methodology.composites}

    def label(self, series: str) -> str:
        t = self.text.get(series)
        if t is None:
            return series.replace("_", " ")
        raw = getattr(t, self.lang) or t.en
        if self.lang == "en":
            return raw.split(" (")[0]
        return raw.split("（")[0]

    def series(self, series: str, group: str = "all", with_group: bool = True) -> str:
        """English: 'the performance sub-index of manufacturing SMEs' / 'Headline SMEI'. Chinese: '制造业中小企业运营指数'."""
        if self.lang == "en":
            if series == self.m.headline:
                base = "the " + self.label(series).replace("Headline", "headline")
            else:
                base = f"the {self.label(series).lower()} sub-index"
            if not with_group or group == "all":
                return base
            return f"{base} {self.group_phrase(group)}"
        if series == self.m.headline:
            name = "信心指数"
        elif series in self.composites:
            name = f"{self.label(series)}指数"
        else:
            name = f"{self.label(series)}分项指数"
        if not with_group or (group == "all" and series != self.m.headline):
            return name
        return self.group_zh(group) + name

    def subject(self, series: str, group: str) -> str:
        """At the start of a sentence."""
        if self.lang == "en" and series == self.m.headline and group == "all":
            return self.label(series)  # "Headline SMEI"
        return cap(self.series(series, group))

    def group_phrase(self, group: str) -> str:
        if group in EN_GROUP:
            return EN_GROUP[group][0]
        return f"of {self.group_noun(group)}"

    def group_noun(self, group: str) -> str:
        if group == "all":
            return "SMEs"
        if group in EN_GROUP:
            return EN_GROUP[group][1]
        dim, _, value = group.partition("=")
        if dim == "region":
            return f"SMEs in the {value.replace('_', ' ')}"
        return f"{SECTOR_EN.get(value, value.replace('_', ' '))} SMEs"

    def group_zh(self, group: str) -> str:
        if group in ZH_GROUP:
            return ZH_GROUP[group]
        dim, _, value = group.partition("=")
        c = self.m.classifications.get(dim)
        return f"{c.text.zh if c else dim}为{value}的中小企业"

    def group_title(self, group: str) -> str:
        if self.lang == "en":
            return "All SMEs" if group == "all" else cap(self.group_noun(group))
        return "全部中小企业" if group == "all" else self.group_zh(group)


# ---------------------------------------------------------------------------------------------- clauses

EN_DETAILED = {"rose": "rose", "rebounded": "rebounded", "edged_up": "edged up", "eased": "eased", "fell": "fell",
               "retreated": "retreated", "slumped": "slumped", "rose_sharply": "rose sharply",
               "rebounded_sharply": "rebounded sharply"}
ZH_DETAILED = {"rose": "上升", "rebounded": "回升", "edged_up": "小幅上升", "eased": "小幅回落", "fell": "下降",
               "retreated": "回落", "slumped": "大幅下降", "rose_sharply": "大幅上升", "rebounded_sharply": "大幅回升"}
ZH_SUMMARY = {"rose": "升至", "rebounded": "回升至", "edged_up": "小幅升至", "eased": "小幅回落至", "fell": "降至",
              "retreated": "回落至", "slumped": "大幅降至", "rose_sharply": "大幅升至", "rebounded_sharply": "大幅回升至",
              "steady": "持平于", "little_changed": "基本持平于"}


def verb_en(change: Fact, points: bool) -> str:
    v, mv = change.values["value"], change.values["move"]
    if mv == "steady":
        return f"held steady at {fmt_en(v)}"
    if mv == "little_changed":
        return f"was little changed at {fmt_en(v)}"
    pts = f" {points_en(change.values['change'])}" if points else ""
    return f"{EN_DETAILED[mv]}{pts} to {fmt_en(v)}"


def verb_zh(change: Fact, points: bool) -> str:
    v, mv = change.values["value"], change.values["move"]
    if not points:
        return f"{ZH_SUMMARY[mv]}{fmt_zh(v)}"
    if mv == "steady":
        return f"与上月持平，为{fmt_zh(v)}"
    if mv == "little_changed":
        return f"与上月基本持平，为{fmt_zh(v)}"
    if points:
        return f"较上月{ZH_DETAILED[mv]}{fmt_zh(abs(change.values['change']))}个点至{fmt_zh(v)}"
    return f"{ZH_SUMMARY[mv]}{fmt_zh(v)}"


def extras(facts: dict, lang: str, ref: str, combined_ok: bool = True) -> list[str]:
    """At most two clauses, in this order of priority: a crossing of 50, then the record (not repeated when
    the crossing already implies it); a streak only when neither applies; else the side of 50."""
    out = []
    cr, st, ex, lv = (facts.get(k) for k in ("crossing", "streak", "extreme", "level"))
    if cr:
        out.append(_crossing(cr, lang, ref))
    if ex and not (cr and (cr.values["months"] is None or ex.values["months"] <= cr.values["months"])):
        out.append(_extreme(ex, lang, ref, alone=not out))
    if st and not out:
        out.append(_streak(st, lang, ref))
    if not out and lv:
        out.append({"en": {"expansion": "in expansion territory (above 50)",
                           "contraction": "in contraction territory (below 50)",
                           "unchanged": "exactly at the 50 no-change mark"},
                    "zh": {"expansion": "位于扩张区间", "contraction": "位于收缩区间",
                           "unchanged": "恰处50荣枯线"}}[lang][lv.values["side"]])
    return out


def _extreme(f: Fact, lang: str, ref: str, alone: bool) -> str:
    n, hi, since = f.values["months"], f.values["direction"] == "high", f.months["since"]
    if lang == "en":
        word = "high" if hi else "low"
        if since is None:
            return f"the {'highest' if hi else 'lowest'} reading since the series began in {month_en(f.months['start'], '')}"
        if n < SINCE_FORM_FROM:
            article = "an" if num_en(n)[0] in "aeiou" else "a"
            return f"{'reaching ' if alone else ''}{article} {num_en(n)}-month {word}"
        return f"the {'highest' if hi else 'lowest'} reading since {month_en(since, ref)}"
    word = "高" if hi else "低"
    if since is None:
        return f"为有数据以来（{month_zh(f.months['start'], '')}起）最{word}"
    if n < SINCE_FORM_FROM:
        return f"创{num_zh(n)}个月新{word}"
    return f"为{month_zh(since, ref)}以来最{word}"


def _crossing(f: Fact, lang: str, ref: str) -> str:
    above, n = f.values["side"] == "expansion", f.values["months"]
    if n == 2:  # only last month was on the other side: "back above 50" rather than "first in two months"
        if lang == "en":
            return f"back {'above' if above else 'below'} 50"
        return "重回50以上" if above else "重新跌破50"
    if lang == "en":
        what = f"the first {'above' if above else 'below'}-50 reading"
        if n is None:
            return f"{what} since the series began in {month_en(f.months['start'], '')}"
        return f"{what} in {num_en(n)} months"
    what = "首次升至50以上" if above else "首次跌破50"
    if n is None:
        return f"为有数据以来（{month_zh(f.months['start'], '')}起）{what}"
    return f"为{num_zh(n)}个月来{what}"


def _streak(f: Fact, lang: str, ref: str) -> str:
    above, k = f.values["side"] == "expansion", f.values["months"]
    if lang == "en":
        where = "above 50" if above else "below 50"
        if f.values["from_start"]:
            return f"{where} in every month since the series began in {month_en(f.months['start'], '')}"
        return f"the {ordinal_en(k)} consecutive month {where}"
    where = "扩张区间" if above else "收缩区间"
    if f.values["from_start"]:
        return f"自{month_zh(f.months['start'], '')}有数据以来持续位于{where}"
    return f"连续{num_zh(k)}个月位于{where}"


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
    def __init__(self, facts: list[Fact], methodology, lang: str, period: str):
        if lang not in LANGS:
            raise InputError(f"language {lang!r} is not supported: use one of {', '.join(LANGS)}")
        self.lang, self.period, self.m = lang, period, methodology
        self.names = Names(methodology, lang)
        self.by = defaultdict(dict)
        self.other: list[Fact] = []
        for f in facts:
            if f.kind in ("level", "change", "extreme", "crossing", "streak", "quarter"):
                self.by[(f.series, f.group)][f.kind] = f
            else:
                self.other.append(f)
        self.composites = [s for s in COMPOSITE_ORDER if s == methodology.headline or
                           s in {c.id for c in methodology.composites}]
        self.composites += [c.id for c in methodology.composites if c.id not in self.composites]
        self.questions = [q.id for q in methodology.questions if not q.shares_only]

    # -- one series
    def movement(self, series: str, group: str, points: bool, month: bool, subject: bool = True) -> str | None:
        """'The performance sub-index of manufacturing SMEs rebounded 2 points to 52.2 in December, reaching an
        eight-month high' (no full stop)."""
        fs = self.by.get((series, group))
        if not fs or "level" not in fs:
            return None
        en = self.lang == "en"
        who = self.names.subject(series, group) if subject else self.names.series(series, group)
        if "change" in fs:
            body = (verb_en if en else verb_zh)(fs["change"], points)
        else:  # no comparable previous month: the level only, never a change
            v = fs["level"].values["value"]
            body = f"stood at {fmt_en(v)}" if en else f"为{fmt_zh(v)}"
        tail = _join_extras(extras(fs, self.lang, self.period), self.lang)
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
                return f"On average, {name} was unchanged from {pqe} at {fmt_en(v)} in {qe}."
            how = "increased" if d > 0 else "decreased"
            return f"On average, {name} {how} by {points_en(d)} from {pqe} to {fmt_en(v)} in {qe}."
        qz, pqz = quarter_zh(q, self.period), quarter_zh(pq, self.period)
        if d == 0:
            return f"{qz}，{name}均值为{fmt_zh(v)}，与{pqz}持平。"
        return f"{qz}，{name}均值为{fmt_zh(v)}，较{pqz}{'上升' if d > 0 else '下降'}{fmt_zh(abs(d))}个点。"

    def compact_record(self, series: str, group: str) -> str | None:
        """Components: 'The sales sub-index for cross-border trading SMEs edged up to its highest reading since
        April.' (always the since-form)."""
        fs = self.by.get((series, group), {})
        ex, ch = fs.get("extreme"), fs.get("change")
        if not ex or not ch or ch.values["move"] in ("steady", "little_changed"):
            return None
        hi = ex.values["direction"] == "high"
        since, start = ex.months["since"], ex.months["start"]
        mv = ch.values["move"]
        if self.lang == "en":
            what = f"{'highest' if hi else 'lowest'} reading since " + (
                month_en(since, self.period) if since else f"the series began in {month_en(start, '')}")
            return f"{self.names.subject(series, group)} {EN_DETAILED[mv]} to its {what}."
        what = (f"{month_zh(since, self.period)}以来" if since else f"有数据以来（{month_zh(start, '')}起）") + \
            f"最{'高' if hi else '低'}水平"
        return f"{self.names.subject(series, group)}{ZH_SUMMARY[mv]}{what}。"

    def error_sentence(self, series: str, group: str) -> str | None:
        ch = self.by.get((series, group), {}).get("change")
        if not ch or ch.values.get("margin") is None or ch.values["change"] == 0:
            return None
        d, mg, within = ch.values["change"], ch.values["margin"], ch.values["within_error"]
        if self.lang == "en":
            move = f"{'rise' if d > 0 else 'fall'} of {points_en(d)}"
            where = "is within" if within else "exceeds"
            who = "The headline's" if series == self.m.headline else cap(self.names.series(series, group)) + "'s"
            return f"{who} {move} {where} the sampling error of the change (95% margin ±{fmt_en(mg)})."
        move = f"{'上升' if d > 0 else '下降'}{fmt_zh(abs(d))}个点"
        where = "在抽样误差范围内" if within else "超出抽样误差"
        return f"{self.names.series(series, group)}较上月{move}，{where}（95%置信区间±{fmt_zh(mg)}个点）。"

    # -- paragraphs
    def overview(self) -> Paragraph:
        en = self.lang == "en"
        p = Paragraph("Overview" if en else "概览", group="all")
        head = self.m.headline
        lead = self.movement(head, "all", points=False, month=True)
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
        if self.lang == "en":
            parts = [f"{a} of the {n} components were above 50", f"{b} below"] + ([f"{z} at 50"] if z else [])
            return join_en(parts) + "."
        return f"{n}个分项指数中，{a}个位于扩张区间，{b}个位于收缩区间" + (f"，{z}个恰处荣枯线" if z else "") + "。"

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
        for q in ranked:
            if self.by[(q, group)]["extreme"].values["months"] < 6 or len(out) >= limit + bool(mv) + bool(br):
                continue
            s = self.compact_record(q, group)
            if s:
                out.append(s)
        return out

    def movers(self, f: Fact) -> str:
        en = self.lang == "en"
        lab = self.names.label

        def item(x):
            if en:
                return f"{lab(x['series']).lower()} ({'up' if x['change'] > 0 else 'down'} {points_en(x['change'])} " \
                       f"to {fmt_en(x['value'])})"
            return f"{lab(x['series'])}（{'上升' if x['change'] > 0 else '下降'}{fmt_zh(abs(x['change']))}个点至" \
                   f"{fmt_zh(x['value'])}）"
        up, down = f.values["up"], f.values["down"]
        if en:
            parts = []
            if up:
                parts.append(f"the biggest gains were in {join_en([item(x) for x in up])}")
            if down:
                parts.append(f"the biggest declines were in {join_en([item(x) for x in down])}")
            return "Among the components, " + "; ".join(parts) + "."
        parts = []
        if up:
            parts.append("和".join(item(x) for x in up) + "升幅最大")
        if down:
            parts.append("和".join(item(x) for x in down) + "降幅最大")
        return "分项指数中，" + "；".join(parts) + "。"

    def contrast(self, f: Fact) -> str:
        a, b = f.values["a"], f.values["b"]
        va, vb, gap = f.values["value_a"], f.values["value_b"], f.values["gap"]
        name = self.names
        if self.lang == "en":
            series = name.series(f.series, "all")
            if f.values["within_error"] or gap == 0:
                return (f"{cap(series)} was similar for {name.group_noun(a)} ({fmt_en(va)}) and "
                        f"{name.group_noun(b)} ({fmt_en(vb)}): the gap of {points_en(gap)} is within sampling error.")
            hi, lo = (a, b) if gap > 0 else (b, a)
            vh, vl = max(va, vb), min(va, vb)
            return (f"{cap(name.group_noun(hi))} were more confident than {name.group_noun(lo)}: "
                    f"{series} stood at {fmt_en(vh)} against {fmt_en(vl)}.")
        s = name.series(f.series, a)
        if f.values["within_error"] or gap == 0:
            return (f"{s}（{fmt_zh(va)}）与{name.group_zh(b)}（{fmt_zh(vb)}）相差{fmt_zh(abs(gap))}个点，"
                    f"在抽样误差范围内。")
        return f"{s}（{fmt_zh(va)}）{'高于' if gap > 0 else '低于'}{name.group_zh(b)}（{fmt_zh(vb)}），差距超出抽样误差。"

    def widest(self, f: Fact) -> str:
        """The sub-index with the widest gap between the two groups (beyond sampling error)."""
        va, vb = f.values["value_a"], f.values["value_b"]
        if self.lang == "en":
            return (f"The widest gap was in {self.names.series(f.series, 'all')} ({fmt_en(va)} for "
                    f"{self.names.group_noun(f.values['a'])} against {fmt_en(vb)}).")
        return (f"分项指数中差距最大的是{self.names.series(f.series, 'all', with_group=False)}"
                f"（{self.names.group_zh(f.values['a'])}{fmt_zh(va)}，{self.names.group_zh(f.values['b'])}{fmt_zh(vb)}）。")

    def shares(self, f: Fact) -> str:
        sh = f.values["shares"]
        en = self.lang == "en"
        if set(sh) == {"appreciate", "stable", "depreciate"}:
            qual, x = approx_share(sh["stable"])
            if en:
                lead = f"{cap(qual + ' ') if qual else ''}{fmt_en(x)}% of SMEs expect a stable USD/CNY over the next " \
                       "three months"
                lead = cap(lead)
                return (f"{lead}; {fmt_en(sh['appreciate'])}% expect the CNY to appreciate and "
                        f"{fmt_en(sh['depreciate'])}% expect it to depreciate.")
            q = {"nearly": "近", "over": "超过", "": ""}[qual]
            return (f"{q}{fmt_en(x)}%的中小企业预期未来三个月美元兑人民币汇率保持稳定；{fmt_zh(sh['appreciate'])}%预期"
                    f"人民币升值，{fmt_zh(sh['depreciate'])}%预期人民币贬值。")
        label = self.names.label(f.series)
        if en:
            return f"{label}: " + ", ".join(f"{fmt_en(v)}% {k}" for k, v in sh.items() if v is not None) + "."
        return f"{label}：" + "，".join(f"{k} {fmt_zh(v)}%" for k, v in sh.items() if v is not None) + "。"

    def group(self, group: str) -> Paragraph | None:
        p = Paragraph(self.names.group_title(group), group=group)
        for s in self.composites:
            m = self.movement(s, group, points=True, month=not p.sentences)  # the month once per paragraph
            if m:
                p.sentences.append(m + ("." if self.lang == "en" else "。"))
                q = self.quarter(s, group)
                if q:
                    p.sentences.append(q)
        p.sentences += self.components(group)
        return p if p.sentences else None

    def render(self) -> list[Paragraph]:
        en = self.lang == "en"
        out = [self.overview()]
        comp = self.components("all")
        sh = [self.shares(f) for f in self.other if f.kind == "shares"]
        if comp or sh:
            out.append(Paragraph("Components" if en else "分项指数", comp + sh))
        con = []
        for a, b in CONTRASTS:
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
        order = {g: i for i, g in enumerate([a for pair in CONTRASTS for a in pair])}
        for g in sorted(groups, key=lambda g: (order.get(g, 99), groups.index(g))):
            p = self.group(g)
            if p:
                out.append(p)
        return [p for p in out if p.sentences]


def render(facts: list[Fact], methodology, lang: str, period: str) -> list[Paragraph]:
    return Renderer(facts, methodology, lang, period).render()


def narrative(df: pd.DataFrame, period: str, methodology, lang: str = "en", adjustment: str | None = None,
              facts: list[Fact] | None = None, today: date | None = None) -> Narrative:
    """Facts and sentences of the release for `period` in `lang` ('en' or 'zh')."""
    if lang not in LANGS:
        raise InputError(f"language {lang!r} is not supported: use one of {', '.join(LANGS)}")
    if facts is None:
        facts = build_facts(df, period, methodology, adjustment=adjustment, today=today)
    adj = adjustment or choose_adjustment(df, period)
    return Narrative(period, lang, adj, render(facts, methodology, lang, period), facts)
