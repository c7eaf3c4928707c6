"""Facts of a release: a structured list, decided on the numbers as published (one decimal).

Sentences are rendered from facts (`smepulse.release.narrative`), never from the raw numbers, so both
languages say the same thing and the facts can be tested on their own. Definitions: docs/narrative.md.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from statistics import NormalDist

import numpy as np
import pandas as pd

from smepulse.errors import InputError
from smepulse.methodology.release_config import Thresholds
from smepulse.periods import MONTH_RE, from_index, to_index

SIDES = ("expansion", "contraction", "unchanged")
MIN_EXTREME_MONTHS = 3      # a record is reported from a "three-month high" on
MIN_STREAK = 3              # "third consecutive month above 50" and longer
Z = 1.96                    # only the default: the level comes from the methodology (`z_of`)
DEFAULT_THRESHOLDS = Thresholds()


def z_of(methodology) -> float:
    """The two-sided normal quantile of the methodology's confidence level (0.95 -> 1.96)."""
    conf = methodology.sampling.confidence if methodology is not None else 0.95
    return round(NormalDist().inv_cdf(0.5 + conf / 2), 4)


def confidence_pct(methodology) -> str:
    conf = methodology.sampling.confidence * 100
    return f"{conf:.0f}" if conf == round(conf) else f"{conf:g}"


def neutral_of(methodology) -> float:
    """No-change level: 50 for diffusion indices, 0 for balances."""
    return 0.0 if methodology is not None and methodology.formula == "balance" else 50.0


def is_provisional(df: pd.DataFrame, period: str, methodology) -> bool:
    """A flash release: every headline row of `period` was published as a flash (`kind == 'flash'`)."""
    if "kind" not in df.columns:
        return False
    head = methodology.headline
    rows = df[(df["period"].astype(str) == period) & ((df["series"] == head) if head else True)]
    return bool(len(rows)) and bool((rows["kind"] == "flash").all())


def component_ids(methodology) -> list[str]:
    """The components of the composites: index questions (surveys) or published input series (presets)."""
    return [q.id for q in methodology.questions if not q.shares_only] + list(methodology.inputs)


def composite_order(methodology, have: set | None = None) -> list[str]:
    """Composites in reading order: the release config's `composite_order`, else the headline first and then the
    methodology's order. `have`: only those present in the data."""
    ids = [c.id for c in methodology.composites]
    order = [c for c in methodology.release.composite_order if c in ids]
    if methodology.headline and methodology.headline not in order:
        order.insert(0, methodology.headline)
    order += [c for c in ids if c not in order]
    return [c for c in order if have is None or c in have]


