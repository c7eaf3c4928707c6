"""Adjust one series or a tidy frame of many under the SA policy: X-13 (X-11 or SEATS), STL on request, or none."""
from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from smepulse.errors import SeasonalError
from smepulse.methodology.seasonal_policy import SeasonalPolicy
from smepulse.seasonal.holidays import holiday_regressor
from smepulse.seasonal.spec import FORECAST_MONTHS, Mode, SpecOptions, build_spec
from smepulse.seasonal.stl import MIN_STL_MONTHS, stl_decompose
from smepulse.seasonal.validate import label, monthly_series
from smepulse.seasonal.x13 import run_spec

Method = Literal["x13", "stl", "none"]
MIN_X13_MONTHS = 36  # X-13 refuses fewer than 3 complete years
DEFAULT_POLICY = SeasonalPolicy()
DIAGNOSTIC_KEYS = ("f3.q", "f3.m07", "qssadj", "qsori", "aicc", "finmode", "automdl", "arimamdl", "f2.idseasonal",
                   "f2.fsd8", "f2.kw", "f2.msf")


@dataclass(frozen=True)
class FixedModel:
    """What stays fixed between annual reviews (partial concurrent adjustment, ESS guidelines item 3.2):
    the seasonality decision, the ARIMA orders, the outliers and the holiday regressor; X-13 re-estimates
    their parameters (coefficients, factors) at every run."""

    status: str                        # adjusted | not_seasonal
    model: str = ""                    # e.g. "(0 1 1)(0 1 1)"
    outliers: tuple[str, ...] = ()     # X-13 names: AO2016.May, LS2020.Nov, ...
    holiday: str = ""                  # holiday:shape:window (e.g. cny:before:20), "" = no holiday regressor


@dataclass
class AdjustmentResult:
    """One adjusted series: the components, the model X-13 chose, and what went wrong."""

    series: str
    group: str
    method: str                      # "x13-x11", "x13-seats", "stl" or "none"
    mode: str                        # "additive" or "multiplicative" (as finally used)
    nsa: pd.Series
    sa: pd.Series
    factor: pd.Series                # combined adjustment factor (seasonal + holiday)
    trend: pd.Series
    irregular: pd.Series
    seasonal: pd.Series              # seasonal factor alone (no holiday)
    model: str = ""
    outliers: list[str] = field(default_factory=list)
    regression: pd.DataFrame = field(default_factory=pd.DataFrame)
    diagnostics: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    spec: str = ""
    # adjusted | too_short (no SA series) | not_seasonal (SA = NSA) | not_adjusted (method none, errors)
    status: str = "adjusted"
    holiday: str = ""                # the holiday regressor kept, as holiday:shape:window; "" = none
    reviewed: bool = True            # False when the model was kept from a stored specification
    # factors after the last month (X-13's year-ahead projection, or what is left of a stored one): columns
    # factor, seasonal, 'YYYY-MM' index; stored with the vintage for `factors: projected`
    projected: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["factor", "seasonal"]))

    @property
    def fixed_model(self) -> FixedModel | None:
        """The decisions to keep until the next review (None when nothing was identified)."""
        if self.status == "not_seasonal":
            return FixedModel("not_seasonal")
        if self.status == "adjusted" and self.method.startswith("x13"):
            return FixedModel("adjusted", self.model, tuple(self.outliers), self.holiday)
        return None

    @property
    def note(self) -> str:
        return "; ".join(self.warnings)

    def summary(self) -> str:
        lines = [f"{label(self.series, self.group)}: {self.method}, {self.mode}, "
                 f"{self.nsa.index[0]}..{self.nsa.index[-1]} ({len(self.nsa)} months)"]
        if self.model:
            lines.append(f"  ARIMA model {self.model}; outliers: {', '.join(self.outliers) or 'none'}")
        for _, r in self.regression.iterrows():
            if r["variable"] not in self.outliers:
                lines.append(f"  {r['variable']}: {r['estimate']:.4g} (t = {r['t']:.2f})")
        if "f3.q" in self.diagnostics:
            lines.append(f"  M-statistics Q = {self.diagnostics['f3.q']}")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """Tidy rows: period, series, group, adjustment (nsa|sa), value, seasonal_factor, trend, ..."""
        base = pd.DataFrame({"period": self.nsa.index, "series": self.series, "group": self.group,
                             "seasonal_factor": self.factor.to_numpy(),
                             "trend": self.trend.to_numpy(), "method": self.method,
                             "note": self.note})
        nsa = base.assign(adjustment="nsa", value=self.nsa.to_numpy())
        sa = base.assign(adjustment="sa", value=self.sa.to_numpy())
        if self.status == "too_short":  # no SA series below the minimum span: NSA rows only
            sa = sa.iloc[:0]
        cols = ["period", "series", "group", "adjustment", "value", "seasonal_factor", "trend",
                "method", "note"]
        return pd.concat([nsa, sa], ignore_index=True)[cols]


