"""Adjust one series or a tidy frame of many: X-13 (X-11 or SEATS), STL for short series, or none."""
from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from smepulse.errors import SeasonalError
from smepulse.seasonal.holidays import holiday_regressor
from smepulse.seasonal.spec import FORECAST_MONTHS, Mode, SpecOptions, build_spec
from smepulse.seasonal.stl import MIN_STL_MONTHS, stl_decompose
from smepulse.seasonal.validate import label, monthly_series
from smepulse.seasonal.x13 import run_spec

Method = Literal["x13", "stl", "none"]
MIN_X13_MONTHS = 36  # X-13 refuses fewer than 3 complete years


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
        cols = ["period", "series", "group", "adjustment", "value", "seasonal_factor", "trend",
                "method", "note"]
        return pd.concat([nsa, sa], ignore_index=True)[cols]


def adjust_series(values: pd.Series, *, series: str = "series", group: str = "",
                  method: Method = "x13", mode: Mode = "additive", holiday: str | None = None,
                  holiday_window: int = 20, options: SpecOptions | None = None,
                  regressors: pd.DataFrame | None = None) -> AdjustmentResult:
    """Seasonally adjust one monthly series indexed by 'YYYY-MM' periods.

    Short series fall back (with a warning): under 36 months X-13 -> STL, under 24 -> none.
    `mode` overrides options.mode; `options` sets the rest of the generated X-13 spec.
    `regressors`: user regressors (columns, 'YYYY-MM' index) covering the series plus the forecast
    horizon (12 months for X-11, 36 for SEATS); X-13 estimates them with options.usertype.
    Raises SeasonalError (naming the series) on bad input or when X-13 fails.
    """
    if method not in ("x13", "stl", "none"):
        raise SeasonalError(f"method must be x13, stl or none, got '{method}'")
    y = monthly_series(values.index, values.to_numpy(), series=series, group=group)
    who = label(series, group)
    if mode == "multiplicative" and (y <= 0).any():
        raise SeasonalError(f"{who}: multiplicative adjustment needs positive values "
                            f"(min {y.min():g}); use mode='additive' for indices and balances")
    warnings: list[str] = []
    n = len(y)
    if method == "x13" and n < MIN_X13_MONTHS:
        warnings.append(f"only {n} months (X-13 needs {MIN_X13_MONTHS}): adjusted with STL instead"
                        if n >= MIN_STL_MONTHS else
                        f"only {n} months (STL needs {MIN_STL_MONTHS}): not seasonally adjusted")
        method = "stl" if n >= MIN_STL_MONTHS else "none"
    elif method == "stl" and n < MIN_STL_MONTHS:
        warnings.append(f"only {n} months (STL needs {MIN_STL_MONTHS}): not seasonally adjusted")
        method = "none"
    if (holiday or regressors is not None) and method != "x13":
        warnings.append("regressors ignored: only X-13 estimates holiday and user regressor effects")
    if method == "none":
        return _unadjusted(y, series, group, mode, warnings)
    if method == "stl":
        return _stl(y, series, group, mode, warnings)
    opts = replace(options or SpecOptions(), mode=mode)
    return _x13(y, series, group, opts, holiday, holiday_window, warnings, regressors)


def _unadjusted(y, series, group, mode, warnings) -> AdjustmentResult:
    neutral = 1.0 if mode == "multiplicative" else 0.0
    flat = pd.Series(neutral, index=y.index)
    nan = pd.Series(np.nan, index=y.index)
    return AdjustmentResult(series, group, "none", mode, y, y.copy(), flat, nan, nan, flat,
                            warnings=warnings)


def _stl(y, series, group, mode, warnings) -> AdjustmentResult:
    mult = mode == "multiplicative"
    if mode == "auto":
        warnings.append("STL fallback uses additive mode (mode=auto needs X-13's test)")
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
         user: pd.DataFrame | None = None) -> AdjustmentResult:
    who = label(series, group)
    end = (pd.Period(y.index[-1], freq="M") + FORECAST_MONTHS[opts.decomposition]).strftime("%Y-%m")
    regressors = _user_regressors(user, y, end, who) if user is not None else None
    if holiday:
        try:
            reg = holiday_regressor(holiday, y.index[0], end, window=window)
        except SeasonalError as exc:
            raise SeasonalError(f"{who}: {exc}") from None
        regressors = reg.to_frame() if regressors is None else regressors.join(reg)
        holiday_col = str(reg.name)
        opts = replace(opts, aictest_user=True)  # X-13 keeps the regressor only if AICc says so
    spec = build_spec(y, opts, title=f"{series} {group}".strip(), regressors=regressors)
    out = run_spec(spec, label=who)
    sa, factor = out.table("sa"), out.table("factor")
    if not sa.index.equals(y.index):
        raise SeasonalError(f"{who}: X-13 returned {len(sa)} adjusted months for {len(y)} input")
    # finmode says what X-13 finally used (it matters for mode="auto"); absent when forced additive.
    final = out.udg.get("finmode", "")
    mode = ("multiplicative" if final.startswith(("mult", "log"))
            else "additive" if final else opts.mode)
    warnings += [m for m in out.messages if m.startswith("WARNING")]
    diagnostics = {k: out.udg[k] for k in ("f3.q", "f3.m07", "qssadj", "qsori", "aicc", "finmode",
                                           "automdl", "arimamdl") if k in out.udg}
    if holiday:
        kept = (out.regression["variable"] == holiday_col).any()
        diagnostics["holiday"] = f"{holiday}: {'kept' if kept else 'dropped by AICc (no effect found)'}"
    return AdjustmentResult(series, group, f"x13-{opts.decomposition}", mode, y, sa, factor,
                            out.table("trend"), out.table("irregular"), out.table("seasonal"),
                            model=out.model, outliers=out.outliers, regression=out.regression,
                            diagnostics=diagnostics, warnings=warnings, spec=spec)


def adjust_many(df: pd.DataFrame, *, workers: int | None = None, errors: str = "raise",
                on_done: Callable[[AdjustmentResult], None] | None = None,
                **kwargs) -> list[AdjustmentResult]:
    """Adjust each (series, group) of a tidy frame, in parallel threads around X-13 processes.

    errors="raise" stops on the first bad series; errors="warn" passes it through unadjusted with
    the error as its note. kwargs go to adjust_series (method, mode, holiday, options, ...).
    `on_done` is called with each result as it finishes (progress bars).
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
            result = adjust_series(values, series=key[0], group=key[1], **kwargs)
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
    return _unadjusted(y, key[0], key[1], mode, [f"not adjusted: {message}"])


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
