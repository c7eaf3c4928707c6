"""Seasonal adjustment: X-13ARIMA-SEATS driver, STL for short series, moving-holiday regressors."""
from smepulse.seasonal.adjust import AdjustmentResult, adjust_frame, adjust_many, adjust_series, results_frame
from smepulse.seasonal.holidays import cny_dates, cny_regressor
from smepulse.seasonal.spec import SpecOptions, build_spec
from smepulse.seasonal.x13 import X13Output, run_spec, run_spec_file

__all__ = ["AdjustmentResult", "SpecOptions", "X13Output", "adjust_frame", "adjust_many", "adjust_series",
           "build_spec", "cny_dates", "cny_regressor", "results_frame", "run_spec", "run_spec_file"]