def adjust_series(values: pd.Series, *, series: str = "series", group: str = "",
                  method: Method = "x13", mode: Mode = "additive", holiday: str | None = None,
                  holiday_window: int | None = None, options: SpecOptions | None = None,
                  regressors: pd.DataFrame | None = None,
                  policy: SeasonalPolicy | None = None, fixed: FixedModel | None = None,
                  stored: pd.DataFrame | None = None) -> AdjustmentResult:
    """Seasonally adjust one monthly series indexed by 'YYYY-MM' periods, under a written policy.

    `policy` (the methodology's `seasonal:` section; defaults when None) sets the minimum span, the
    identification test and the share of gaps accepted; method, mode and holiday are the arguments.
    - fewer than policy.min_span months: status "too_short", no SA series (never an STL fallback);
    - X-13's diagnostics find no identifiable seasonality: status "not_seasonal", SA = NSA;
    - gaps (NaN or absent months, at most policy.max_missing_share) are estimated by regARIMA and the
      SA value stays missing where the NSA one is.
    holiday: 'cny' tries every shape of policy.cny_shapes with every window of policy.cny_windows (or
    holiday_window alone) and keeps the one with the lowest AICc, or none if no candidate beats the model
    without a regressor; 'cny:after' or 'cny:after:15' tests that shape alone. Other candidates than the
    first are tried only for a series found seasonal.
    method="stl" runs STL only because the caller asked for it (24 months or more).
    `fixed`: the decisions of the last review (FixedModel): the seasonality decision, ARIMA orders,
    outliers and holiday regressor are kept and only their parameters re-estimated.
    `stored`: the factors stored at the last review (columns factor, seasonal; 'YYYY-MM' index, projection
    included). With policy.factors == "projected" and a fixed model, they are applied unchanged when they
    cover every month (SA = NSA - factor, or NSA / factor); otherwise X-13 runs as under "concurrent".
    `regressors`: user regressors (columns, 'YYYY-MM' index) covering the series plus the forecast
    horizon (12 months for X-11, 36 for SEATS); X-13 estimates them with options.usertype.
    Raises SeasonalError (naming the series) on bad input or when X-13 fails.
    """
    if method not in ("x13", "stl", "none"):
        raise SeasonalError(f"method must be x13, stl or none, got '{method}'")
    policy = policy or DEFAULT_POLICY
    windows = policy.cny_windows if holiday_window is None else (holiday_window,)
    full = monthly_series(values.index, values.to_numpy(), series=series, group=group,
                          max_missing_share=policy.max_missing_share if method == "x13" else 0.0)
    who = label(series, group)
    observed = full.index[full.notna()]
    y = full.loc[observed[0]:observed[-1]]  # leading and trailing missing months are not adjusted
    if mode == "multiplicative" and (y <= 0).any():
        raise SeasonalError(f"{who}: multiplicative adjustment needs positive values "
                            f"(min {y.min():g}); use mode='additive' for indices and balances")
    warnings: list[str] = []
    n = len(y)
    if method == "x13" and n < policy.min_span:
        warnings.append(f"only {n} months (the policy needs {policy.min_span}): no seasonally adjusted "
                        "series, the unadjusted one is published")
        return _unadjusted(full, series, group, mode, warnings, status="too_short")
    if method == "stl" and n < MIN_STL_MONTHS:
        warnings.append(f"only {n} months (STL needs {MIN_STL_MONTHS}): no seasonally adjusted series")
        return _unadjusted(full, series, group, mode, warnings, status="too_short")
    if (holiday or regressors is not None) and method != "x13":
        warnings.append("regressors ignored: only X-13 estimates holiday and user regressor effects")
    if method == "none":
        return _unadjusted(full, series, group, mode, warnings, status="not_adjusted")
    if method == "stl":
        return _stl(y, series, group, mode, warnings)
    opts = replace(options or SpecOptions(), mode=mode)
    if fixed is not None and fixed.status == "not_seasonal":
        kept = _unadjusted(full, series, group, mode, warnings, status="not_adjusted")
        return replace(kept, status="not_seasonal", reviewed=False,
                       warnings=[*warnings, "not seasonal (decision kept from the last review); SA = NSA"])
    if fixed is not None and fixed.status == "adjusted" and fixed.model and policy.factors == "projected":
        kept = _projected(y, full, series, group, mode, stored, warnings, fixed)
        if kept is not None:
            return kept
    if fixed is not None and fixed.status == "adjusted" and fixed.model:
        opts = replace(opts, arima=fixed.model, outliers=(),
                       variables=(*opts.variables, *(o.lower() for o in fixed.outliers)))
        result = _x13(y, series, group, opts, fixed.holiday or None, windows[0], warnings, regressors,
                      test_holiday=False)
        result.reviewed = False
        result.outliers = list(fixed.outliers)
        result.diagnostics["identification"] = "decision kept from the last review"
        return _reindexed(result, full)
    candidates = holiday_candidates(holiday, windows, policy.cny_shapes) if holiday else [None]
    result = _x13(y, series, group, opts, candidates[0], windows[0], list(warnings), regressors)
    if len(candidates) > 1 and seasonality_identified(result.diagnostics, policy)[0]:
        # Other shapes are tried only for a seasonal series: a series found not seasonal is published
        # unadjusted whatever its holiday regressor, so the extra X-13 runs would change nothing.
        result = _best_holiday(y, series, group, opts, candidates, warnings, regressors, first=result)
    seasonal, why = seasonality_identified(result.diagnostics, policy)
    result.diagnostics["identification"] = why
    if not seasonal:
        result = _not_seasonal(result, why)
    return _reindexed(result, full)


