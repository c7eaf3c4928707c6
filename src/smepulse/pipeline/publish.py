"""Publish a vintage: compute from the stored responses, add sampling error and seasonal adjustment, store it."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from smepulse.index.adjusted import FROM_POLICY, add_seasonal
from smepulse.index.engine import IndexResult, compute
from smepulse.index.precision import attach, bootstrap
from smepulse.index.weighting import frame_from_methodology
from smepulse.methodology import Methodology
from smepulse.store import Store


@dataclass
class Published:
    vintage_id: str
    result: IndexResult
    kind: str
    as_of: datetime


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


def publish(store: Store, m: Methodology, *, kind: str = "final", cutoff: str | None = None,
            as_of: datetime | None = None, seasonal: bool = True, replicates: int | None = None,
            weighting: str = "methodology", on_adjusted: Callable | None = None, note: str = "") -> Published:
    """Compute every index from the store's responses (only those received by `cutoff` for a flash),
    attach standard errors, adjust seasonally (SA rows carry the NSA standard error: seasonal factors are
    treated as fixed), and store the lot as a new vintage. Earlier vintages are never changed.

    A flash vintage holds the flash months only (`flash_months`): the months not yet in a final vintage
    published by `as_of`, or the latest month."""
    if kind not in ("final", "flash"):
        raise ValueError("kind must be 'final' or 'flash'")
    resp = store.responses(m, cutoff=cutoff)
    frame = frame_from_methodology(m) if weighting == "methodology" and m.targets else None
    result = with_precision(compute(resp, frame), resp, frame, replicates)
    if seasonal:
        result = adjust_with_errors(result, on_done=on_adjusted)
    if kind == "flash":
        months = flash_months(result.series, store.last_final_month(m.name, as_of))
        result = IndexResult(result.series[result.series["period"].isin(months)].reset_index(drop=True),
                             m, result.input_hash, result.notes + [f"flash months: {', '.join(months)}"])
    label = f"{kind}" + (f", responses received by {cutoff}" if cutoff else "")
    vid = store.save_series(result, kind=kind, as_of=as_of, note=note or label)
    return Published(vid, result, kind, as_of or datetime.now())
