"""The seasonal adjustment policy: a validated sub-model of the methodology (`seasonal:` in its YAML).

Defaults follow the ESS guidelines on seasonal adjustment (Eurostat, 2015 edition): X-13ARIMA-SEATS,
at least three complete years of monthly data before anything is published as seasonally adjusted
(item 1.4 / 4.1 "length of series"), a test for the presence of identifiable seasonality before a
series is adjusted (item 2.2, "testing for seasonality"), calendar and moving-holiday effects
estimated by regARIMA regressors kept only when the data support them (items 1.2-1.3), and partial
concurrent adjustment: the model, outliers and regressors identified once a year and kept until the
next review, the parameters re-estimated at each release (item 3.2, "revision policy"). See
docs/seasonal.md.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CnyShape = Literal["before", "around", "after", "dip_rebound"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeasonalPolicy(_Strict):
    """What is adjusted, how, and when the NSA series is published instead."""

    # x13: X-13ARIMA-SEATS. stl only when asked for explicitly (never a silent fallback); none: NSA only.
    method: Literal["x13", "stl", "none"] = "x13"
    decomposition: Literal["x11", "seats"] = "x11"
    mode: Literal["additive", "multiplicative", "auto"] = "additive"
    # Below this many months no SA series is published; the NSA one is, labelled (ESS: 3 years monthly).
    min_span: int = Field(36, ge=24, le=240)
    # Identification of seasonality from X-13's own diagnostics before a series is adjusted:
    # combined: X-13's combined test (stable F, Kruskal-Wallis, moving F; table D8.A) says "present";
    # m7: M7 below m7_max and the stable-seasonality F-test significant at f_pvalue;
    # qs: the QS statistic on the original series significant at qs_pvalue;
    # none: adjust every series long enough (not recommended).
    identification: Literal["combined", "m7", "qs", "none"] = "combined"
    m7_max: float = Field(1.0, gt=0)
    f_pvalue: float = Field(0.001, gt=0, lt=1)   # X-11's 0.1% level for the stable-seasonality F-test
    qs_pvalue: float = Field(0.01, gt=0, lt=1)
    # Moving holiday regressor tested by X-13 (AICc), or none. At a review every shape x window is tried
    # (one X-13 run each, for series found seasonal) and the one with the lowest AICc kept; no regressor if
    # none beats the model without one. Each extra window multiplies the review's X-13 runs.
    holiday: Literal["cny"] | None = "cny"
    cny_shapes: tuple[CnyShape, ...] = ("before", "around", "after", "dip_rebound")
    cny_windows: tuple[int, ...] = (20,)
    # Gaps (suppressed or missing months) are estimated by regARIMA (X-13 missing-value regressors) and
    # stay unpublished in the SA series; more than this share of missing months and the series is not
    # adjusted.
    max_missing_share: float = Field(0.1, ge=0, le=0.5)
    # Partial concurrent adjustment: the model (ARIMA orders, outliers, regressor choice) is kept from the
    # stored specification and re-identified only at a review (`--review`), normally once a year.
    fixed_model: bool = True
    # concurrent: factors re-estimated at every release (with the model fixed, above). projected: the year-ahead
    # factors X-13 projects at the review are stored with the vintage and applied unchanged (SA = NSA - factor)
    # until the next review, so published SA values are revised once a year (ESS item 3.2 alternative); past
    # the projection's end the release falls back to concurrent factors and says so.
    factors: Literal["concurrent", "projected"] = "concurrent"
    review_month: int = Field(1, ge=1, le=12)  # the month whose release normally carries the annual review

    @model_validator(mode="after")
    def _consistent(self) -> SeasonalPolicy:
        if self.method == "x13" and self.min_span < 36:
            raise ValueError(f"seasonal.min_span {self.min_span} is below 36 months, the least X-13 adjusts "
                             "(and the ESS guidelines' three years); use method: stl to adjust shorter series")
        if len(set(self.cny_shapes)) != len(self.cny_shapes):
            raise ValueError("seasonal.cny_shapes lists a shape twice")
        if not self.cny_windows or len(set(self.cny_windows)) != len(self.cny_windows) \
                or not all(1 <= w <= 40 for w in self.cny_windows):
            raise ValueError(f"seasonal.cny_windows must list distinct windows of 1-40 days, got "
                             f"{list(self.cny_windows)}")
        return self