def _projected(y: pd.Series, full: pd.Series, series: str, group: str, mode: str, stored: pd.DataFrame | None,
               warnings: list[str], fixed: FixedModel) -> AdjustmentResult | None:
    """SA from the factors stored at the last review (projection included), or None (with a warning) when
    they do not cover every month: the caller then adjusts concurrently."""
    last = "none stored" if stored is None or stored.empty else f"they end at {max(stored.index)}"
    if stored is None or not y.index.isin(stored.dropna(subset=["factor"]).index).all():
        warnings.append(f"projected factors do not cover {y.index[0]}..{y.index[-1]} ({last}): factors "
                        "re-estimated concurrently until the next review")
        return None
    factor, seasonal = stored["factor"].reindex(y.index), stored["seasonal"].reindex(y.index)
    sa = y / factor if mode == "multiplicative" else y - factor
    nan = pd.Series(np.nan, index=y.index)
    rest = stored[stored.index > y.index[-1]][["factor", "seasonal"]]
    r = AdjustmentResult(series, group, "x13-projected", mode, y, sa, factor, nan, nan, seasonal,
                         warnings=warnings, reviewed=False, projected=rest, model=fixed.model,
                         outliers=list(fixed.outliers), holiday=fixed.holiday,
                         diagnostics={"identification": "decision kept from the last review",
                                      "factors": f"projected at the last review, through {max(stored.index)}"})
    return _reindexed(r, full)


