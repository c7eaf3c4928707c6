"""Point-in-time credit features from SME alternative data, computed in the engine (DuckDB SQL).

Point in time: a feature for an application dated d uses only facts recorded strictly before d:
transactions dated < d; tax filings filed < d; utility bills issued < d, a bill counts as paid only
if paid < d (else, once due, it is overdue as of d); loans started < d, with their late, default and
repaid events only if dated < d. Firm attributes used are static (sector, region, size, founding and
onboarding dates, owner age, employees). `tests/credit/test_features_pit.py` proves it by altering
everything on or after each application date and checking that no feature moves.

Engine: the features are one plain SQL query (`feature_sql()`) over tables named `apps`,
`transactions`, `tax`, `utilities`, `loans` and `firms`. It uses only ANSI SQL plus functions that
DuckDB and Spark SQL share (CASE, SUM, COUNT(DISTINCT), STDDEV_SAMP, REGR_SLOPE, LAG() OVER, LN,
FLOOR, GREATEST, NULLIF, date_trunc('month', x)); the one dialect difference, a day difference, is
rendered per engine (`feature_sql("spark")` gives `datediff(b, a)`). Registering the tables is the
engine-specific part: DuckDB views over the Parquet files here; in Spark,
`spark.read.parquet(path).createOrReplaceTempView(name)` then `spark.sql(feature_sql("spark"))`.
The `apps` table carries two data-independent helper columns computed from the dates alone:
`lookback_start` (d - 480 days) and `cny_shift` (days between the Chinese New Year of d's year and
the year before, to compare a window with the same window relative to the holiday a year earlier).

Reason templates (FeatureSpec.reason_en / reason_zh) use three placeholders: `{value}`, the
feature value, `{abs}`, its absolute value, and `{pct}`, abs(value) * 100, which appears only in
templates of the ratio features listed in `RATIO_FEATURES` (shares, rates, growth rates). Signed
features (growth, trend, change) also have `reason_rise_*`: `reason_*` says "fell" and is used only
for a value < 0, `reason_rise_*` ("grew only") for a value >= 0, so the words follow the sign.
Format specs used: `{value:,.0f}`, `{value:.0f}`, `{value:.1f}`, `{pct:.0f}`, `{pct:.1f}`, `{abs:.0f}`.
The metadata (descriptions in en and zh, directions, templates, category labels) is in `feature_meta.yaml`.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import yaml

from smepulse.credit.metadata import FeatureSpec
from smepulse.errors import CreditError, InputError
from smepulse.seasonal.holidays import cny_dates

WINDOWS = (30, 90, 180, 365)
LOOKBACK_DAYS = 480  # longest look-back: a 90-day window a CNY-aligned year (up to 385 days) earlier
ID_COLUMNS = ("application_id", "firm_id", "application_date")
TARGET = "default_12m"
OUTCOME_COLUMNS = (TARGET,)
CATEGORICAL = ("sector", "region", "size")

REQUIRED = {
    "firms": ("firm_id", "sector", "region", "size", "founded_date", "onboard_date", "owner_age", "employees"),
    "transactions": ("firm_id", "date", "kind", "amount", "n_customers", "top_customer_amount",
                     "counterparty_id"),
    "tax": ("firm_id", "period", "due_date", "filing_date", "declared_sales", "tax_paid"),
    "utilities": ("firm_id", "period", "bill_date", "due_date", "paid_date", "amount"),
    "loans": ("loan_id", "firm_id", "lender", "start_date", "amount", "first_late_date", "default_date",
              "repaid_date"),
}
APP_REQUIRED = ("application_id", "firm_id", "application_date")

DIALECTS: dict[str, Callable[[str, str], str]] = {
    # Whole days from a to b (b later gives a positive number).
    "duckdb": lambda a, b: f"date_diff('day', {a}, {b})",
    "spark": lambda a, b: f"datediff({b}, {a})",
}


# ------------------------------------------------------------------ SQL
def _window_exprs(w: int) -> list[str]:
    inw = f"lag <= {w}"
    rev = f"SUM(CASE WHEN {inw} THEN sales ELSE 0 END)"
    act = f"SUM(CASE WHEN {inw} AND sales > 0 THEN 1 ELSE 0 END)"
    sale_w = f"CASE WHEN {inw} AND sales > 0 THEN sales END"
    return [
        f"{rev} AS revenue_{w}d",
        f"{act} AS active_days_{w}d",
        f"{act} / {w}.0 AS active_share_{w}d",
        f"{rev} / NULLIF({act}, 0) AS revenue_per_active_day_{w}d",
        f"STDDEV_SAMP({sale_w}) / NULLIF(AVG({sale_w}), 0) AS sales_cv_{w}d",
        f"30 * REGR_SLOPE(CASE WHEN {inw} AND sales > 0 THEN LN(sales) END, -lag) AS sales_trend_{w}d",
        f"SUM(CASE WHEN {inw} THEN customers ELSE 0 END) AS customers_{w}d",
        f"{rev} / NULLIF(SUM(CASE WHEN {inw} THEN customers ELSE 0 END), 0) AS avg_ticket_{w}d",
        f"SUM(CASE WHEN {inw} THEN top_customer ELSE 0 END) / NULLIF({rev}, 0) AS top_customer_share_{w}d",
        f"MAX({sale_w}) / NULLIF({rev}, 0) AS max_day_share_{w}d",
        f"SUM(CASE WHEN {inw} THEN refunds ELSE 0 END) / NULLIF({rev}, 0) AS refund_rate_{w}d",
        f"SUM(CASE WHEN {inw} AND refunds > 0 THEN 1 ELSE 0 END) AS refund_days_{w}d",
        f"SUM(CASE WHEN {inw} THEN supplier_n ELSE 0 END) AS supplier_payments_{w}d",
        f"SUM(CASE WHEN {inw} THEN supplier ELSE 0 END) AS supplier_amount_{w}d",
        f"SUM(CASE WHEN {inw} THEN supplier ELSE 0 END) / NULLIF({rev}, 0) AS supplier_to_sales_{w}d",
    ]


SUP_FEATURES = ("supplier_gap_mean_365d", "supplier_gap_std_365d", "supplier_gap_max_365d",
                "distinct_suppliers_365d", "distinct_suppliers_90d", "supplier_months_paid_365d",
                "top_supplier_share_365d")
TAX_FEATURES = ("tax_filings_365d", "tax_declared_sales_90d", "tax_declared_sales_365d", "tax_paid_365d",
                "tax_late_filings_365d", "tax_late_share_365d", "tax_days_late_mean_365d",
                "days_since_last_tax_filing", "tax_declared_growth_90d", "platform_to_tax_sales_90d",
                "platform_to_tax_sales_365d")
UTIL_FEATURES = ("utility_bills_365d", "utility_late_share_180d", "utility_late_share_365d",
                 "utility_days_late_mean_180d", "utility_days_late_mean_365d", "utility_overdue_bills",
                 "utility_amount_90d", "utility_yoy_growth_90d")


def _sales_names() -> list[str]:
    return [e.rsplit(" AS ", 1)[1] for e in _sales_exprs()]


def _select(alias: str, names) -> str:
    return ", ".join(f"{alias}.{n}" for n in names)


def _rev(lo: int | str, hi: int | str) -> str:
    return f"SUM(CASE WHEN lag >= {lo} AND lag <= {hi} THEN sales ELSE 0 END)"


def _growth(a: str, b: str, name: str) -> str:
    return f"{a} / NULLIF({b}, 0) - 1 AS {name}"


def _sales_exprs() -> list[str]:
    return [e for w in WINDOWS for e in _window_exprs(w)] + [
        _growth(_rev(1, 30), _rev(31, 60), "growth_30d_vs_prev_30d"),
        _growth(_rev(1, 90), _rev(91, 180), "growth_90d_vs_prev_90d"),
        _growth(_rev(1, 180), _rev(181, 360), "growth_180d_vs_prev_180d"),
        _growth(_rev(1, 30), f"{_rev(1, 365)} * 30 / 365.0", "growth_30d_vs_365d_avg"),
        _growth(_rev(1, 30), _rev(366, 395), "yoy_growth_30d"),
        _growth(_rev(1, 90), _rev(366, 455), "yoy_growth_90d"),
        _growth(_rev(1, 90), _rev("cny_shift + 1", "cny_shift + 90"), "cny_aligned_yoy_growth_90d"),
        "SUM(CASE WHEN lag <= 30 AND sales > 0 THEN 1 ELSE 0 END)"
        " - SUM(CASE WHEN lag > 30 AND lag <= 60 AND sales > 0 THEN 1 ELSE 0 END) AS active_days_change_30d",
        f"COALESCE(MIN(CASE WHEN sales > 0 THEN lag END), {LOOKBACK_DAYS}) AS days_since_last_sale",
        "COALESCE(MAX(CASE WHEN sales > 0 THEN lag END), 0) AS sales_history_days",
        f"COALESCE(MIN(CASE WHEN supplier_n > 0 THEN lag END), {LOOKBACK_DAYS}) AS days_since_last_supplier_payment",
    ]


def feature_sql(dialect: str = "duckdb") -> str:
    """The whole feature query as plain SQL text for `dialect` ('duckdb' or 'spark')."""
    if dialect not in DIALECTS:
        raise CreditError(f"unknown SQL dialect '{dialect}'; use one of {', '.join(DIALECTS)}")
    days = DIALECTS[dialect]
    sales_select = ",\n    ".join(_sales_exprs())
    return f"""
