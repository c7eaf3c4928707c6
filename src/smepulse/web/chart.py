"""The explorer's chart: a monthly line with its confidence band, as inline SVG drawn here (no JavaScript, no CDN).

Months sit at their place in time: a month that is not published (or missing) breaks the line and its band
instead of joining its neighbours."""
from __future__ import annotations

from html import escape

from smepulse.periods import to_index


def _runs(points: list[tuple[int, dict]]) -> list[list[tuple[int, dict]]]:
    """Consecutive published months, each run a piece of line."""
    runs: list[list[tuple[int, dict]]] = []
    for k, r in points:
        if r["value"] is None:
            continue
        if runs and k == runs[-1][-1][0] + 1:
            runs[-1].append((k, r))
        else:
            runs.append([(k, r)])
    return runs


def _span(r: dict) -> tuple[float, float, float]:
    return (r["value"], r["ci_low"] if r["ci_low"] is not None else r["value"],
            r["ci_high"] if r["ci_high"] is not None else r["value"])


def _lone(x: float, y: float, y_low: float, y_high: float) -> str:
    """A month between two gaps: a point with its interval as a bar."""
    return (f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y_low:.1f}" y2="{y_high:.1f}" stroke="#9ecae1" stroke-width="6"/>'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#08519c"/>')


def chart_svg(rows: list[dict], width: int = 720, height: int = 260, labels: int = 6) -> str:
    """`rows`: monthly rows (period YYYY-MM, value, ci_low, ci_high) in time order; '' when under two values."""
    points = [(to_index(r["period"]), r) for r in rows]
    shown = [r for _, r in points if r["value"] is not None]
    if len(shown) < 2:
        return ""
    lows = [r["ci_low"] if r["ci_low"] is not None else r["value"] for r in shown]
    highs = [r["ci_high"] if r["ci_high"] is not None else r["value"] for r in shown]
    lo, hi = min(lows), max(highs)
    pad = (hi - lo) * 0.08 or 1.0
    lo, hi = lo - pad, hi + pad
    left, right, bottom = 44, 8, 24
    first, last = points[0][0], points[-1][0]

    def x(k: int) -> float:
        return left + (k - first) * (width - left - right) / max(1, last - first)

    def y(v: float) -> float:
        return 8 + (hi - v) * (height - bottom - 8) / (hi - lo)

    parts = []
    for run in _runs(points):
        top = [f"{x(k):.1f},{y(r['ci_high'] if r['ci_high'] is not None else r['value']):.1f}" for k, r in run]
        low = [f"{x(k):.1f},{y(r['ci_low'] if r['ci_low'] is not None else r['value']):.1f}" for k, r in run]
        line = " ".join(f"{x(k):.1f},{y(r['value']):.1f}" for k, r in run)
        parts.append(f'<polygon points="{" ".join(top + low[::-1])}" fill="#9ecae1" opacity="0.5"/>'
                     f'<polyline points="{line}" fill="none" stroke="#08519c" stroke-width="2"/>'
                     if len(run) > 1 else _lone(x(run[0][0]), *(y(v) for v in _span(run[0][1]))))
    ticks = "".join(f'<text x="4" y="{y(v) + 4:.1f}" font-size="11">{v:.1f}</text>'
                    f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
                    for v in (lo + pad, (lo + hi) / 2, hi - pad))
    step = max(1, len(points) // labels)
    marks = "".join(
        f'<text x="{x(k):.1f}" y="{height - 6}" font-size="11" '
        f'text-anchor="{"end" if x(k) > width - 40 else "middle"}">{escape(r["period"])}</text>'
        for i, (k, r) in enumerate(points) if i % step == 0)
    return f'<svg viewBox="0 0 {width} {height}" role="img" class="chart">{ticks}{"".join(parts)}{marks}</svg>'