def _reindexed(r: AdjustmentResult, full: pd.Series) -> AdjustmentResult:
    """Back onto the full span; the SA value is missing wherever the NSA one is (gaps stay unpublished)."""
    sa = r.sa.reindex(full.index).where(full.notna())
    return replace(r, nsa=full, sa=sa, factor=r.factor.reindex(full.index), trend=r.trend.reindex(full.index),
                   irregular=r.irregular.reindex(full.index), seasonal=r.seasonal.reindex(full.index))


def _pair(raw: str) -> tuple[float, float]:
    """'122.033    0.00' -> (statistic, p-value) as X-13 writes them in the .udg file."""
    parts = raw.split()
    try:
        return float(parts[0]), float(parts[1])
    except (IndexError, ValueError):
        return float("nan"), float("nan")


def seasonality_identified(diagnostics: dict[str, str], policy: SeasonalPolicy) -> tuple[bool, str]:
    """Is there identifiable seasonality, by the policy's test on X-13's own diagnostics? (yes/no, why)

    combined: X-13's combined test (f2.idseasonal); m7: M7 < m7_max and the stable F-test (table D8,
    p-value in percent in the .udg file) below f_pvalue; qs: QS on the original series below qs_pvalue.
    SEATS runs have no X-11 tables, so combined and m7 fall back to QS there.
    """
    f_stat, f_p = _pair(diagnostics.get("f2.fsd8", ""))
    kw_stat, kw_p = _pair(diagnostics.get("f2.kw", ""))
    qs_stat, qs_p = _pair(diagnostics.get("qsori", ""))
    m7 = float(diagnostics.get("f3.m07", "nan") or "nan")
    facts = (f"combined test {diagnostics.get('f2.idseasonal', 'n/a')}, stable F = {f_stat:.2f} (p {f_p / 100:.3g}), "
             f"Kruskal-Wallis p {kw_p / 100:.3g}, M7 = {m7:.2f}, QS p {qs_p:.3g}")
    test = policy.identification
    if test in ("combined", "m7") and "f2.idseasonal" not in diagnostics:
        test = "qs"
    if test == "none":
        ok = True
    elif test == "combined":
        ok = diagnostics["f2.idseasonal"].strip().lower().startswith("yes")
    elif test == "m7":
        ok = bool(m7 < policy.m7_max and f_p / 100 < policy.f_pvalue)
    else:
        ok = bool(qs_p < policy.qs_pvalue)
    verdict = "identifiable seasonality" if ok else "no identifiable seasonality"
    return ok, f"{verdict} ({test} test: {facts})"


def _not_seasonal(r: AdjustmentResult, why: str) -> AdjustmentResult:
    neutral = 1.0 if r.mode == "multiplicative" else 0.0
    flat = pd.Series(neutral, index=r.nsa.index)
    return replace(r, method="none", status="not_seasonal", sa=r.nsa.copy(), factor=flat, seasonal=flat,
                   warnings=[*r.warnings, f"not seasonal: {why}; SA = NSA"])


def _unadjusted(y, series, group, mode, warnings, status="not_adjusted") -> AdjustmentResult:
    neutral = 1.0 if mode == "multiplicative" else 0.0
    flat = pd.Series(neutral, index=y.index)
    nan = pd.Series(np.nan, index=y.index)
    sa = y.copy() if status == "not_adjusted" else nan
    return AdjustmentResult(series, group, "none", mode, y, sa, flat, nan, nan, flat,
                            warnings=warnings, status=status)


def _stl(y, series, group, mode, warnings) -> AdjustmentResult:
    mult = mode == "multiplicative"
    if mode == "auto":
        warnings.append("STL uses additive mode (mode=auto needs X-13's test)")
    warnings.append("adjusted with STL at the user's request (not X-13; no identification test)")
    parts = stl_decompose(y, multiplicative=mult)
    return AdjustmentResult(series, group, "stl", "multiplicative" if mult else "additive", y,
                            parts["sa"], parts["factor"], parts["trend"], parts["irregular"],
                            parts["factor"], warnings=warnings)