WITH daily AS (  -- one row per application and calendar day with any transaction, strictly before d
  SELECT a.application_id, {days('t.date', 'a.application_date')} AS lag, a.cny_shift,
         CAST(date_trunc('month', t.date) AS DATE) AS month,
         SUM(CASE WHEN t.kind = 'sale' THEN t.amount ELSE 0 END) AS sales,
         SUM(CASE WHEN t.kind = 'sale' THEN t.n_customers ELSE 0 END) AS customers,
         SUM(CASE WHEN t.kind = 'sale' THEN t.top_customer_amount ELSE 0 END) AS top_customer,
         SUM(CASE WHEN t.kind = 'refund' THEN t.amount ELSE 0 END) AS refunds,
         SUM(CASE WHEN t.kind = 'supplier_payment' THEN t.amount ELSE 0 END) AS supplier,
         SUM(CASE WHEN t.kind = 'supplier_payment' THEN 1 ELSE 0 END) AS supplier_n
  FROM apps a JOIN transactions t
    ON t.firm_id = a.firm_id AND t.date < a.application_date AND t.date >= a.lookback_start
  GROUP BY a.application_id, a.application_date, a.cny_shift, t.date
),
sales_f AS (
  SELECT application_id,
    {sales_select}
  FROM daily GROUP BY application_id
),
sup AS (  -- supplier payments in the last 365 days, with the gap since the previous one
  SELECT a.application_id, t.counterparty_id, t.amount, {days('t.date', 'a.application_date')} AS lag,
         {days('t.date', 'a.application_date')} - LAG({days('t.date', 'a.application_date')})
           OVER (PARTITION BY a.application_id ORDER BY t.date DESC) AS gap
  FROM apps a JOIN transactions t
    ON t.firm_id = a.firm_id AND t.date < a.application_date AND t.kind = 'supplier_payment'
   AND {days('t.date', 'a.application_date')} <= 365
),
sup_by AS (
  SELECT application_id, counterparty_id, SUM(amount) AS amount FROM sup GROUP BY application_id, counterparty_id
),
sup_f AS (
  SELECT s.application_id,
    AVG(gap) AS supplier_gap_mean_365d, STDDEV_SAMP(gap) AS supplier_gap_std_365d,
    MAX(gap) AS supplier_gap_max_365d,
    COUNT(DISTINCT counterparty_id) AS distinct_suppliers_365d,
    COUNT(DISTINCT CASE WHEN lag <= 90 THEN counterparty_id END) AS distinct_suppliers_90d,
    COUNT(DISTINCT FLOOR((lag - 1) / 30.0)) AS supplier_months_paid_365d,
    MAX(b.top) / NULLIF(SUM(amount), 0) AS top_supplier_share_365d
  FROM sup s JOIN (SELECT application_id, MAX(amount) AS top FROM sup_by GROUP BY application_id) b
    ON b.application_id = s.application_id
  GROUP BY s.application_id
),
monthly AS (
  SELECT application_id, month, SUM(sales) AS sales FROM daily GROUP BY application_id, month
),
tax_k AS (  -- filings known before d (filed < d)
  SELECT a.application_id, x.period, x.declared_sales, x.tax_paid, a.lookback_start,
         {days('x.filing_date', 'a.application_date')} AS lag,
         GREATEST({days('x.due_date', 'x.filing_date')}, 0) AS days_late
  FROM apps a JOIN tax x ON x.firm_id = a.firm_id AND x.filing_date < a.application_date
),
tax_f AS (
  SELECT k.application_id,
    SUM(CASE WHEN k.lag <= 365 THEN 1 ELSE 0 END) AS tax_filings_365d,
    SUM(CASE WHEN k.lag <= 90 THEN k.declared_sales ELSE 0 END) AS tax_declared_sales_90d,
    SUM(CASE WHEN k.lag <= 365 THEN k.declared_sales ELSE 0 END) AS tax_declared_sales_365d,
    SUM(CASE WHEN k.lag <= 365 THEN k.tax_paid ELSE 0 END) AS tax_paid_365d,
    SUM(CASE WHEN k.lag <= 365 AND k.days_late > 0 THEN 1 ELSE 0 END) AS tax_late_filings_365d,
    AVG(CASE WHEN k.lag <= 365 THEN CASE WHEN k.days_late > 0 THEN 1.0 ELSE 0.0 END END) AS tax_late_share_365d,
    AVG(CASE WHEN k.lag <= 365 THEN k.days_late END) AS tax_days_late_mean_365d,
    MIN(k.lag) AS days_since_last_tax_filing,
    SUM(CASE WHEN k.lag <= 90 THEN k.declared_sales ELSE 0 END)
      / NULLIF(SUM(CASE WHEN k.lag > 90 AND k.lag <= 180 THEN k.declared_sales ELSE 0 END), 0) - 1
      AS tax_declared_growth_90d,
    SUM(CASE WHEN k.lag <= 90 AND k.period >= k.lookback_start THEN m.sales ELSE 0 END)
      / NULLIF(SUM(CASE WHEN k.lag <= 90 AND k.period >= k.lookback_start THEN k.declared_sales ELSE 0 END), 0)
      AS platform_to_tax_sales_90d,
    SUM(CASE WHEN k.lag <= 365 AND k.period >= k.lookback_start THEN m.sales ELSE 0 END)
      / NULLIF(SUM(CASE WHEN k.lag <= 365 AND k.period >= k.lookback_start THEN k.declared_sales ELSE 0 END), 0)
      AS platform_to_tax_sales_365d
  FROM tax_k k LEFT JOIN monthly m ON m.application_id = k.application_id AND m.month = k.period
  GROUP BY k.application_id
),
util_k AS (  -- bills issued before d; paid counts only if paid before d
  SELECT a.application_id, u.amount,
         {days('u.bill_date', 'a.application_date')} AS lag,
         CASE WHEN u.due_date < a.application_date THEN 1 ELSE 0 END AS due,
         CASE WHEN u.paid_date < a.application_date THEN GREATEST({days('u.due_date', 'u.paid_date')}, 0)
              WHEN u.due_date < a.application_date THEN {days('u.due_date', 'a.application_date')} END AS days_late,
         CASE WHEN u.due_date < a.application_date
               AND (u.paid_date IS NULL OR u.paid_date >= a.application_date) THEN 1 ELSE 0 END AS overdue
  FROM apps a JOIN utilities u ON u.firm_id = a.firm_id AND u.bill_date < a.application_date
),
util_f AS (
  SELECT application_id,
    SUM(CASE WHEN lag <= 365 THEN 1 ELSE 0 END) AS utility_bills_365d,
    AVG(CASE WHEN lag <= 180 AND due = 1 THEN CASE WHEN days_late > 0 THEN 1.0 ELSE 0.0 END END)
      AS utility_late_share_180d,
    AVG(CASE WHEN lag <= 365 AND due = 1 THEN CASE WHEN days_late > 0 THEN 1.0 ELSE 0.0 END END)
      AS utility_late_share_365d,
    AVG(CASE WHEN lag <= 180 AND due = 1 THEN days_late END) AS utility_days_late_mean_180d,
    AVG(CASE WHEN lag <= 365 AND due = 1 THEN days_late END) AS utility_days_late_mean_365d,
    SUM(overdue) AS utility_overdue_bills,
    SUM(CASE WHEN lag <= 90 THEN amount ELSE 0 END) AS utility_amount_90d,
    SUM(CASE WHEN lag <= 90 THEN amount ELSE 0 END)
      / NULLIF(SUM(CASE WHEN lag > 365 AND lag <= 455 THEN amount ELSE 0 END), 0) - 1 AS utility_yoy_growth_90d
  FROM util_k GROUP BY application_id
),
loan_f AS (  -- loans started before d; their events only if dated before d
  SELECT a.application_id,
    COUNT(*) AS prior_loans,
    SUM(CASE WHEN l.lender = 'platform' THEN 1 ELSE 0 END) AS prior_platform_loans,
    SUM(l.amount) AS prior_loan_amount,
    SUM(CASE WHEN l.default_date < a.application_date THEN 1 ELSE 0 END) AS prior_defaults,
    SUM(CASE WHEN l.first_late_date < a.application_date THEN 1 ELSE 0 END) AS prior_late_loans,
    SUM(CASE WHEN l.first_late_date < a.application_date
              AND {days('l.first_late_date', 'a.application_date')} <= 365 THEN 1 ELSE 0 END) AS prior_late_loans_365d,
    SUM(CASE WHEN l.repaid_date < a.application_date THEN 1 ELSE 0 END) AS prior_repaid_loans,
    SUM(CASE WHEN l.repaid_date < a.application_date OR l.default_date < a.application_date
             THEN 0 ELSE 1 END) AS open_loans,
    SUM(CASE WHEN l.repaid_date < a.application_date OR l.default_date < a.application_date
             THEN 0 ELSE l.amount END) AS open_loan_amount,
    MIN({days('l.start_date', 'a.application_date')}) AS days_since_last_loan
  FROM apps a JOIN loans l ON l.firm_id = a.firm_id AND l.start_date < a.application_date
  GROUP BY a.application_id
)
SELECT a.application_id, a.firm_id, a.application_date,
  f.sector, f.region, f.size,
  {days('f.founded_date', 'a.application_date')} AS firm_age_days,
  GREATEST({days('f.onboard_date', 'a.application_date')}, 0) AS platform_tenure_days,
  f.owner_age, f.employees,
  a.amount AS requested_amount, a.term_months,
  a.amount / NULLIF(s.revenue_365d, 0) AS amount_to_revenue_365d,
  a.amount / NULLIF(s.revenue_90d / 3.0, 0) AS amount_to_monthly_revenue_90d,
  {_select("s", _sales_names())},
  {_select("p", SUP_FEATURES)},
  {_select("t", TAX_FEATURES)},
  {_select("u", UTIL_FEATURES)},
  COALESCE(lf.prior_loans, 0) AS prior_loans, COALESCE(lf.prior_platform_loans, 0) AS prior_platform_loans,
  COALESCE(lf.prior_loan_amount, 0) AS prior_loan_amount, COALESCE(lf.prior_defaults, 0) AS prior_defaults,
  COALESCE(lf.prior_late_loans, 0) AS prior_late_loans,
  COALESCE(lf.prior_late_loans_365d, 0) AS prior_late_loans_365d,
  COALESCE(lf.prior_repaid_loans, 0) AS prior_repaid_loans, COALESCE(lf.open_loans, 0) AS open_loans,
  COALESCE(lf.open_loan_amount, 0) AS open_loan_amount, lf.days_since_last_loan
