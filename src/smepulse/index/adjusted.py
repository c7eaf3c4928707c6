"""Seasonally adjusted index series: adjust the question indices, then compose (indirect, the default).

Indirect adjustment is what ISM and the NBS do: the adjusted headline is then exactly the weighted mean of the
adjusted components, so readers can reproduce it. `approach="direct"` adjusts composites themselves.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd

from smepulse.index.compose import compose, quarterly
from smepulse.index.engine import COLUMNS, SUPPRESSED, IndexResult
from smepulse.seasonal.adjust import AdjustmentResult, adjust_many

Approach = Literal["indirect", "direct"]


def add_seasonal(result: IndexResult, method: str = "x13", holiday: str | None = "cny",
                 approach: Approach = "indirect", workers: int | None = None,
                 on_done: Callable[[AdjustmentResult], None] | None = None) -> IndexResult:
    """Return the result with `adjustment = sa` rows added next to the `nsa` ones.

    A series that cannot be adjusted (gaps from suppressed months, too short) gets no `sa` rows, and the
    reason is listed in the result's notes: an unadjusted number is never labelled adjusted.
    """
    m = result.methodology
    s = result.series
    monthly = s[(s["period"].str.len() == 7) & (s["adjustment"] == "nsa") & s["value"].notna()]
    composites = [c.id for c in m.composites]
    to_adjust = monthly[~monthly["series"].isin(composites)] if approach == "indirect" else monthly
    adjusted = adjust_many(to_adjust[["period", "series", "group", "value"]], workers=workers, errors="warn",
                           method=method, holiday=holiday, on_done=on_done)
    notes = list(result.notes)
    frames = []
    for r in adjusted:
        if r.method == "none":
            notes.append(f"{r.series} [{r.group}]: no seasonally adjusted series ({r.note})")
            continue
        if r.warnings:
            notes.append(f"{r.series} [{r.group}]: {r.note}")
        frames.append(pd.DataFrame({"period": r.sa.index, "series": r.series, "group": r.group,
                                    "value": r.sa.to_numpy()}))
    if not frames:
        return IndexResult(s, m, result.input_hash, notes)
    sa = pd.concat(frames, ignore_index=True)
    if approach == "indirect" and composites:
        comp = compose(sa, m)
        sa = pd.concat([sa, comp[comp["value"].notna()]], ignore_index=True)
    # Sample sizes and flags are those of the unadjusted cell; shares are not adjusted.
    sizes = s[s["adjustment"] == "nsa"][["period", "series", "group", "n", "n_eff", "flag"]]
    sa = sa.merge(sizes, on=["period", "series", "group"], how="left")
    sa = sa[sa["flag"] != SUPPRESSED]
    sa["adjustment"] = "sa"
    for c in ("up", "same", "down", "se", "se_change", "ci_low", "ci_high"):
        sa[c] = np.nan  # shares are not adjusted; sampling error is attached by the caller
    sa = pd.concat([sa, quarterly(sa).assign(flag="")], ignore_index=True)
    out = pd.concat([s, sa[COLUMNS]], ignore_index=True)
    order = {k: i for i, k in enumerate(dict.fromkeys(s["series"]))}
    gorder = {k: i for i, k in enumerate(dict.fromkeys(s["group"]))}
    out = out.assign(_s=out["series"].map(order), _g=out["group"].map(gorder), _a=out["adjustment"] == "sa")
    out = out.sort_values(["period", "_s", "_g", "_a"], kind="stable").drop(columns=["_s", "_g", "_a"])
    return IndexResult(out.reset_index(drop=True), m, result.input_hash, notes)