def _user_regressors(user: pd.DataFrame, y: pd.Series, end: str, who: str) -> pd.DataFrame:
    """The user's regressors over the series span plus forecast horizon, or a clear refusal."""
    need = pd.period_range(y.index[0], end, freq="M").strftime("%Y-%m")
    user = user.copy()
    user.index = [str(p) for p in user.index]
    missing = need.difference(user.dropna().index)
    if len(missing):
        raise SeasonalError(f"{who}: user regressors must cover {need[0]}..{end} (the series plus "
                            f"the forecast horizon); missing {missing[0]}..{missing[-1]}")
    return user.loc[list(need)].astype(float)


def _x13(y, series, group, opts: SpecOptions, holiday, window, warnings,
         user: pd.DataFrame | None = None, test_holiday: bool = True) -> AdjustmentResult:
    who = label(series, group)
    end = (pd.Period(y.index[-1], freq="M") + FORECAST_MONTHS[opts.decomposition]).strftime("%Y-%m")
    regressors = _user_regressors(user, y, end, who) if user is not None else None
    holiday_key = ""
    if holiday:
        name, shape, window = parse_holiday(holiday, window)
        holiday_key = f"{name}:{shape}:{window}"
        try:
            reg = holiday_regressor(name, y.index[0], end, window=window, shape=shape)
        except SeasonalError as exc:
            raise SeasonalError(f"{who}: {exc}") from None
        regressors = reg.to_frame() if regressors is None else regressors.join(reg)
        holiday_col = str(reg.name)
        # X-13 keeps the regressor only if AICc says so (at a review; between reviews the decision is kept).
        opts = replace(opts, aictest_user=test_holiday)
    spec = build_spec(y, opts, title=f"{series} {group}".strip(), regressors=regressors)
    out = run_spec(spec, label=who)
    sa, factor, seasonal = out.table("sa"), out.table("factor"), out.table("seasonal")
    if not y.index.isin(sa.index).all():
        raise SeasonalError(f"{who}: X-13 returned {len(sa)} adjusted months for {len(y)} input")
    sa = sa.loc[y.index]  # SEATS appends its forecasts (appendfcst) to the SA table too
    ahead = factor.index[factor.index > y.index[-1]]
    projected = pd.DataFrame({"factor": factor.loc[ahead], "seasonal": seasonal.reindex(ahead)})
    factor, seasonal = factor.loc[y.index], seasonal.reindex(y.index)
    # finmode says what X-13 finally used (it matters for mode="auto"); absent when forced additive.
    final = out.udg.get("finmode", "")
    mode = ("multiplicative" if final.startswith(("mult", "log"))
            else "additive" if final else opts.mode)
    warnings += [m for m in out.messages if m.startswith("WARNING")]
    diagnostics = {k: out.udg[k] for k in DIAGNOSTIC_KEYS if k in out.udg}
    kept = False
    if holiday:
        kept = bool((out.regression["variable"] == holiday_col).any())
        diagnostics["holiday"] = f"{holiday_key}: {'kept' if kept else 'dropped by AICc (no effect found)'}"
    gaps = int(y.isna().sum())
    if gaps:
        warnings.append(f"{gaps} missing month(s) estimated by regARIMA; their SA values are not published")
    return AdjustmentResult(series, group, f"x13-{opts.decomposition}", mode, y, sa, factor,
                            out.table("trend").reindex(y.index), out.table("irregular").reindex(y.index), seasonal,
                            model=out.model, outliers=out.outliers, regression=out.regression,
                            diagnostics=diagnostics, warnings=warnings, spec=spec,
                            holiday=holiday_key if kept else "", projected=projected)


def holiday_candidates(holiday: str, windows: tuple[int, ...], shapes: tuple[str, ...]) -> list[str]:
    """'cny' -> name:shape:window for every window and shape (windows outer); 'cny:after' -> that shape
    with every window; 'cny:after:15' -> that one alone."""
    parts = holiday.split(":")
    if len(parts) > 2:
        return ["{}:{}:{}".format(*parse_holiday(holiday))]
    chosen = [parts[1]] if len(parts) == 2 and parts[1] else list(shapes) or ["before"]
    return [f"{parts[0]}:{s}:{w}" for w in windows for s in chosen]


