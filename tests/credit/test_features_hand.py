"""Features on a tiny hand-built dataset, checked against values worked out by hand."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smepulse.credit.features import build_features

D = dt.date.fromisoformat


def write_hand_dataset(root: Path) -> Path:
    firms = pd.DataFrame({
        "firm_id": [1, 2], "sector": ["wholesale_retail", "manufacturing"], "region": ["east", "west"],
        "size": ["micro", "small"], "founded_date": [D("2020-01-01"), D("2022-06-01")],
        "onboard_date": [D("2021-01-01"), D("2023-01-01")], "owner_age": [40, 50], "employees": [3, 20]})
    tx = pd.DataFrame([
        # firm, date, kind, amount, n_customers, top_customer_amount, counterparty_id
        (1, "2024-02-29", "sale", 1000.0, 10, 300.0, None),
        (1, "2024-02-29", "sale", 500.0, 5, 400.0, None),      # second row the same day: one active day
        (1, "2024-02-15", "sale", 2000.0, 20, 500.0, None),
        (1, "2024-02-15", "refund", 100.0, 1, None, None),
        (1, "2024-01-31", "sale", 4000.0, 40, 800.0, None),    # 30 days before 2024-03-01: inside 30d
        (1, "2024-01-30", "sale", 8000.0, 80, 900.0, None),    # 31 days before: outside 30d, inside 90d
        (1, "2024-01-10", "refund", 300.0, 2, None, None),
        (1, "2024-02-20", "supplier_payment", 700.0, None, None, 7),
        (1, "2024-03-01", "sale", 99999.0, 9, 1.0, None),      # on the application date: excluded
        (1, "2024-03-05", "sale", 5000.0, 50, 1.0, None),      # after it
        (2, "2024-02-01", "sale", 10000.0, 3, 6000.0, None),
        (2, "2023-12-01", "sale", 20000.0, 4, 9000.0, None),
        (2, "2024-02-02", "refund", 500.0, 1, None, None),
        (2, "2024-05-01", "sale", 1.0, 1, 1.0, None),
    ], columns=["firm_id", "date", "kind", "amount", "n_customers", "top_customer_amount", "counterparty_id"])
    tx["date"] = pd.to_datetime(tx["date"]).dt.date
    tx["n_customers"] = tx["n_customers"].astype("Int32")
    tx["counterparty_id"] = tx["counterparty_id"].astype("Int32")
    tax = pd.DataFrame({
        "firm_id": [1, 1], "period": [D("2024-01-01"), D("2024-02-01")],
        "due_date": [D("2024-02-15"), D("2024-03-15")], "filing_date": [D("2024-02-20"), D("2024-03-10")],
        "declared_sales": [20000.0, 99999.0], "tax_paid": [200.0, 999.0]})
    util = pd.DataFrame({
        "firm_id": [1, 1], "period": [D("2023-12-01"), D("2024-01-01")],
        "bill_date": [D("2024-01-05"), D("2024-02-05")], "due_date": [D("2024-01-25"), D("2024-02-25")],
        "paid_date": [D("2024-01-20"), D("2024-03-03")], "amount": [80.0, 90.0]})
    loans = pd.DataFrame({
        "loan_id": [1, 2], "firm_id": [1, 1], "lender": ["other", "platform"],
        "start_date": [D("2023-01-01"), D("2024-03-01")], "amount": [50000.0, 30000.0],
        "first_late_date": [D("2023-06-01"), None], "default_date": [D("2024-04-01"), None],
        "repaid_date": [None, None]})
    apps = pd.DataFrame({
        "application_id": [10, 11, 20], "firm_id": [1, 1, 2],
        "application_date": [D("2024-03-01"), D("2024-04-15"), D("2024-03-01")],
        "amount": [30000.0, 20000.0, 60000.0], "term_months": [12, 12, 6], "default_12m": [0.0, 1.0, np.nan]})
    for name, df in (("firms", firms), ("transactions", tx), ("tax", tax), ("utilities", util),
                     ("loans", loans), ("applications", apps)):
        df.to_parquet(root / f"{name}.parquet", index=False)
    return root


@pytest.fixture(scope="module")
def feats(tmp_path_factory):
    root = write_hand_dataset(tmp_path_factory.mktemp("hand"))
    return build_features(root).set_index("application_id")


def test_sales_windows_by_hand(feats):
    a = feats.loc[10]
    assert a["revenue_30d"] == pytest.approx(1000 + 500 + 2000 + 4000)
    assert a["active_days_30d"] == 3
    assert a["customers_30d"] == 10 + 5 + 20 + 40
    assert a["refund_rate_30d"] == pytest.approx(100 / 7500)
    assert a["revenue_90d"] == pytest.approx(7500 + 8000)
    assert a["active_days_90d"] == 4
    assert a["refund_rate_90d"] == pytest.approx((100 + 300) / 15500)
    assert a["days_since_last_sale"] == 1
    assert a["max_day_share_30d"] == pytest.approx(4000 / 7500)
    assert a["supplier_payments_30d"] == 1 and a["supplier_amount_30d"] == pytest.approx(700)
    assert a["days_since_last_supplier_payment"] == 10
    assert a["growth_30d_vs_prev_30d"] == pytest.approx(7500 / 8000 - 1)
    b = feats.loc[20]
    assert b["revenue_30d"] == pytest.approx(10000) and b["refund_rate_30d"] == pytest.approx(0.05)
    assert b["days_since_last_sale"] == 29
    assert b["active_days_90d"] == 1 and b["revenue_180d"] == pytest.approx(30000)
    assert b["top_customer_share_30d"] == pytest.approx(0.6)


def test_later_application_sees_more_but_not_its_own_day(feats):
    c = feats.loc[11]  # 2024-04-15: the last sale before it is 2024-03-05
    assert c["days_since_last_sale"] == 41
    assert c["revenue_30d"] == 0 and c["active_days_30d"] == 0
    assert c["revenue_90d"] == pytest.approx(8000 + 4000 + 2000 + 1500 + 99999 + 5000)


def test_tax_utilities_loans_known_before_the_date(feats):
    a, c, b = feats.loc[10], feats.loc[11], feats.loc[20]
    # Only the January filing (filed 2024-02-20, 5 days late) is known on 2024-03-01.
    assert a["tax_filings_365d"] == 1 and a["tax_late_filings_365d"] == 1
    assert a["tax_days_late_mean_365d"] == 5 and a["days_since_last_tax_filing"] == 10
    assert a["tax_declared_sales_90d"] == pytest.approx(20000)
    assert b["tax_filings_365d"] == 0 and np.isnan(b["days_since_last_tax_filing"])
    # The January bill, due 02-25, is unpaid on 03-01 (paid 03-03): overdue 5 days then, 7 days late later.
    assert a["utility_overdue_bills"] == 1 and a["utility_late_share_365d"] == 0.5
    assert a["utility_days_late_mean_365d"] == pytest.approx(2.5)
    assert c["utility_overdue_bills"] == 0 and c["utility_days_late_mean_365d"] == pytest.approx(3.5)
    # The other lender's loan was late in 2023 and defaulted on 2024-04-01; the platform loan starts on 03-01.
    assert (a["prior_loans"], a["prior_late_loans"], a["prior_defaults"], a["open_loans"]) == (1, 1, 0, 1)
    assert (c["prior_loans"], c["prior_platform_loans"], c["prior_defaults"], c["open_loans"]) == (2, 1, 1, 1)


def test_target_and_ids_kept_apart_from_features(feats):
    assert feats.loc[10, "default_12m"] == 0 and feats.loc[11, "default_12m"] == 1
    assert np.isnan(feats.loc[20, "default_12m"])
    assert list(feats.columns[:2]) == ["firm_id", "application_date"] and feats.columns[-1] == "default_12m"
    assert feats.loc[10, "firm_age_days"] == (dt.date(2024, 3, 1) - dt.date(2020, 1, 1)).days
    assert feats.loc[10, "amount_to_revenue_365d"] == pytest.approx(30000 / feats.loc[10, "revenue_365d"])
