"""Generate X-13ARIMA-SEATS spec files for smepulse series.

Defaults suit monthly diffusion indices and balances: additive (they sit near 50 or around 0, so
a log makes no sense), automatic ARIMA model selection (orders searched, differencing (1 1)),
AO/LS/TC outlier detection, X-11 filters chosen by X-13, no trading day (survey answers do not
depend on working days).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from smepulse.errors import SeasonalError
from smepulse.seasonal.x13 import SEATS_TABLES, X11_TABLES

Mode = Literal["additive", "multiplicative", "auto"]
Decomposition = Literal["x11", "seats"]
FORECAST_MONTHS = {"x11": 12, "seats": 36}  # SEATS forces 36; user regressors must cover it
MISSING_CODE = -99999


@dataclass
class SpecOptions:
    """Everything the generated spec depends on (so a run can be repeated from its options)."""

    mode: Mode = "additive"
    decomposition: Decomposition = "x11"
    arima: str | None = None                 # e.g. "(0 1 1)(0 1 1)"; None = automdl
    # automdl searches ARMA orders with the differencing fixed at (1 1): identifying the
    # differencing and mixed ARMA models costs 10x the run time (seconds per series) and on ten
    # years of survey data often lands on models without a seasonal difference. None = search.
    automdl_diff: tuple[int, int] | None = (1, 1)
    automdl_mixed: bool = False
    outliers: tuple[str, ...] = ("ao", "ls", "tc")
    variables: tuple[str, ...] = ()          # built-in regressors, e.g. ("td", "easter[8]")
    usertype: str = "holiday"
    aictest_user: bool = False               # let X-13 drop the user regressors by AICc
    seasonalma: str | None = None            # X-11 seasonal filter, None = X-13's choice
    extra: dict[str, str] = field(default_factory=dict)  # raw spec blocks to add verbatim

    def __post_init__(self) -> None:
        if self.mode not in ("additive", "multiplicative", "auto"):
            raise SeasonalError(f"mode must be additive, multiplicative or auto, got '{self.mode}'")
        if self.decomposition not in ("x11", "seats"):
            raise SeasonalError(f"decomposition must be x11 or seats, got '{self.decomposition}'")


def _fmt(values) -> str:
    rows = [" ".join(f"{v:.10g}" for v in values[i:i + 6]) for i in range(0, len(values), 6)]
    return "\n    ".join(rows)


def _x13_date(period: str) -> str:
    return f"{period[:4]}.{int(period[5:7]):02d}"


def build_spec(values: pd.Series, options: SpecOptions, *, title: str = "series",
               regressors: pd.DataFrame | None = None) -> str:
    """Spec text for a monthly series indexed by consecutive 'YYYY-MM' periods.

    `regressors`: user regressors (columns) indexed by 'YYYY-MM', covering the series and the
    forecast horizon; they are embedded in the spec with usertype=options.usertype.
    """
    o = options
    safe_title = title.replace('"', "'")[:70]
    data = values.to_numpy(dtype=float)
    gaps = bool(pd.isna(data).any())
    # Gaps: X-13 replaces each missing-code value by a missing-value regressor and estimates it (regARIMA).
    head = f'series{{title="{safe_title}" start={_x13_date(values.index[0])} period=12'
    lines = [head + (f" missingcode={MISSING_CODE}" if gaps else ""),
             f"  data=({_fmt(pd.Series(data).fillna(MISSING_CODE).to_numpy())})}}"]
    function = {"additive": "none", "multiplicative": "log", "auto": "auto"}[o.mode]
    lines.append(f"transform{{function={function}}}")
    reg = []
    if o.variables:
        reg.append(f"variables=({' '.join(o.variables)})")
    if regressors is not None and not regressors.empty:
        names = [str(c) for c in regressors.columns]
        rows = [" ".join(f"{v:.10g}" for v in r) for r in regressors.to_numpy()]
        reg += [f"user=({' '.join(names)})", f"usertype=({' '.join([o.usertype] * len(names))})",
                f"start={_x13_date(regressors.index[0])}", "data=(" + "\n    ".join(rows) + ")"]
        if o.aictest_user:
            reg.append("aictest=(user)")
    if reg:
        lines.append("regression{" + "\n  ".join(reg) + "}")
    if o.arima is not None:
        lines.append(f"arima{{model={o.arima}}}")
    else:
        auto = [] if o.automdl_mixed else ["mixed=no"]
        if o.automdl_diff is not None:
            auto.append(f"diff=({o.automdl_diff[0]} {o.automdl_diff[1]})")
        lines.append("automdl{" + " ".join(auto) + "}")
    if o.outliers:
        lines.append(f"outlier{{types=({' '.join(o.outliers)})}}")
    lines.append("estimate{save=(est)}")
    lines.append(f"forecast{{maxlead={FORECAST_MONTHS[o.decomposition]} print=none}}")
    if o.decomposition == "x11":
        # appendfcst: the seasonal and combined factors (d10, d16) run a year past the data: the projected
        # factors, stored with the vintage and applied unchanged under `factors: projected`.
        x11 = ["appendfcst=yes", f"save=({' '.join(X11_TABLES)})"]
        if o.mode == "additive":
            x11.append("mode=add")
        elif o.mode == "multiplicative":
            x11.append("mode=mult")
        if o.seasonalma:
            x11.append(f"seasonalma={o.seasonalma}")
        lines.append("x11{" + " ".join(x11) + "}")
    else:
        lines.append(f"seats{{appendfcst=yes save=({' '.join(SEATS_TABLES)})}}")
    lines += list(o.extra.values())
    return "\n".join(lines) + "\n"