def _aicc(r: AdjustmentResult) -> float:
    try:
        return float(r.diagnostics.get("aicc", "nan"))
    except ValueError:
        return float("nan")


def _best_holiday(y, series, group, opts: SpecOptions, candidates: list[str], warnings: list[str],
                  user: pd.DataFrame | None, first: AdjustmentResult) -> AdjustmentResult:
    """One X-13 run per candidate regressor (`first` is the run of candidates[0]), each regressor tested by
    AICc against none; the run with the lowest AICc wins (the earlier candidate on a tie). AICc values are
    comparable across the runs: same data, same transformation and differencing (automdl searches ARMA
    orders only, with the differencing fixed)."""
    runs = [first] + [_x13(y, series, group, opts, c, 0, list(warnings), user) for c in candidates[1:]]
    scores = [_aicc(r) for r in runs]
    best = min(range(len(runs)), key=lambda i: (np.nan_to_num(scores[i], nan=np.inf), i))
    chosen = runs[best]
    if len(runs) > 1:
        tried = ", ".join(f"{c} {s:.2f}" for c, s in zip(candidates, scores, strict=True))
        verdict = f"{chosen.holiday} kept" if chosen.holiday else "no shape beats the model without a regressor"
        chosen.diagnostics["holiday"] = f"{verdict} (lowest AICc of {tried})"
    return chosen


def parse_holiday(holiday: str, window: int = 20) -> tuple[str, str, int]:
    """'cny' -> ('cny', 'before', window); 'cny:after:15' -> ('cny', 'after', 15)."""
    parts = holiday.split(":")
    try:
        return parts[0], (parts[1] if len(parts) > 1 and parts[1] else "before"), \
            int(parts[2]) if len(parts) > 2 else window
    except ValueError:
        raise SeasonalError(f"holiday '{holiday}' is not name[:shape[:window]], e.g. cny:after:15") from None


def adjust_many(df: pd.DataFrame, *, workers: int | None = None, errors: str = "raise",
                on_done: Callable[[AdjustmentResult], None] | None = None,
                fixed: dict[tuple[str, str], FixedModel] | None = None,
                stored: dict[tuple[str, str], pd.DataFrame] | None = None,
                **kwargs) -> list[AdjustmentResult]:
    """Adjust each (series, group) of a tidy frame, in parallel threads around X-13 processes.

    errors="raise" stops on the first bad series; errors="warn" passes it through unadjusted with
    the error as its note. kwargs go to adjust_series (method, mode, holiday, options, ...).
    `on_done` is called with each result as it finishes (progress bars). `fixed` maps (series, group)
    to the model kept from the last review (series not in it are identified afresh); `stored` to the factors
    stored with the last vintage (used under `factors: projected`).
    """
    if errors not in ("raise", "warn"):
        raise SeasonalError(f"errors must be 'raise' or 'warn', got '{errors}'")
    missing = {"period", "series", "value"} - set(df.columns)
    if missing:
        raise SeasonalError(f"tidy frame needs columns period, series, value; missing {sorted(missing)}")
    if df.empty:
        raise SeasonalError("no rows to adjust: the tidy frame is empty")
    df = df.assign(group=df["group"].fillna("").astype(str) if "group" in df else "")
    keys = list(dict.fromkeys(zip(df["series"].astype(str), df["group"], strict=False)))
    parts = {k: g for k, g in df.groupby([df["series"].astype(str), df["group"]], sort=False)}

    def one(key: tuple[str, str]) -> AdjustmentResult:
        g = parts[key]
        values = pd.Series(g["value"].to_numpy(), index=g["period"].astype(str).to_numpy())
        try:
            result = adjust_series(values, series=key[0], group=key[1], fixed=(fixed or {}).get(key),
                                   stored=(stored or {}).get(key), **kwargs)
        except SeasonalError as exc:
            if errors == "raise":
                raise
            result = _passthrough(values, key, str(exc), kwargs.get("mode", "additive"))
        if on_done is not None:
            on_done(result)
        return result

    # X-13 runs in its own process, so threads give true parallelism: the GIL is released while
    # each thread waits on its subprocess.
    n = workers or os.cpu_count() or 1
    if n == 1 or len(keys) == 1:
        return [one(k) for k in keys]
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, keys))


