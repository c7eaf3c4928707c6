"""Seasonal adjustment: X-13ARIMA-SEATS driver, STL for short series, moving-holiday regressors."""