def published(x) -> float | None:
    """Round as published: one decimal, halves away from zero (52.25 -> 52.3). None stays None."""
    if x is None or (isinstance(x, float) and np.isnan(x)) or pd.isna(x):
        return None
    return float(Decimal(repr(float(x))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def side(value: float, neutral: float = 50.0) -> str:
    return "expansion" if value > neutral else "contraction" if value < neutral else "unchanged"


@dataclass(frozen=True)
class Fact:
    """One statement the numbers support. `values` are published (rounded) numbers; `months` are YYYY-MM."""
    kind: str              # level, change, extreme, crossing, streak, quarter, movers, contrast, shares
    series: str
    group: str
    period: str
    values: dict = field(default_factory=dict)
    months: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------- single series

def _as_months(values: pd.Series) -> pd.Series:
    """A series indexed by YYYY-MM -> published values indexed by month number, blanks dropped, sorted."""
    if values.attrs.get("months"):
        return values
    s = pd.Series([published(v) for v in values.to_numpy()], index=[to_index(p) for p in values.index],
                  dtype="float64")
    s = s.dropna().sort_index()
    s.attrs["months"] = True
    return s


def n_month_extreme(values: pd.Series, period: str) -> dict | None:
    """Is `period` an N-month high (or low)? `values`: published values indexed by YYYY-MM.

    N-month high: the value is above every value of the previous N-1 months, and the last month at least as
    high is N months back (`since`). With no month at least as high in the data, `since` is None and N counts
    the months since the series began (`start`). None when the value is not above (below) last month's.
    """
    s = _as_months(values)
    t = to_index(period)
    if t not in s.index:
        raise InputError(f"no published value for {period}: cannot say whether it is a high or a low")
    before = s[s.index < t]
    if before.empty:
        raise InputError(f"the series has no month before {period}: an 'N-month high' needs at least two months "
                         "of data")
    v, prev = s[t], before.iloc[-1]
    if before.index[-1] != t - 1 or v == prev:
        return None
    direction = "high" if v > prev else "low"
    reached = before[before >= v] if direction == "high" else before[before <= v]
    if reached.empty:
        start = int(before.index[0])
        return {"direction": direction, "months": t - start + 1, "since": None, "start": from_index(start)}
    m = int(reached.index[-1])
    return {"direction": direction, "months": t - m, "since": from_index(m), "start": from_index(int(s.index[0]))}


def crossing(values: pd.Series, period: str, neutral: float = 50.0) -> dict | None:
    """First above- (below-) 50 reading in N months: last month on the other side or at 50, and the last
    month on this side N months back (None and `start` when there is none in the data)."""
    s = _as_months(values)
    t = to_index(period)
    if t not in s.index or (t - 1) not in s.index:
        return None
    now = side(s[t], neutral)
    if now == "unchanged" or side(s[t - 1], neutral) == now:
        return None
    before = s[s.index < t]
    same = before[before.map(lambda x: side(x, neutral)) == now]
    if same.empty:
        return {"side": now, "months": None, "since": None, "start": from_index(int(s.index[0]))}
    m = int(same.index[-1])
    return {"side": now, "months": t - m, "since": from_index(m), "start": from_index(int(s.index[0]))}


def streak(values: pd.Series, period: str, neutral: float = 50.0) -> dict | None:
    """k-th consecutive month on the same side of 50 (calendar months without gaps). `from_start` when the run
    reaches the first month of the data (then it is at least k)."""
    s = _as_months(values)
    t = to_index(period)
    if t not in s.index:
        return None
    now = side(s[t], neutral)
    if now == "unchanged":
        return None
    k, m = 0, t
    while m in s.index and side(s[m], neutral) == now:
        k, m = k + 1, m - 1
    return {"side": now, "months": k, "from_start": m < s.index[0], "start": from_index(int(s.index[0]))}


def classify_move(change: float, se_change: float | None, previous_change: float | None,
                  thresholds: Thresholds = DEFAULT_THRESHOLDS, z: float = Z) -> dict:
    """The verb key for a change of published values: the size alone decides the verb (thresholds of the
    release config); `within_error` says separately whether the change is within z x se_change, and the text
    then says so ("within the margin of sampling error"). See docs/narrative.md."""
    size = abs(change)
    within = se_change is not None and not np.isnan(se_change) and size <= z * se_change
    if change == 0:
        move = "steady"
    elif size < thresholds.little:
        move = "little_changed"
    elif size < thresholds.moderate:
        move = "edged_up" if change > 0 else "eased"
    elif change > 0:
        move = "rebounded" if previous_change is not None and previous_change < 0 else "rose"
        move += "_sharply" if size >= thresholds.large else ""
    else:
        move = "slumped" if size >= thresholds.large else (
            "retreated" if previous_change is not None and previous_change > 0 else "fell")
    return {"move": move, "within_error": bool(within)}


def grade(move: str) -> tuple[int, int]:
    """(sign, size class) a verb key claims: size 0 none, 1 little, 2 small, 3 moderate, 4 large."""
    table = {"steady": (0, 0), "little_changed": (0, 1), "edged_up": (1, 2), "eased": (-1, 2), "rose": (1, 3),
             "rebounded": (1, 3), "fell": (-1, 3), "retreated": (-1, 3), "rose_sharply": (1, 4),
             "rebounded_sharply": (1, 4), "slumped": (-1, 4)}
    return table[move]


def size_class(change: float, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> int:
    size = abs(change)
    if size == 0:
        return 0
    if size < thresholds.little:
        return 1
    if size < thresholds.moderate:
        return 2
    return 3 if size < thresholds.large else 4


# ---------------------------------------------------------------------------------------------- the table

def month_rows(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["period"].astype(str).str.match(MONTH_RE.pattern)]


def choose_adjustment(df: pd.DataFrame, period: str) -> str:
    """SA when the headline (or any series) has an SA value for the period, else NSA."""
    if "adjustment" not in df.columns:
        return "nsa"
    sa = df[(df["adjustment"] == "sa") & (df["period"] == period)]
    return "sa" if sa["value"].notna().any() else "nsa"


def check_period(df: pd.DataFrame, period: str, today: date | None = None) -> None:
    """Refuse periods that are malformed, not closed yet, or absent from the data."""
    if not MONTH_RE.match(str(period)):
        raise InputError(f"--period must be a month like 2026-10, got {period!r}")
    months = sorted(month_rows(df)["period"].astype(str).unique())
    if not months:
        raise InputError("the series have no monthly rows (YYYY-MM): nothing to write a release about")
    today = today or date.today()
    current = f"{today.year:04d}-{today.month:02d}"
    if period >= current:
        raise InputError(f"{period} is not closed yet (today is {today.isoformat()}): a release describes a "
                         "month that has ended; choose an earlier --period")
    if period > months[-1]:
        raise InputError(f"{period} is later than the latest month in the data ({months[-1]}): its survey has not "
                         f"been computed yet; choose --period {months[-1]} or earlier")
    have = df[(df["period"] == period) & df["value"].notna()] if "value" in df else df.iloc[:0]
    if have.empty:
        raise InputError(f"no data for {period}: the data cover {months[0]} to {months[-1]}"
                         + (" with a gap here" if months[0] < period else ""))


class Table:
    """The rows of one adjustment split once by (series, group), indexed by period. A (series, group) without
    rows in that adjustment falls back to its unadjusted rows (`adjustment_of` says which was used), so a group
    too short for seasonal adjustment keeps its history."""

    def __init__(self, df: pd.DataFrame, adjustment: str):
        self.adjustment = adjustment
        if "adjustment" in df.columns:
            main = df[df["adjustment"] == adjustment]
            nsa = df[df["adjustment"] == "nsa"] if adjustment != "nsa" else main.iloc[:0]
        else:
            main, nsa = df, df.iloc[:0]
        self.parts = {k: v.set_index("period").sort_index() for k, v in main.groupby(["series", "group"], sort=False)
                      if v["value"].notna().any()}
        self.used = dict.fromkeys(self.parts, adjustment)
        for k, v in nsa.groupby(["series", "group"], sort=False):
            if k not in self.parts:
                self.parts[k] = v.set_index("period").sort_index()
                self.used[k] = "nsa"
        self.empty = df.iloc[:0].set_index("period")

    def get(self, series: str, group: str) -> pd.DataFrame:
        return self.parts.get((series, group), self.empty)

    def adjustment_of(self, series: str, group: str) -> str:
        return self.used.get((series, group), self.adjustment)


def _values(df, series: str, group: str, adjustment: str) -> pd.DataFrame:
    if isinstance(df, Table):
        return df.get(series, group)
    return Table(df[(df["series"] == series) & (df["group"] == group)], adjustment).get(series, group)


def series_facts(df: pd.DataFrame, series: str, group: str, period: str, adjustment: str,
                 methodology=None) -> list[Fact]:
    """Level, change, extreme, crossing, streak and quarterly facts of one series and group. `methodology`
    gives the no-change level (50 or 0), the confidence level and the verb thresholds (defaults otherwise)."""
    rows = _values(df, series, group, adjustment)
    used = df.adjustment_of(series, group) if isinstance(df, Table) else adjustment
    neutral, z = neutral_of(methodology), z_of(methodology)
    thresholds = methodology.release.thresholds if methodology is not None else DEFAULT_THRESHOLDS
    monthly = rows[[len(p) == 7 for p in rows.index]]  # YYYY-MM rows (quarters are YYYYQn)
    if period not in monthly.index or pd.isna(monthly.at[period, "value"]):
        return []
    values = monthly["value"].dropna()
    v = published(values[period])
    se = published(monthly.at[period, "se"]) if "se" in monthly else None
    facts = [Fact("level", series, group, period, {"value": v, "side": side(v, neutral), "se": se,
                                                    "n": _int(monthly.at[period, "n"]) if "n" in monthly else None,
                                                    "adjustment": used})]
    t = to_index(period)
    prev_p = from_index(t - 1)
    if prev_p in values.index:
        prev = published(values[prev_p])
        change = published(v - prev)
        pp = from_index(t - 2)
        prev_change = published(prev - published(values[pp])) if pp in values.index else None
        se_change = monthly.at[period, "se_change"] if "se_change" in monthly else None
        se_change = None if se_change is None or pd.isna(se_change) else float(se_change)
        facts.append(Fact("change", series, group, period,
                          {"value": v, "previous": prev, "change": change,
                           "se_change": published(se_change), "margin": published(z * se_change) if se_change else None,
                           "previous_change": prev_change, "adjustment": used,
                           **classify_move(change, se_change, prev_change, thresholds, z)},
                          {"previous": prev_p}))
        values = _as_months(values)  # rounded once for the three tests below
        ext = n_month_extreme(values, period)
        if ext and ext["months"] >= MIN_EXTREME_MONTHS:
            facts.append(Fact("extreme", series, group, period,
                              {"value": v, "direction": ext["direction"], "months": ext["months"]},
                              {"since": ext["since"], "start": ext["start"]}))
        cr = crossing(values, period, neutral)
        if cr:
            facts.append(Fact("crossing", series, group, period, {"value": v, "side": cr["side"],
                                                                  "months": cr["months"]},
                              {"since": cr["since"], "start": cr["start"]}))
        st = streak(values, period, neutral)
        if st and st["months"] >= MIN_STREAK and not cr:
            facts.append(Fact("streak", series, group, period,
                              {"value": v, "side": st["side"], "months": st["months"], "from_start": st["from_start"]},
                              {"start": st["start"]}))
    q = quarter_fact(rows, series, group, period)
    if q:
        facts.append(q)
    return facts


def _int(x):
    return None if x is None or pd.isna(x) else int(x)


def quarter_label(period: str) -> str:
    t = to_index(period)
    return f"{t // 12}Q{(t % 12) // 3 + 1}"


def quarter_fact(rows: pd.DataFrame, series: str, group: str, period: str) -> Fact | None:
    """When `period` closes a quarter: the quarterly average (as published, else the mean of the three months)
    and its change on the previous quarter, both decided on published values."""
    t = to_index(period)
    if t % 3 != 2:
        return None
    avgs = []
    for end in (t, t - 3):
        q = quarter_label(from_index(end))
        if q in rows.index and pd.notna(rows.at[q, "value"]):
            avgs.append((q, published(rows.at[q, "value"])))
            continue
        months = [from_index(end - k) for k in (2, 1, 0)]
        vals = [rows.at[m, "value"] if m in rows.index else np.nan for m in months]
        if any(pd.isna(x) for x in vals):
            return None
        avgs.append((q, published(float(np.mean(vals)))))
    (q, v), (pq, pv) = avgs
    return Fact("quarter", series, group, period, {"quarter": q, "value": v, "previous_quarter": pq, "previous": pv,
                                                   "change": published(v - pv)})


# ---------------------------------------------------------------------------------------------- cross-series

def movers(df: pd.DataFrame, components: list[str], group: str, period: str, adjustment: str,
           k: int = 2) -> Fact | None:
    """The components with the largest rises and falls on the month (published changes; zeros left out)."""
    t = to_index(period)
    moves = []
    for c in components:
        rows = _values(df, c, group, adjustment)
        if period in rows.index and from_index(t - 1) in rows.index:
            v, p = published(rows.at[period, "value"]), published(rows.at[from_index(t - 1), "value"])
            if v is not None and p is not None:
                moves.append((c, published(v - p), v))
    if not moves:
        return None
    up = sorted([m for m in moves if m[1] > 0], key=lambda m: -m[1])[:k]
    down = sorted([m for m in moves if m[1] < 0], key=lambda m: m[1])[:k]
    if not up and not down:
        return None
    as_list = lambda ms: [{"series": s, "change": c, "value": v} for s, c, v in ms]  # noqa: E731
    return Fact("movers", "components", group, period, {"up": as_list(up), "down": as_list(down)})


def breadth(facts: list[Fact], components: list[str], group: str, period: str) -> Fact | None:
    """How many components are above, below and at 50 (published values)."""
    sides = [f.values["side"] for f in facts if f.kind == "level" and f.group == group and f.series in components]
    if not sides:
        return None
    return Fact("breadth", "components", group, period,
                {"above": sides.count("expansion"), "below": sides.count("contraction"),
                 "at": sides.count("unchanged"), "total": len(sides)})


def contrast(df: pd.DataFrame, series: str, a: str, b: str, period: str, adjustment: str,
             z: float = Z) -> Fact | None:
    """Two groups compared on one series: the gap, and whether it exceeds sampling error (independent samples:
    z * sqrt(se_a^2 + se_b^2), z from the methodology's confidence level)."""
    ra, rb = _values(df, series, a, adjustment), _values(df, series, b, adjustment)
    if period not in ra.index or period not in rb.index:
        return None
    va, vb = published(ra.at[period, "value"]), published(rb.at[period, "value"])
    if va is None or vb is None:
        return None
    sea = ra.at[period, "se"] if "se" in ra else np.nan
    seb = rb.at[period, "se"] if "se" in rb else np.nan
    margin = z * float(np.hypot(sea, seb)) if pd.notna(sea) and pd.notna(seb) else None
    gap = published(va - vb)
    return Fact("contrast", series, f"{a}|{b}", period,
                {"a": a, "b": b, "value_a": va, "value_b": vb, "gap": gap,
                 "margin": published(margin), "within_error": bool(margin is not None and abs(gap) <= margin)})


def shares_fact(df: pd.DataFrame, question, group: str, period: str) -> Fact | None:
    """Shares of respondents (percent, published to one decimal) of a share-only question."""
    rows = df[(df["series"] == question.id) & (df["group"] == group) & (df["period"] == period)]
    if "adjustment" in rows.columns:
        rows = rows[rows["adjustment"] == "nsa"]
    if rows.empty or not {"up", "same", "down"} <= set(rows.columns) or \
            rows[["up", "same", "down"]].isna().all(axis=None):
        return None
    r = rows.iloc[0]
    shares = {code: published(r[col]) for code, col in zip(question.codes, ("up", "same", "down"), strict=False)}
    return Fact("shares", question.id, group, period, {"shares": shares, "n": _int(r.get("n"))})


def build_facts(df: pd.DataFrame, period: str, methodology, adjustment: str | None = None,
                groups: list[str] | None = None, today: date | None = None) -> list[Fact]:
    """Every fact of the release for `period`, in reading order: group `all` first, then the other groups."""
    df = df.copy()
    for c in ("period", "series", "group", "adjustment"):
        if c in df.columns:
            df[c] = df[c].astype(str).astype(object)
    check_period(df, period, today)
    adjustment = adjustment or choose_adjustment(df, period)
    have = set(df["series"].unique())
    composites = composite_order(methodology, have)
    components = [c for c in component_ids(methodology) if c in have]
    present = list(dict.fromkeys(df["group"].unique()))
    groups = groups or (["all"] if "all" in present else []) + [g for g in present if g != "all"]
    facts: list[Fact] = []
    table = Table(df, adjustment)
    for g in groups:
        for s in composites + components:
            facts += series_facts(table, s, g, period, adjustment, methodology)
        mv = movers(table, components, g, period, adjustment)
        if mv:
            facts.append(mv)
        if g == "all":
            br = breadth(facts, components, g, period)
            if br:
                facts.append(br)
    for a, b in methodology.release.contrasts:
        for s in composites:  # the headline first, then the sub-indexes
            c = contrast(table, s, a, b, period, adjustment, z_of(methodology))
            if c:
                facts.append(c)
    for q in methodology.questions:
        if q.shares_only:
            f = shares_fact(df, q, "all", period)
            if f:
                facts.append(f)
    return facts