def _passthrough(values: pd.Series, key, message: str, mode: str) -> AdjustmentResult:
    y = pd.Series(pd.to_numeric(values, errors="coerce").to_numpy(float), index=values.index)
    return _unadjusted(y, key[0], key[1], mode, [f"not adjusted: {message}"], status="not_adjusted")


def adjust_frame(df: pd.DataFrame, method: Method = "x13", holiday: str | None = None,
                 mode: Mode = "additive", *, workers: int | None = None, errors: str = "raise",
                 **kwargs) -> pd.DataFrame:
    """Adjust a tidy frame `period, series, [group,] value`; return nsa and sa rows for each.

    Output columns: period, series, group, adjustment (nsa|sa), value, seasonal_factor, trend,
    method, note. `seasonal_factor` is the combined factor (seasonal + holiday) that maps nsa to
    sa: sa = nsa - factor (additive) or nsa / factor (multiplicative). The list of warnings is in
    `result.attrs["warnings"]`.
    """
    results = adjust_many(df, workers=workers, errors=errors, method=method, holiday=holiday,
                          mode=mode, **kwargs)
    return results_frame(results, has_group="group" in df.columns)


def results_frame(results: list[AdjustmentResult], has_group: bool = True) -> pd.DataFrame:
    """Stack results into one tidy frame (attrs['warnings'] lists every warning, labelled)."""
    out = pd.concat([r.to_frame() for r in results], ignore_index=True)
    if not has_group:
        out = out.drop(columns="group")
    out.attrs["warnings"] = [f"{label(r.series, r.group)}: {w}" for r in results for w in r.warnings]
    return out


SPEC_COLUMNS = ["series", "group", "status", "method", "mode", "model", "outliers", "holiday", "identification",
                "reviewed", "spec"]


def specs_frame(results: list[AdjustmentResult]) -> pd.DataFrame:
    """One row per adjusted series: the decisions (status, model, outliers, holiday) and the spec text run."""
    rows = [[r.series, r.group, r.status, r.method, r.mode, r.model, " ".join(r.outliers), r.holiday,
             r.diagnostics.get("identification", ""), r.reviewed, r.spec] for r in results]
    return pd.DataFrame(rows, columns=SPEC_COLUMNS)


def factors_frame(results: list[AdjustmentResult]) -> pd.DataFrame:
    """period, series, group, factor (combined: seasonal + holiday), seasonal: sa = nsa - factor (additive).
    The months after each series' last one are X-13's year-ahead projection (what `factors: projected` applies)."""
    parts = [pd.DataFrame({"period": [*r.factor.index, *r.projected.index], "series": r.series, "group": r.group,
                           "factor": [*r.factor.to_numpy(float), *r.projected["factor"].to_numpy(float)],
                           "seasonal": [*r.seasonal.to_numpy(float), *r.projected["seasonal"].to_numpy(float)]})
             for r in results if r.status in ("adjusted", "not_seasonal")]
    cols = ["period", "series", "group", "factor", "seasonal"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def stored_factors(factors: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """A vintage's stored factors (factors_frame, e.g. Store.sa_factors) as adjust_many's `stored`."""
    return {(str(s), str(g)): part.set_index(part["period"].astype(str))[["factor", "seasonal"]]
            for (s, g), part in factors.groupby(["series", "group"], sort=False)}


def fixed_models(specs: pd.DataFrame) -> dict[tuple[str, str], FixedModel]:
    """The stored decisions (a specs_frame, e.g. read back from the store) as adjust_many's `fixed`."""
    out = {}
    for r in specs.itertuples(index=False):
        if r.status == "not_seasonal" or (r.status == "adjusted" and r.model):
            out[(str(r.series), str(r.group))] = FixedModel(r.status, r.model or "",
                                                            tuple(str(r.outliers or "").split()), r.holiday or "")
    return out