FROM apps a
JOIN firms f ON f.firm_id = a.firm_id
LEFT JOIN sales_f s ON s.application_id = a.application_id
LEFT JOIN sup_f p ON p.application_id = a.application_id
LEFT JOIN tax_f t ON t.application_id = a.application_id
LEFT JOIN util_f u ON u.application_id = a.application_id
LEFT JOIN loan_f lf ON lf.application_id = a.application_id
ORDER BY a.application_id
"""


# ------------------------------------------------------------------ running it
def _zero_when_no_data(names) -> list[str]:
    """Sums and counts are 0, not unknown, when a firm has no rows in the window."""
    prefixes = ("revenue_", "active_days_", "active_share_", "customers_", "refund_days_", "supplier_payments_",
                "supplier_amount_", "tax_filings_", "tax_declared_sales_", "tax_paid_", "tax_late_filings_",
                "utility_bills_", "utility_overdue_", "utility_amount_", "distinct_suppliers_",
                "supplier_months_paid_", "sales_history_days")
    return [n for n in names if n.startswith(prefixes) and not n.startswith("revenue_per")]


def _table_path(data_dir: Path, name: str) -> str:
    """`name.parquet` or a directory `name/` of Parquet parts; errors name what was looked for."""
    single, folder = data_dir / f"{name}.parquet", data_dir / name
    if single.is_file():
        return str(single)
    if folder.is_dir() and any(folder.glob("*.parquet")):
        return str(folder / "*.parquet")
    raise CreditError(f"data directory {data_dir} has no '{name}' table: expected {single} or Parquet "
                      f"files in {folder}/ (write them with `smepulse credit simulate --out {data_dir}`)")


def _register(con: duckdb.DuckDBPyConnection, data_dir: Path) -> dict[str, str]:
    paths = {}
    for name, cols in REQUIRED.items():
        path = _table_path(data_dir, name)
        # DuckDB-specific: a view over the Parquet files (Spark: spark.read.parquet(...).createOrReplaceTempView).
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
        have = {r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()}
        missing = [c for c in cols if c not in have]
        if missing:
            raise InputError(f"required column missing from table '{name}' (has: {', '.join(sorted(have))})",
                             file=path, column=missing[0])
        paths[name] = path
    return paths


def read_applications(data_dir: str | Path) -> pd.DataFrame:
    return pd.read_parquet(_table_path(Path(data_dir), "applications"))


def _prepare_apps(apps: pd.DataFrame, source: str) -> pd.DataFrame:
    missing = [c for c in APP_REQUIRED if c not in apps.columns]
    if missing:
        raise InputError("applications table lacks a required column", file=source, column=missing[0])
    a = pd.DataFrame({
        "application_id": apps["application_id"].to_numpy(),
        "firm_id": apps["firm_id"].to_numpy(),
        "application_date": pd.to_datetime(apps["application_date"]).dt.normalize().to_numpy(),
        "amount": pd.to_numeric(apps["amount"], errors="coerce") if "amount" in apps else np.nan,
        "term_months": pd.to_numeric(apps["term_months"], errors="coerce") if "term_months" in apps else np.nan,
    })
    if a["application_date"].isna().any():
        row = int(np.flatnonzero(a["application_date"].isna())[0])
        raise InputError("application_date is empty or not a date", file=source, row=row, column="application_date")
    if a["application_id"].duplicated().any():
        dup = a.loc[a["application_id"].duplicated(), "application_id"].iloc[0]
        raise InputError(f"application_id {dup} appears more than once", file=source, column="application_id")
    d = a["application_date"]
    a["lookback_start"] = d - pd.Timedelta(days=LOOKBACK_DAYS)
    cny = cny_dates()
    years = d.dt.year.to_numpy()
    if years.min() - 1 < min(cny) or years.max() > max(cny):
        raise InputError(f"application dates must fall in {min(cny) + 1}-{max(cny)} (CNY table)",
                         file=source, column="application_date")
    this = pd.to_datetime([cny[y] for y in years])
    prev = pd.to_datetime([cny[y - 1] for y in years])
    a["cny_shift"] = np.asarray((this - prev).days, dtype=np.int64)
    for c in ("application_date", "lookback_start"):
        a[c] = a[c].dt.date
    return a


def _check_span(con: duckdb.DuckDBPyConnection, apps: pd.DataFrame, source: str, tx_path: str) -> None:
    lo, hi = con.execute("SELECT MIN(date), MAX(date) FROM transactions").fetchone()
    if lo is None:
        raise CreditError(f"transactions table {tx_path} is empty")
    d = pd.to_datetime(apps["application_date"])
    bad = (d <= pd.Timestamp(lo)) | (d > pd.Timestamp(hi) + pd.Timedelta(days=1))
    if bad.any():
        ids = apps.loc[bad, "application_id"].head(5).tolist()
        raise InputError(f"{int(bad.sum())} application(s) dated outside the data span: transactions in "
                         f"{tx_path} run {lo} to {hi}, so applications must be dated after {lo} and no later "
                         f"than the day after {hi} (first ids: {ids})", file=source, column="application_date")


def build_features(data_dir: str | Path, applications: pd.DataFrame | str | Path | None = None, *,
                   dialect: str = "duckdb", threads: int | None = None, batch_size: int = 200_000,
                   progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Feature table for `applications` (default: the data directory's own applications table).

    Columns: application_id, firm_id, application_date, the features of `feature_specs()` in that
    order, then the target `default_12m` (1/0, NaN when censored or unknown). Every feature uses
    only data dated strictly before its application's date. Applications are processed in batches
    of about `batch_size`, grouped by firm, to bound the engine's memory on large books;
    `progress(done, total)` is called after each batch.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise CreditError(f"data directory {data_dir} does not exist; create it with `smepulse credit simulate`")
    if applications is None:
        source, raw = _table_path(data_dir, "applications"), read_applications(data_dir)
    elif isinstance(applications, (str, Path)):
        source = str(applications)
        if not Path(applications).is_file():
            raise InputError("applications file not found", file=source)
        raw = pd.read_csv(applications) if str(applications).endswith(".csv") else pd.read_parquet(applications)
    else:
        source, raw = "applications (DataFrame)", applications
    apps = _prepare_apps(raw, source)
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    paths = _register(con, data_dir)
    _check_span(con, apps, source, paths["transactions"])
    ids = list(set(apps["firm_id"].tolist()))
    unknown = set(apps["firm_id"]) - {r[0] for r in con.execute(
        "SELECT firm_id FROM firms WHERE firm_id IN (SELECT * FROM unnest(?))", [ids]).fetchall()}
    if unknown:
        raise InputError(f"firm_id(s) {sorted(unknown)[:5]} not in the firms table {paths['firms']}",
                         file=source, column="firm_id")
    apps = apps.sort_values(["firm_id", "application_id"], kind="stable").reset_index(drop=True)
    n_batches = max(1, -(-len(apps) // batch_size))
    # Batches split on firm boundaries, so each touches a contiguous range of firm ids (and Parquet parts).
    cuts = np.searchsorted(apps["firm_id"].to_numpy(), apps["firm_id"].to_numpy()[
        np.linspace(0, len(apps), n_batches + 1).astype(int)[1:-1]])
    parts, sql = [], feature_sql(dialect)
    bounds = [0, *cuts.tolist(), len(apps)]
    for i in range(n_batches):
        batch = apps.iloc[bounds[i]:bounds[i + 1]]
        if len(batch):
            con.register("apps", batch)
            parts.append(con.execute(sql).df())
            con.unregister("apps")
        if progress:
            progress(i + 1, n_batches)
    con.close()
    out = pd.concat(parts, ignore_index=True).sort_values("application_id", kind="stable").reset_index(drop=True)
    names = list(feature_specs())
    fill = _zero_when_no_data(names)
    out[fill] = out[fill].fillna(0)
    for c in ("days_since_last_sale", "days_since_last_supplier_payment"):
        out[c] = out[c].fillna(LOOKBACK_DAYS)
    for c in CATEGORICAL:
        out[c] = out[c].astype("category")
    num = [n for n in names if n not in CATEGORICAL]
    out[num] = out[num].astype(float)
    out["application_date"] = pd.to_datetime(out["application_date"])
    target = (out["application_id"].map(raw.set_index("application_id")[TARGET]).astype(float)
              if TARGET in raw else pd.Series(np.nan, index=out.index))
    return pd.concat([out[list(ID_COLUMNS) + names], target.rename(TARGET)], axis=1)


# ------------------------------------------------------------------ metadata
# Descriptions (en, zh), directions of risk and reason templates live in feature_meta.yaml (data, not code).
META_FILE = Path(__file__).with_name("feature_meta.yaml")
_HEAD = ("sector", "region", "size", "firm_age_days", "platform_tenure_days", "owner_age", "employees",
         "requested_amount", "term_months", "amount_to_revenue_365d", "amount_to_monthly_revenue_90d")
_LOAN = ("prior_loans", "prior_platform_loans", "prior_loan_amount", "prior_defaults", "prior_late_loans",
         "prior_late_loans_365d", "prior_repaid_loans", "open_loans", "open_loan_amount", "days_since_last_loan")


@lru_cache(maxsize=1)
def _meta() -> dict:
    return yaml.safe_load(META_FILE.read_text(encoding="utf-8"))


def _spec(name: str, entry: dict, w: str = "") -> tuple[FeatureSpec, bool]:
    fields = {k: (v.replace("{w}", w).replace("{lookback}", str(LOOKBACK_DAYS)) if isinstance(v, str) else v)
              for k, v in entry.items() if k != "ratio"}
    fields.setdefault("timing", "before_decision")  # build_features uses only data dated before the application
    return FeatureSpec(name, **fields), bool(entry.get("ratio"))


def _window_spec(name: str) -> tuple[FeatureSpec, bool] | None:
    metric, _, rest = name.rpartition("_")
    if metric not in _meta()["window_metrics"] or not rest.endswith("d") or not rest[:-1].isdigit():
        return None
    return _spec(name, _meta()["window_metrics"][metric], rest[:-1])


def _all_specs() -> list[tuple[FeatureSpec, bool]]:
    names = list(_HEAD) + _sales_names() + list(SUP_FEATURES) + list(TAX_FEATURES) + list(UTIL_FEATURES) \
        + list(_LOAN)
    return [_window_spec(n) or _spec(n, _meta()["features"][n]) for n in names]


def feature_specs() -> dict[str, FeatureSpec]:
    """Every feature column of `build_features`, in output order, with its metadata."""
    return {s.name: s for s, _ in _all_specs()}


RATIO_FEATURES = frozenset(s.name for s, ratio in _all_specs() if ratio)


def group_specs() -> dict[str, FeatureSpec]:
    """The protected group columns (GROUP_COLUMNS): descriptions and labels for the fairness tables."""
    return {n: FeatureSpec(n, **e) for n, e in (_meta().get("groups") or {}).items()}


def outcome_specs() -> dict[str, FeatureSpec]:
    """Outcome columns: never features (recorded after the decision)."""
    return {TARGET: FeatureSpec(TARGET, "1 if the loan defaulted (90+ days past due) within 12 months of the "
                                "application, 0 if not, NaN if 12 months had not passed by the data end",
                                available_at_decision=False, timing="after_decision")}


GROUP_COLUMNS = ("owner_gender",)  # protected: for the fairness checks, never a feature


def with_group_columns(table: pd.DataFrame, data_dir: str | Path) -> pd.DataFrame:
    """The feature table plus the firms' protected group columns (owner_gender) when the firms table
    has them, placed before the target: `credit train` finds them by the protected-attribute policy,
    checks the model's fairness on them and never uses them as features."""
    firms = Path(data_dir) / "firms.parquet"
    if not firms.is_file():
        return table
    have = [c for c in GROUP_COLUMNS if c in pq.read_schema(firms).names and c not in table.columns]
    if not have:
        return table
    g = pd.read_parquet(firms, columns=["firm_id", *have]).drop_duplicates("firm_id").set_index("firm_id")
    out = table.drop(columns=[TARGET]) if TARGET in table else table
    groups = pd.DataFrame({c: out["firm_id"].map(g[c]) for c in have}, index=out.index)
    # one concat: inserting columns one by one into the 100+ column table fragments it (pandas warns)
    return pd.concat([out, groups, *([table[TARGET]] if TARGET in table else [])], axis=1)
