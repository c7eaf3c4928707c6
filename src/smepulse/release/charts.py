"""Release charts: one Vega-Lite definition (Altair) serves the web page and the report.

`build_charts` returns Altair charts; `chart.to_dict()` is the spec for the web (rendered by locally served
vega-embed), `to_svg` / `to_png` render the same spec with vl-convert (bundled JS, no browser, no network).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

import altair as alt
import pandas as pd

from smepulse.periods import from_index, month_name, to_index
from smepulse.release.facts import composite_order, confidence_pct, neutral_of
from smepulse.release.narrative import Names

FONT = "Noto Sans CJK SC"  # covers Latin and CJK; one family, so every SVG renderer resolves it
VL_VERSION = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]  # "6.4"
MONTHS_SHOWN = 24

T = {
    "en": {
        "history": "{headline}{subs} ({neutral}\u00a0=\u00a0{meaning}){bands}", "subs": " and sub-indexes",
        "bands": ", with {conf}% confidence bands", "balance": "Balance",
        "sectors": "{headline} by {dim}, {month}",
        "heatmap": "Components by month",
        "sa_nsa": "{headline}: seasonally adjusted vs unadjusted",
        "shares": "Response shares, {month}",
        "counts": "Respondents per month",
        "month": "Month", "group": "group", "index": "Index", "series": "Series", "sector": "Sector", "question": "Question",
        "share": "Share of respondents (%)", "answer": "Answer", "n": "Respondents", "adjustment": "Adjustment",
        "sa": "Seasonally adjusted", "nsa": "Unadjusted", "better": "Better", "same": "Same", "worse": "Worse",
        "low": "Lower bound", "high": "Upper bound", "value": "Value",
        "nsa_mark": "† not seasonally adjusted (series too short or too sparse for X-13)",
        "whiskers": "Bars from {neutral} ({meaning}); whiskers: {conf}% confidence intervals",
        # what the line at the neutral value means: a diffusion index of 50, a balance of 0 (a level question's
        # balance, "order books above normal", is not a change)
        "meaning_diffusion": "no\u00a0change", "meaning_balance": "as many positive as negative answers",
    },
    "zh": {
        "history": "{headline}{subs}（{neutral}{meaning}）{bands}", "subs": "及分类指数", "bands": "，阴影为{conf}%置信区间",
        "balance": "差额",
        "sectors": "{month}各{dim}{headline}",
        "heatmap": "各项指数逐月热力图",
        "sa_nsa": "{headline}：经季节调整与未经季节调整",
        "shares": "{month}受访企业回答占比",
        "counts": "每月受访企业数",
        "month": "月份", "group": "分组", "index": "指数", "series": "指数", "sector": "行业", "question": "问题",
        "share": "受访企业占比（%）", "answer": "回答", "n": "受访企业数", "adjustment": "调整方式",
        "sa": "经季节调整", "nsa": "未经季节调整", "better": "改善", "same": "持平", "worse": "恶化",
        "low": "下限", "high": "上限", "value": "数值",
        "nsa_mark": "† 未经季节调整（序列过短或缺失过多）",
        "whiskers": "条形自{neutral}（{meaning_bar}）起；误差线为{conf}%置信区间",
        "meaning_diffusion": "为荣枯线", "meaning_balance": "为正负回答相抵", "bar_diffusion": "荣枯线",
        "bar_balance": "正负回答相抵",
    },
}


def _label(methodology, series: str, lang: str) -> str:
    return Names(methodology, lang).label(series)


def _monthly(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["period"].astype(str).str.len() == 7]


@dataclass(frozen=True)
class Layout:
    """The sizes of one set of charts. WIDE is drawn at its own size on a desktop page and in the PDF; PHONE is
    drawn at its own size (at most PHONE.width px wide in all) on a 390 px screen, so its text stays at least
    `label` CSS px there instead of shrinking with a wide chart scaled to the phone's width."""
    name: str
    width: int          # the plot's width (WIDE) or the whole chart's, axes and legend included (PHONE: fit)
    label: int          # axis and legend labels, text on the marks
    title: int
    time_labels: int    # at most this many month labels on a time axis
    heat_months: int    # months in the heatmap
    label_px: int       # row labels wider than this wrap onto a second line
    fit: bool           # the whole chart fits `width` (axes, labels and legend included)

    def wrap(self, text: str, size: int | None = None) -> str | list[str]:
        """A title in lines no wider than the chart (a Vega title does not wrap by itself)."""
        return _wrap(text, self.width - 8, size or self.title) if self.fit else text


