"""Release charts: one Vega-Lite definition (Altair) serves the web page and the report.

`build_charts` returns Altair charts; `chart.to_dict()` is the spec for the web (rendered by locally served
vega-embed), `to_svg` / `to_png` render the same spec with vl-convert (bundled JS, no browser, no network).
"""
from __future__ import annotations

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
        "history": "{headline}{subs} ({neutral} = no change){bands}", "subs": " and sub-indexes",
        "bands": ", with {conf}% confidence bands", "balance": "Balance",
        "sectors": "{headline} by {dim}, {month}",
        "heatmap": "Components by month",
        "sa_nsa": "{headline}: seasonally adjusted vs unadjusted",
        "shares": "Response shares, {month}",
        "counts": "Respondents per month",
        "month": "Month", "index": "Index", "series": "Series", "sector": "Sector", "question": "Question",
        "share": "Share of respondents (%)", "answer": "Answer", "n": "Respondents", "adjustment": "Adjustment",
        "sa": "Seasonally adjusted", "nsa": "Unadjusted", "better": "Better", "same": "Same", "worse": "Worse",
        "low": "Lower bound", "high": "Upper bound", "value": "Value",
        "nsa_mark": "† not seasonally adjusted (series too short or too sparse for X-13)",
        "whiskers": "Bars from {neutral} (no change); whiskers: {conf}% confidence intervals",
    },
    "zh": {
        "history": "{headline}{subs}（{neutral_zh}）{bands}", "subs": "及分类指数", "bands": "，阴影为{conf}%置信区间",
        "balance": "差额",
        "sectors": "{month}各{dim}{headline}",
        "heatmap": "各项指数逐月热力图",
        "sa_nsa": "{headline}：经季节调整与未经季节调整",
        "shares": "{month}受访企业回答占比",
        "counts": "每月受访企业数",
        "month": "月份", "index": "指数", "series": "指数", "sector": "行业", "question": "问题",
        "share": "受访企业占比（%）", "answer": "回答", "n": "受访企业数", "adjustment": "调整方式",
        "sa": "经季节调整", "nsa": "未经季节调整", "better": "改善", "same": "持平", "worse": "恶化",
        "low": "下限", "high": "上限", "value": "数值",
        "nsa_mark": "† 未经季节调整（序列过短或缺失过多）",
        "whiskers": "条形自{neutral}（无变化）起；误差线为{conf}%置信区间",
    },
}


def _label(methodology, series: str, lang: str) -> str:
    return Names(methodology, lang).label(series)


def _monthly(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["period"].astype(str).str.len() == 7]


def _config(chart, width=560, height=260):
    return (chart.properties(width=width, height=height)
            .configure(font=FONT, background="white")
            .configure_title(fontSize=13, anchor="start")
            .configure_axis(labelFontSize=10, titleFontSize=11)
            .configure_legend(labelFontSize=10, titleFontSize=11, orient="bottom"))


PALETTE = ["#1f3b73", "#2a9d8f", "#e9c46a", "#e76f51", "#8d5fd3", "#6c757d", "#3a86ff", "#fb8500"]


