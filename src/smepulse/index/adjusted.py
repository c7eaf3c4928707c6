"""Seasonally adjusted index series: adjust the question indices, then compose (indirect, the default).

Indirect adjustment is what ISM and the NBS do: the adjusted headline is then exactly the weighted mean of the
adjusted components, so readers can reproduce it. `approach="direct"` adjusts composites themselves.

The methodology's `seasonal:` policy decides what is published as adjusted (docs/seasonal.md): series shorter
than its minimum span get no SA rows; series without identifiable seasonality get SA = NSA, flagged
`not_seasonal`; suppressed NSA cells enter X-13 as gaps and stay suppressed in the SA series, and the SA
composite of a group uses, in each month, exactly the questions whose NSA cells are publishable that month.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd

from smepulse.index.compose import compose, quarterly
from smepulse.index.engine import COLUMNS, SUPPRESSED, IndexResult
from smepulse.methodology.seasonal_policy import SeasonalPolicy
from smepulse.seasonal.adjust import AdjustmentResult, adjust_many

Approach = Literal["indirect", "direct"]
FROM_POLICY = "policy"
NOT_SEASONAL = "not_seasonal"


def add_seasonal(result: IndexResult, method: str | None = None, holiday: str | None = FROM_POLICY,
                 approach: Approach = "indirect", workers: int | None = None,
                 on_done: Callable[[AdjustmentResult], None] | None = None,
                 policy: SeasonalPolicy | None = None, **adjust_kwargs) -> IndexResult:
    """Return the result with `adjustment = sa` rows added next to the `nsa` ones.

    method and holiday default to the methodology's seasonal policy (holiday=None: no holiday regressor).
    A series that is not adjusted (too short, failed) gets no `sa` rows and the reason is in the result's
    notes: an unadjusted number is never labelled adjusted. `adjust_kwargs` go to adjust_series.
    """
    m = result.methodology
    policy = policy or m.seasonal
    method = method or policy.method
    holiday = policy.holiday if holiday == FROM_POLICY else holiday
    s = result.series
    monthly = s[(s["period"].str.len() == 7) & (s["adjustment"] == "nsa")]
    # Series with at least one value; suppressed cells (no value) go to X-13 as gaps.
    monthly = monthly[monthly.groupby(["series", "group"])["value"].transform("count") > 0]
    composites = [c.id for c in m.composites]
    to_adjust = monthly[~monthly["series"].isin(composites)] if approach == "indirect" else monthly
    notes = list(result.notes)
    if to_adjust.empty:
        return IndexResult(s, m, result.input_hash, [*notes, "no seasonally adjusted series: nothing to adjust"])
    adjusted = adjust_many(to_adjust[["period", "series", "group", "value"]], workers=workers, errors="warn",
                           on_done=on_done, method=method, holiday=holiday, policy=policy, mode=policy.mode,
                           **adjust_kwargs)
    frames = []
    for r in adjusted:
        if r.status in ("too_short", "not_adjusted"):
            notes.append(f"{r.series} [{r.group}]: no seasonally adjusted series ({r.note})")
            continue
        if r.warnings:
            notes.append(f"{r.series} [{r.group}]: {r.note}")
        frames.append(pd.DataFrame({"period": r.sa.index, "series": r.series, "group": r.group,
                                    "value": r.sa.to_numpy(),
                                    "_flag": NOT_SEASONAL if r.status == NOT_SEASONAL else ""}))
    if not frames:
        return IndexResult(s, m, result.input_hash, notes)
    sa = pd.concat(frames, ignore_index=True)
    sa = sa[sa["value"].notna()]  # gaps: the SA value is missing wherever the NSA one is
    if approach == "indirect" and composites:
        comp = compose(sa[["period", "series", "group", "value"]], m)
        comp = _same_questions_as_nsa(comp[comp["value"].notna()], sa, monthly, m, notes)
        sa = pd.concat([sa, comp.assign(_flag="")], ignore_index=True)
    # Sample sizes and flags are those of the unadjusted cell; shares are not adjusted.
    sizes = s[s["adjustment"] == "nsa"][["period", "series", "group", "n", "n_eff", "flag"]]
    sa = sa.merge(sizes, on=["period", "series", "group"], how="left")
    sa = sa[sa["flag"] != SUPPRESSED]
    sa["flag"] = np.where(sa.pop("_flag") == NOT_SEASONAL, NOT_SEASONAL, sa["flag"].fillna(""))
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


def _same_questions_as_nsa(comp: pd.DataFrame, sa: pd.DataFrame, nsa: pd.DataFrame, m, notes: list[str]):
    """Drop SA composites of a (period, group) whose question set differs from the NSA one.

    compose() renormalises over the components present, so with SA values masked where the NSA cell is
    suppressed both sides use the same questions; they differ only when a question has an NSA value but no
    SA series (it could not be adjusted). Such months get no SA composite rather than a different one.
    """
    questions = {t.series for c in m.composites for t in c.terms} - {c.id for c in m.composites}
    key = ["period", "group", "series"]
    have_nsa = set(map(tuple, nsa.loc[nsa["value"].notna() & nsa["series"].isin(questions), key].to_numpy()))
    have_sa = set(map(tuple, sa.loc[sa["series"].isin(questions), key].to_numpy()))
    differ = {(p, g) for p, g, _ in have_nsa ^ have_sa}
    if not differ:
        return comp
    bad = comp[["period", "group"]].apply(tuple, axis=1).isin(differ)
    lost = sorted({q for _, _, q in have_nsa - have_sa})
    notes.append(f"no SA composites in {len(differ)} period-group cells: question(s) {', '.join(lost)} have "
                 "unadjusted values there but no seasonally adjusted series")
    return comp[~bad]