WIDE = Layout("wide", 560, 11, 14, 12, 12, 240, fit=False)  # at most about 770 px wide in all
PHONE = Layout("phone", 350, 12, 14, 6, 6, 170, fit=True)
LAYOUTS = (WIDE, PHONE)
_TOKEN = re.compile(r"[\u2e80-\u9fff\uff00-\uffef]|[^ \u2e80-\u9fff\uff00-\uffef]+ *| +")  # no break at NBSP


def _wrap(text: str, px: int, size: int, em: float = 0.56) -> str | list[str]:
    """Greedy line breaks by estimated width: a CJK character is one em, other characters about `em` (0.56 for
    bold Noto Sans titles, 0.52 for labels; measured in Chromium: 0.51-0.54 and 0.46-0.52), so a line never
    overruns `px`; English breaks between words (not at a no-break space), Chinese between characters. The lines
    are then balanced (no one-character last line)."""
    lines = _greedy(text, px, size, em)
    while len(lines) > 1 and px > size and len(shorter := _greedy(text, px - size // 2, size, em)) == len(lines):
        lines, px = shorter, px - size // 2
    return lines if len(lines) > 1 else lines[0]


def _greedy(text: str, px: int, size: int, em: float) -> list[str]:
    lines, line, w = [], "", 0.0
    for tok in _TOKEN.findall(text):
        tw = _px(tok, size, em)
        if line and w + tw > px and tok.strip():
            lines.append(line.rstrip())
            line, w = "", 0.0
        line += tok
        w += tw
    lines.append(line.rstrip())
    return lines


def _px(text: str, size: int, em: float = 0.5) -> float:
    """The estimated width of `text` at `size` px: a CJK character is one em, another character `em` em."""
    return sum(size if "\u2e80" <= ch <= "\uffef" else em * size for ch in text)


def _config(chart, layout: Layout = WIDE, height=260, width: int | None = None):
    if layout.fit:
        chart = chart.properties(width=layout.width, height=height,
                                 autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    else:
        chart = chart.properties(width=width or layout.width, height=height)
    return (chart.configure(font=FONT, background="white")
            .configure_title(fontSize=layout.title, anchor="start", subtitleFontSize=layout.label,
                             subtitleColor="#444")
            .configure_axis(labelFontSize=layout.label, titleFontSize=layout.label)
            .configure_legend(labelFontSize=layout.label, titleFontSize=layout.label, orient="bottom",
                              symbolSize=80))


def _legend_columns(labels, lay: Layout) -> int:
    """Legend entries in one row where they fit; on a phone, two columns (one for long names) otherwise."""
    widths = [_px(x, lay.label, 0.55) + 3 * lay.label for x in labels]
    if not lay.fit or sum(widths) <= lay.width:
        return 0
    return 1 if max(widths) > lay.width / 2 else 2


PALETTE = ["#1f3b73", "#2a9d8f", "#e9c46a", "#e76f51", "#8d5fd3", "#6c757d", "#3a86ff", "#fb8500"]


def _time_axis(t: dict, lang: str, months: int, layout: Layout = WIDE) -> alt.Axis:
    """One label per month up to `layout.time_labels` months, then every 2nd/3rd/4th month: a short history
    never repeats a label, a long one on a phone keeps its labels apart."""
    step = max(1, -(-months // layout.time_labels))
    return alt.Axis(format="%Y-%m" if lang == "en" else "%Y年%-m月", labelAngle=-45,
                    tickCount={"interval": "month", "step": step})


def bar_dimension(methodology, groups=()) -> str | None:
    """The classification drawn as bars: `sector` when there is one, else the first classification; for a
    preset without classifications, the first dimension of the data's groups with two values or more (the
    countries of an EC survey: geo=DE, geo=FR, ...)."""
    dims = list(methodology.classifications)
    if dims:
        return "sector" if "sector" in dims else dims[0]
    found = pd.Series([g.partition("=")[0] for g in groups if "=" in g], dtype=object)
    counts = found.value_counts(sort=False)
    return next((d for d, k in counts.items() if k >= 2), None)


def build_charts(df: pd.DataFrame, period: str, methodology, lang: str = "en",
                 adjustment: str = "sa", layout: Layout = WIDE) -> dict[str, alt.TopLevelMixin]:
    """The six release charts for `period` in `lang`: history, sectors, heatmap, sa_nsa, shares, counts.
    A chart whose data are absent (e.g. no sectors, no SA rows) is left out. Diffusion bars start at 50,
    balances at 0; intervals are whiskers; the legend of a band chart is drawn from the (opaque) lines.
    `layout`: WIDE (screen and paper) or PHONE (the same charts drawn for a 390 px screen)."""
    lay = layout
    t = T[lang]
    names = Names(methodology, lang)
    neutral = neutral_of(methodology)
    neutral_txt = f"{neutral:g}"
    formula = "balance" if methodology.formula == "balance" else "diffusion"
    meaning = t[f"meaning_{formula}"]
    conf = confidence_pct(methodology)
    head = methodology.headline
    head_label = names.label(head) if head else ""
    month_text = _month_text(period, lang)
    df = _monthly(df)
    df = df[df["period"] <= period]
    start = from_index(to_index(period) - MONTHS_SHOWN + 1)
    recent = df[df["period"] >= start]
    adj = recent[recent["adjustment"] == adjustment] if "adjustment" in recent else recent
    charts: dict[str, alt.TopLevelMixin] = {}
    months = max(1, recent["period"].nunique())
    x = alt.X("date:T", title=t["month"], axis=_time_axis(t, lang, months, lay))
    rule = alt.Chart(pd.DataFrame({"y": [neutral]})).mark_rule(color="#444", strokeDash=[4, 3]).encode(y="y:Q")
    composites = composite_order(methodology)
    axis_title = t["balance"] if methodology.formula == "balance" else t["index"]

    # 1. headline and sub-indexes with confidence bands
    h = adj[(adj["group"] == "all") & adj["series"].isin(composites)].dropna(subset=["value"]).copy()
    if not h.empty:
        h["date"] = pd.to_datetime(h["period"] + "-01")
        h["name"] = [names.label(s) for s in h["series"]]
        order = [names.label(s) for s in composites if s in set(h["series"])]
        color = alt.Color("name:N", title=t["series"], sort=order,
                          scale=alt.Scale(domain=order, range=PALETTE[:len(order)]),
                          legend=alt.Legend(symbolOpacity=1, symbolStrokeWidth=3,
                                            columns=_legend_columns(order, lay)) if len(order) > 1 else None)
        # one series (a PMI's headline alone): the title names it, a one-entry legend would only repeat it
        base = alt.Chart(h).encode(x=x)
        layers = []
        if "ci_low" in h and h["ci_low"].notna().any():
            layers.append(base.mark_area(opacity=0.18).encode(
                y=alt.Y("ci_low:Q", title=axis_title, scale=alt.Scale(zero=False)), y2="ci_high:Q",
                color=color))
        layers.append(base.mark_line(point=alt.OverlayMarkDef(size=18)).encode(
            y=alt.Y("value:Q", title=axis_title, scale=alt.Scale(zero=False)), color=color,
            tooltip=["period:N", "name:N", alt.Tooltip("value:Q", format=".1f")]))
        bands = "ci_low" in h and h["ci_low"].notna().any()
        title = t["history"].format(headline=head_label, neutral=neutral_txt, meaning=meaning,
                                    subs=t["subs"] if len(order) > 1 else "",
                                    bands=t["bands"].format(conf=conf) if bands else "")
        charts["history"] = _config(alt.layer(*layers, rule).properties(title=lay.wrap(title)), lay,
                                    height=220 if lay.fit else 260)

    # 2. bars of one classification for the month (SA where the group has it, else unadjusted and marked)
    dim = bar_dimension(methodology, df.loc[df["period"] == period, "group"].unique())
    s = df.iloc[:0]
    if dim and head:
        s = df[(df["period"] == period) & (df["series"] == head) & df["group"].str.startswith(f"{dim}=")]
        s = s.dropna(subset=["value"])
    if "adjustment" in s:
        s = (s.assign(_pref=(s["adjustment"] != adjustment).astype(int)).sort_values("_pref")
             .drop_duplicates("group").drop(columns="_pref"))
    s = s.copy()
    if not s.empty:
        marked = "adjustment" in s and (s["adjustment"] != adjustment).any() and adjustment == "sa"
        s["name"] = [names.group_short(g) + (" †" if marked and a != adjustment else "")
                     for g, a in zip(s["group"], s["adjustment"] if "adjustment" in s else [adjustment] * len(s),
                                     strict=False)]
        s["base"] = neutral
        has_ci = "ci_low" in s and s["ci_low"].notna().any()
        lo_v = s["ci_low"].min() if has_ci else s["value"].min()
        hi_v = s["ci_high"].max() if has_ci else s["value"].max()
        span = max(abs(float(hi_v) - neutral), abs(float(lo_v) - neutral), 5.0) * 1.5  # room for the labels
        # highest first, in a list: the layers' different x fields would make Vega-Lite drop a sort="-x"
        y = alt.Y("name:N", title=None, sort=s.sort_values("value", ascending=False)["name"].tolist(),
                  axis=_label_axis(s["name"], lay))
        base = alt.Chart(s)
        layers = [base.mark_bar(clip=True).encode(
            y=y, x=alt.X("value:Q", title=axis_title, scale=alt.Scale(domain=[neutral - span, neutral + span])),
            x2="base:Q",
            color=alt.condition(f"datum.value >= {neutral}", alt.value("#2a9d8f"), alt.value("#e76f51")),
            tooltip=["name:N", alt.Tooltip("value:Q", format=".1f"), "n:Q"])]
        if has_ci:
            layers.append(base.mark_rule(color="#222", clip=True).encode(y=y, x="ci_low:Q", x2="ci_high:Q"))
        # each value written beyond the end of its bar's whisker, away from the line at `neutral`
        for test, align, dx, end in ((f"datum.value >= {neutral}", "left", 4, "ci_high"),
                                     (f"datum.value < {neutral}", "right", -4, "ci_low")):
            end = end if has_ci and s[end].notna().all() else "value"
            layers.append(base.transform_filter(test).mark_text(align=align, dx=dx, fontSize=lay.label).encode(
                y=y, x=alt.X(f"{end}:Q"), text=alt.Text("value:Q", format=".1f")))
        layers.append(base.mark_rule(color="#444", strokeDash=[4, 3]).encode(x=alt.datum(neutral)))
        c = methodology.classifications.get(dim)
        if c is None:  # a preset's groups: named as groups, the code means nothing to a reader
            dim_text = t["group"]
        else:
            dim_text = (getattr(c.text, lang) if c.text else dim).lower() if lang == "en" else \
                (c.text.zh if c.text else dim)
        title = t["sectors"].format(month=month_text, headline=head_label, dim=dim_text)
        whiskers = t["whiskers"].format(neutral=neutral_txt, conf=conf, meaning=meaning,
                                        meaning_bar=t.get(f"bar_{formula}", meaning))
        subtitle = [whiskers] if has_ci else [whiskers.split(";")[0].split("；")[0]]
        if marked:
            subtitle.append(t["nsa_mark"])
        if lay.fit:
            subtitle = [line for x in subtitle for line in _lines(_wrap(x, lay.width - 8, lay.label))]
        charts["sectors"] = _config(alt.layer(*layers).properties(
            title=alt.TitleParams(lay.wrap(title), subtitle=subtitle)), lay, height=(lay.label + 14) * len(s))

    # 3. heatmap of components by month
    qids = [q.id for q in methodology.questions if not q.shares_only] + list(methodology.inputs)
    hm = adj[(adj["group"] == "all") & adj["series"].isin(qids)].dropna(subset=["value"]).copy()
    hm = hm[hm["period"] >= from_index(to_index(period) - lay.heat_months + 1)]
    if not hm.empty:
        hm["name"] = [names.label(q) for q in hm["series"]]
        hm["value1"] = hm["value"].round(1)
        order = [names.label(q) for q in qids if q in set(hm["series"])]
        dom = [neutral - 20, neutral + 20] if methodology.formula == "diffusion" else [-40, 40]
        chart = alt.Chart(hm).mark_rect().encode(
            x=alt.X("period:O", title=t["month"], axis=alt.Axis(labelAngle=-45, labelExpr=_period_label(lang))),
            y=alt.Y("name:N", title=None, sort=order, axis=_label_axis(order, lay)),
            color=alt.Color("value:Q", title=axis_title,
                            scale=alt.Scale(scheme="redblue", domainMid=neutral, domain=dom, clamp=True)),
            tooltip=["name:N", "period:N", alt.Tooltip("value:Q", format=".1f")])
        text = alt.Chart(hm).mark_text(fontSize=11).encode(
            x="period:O", y=alt.Y("name:N", sort=order), text=alt.Text("value1:Q", format=".1f"),
            color=alt.condition(f"abs(datum.value - {neutral}) > {(dom[1] - dom[0]) * 0.3}", alt.value("white"),
                                alt.value("black")))
        charts["heatmap"] = _config(alt.layer(chart, text).properties(title=lay.wrap(t["heatmap"])), lay,
                                    width=44 * hm["period"].nunique(), height=(lay.label + 9) * len(order))

    # 4. adjusted vs unadjusted
    if "adjustment" in recent and head:
        a = recent[(recent["group"] == "all") & (recent["series"] == head)].dropna(subset=["value"]).copy()
        if a["adjustment"].nunique() > 1:
            a["date"] = pd.to_datetime(a["period"] + "-01")
            a["kind"] = [t[x] for x in a["adjustment"]]
            chart = alt.Chart(a).mark_line(point=alt.OverlayMarkDef(size=14)).encode(
                x=x, y=alt.Y("value:Q", title=axis_title, scale=alt.Scale(zero=False)),
                color=alt.Color("kind:N", title=t["adjustment"], sort=[t["sa"], t["nsa"]],
                                scale=alt.Scale(range=["#1f3b73", "#888888"])),
                strokeDash=alt.StrokeDash("kind:N", sort=[t["sa"], t["nsa"]], legend=None),
                tooltip=["period:N", "kind:N", alt.Tooltip("value:Q", format=".1f")])
            charts["sa_nsa"] = _config(alt.layer(chart, rule).properties(title=lay.wrap(t["sa_nsa"].format(
                headline=head_label))), lay, height=200)

    # 5. response shares (stacked bars), unadjusted question rows; coloured by meaning: for an inverted
    # question (funding cost: up = dearer) the first answer is the worse one
    sh = df[(df["period"] == period) & (df["group"] == "all")]
    if "adjustment" in sh:
        sh = sh[sh["adjustment"] == "nsa"]
    sh = sh[sh["series"].isin([q.id for q in methodology.questions])]
    if {"up", "same", "down"} <= set(sh.columns):
        sh = sh.dropna(subset=["up", "same", "down"], how="all")
    else:
        sh = sh.iloc[:0]
    if not sh.empty:
        qs = {q.id: q for q in methodology.questions}
        rows = []
        for _, r in sh.iterrows():
            q = qs[r["series"]]
            meaning = ("worse", "same", "better") if q.inverted else ("better", "same", "worse")
            for k, col in enumerate(("up", "same", "down")):
                m = meaning[k]
                rows.append({"name": names.label(r["series"]), "answer": t[m], "code": q.codes[k],
                             "order": ("better", "same", "worse").index(m), "share": float(r[col])})
        long = pd.DataFrame(rows)
        order = [names.label(q.id) for q in methodology.questions if q.id in set(sh["series"])]
        chart = alt.Chart(long).mark_bar().encode(
            y=alt.Y("name:N", title=None, sort=order, axis=_label_axis(order, lay)),
            x=alt.X("share:Q", title=t["share"], stack="normalize", axis=alt.Axis(format="%")),
            color=alt.Color("answer:N", title=t["answer"], sort=[t["better"], t["same"], t["worse"]],
                            scale=alt.Scale(domain=[t["better"], t["same"], t["worse"]],
                                            range=["#2a9d8f", "#d9d9d9", "#e76f51"])),
            order=alt.Order("order:Q"),
            tooltip=["name:N", "code:N", alt.Tooltip("share:Q", format=".1f")])
        charts["shares"] = _config(chart.properties(title=lay.wrap(t["shares"].format(month=month_text))), lay,
                                   height=(lay.label + 8) * len(order), width=480)

    # 6. response counts
    c = recent[(recent["group"] == "all") & (recent["series"] == head)] if head else recent.iloc[:0]
    if "adjustment" in c:
        c = c[c["adjustment"] == "nsa"] if (c["adjustment"] == "nsa").any() else c
    c = c.dropna(subset=["n"]).copy() if "n" in c else c.iloc[:0]
    if not c.empty:
        c["date"] = pd.to_datetime(c["period"] + "-01")
        shown = sorted(set(c["period"]))
        step = max(1, -(-len(shown) // lay.time_labels))
        # one bar per month, labelled under the bar (a time axis would label the month after the last bar)
        chart = alt.Chart(c).mark_bar(color="#1f3b73").encode(
            x=alt.X("period:O", title=t["month"], axis=alt.Axis(
                labelAngle=-45, values=shown[::-1][::step][::-1], labelExpr=_period_label(lang))),
            y=alt.Y("n:Q", title=t["n"]), tooltip=["period:N", "n:Q"])
        charts["counts"] = _config(chart.properties(title=lay.wrap(t["counts"])), lay, height=160)
    return charts


def _label_axis(labels, lay: Layout) -> alt.Axis:
    """Row labels in full: never cut to 'Expected CNY against USD ov…' (Vega's default limit is 180 px); a long
    label wraps onto two lines instead (a labelExpr looks the lines up by label)."""
    wrapped = {x: w for x in dict.fromkeys(labels) if isinstance(w := _wrap(x, lay.label_px, lay.label, em=0.52),
                                                                   list)}
    if not wrapped:
        return alt.Axis(labelLimit=0)
    return alt.Axis(labelLimit=0, labelLineHeight=lay.label + 1,
                    labelExpr=f"{json.dumps(wrapped, ensure_ascii=False)}[datum.label] || datum.label")


def _lines(text: str | list[str]) -> list[str]:
    return text if isinstance(text, list) else [text]


def _period_label(lang: str) -> str:
    """A heatmap column's label: the period as it is (2026-09) in English, 2026年9月 in Chinese."""
    if lang == "en":
        return "datum.label"
    return "slice(datum.label, 0, 4) + '年' + toNumber(slice(datum.label, 5, 7)) + '月'"


def _month_text(period: str, lang: str) -> str:
    return month_name(period, lang)


def to_svg(chart) -> str:
    import vl_convert as vlc  # noqa: PLC0415 (vl-convert loads a JS engine: only when charts are drawn)
    return vlc.vegalite_to_svg(spec(chart), vl_version=VL_VERSION)


def spec(chart) -> dict:
    """The Vega-Lite spec, validated once and kept on the chart (to_dict validates against the schema: slow)."""
    cached = getattr(chart, "_smepulse_spec", None)
    if cached is None:
        cached = chart.to_dict()
        object.__setattr__(chart, "_smepulse_spec", cached)
    return cached


def to_png(chart, scale: float = 2.0) -> bytes:
    import vl_convert as vlc  # noqa: PLC0415 (vl-convert loads a JS engine: only when charts are drawn)
    return vlc.vegalite_to_png(chart.to_dict(), vl_version=VL_VERSION, scale=scale)


def specs(charts: dict) -> dict:
    """Vega-Lite JSON specs (for the web page and the JSON export)."""
    return {k: spec(c) for k, c in charts.items()}


def non_blank(svg: str) -> int:
    """Count drawn marks in an SVG (paths, rects, lines beyond the background) - used by tests and checks."""
    return svg.count("<path") + max(svg.count("<rect") - 1, 0) + svg.count("<line")





_BUNDLE: str | None = None


def js_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one JavaScript bundle (from vl-convert, no network): serve it locally
    or inline it; never load these libraries from a CDN."""
    global _BUNDLE
    if _BUNDLE is None:
        import vl_convert as vlc  # noqa: PLC0415 (vl-convert loads a JS engine: only when charts are drawn)
        _BUNDLE = vlc.javascript_bundle(vl_version=VL_VERSION)
    return _BUNDLE