def _time_axis(t: dict, lang: str, months: int) -> alt.Axis:
    """One label per month up to a year, then every 2nd/3rd month: a short history never repeats a label."""
    step = max(1, -(-months // 12))
    return alt.Axis(format="%Y-%m" if lang == "en" else "%Y年%-m月", labelAngle=-45,
                    tickCount={"interval": "month", "step": step})


def bar_dimension(methodology) -> str | None:
    """The classification drawn as bars: `sector` when there is one, else the first classification."""
    dims = list(methodology.classifications)
    return "sector" if "sector" in dims else (dims[0] if dims else None)


def build_charts(df: pd.DataFrame, period: str, methodology, lang: str = "en",
                 adjustment: str = "sa") -> dict[str, alt.TopLevelMixin]:
    """The six release charts for `period` in `lang`: history, sectors, heatmap, sa_nsa, shares, counts.
    A chart whose data are absent (e.g. no sectors, no SA rows) is left out. Diffusion bars start at 50,
    balances at 0; intervals are whiskers; the legend of a band chart is drawn from the (opaque) lines."""
    t = T[lang]
    names = Names(methodology, lang)
    neutral = neutral_of(methodology)
    neutral_txt = f"{neutral:g}"
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
    x = alt.X("date:T", title=t["month"], axis=_time_axis(t, lang, months))
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
                          legend=alt.Legend(symbolOpacity=1, symbolStrokeWidth=3))
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
        neutral_zh = "50为荣枯线" if methodology.formula == "diffusion" else "0表示无变化"
        title = t["history"].format(headline=head_label, neutral=neutral_txt, neutral_zh=neutral_zh,
                                    subs=t["subs"] if len(order) > 1 else "",
                                    bands=t["bands"].format(conf=conf) if bands else "")
        charts["history"] = _config(alt.layer(*layers, rule).properties(title=title))

    # 2. bars of one classification for the month (SA where the group has it, else unadjusted and marked)
    dim = bar_dimension(methodology)
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
        span = max(abs(float(hi_v) - neutral), abs(float(lo_v) - neutral), 5.0) * 1.15
        y = alt.Y("name:N", title=None, sort="-x")
        base = alt.Chart(s)
        layers = [base.mark_bar(clip=True).encode(
            y=y, x=alt.X("value:Q", title=axis_title, scale=alt.Scale(domain=[neutral - span, neutral + span])),
            x2="base:Q",
            color=alt.condition(f"datum.value >= {neutral}", alt.value("#2a9d8f"), alt.value("#e76f51")),
            tooltip=["name:N", alt.Tooltip("value:Q", format=".1f"), "n:Q"])]
        if has_ci:
            layers.append(base.mark_rule(color="#222", clip=True).encode(y=y, x="ci_low:Q", x2="ci_high:Q"))
        layers.append(base.mark_text(align="left", dx=4, fontSize=10).encode(
            y=y, x=alt.X("ci_high:Q" if has_ci and s["ci_high"].notna().all() else "value:Q"),
            text=alt.Text("value:Q", format=".1f")))
        layers.append(base.mark_rule(color="#444", strokeDash=[4, 3]).encode(x=alt.datum(neutral)))
        c = methodology.classifications[dim]
        dim_text = (getattr(c.text, lang) if c.text else dim).lower() if lang == "en" else \
            (c.text.zh if c.text else dim)
        title = t["sectors"].format(month=month_text, headline=head_label, dim=dim_text)
        subtitle = [t["whiskers"].format(neutral=neutral_txt, conf=conf)] if has_ci else \
            [t["whiskers"].format(neutral=neutral_txt, conf=conf).split(";")[0].split("；")[0]]
        if marked:
            subtitle.append(t["nsa_mark"])
        charts["sectors"] = _config(alt.layer(*layers).properties(title=alt.TitleParams(title, subtitle=subtitle)),
                                    height=24 * len(s))

    # 3. heatmap of components by month
    qids = [q.id for q in methodology.questions if not q.shares_only] + list(methodology.inputs)
    hm = adj[(adj["group"] == "all") & adj["series"].isin(qids)].dropna(subset=["value"]).copy()
    hm = hm[hm["period"] >= from_index(to_index(period) - 11)]
    if not hm.empty:
        hm["name"] = [names.label(q) for q in hm["series"]]
        hm["value1"] = hm["value"].round(1)
        order = [names.label(q) for q in qids if q in set(hm["series"])]
        dom = [neutral - 20, neutral + 20] if methodology.formula == "diffusion" else [-40, 40]
        chart = alt.Chart(hm).mark_rect().encode(
            x=alt.X("period:O", title=t["month"], axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("name:N", title=None, sort=order),
            color=alt.Color("value:Q", title=axis_title,
                            scale=alt.Scale(scheme="redblue", domainMid=neutral, domain=dom, clamp=True)),
            tooltip=["name:N", "period:N", alt.Tooltip("value:Q", format=".1f")])
        text = alt.Chart(hm).mark_text(fontSize=8).encode(
            x="period:O", y=alt.Y("name:N", sort=order), text=alt.Text("value1:Q", format=".1f"),
            color=alt.condition(f"abs(datum.value - {neutral}) > {(dom[1] - dom[0]) * 0.3}", alt.value("white"),
                                alt.value("black")))
        charts["heatmap"] = _config(alt.layer(chart, text).properties(title=t["heatmap"]),
                                    width=560, height=16 * len(order))

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
            charts["sa_nsa"] = _config(alt.layer(chart, rule).properties(title=t["sa_nsa"].format(
                headline=head_label)), height=200)

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
            y=alt.Y("name:N", title=None, sort=order),
            x=alt.X("share:Q", title=t["share"], stack="normalize", axis=alt.Axis(format="%")),
            color=alt.Color("answer:N", title=t["answer"], sort=[t["better"], t["same"], t["worse"]],
                            scale=alt.Scale(domain=[t["better"], t["same"], t["worse"]],
                                            range=["#2a9d8f", "#d9d9d9", "#e76f51"])),
            order=alt.Order("order:Q"),
            tooltip=["name:N", "code:N", alt.Tooltip("share:Q", format=".1f")])
        charts["shares"] = _config(chart.properties(title=t["shares"].format(month=month_text)),
                                   height=16 * len(order))

    # 6. response counts
    c = recent[(recent["group"] == "all") & (recent["series"] == head)] if head else recent.iloc[:0]
    if "adjustment" in c:
        c = c[c["adjustment"] == "nsa"] if (c["adjustment"] == "nsa").any() else c
    c = c.dropna(subset=["n"]).copy() if "n" in c else c.iloc[:0]
    if not c.empty:
        c["date"] = pd.to_datetime(c["period"] + "-01")
        chart = alt.Chart(c).mark_bar(color="#1f3b73").encode(
            x=alt.X("yearmonth(date):O", title=t["month"],
                    axis=alt.Axis(format="%Y-%m" if lang == "en" else "%Y年%-m月", labelAngle=-45)),
            y=alt.Y("n:Q", title=t["n"]), tooltip=["period:N", "n:Q"])
        charts["counts"] = _config(chart.properties(title=t["counts"]), height=160)
    return charts


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
