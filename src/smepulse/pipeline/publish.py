"""Publish a vintage: compute from the stored responses, add sampling error and seasonal adjustment, store it."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from smepulse.errors import InputError
from smepulse.index.adjusted import FROM_POLICY, add_seasonal
from smepulse.index.compose import SUPPRESSED
from smepulse.index.engine import IndexResult, compute
from smepulse.index.precision import attach, bootstrap
from smepulse.index.weighting import frame_from_methodology, read_frame
from smepulse.methodology import Methodology
from smepulse.methodology.seasonal_policy import SeasonalPolicy
from smepulse.seasonal.adjust import AdjustmentResult, factors_frame, fixed_models, specs_frame, stored_factors
from smepulse.store import Store

DEFAULT_FRAME = "methodology"  # compute, publish and the demo weight to the methodology's targets by default


@dataclass
class Published:
    vintage_id: str
    result: IndexResult
    kind: str
    as_of: datetime


def weighting_frame(frame: str | None, m: Methodology) -> pd.DataFrame | None:
    """The target shares to weight to: 'methodology' (the default: the methodology's own targets, design
    weights when it has none), 'design' (no reweighting) or a frame file. One default for every command."""
    choice = DEFAULT_FRAME if frame is None else str(frame)
    if choice == "design":
        return None
    if choice == "methodology":
        return frame_from_methodology(m) if m.targets else None
    return read_frame(choice, m)


def with_seasonal(m: Methodology, **changes) -> Methodology:
    """The methodology with its seasonal policy changed (e.g. factors='projected'), validated as in the file."""
    policy = SeasonalPolicy.model_validate({**m.seasonal.model_dump(), **changes})
    return m.model_copy(update={"seasonal": policy})


def require_published(result: IndexResult, minimum: int) -> IndexResult:
    """Stop with one clear line when every cell is suppressed (nothing could be published)."""
    s = result.series
    if len(s) and s["value"].isna().all():
        n = int((s["flag"] == SUPPRESSED).sum())
        raise InputError(f"all {n} cells are suppressed: every effective sample is below the publication "
                         f"minimum ({minimum}); add responses or lower it with --min-n")
    return result


def with_precision(result: IndexResult, resp, frame: pd.DataFrame | None, replicates: int | None) -> IndexResult:
    if replicates == 0:
        return result
    errors = bootstrap(resp, frame, replicates=replicates, published=result.series)
    notes = result.notes + [f"sampling error: stratified bootstrap, {replicates or result.methodology.sampling.replicates}"
                            f" replicates over firms (strata: {', '.join(result.methodology.sampling.strata) or 'none'})"]
    return IndexResult(attach(result.series, errors, result.methodology), result.methodology, result.input_hash,
                       notes)


def adjust_with_errors(result: IndexResult, method: str | None = None, holiday: str | None = FROM_POLICY,
                       on_done: Callable | None = None, **adjust_kwargs) -> IndexResult:
    """Add `sa` rows under the methodology's seasonal policy (method and holiday default to it); they carry
    the NSA standard errors (seasonal factors are treated as fixed)."""
    m = result.methodology
    method = method or m.seasonal.method
    adjusted = add_seasonal(result, method=method, holiday=holiday if method == "x13" else None, on_done=on_done,
                            **adjust_kwargs)
    errs = result.series[["period", "series", "group", "se", "se_change"]]
    sa = attach(adjusted.series[adjusted.series["adjustment"] == "sa"], errs, m)
    nsa = adjusted.series[adjusted.series["adjustment"] == "nsa"]
    series = pd.concat([nsa, sa[nsa.columns]], ignore_index=True)
    return IndexResult(series, m, result.input_hash, adjusted.notes)


def flash_months(series: pd.DataFrame, last_final: str | None) -> list[str]:
    """The periods a flash vintage holds: the months after the last month of a final vintage (the latest
    month alone when there is none, or nothing new), and the quarters those months complete. History is
    not republished in a flash."""
    months = sorted(p for p in series["period"].unique() if len(p) == 7)
    if not months:
        return []
    new = [p for p in months if last_final is not None and p > last_final] or [months[-1]]
    quarters = {f"{p[:4]}Q{(int(p[5:7]) - 1) // 3 + 1}" for p in new if int(p[5:7]) % 3 == 0}
    return new + sorted(q for q in quarters if q in set(series["period"]))


def adjust_and_store(store: Store, result: IndexResult, save: Callable[[IndexResult], str], *,
                     survey: str | None = None, review: bool = False, on_done: Callable | None = None,
                     **adjust_kwargs) -> tuple[str, IndexResult]:
    """The SA step of a vintage under the policy's partial concurrent adjustment: reuse the decisions stored
    with the survey's latest vintage (model, outliers, holiday regressor, seasonality; parameters
    re-estimated) unless `review` (or the policy says fixed_model: false), then save the vintage with
    `save(result) -> vintage_id` and store its specs and factors next to it. Under `factors: projected` the
    factors stored with that vintage (the review's year-ahead projection) are applied unchanged instead."""
    m = result.methodology
    specs = store.sa_specs(survey or m.name)
    prior = {} if review or not m.seasonal.fixed_model else fixed_models(specs)
    # projected factors: the factors stored with the latest vintage (the review's projection carried forward)
    stored = stored_factors(store.sa_factors(str(specs["vintage_id"].iloc[0]))) \
        if prior and m.seasonal.factors == "projected" and len(specs) else {}
    done: list[AdjustmentResult] = []

    def collect(r: AdjustmentResult) -> None:
        done.append(r)
        if on_done is not None:
            on_done(r)

    adjusted = adjust_with_errors(result, on_done=collect, fixed=prior, stored=stored, **adjust_kwargs)
    vid = save(adjusted)
    store.save_sa_specs(vid, specs_frame(done), factors_frame(done))
    return vid, adjusted


def publish(store: Store, m: Methodology, *, kind: str = "final", cutoff: str | None = None,
            as_of: datetime | None = None, seasonal: bool = True, replicates: int | None = None,
            frame: str | None = DEFAULT_FRAME, min_n: int | None = None, on_adjusted: Callable | None = None,
            note: str = "", review: bool = False) -> Published:
    """Compute every index from the store's responses (only those received by `cutoff` for a flash),
    attach standard errors, adjust seasonally (SA rows carry the NSA standard error: seasonal factors are
    treated as fixed), and store the lot as a new vintage. Earlier vintages are never changed.

    frame: 'methodology' (default, as `compute`), 'design' or a frame file. A flash vintage holds the
    flash months only (`flash_months`): the months not yet in a final vintage published by `as_of`, or
    the latest month.

    The seasonal models are those of the last vintage (parameters re-estimated); `review=True` re-identifies
    them (the annual review). The SA specs and factors are stored with the vintage."""
    if kind not in ("final", "flash"):
        raise ValueError("kind must be 'final' or 'flash'")
    resp = store.responses(m, cutoff=cutoff)
    weights = weighting_frame(frame, m)
    point = require_published(compute(resp, weights, min_n=min_n),
                              m.publication_minimum if min_n is None else min_n)
    result = with_precision(point, resp, weights, replicates)
    label = f"{kind}" + (f", responses received by {cutoff}" if cutoff else "")

    stored: list[IndexResult] = []

    def save(r: IndexResult) -> str:
        if kind == "flash":  # adjusted on the full history, then only the flash months are stored
            months = flash_months(r.series, store.last_final_month(m.name, as_of))
            r = IndexResult(r.series[r.series["period"].isin(months)].reset_index(drop=True),
                            m, r.input_hash, r.notes + [f"flash months: {', '.join(months)}"])
        stored.append(r)
        return store.save_series(r, kind=kind, as_of=as_of, note=note or label)

    if seasonal:
        vid, _ = adjust_and_store(store, result, save, review=review, on_done=on_adjusted)
    else:
        vid = save(result)
    return Published(vid, stored[-1], kind, as_of or datetime.now())
