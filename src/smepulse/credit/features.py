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

Reason templates (FeatureSpec.reason_en / reason_zh) use exactly two placeholders: `{value}`, the
feature value, and `{pct}`, abs(value) * 100, which appears only in templates of the ratio features
listed in `RATIO_FEATURES` (shares, rates, growth rates). Format specs used: `{value:,.0f}`,
`{value:.0f}`, `{value:.1f}`, `{pct:.0f}`, `{pct:.1f}`.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

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
    AVG(CASE WHEN lag <= 180 AND due = 1 THEN CASE WHEN days_late > 0 THEN 1.0 ELSE 0.0 END END) AS utility_late_share_180d,
    AVG(CASE WHEN lag <= 365 AND due = 1 THEN CASE WHEN days_late > 0 THEN 1.0 ELSE 0.0 END END) AS utility_late_share_365d,
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
    unknown = set(apps["firm_id"]) - {r[0] for r in con.execute(
        "SELECT firm_id FROM firms WHERE firm_id IN (SELECT * FROM unnest(?))", [list(set(apps["firm_id"].tolist()))]).fetchall()}
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
# metric: (description, monotone, reason_en, reason_zh); "{w}" is filled with the window length.
_WINDOW_META: dict[str, tuple[str, int, str, str]] = {
    "revenue": ("platform sales in the {w} days before the application (CNY)", -1,
                "platform sales over the last {w} days were only {value:,.0f} CNY", "近{w}天平台销售额仅{value:,.0f}元"),
    "active_days": ("days with at least one sale in the last {w} days", -1,
                    "sold on only {value:.0f} of the last {w} days", "近{w}天仅有{value:.0f}天有销售"),
    "active_share": ("share of the last {w} days with a sale", -1,
                     "sold on only {pct:.0f}% of the last {w} days", "近{w}天有销售的天数仅占{pct:.0f}%"),
    "revenue_per_active_day": ("mean sales per trading day over the last {w} days (CNY)", -1,
                               "sales per trading day were only {value:,.0f} CNY over the last {w} days",
                               "近{w}天日均销售额仅{value:,.0f}元"),
    "sales_cv": ("coefficient of variation of daily sales over trading days in the last {w} days", 1,
                 "daily sales were volatile over the last {w} days (variation {pct:.0f}%)",
                 "近{w}天日销售额波动大（变异系数{pct:.0f}%）"),
    "sales_trend": ("slope of log daily sales per 30 days over the last {w} days", -1,
                    "sales trended down by about {pct:.0f}% a month over the last {w} days",
                    "近{w}天销售额每月下降约{pct:.0f}%"),
    "customers": ("customer payments received in the last {w} days", -1,
                  "only {value:,.0f} customer payments in the last {w} days", "近{w}天仅有{value:,.0f}笔客户付款"),
    "avg_ticket": ("mean payment per customer in the last {w} days (CNY)", 0,
                   "average payment per customer was {value:,.0f} CNY over the last {w} days",
                   "近{w}天客单价为{value:,.0f}元"),
    "top_customer_share": ("share of sales from the largest customer of each day, last {w} days", 1,
                           "{pct:.0f}% of sales in the last {w} days came from single large customers",
                           "近{w}天{pct:.0f}%的销售额来自单一大客户"),
    "max_day_share": ("share of the {w}-day sales made on the single best day", 1,
                      "{pct:.0f}% of the last {w} days' sales came on one day",
                      "近{w}天{pct:.0f}%的销售额集中在一天"),
    "refund_rate": ("refunds as a share of sales in the last {w} days", 1,
                    "refunds were {pct:.1f}% of sales over the last {w} days", "近{w}天退款占销售额{pct:.1f}%"),
    "refund_days": ("days with a refund in the last {w} days", 0,
                    "refunds on {value:.0f} of the last {w} days", "近{w}天有{value:.0f}天发生退款"),
    "supplier_payments": ("payments to suppliers in the last {w} days", -1,
                          "only {value:.0f} supplier payments in the last {w} days", "近{w}天仅向供应商付款{value:.0f}笔"),
    "supplier_amount": ("amount paid to suppliers in the last {w} days (CNY)", 0,
                        "paid suppliers {value:,.0f} CNY over the last {w} days", "近{w}天向供应商付款{value:,.0f}元"),
    "supplier_to_sales": ("supplier payments as a share of sales in the last {w} days", 0,
                          "supplier payments were {pct:.0f}% of sales over the last {w} days",
                          "近{w}天供应商付款占销售额{pct:.0f}%"),
}
_RATIO_METRICS = {"active_share", "sales_cv", "sales_trend", "top_customer_share", "max_day_share",
                  "refund_rate", "supplier_to_sales"}

# name: (description, monotone, ratio, reason_en, reason_zh)
_OTHER_META: dict[str, tuple[str, int, bool, str, str]] = {
    "sector": ("industry sector (categorical)", 0, False, "sector: {value}", "行业：{value}"),
    "region": ("region of China: east, central, west, northeast (categorical)", 0, False,
               "region: {value}", "地区：{value}"),
    "size": ("firm size class: micro, small, medium (categorical)", 0, False, "firm size: {value}", "企业规模：{value}"),
    "firm_age_days": ("days since the firm was founded", -1, False,
                      "the business is only {value:.0f} days old", "企业成立仅{value:.0f}天"),
    "platform_tenure_days": ("days since the firm joined the payment platform", -1, False,
                             "only {value:.0f} days of payment-platform history", "支付平台经营记录仅{value:.0f}天"),
    "owner_age": ("owner's age in years", 0, False, "owner age {value:.0f}", "经营者年龄{value:.0f}岁"),
    "employees": ("number of employees", -1, False, "only {value:.0f} employees", "员工仅{value:.0f}人"),
    "requested_amount": ("loan amount applied for (CNY)", 1, False,
                         "the amount requested ({value:,.0f} CNY) is large", "申请金额较大（{value:,.0f}元）"),
    "term_months": ("loan term applied for (months)", 0, False, "term {value:.0f} months", "期限{value:.0f}个月"),
    "amount_to_revenue_365d": ("requested amount over platform sales of the last 365 days", 1, True,
                               "the loan is {pct:.0f}% of last year's platform sales",
                               "申请金额为近一年平台销售额的{pct:.0f}%"),
    "amount_to_monthly_revenue_90d": ("requested amount over mean monthly sales of the last 90 days", 1, False,
                                      "the loan equals {value:.1f} months of recent sales",
                                      "申请金额相当于近期{value:.1f}个月的销售额"),
    "growth_30d_vs_prev_30d": ("sales of the last 30 days over the 30 days before, minus 1", -1, True,
                               "sales fell {pct:.0f}% from the previous month", "近30天销售额较前30天下降{pct:.0f}%"),
    "growth_90d_vs_prev_90d": ("sales of the last 90 days over the 90 days before, minus 1", -1, True,
                               "sales fell {pct:.0f}% over the last 3 months", "近3个月销售额下降{pct:.0f}%"),
    "growth_180d_vs_prev_180d": ("sales of the last 180 days over the 180 days before, minus 1", -1, True,
                                 "sales fell {pct:.0f}% over the last 6 months", "近6个月销售额下降{pct:.0f}%"),
    "growth_30d_vs_365d_avg": ("sales of the last 30 days over the 365-day monthly mean, minus 1", -1, True,
                               "last month's sales were {pct:.0f}% below the yearly average",
                               "近30天销售额比近一年月均低{pct:.0f}%"),
    "yoy_growth_30d": ("sales of the last 30 days over the same 30 days a year earlier, minus 1", -1, True,
                       "sales fell {pct:.0f}% year on year (last 30 days)", "近30天销售额同比下降{pct:.0f}%"),
    "yoy_growth_90d": ("sales of the last 90 days over the same 90 days a year earlier, minus 1", -1, True,
                       "sales fell {pct:.0f}% year on year (last 3 months)", "近3个月销售额同比下降{pct:.0f}%"),
    "cny_aligned_yoy_growth_90d": (
        "sales of the last 90 days over the same 90 days relative to the previous Chinese New Year, minus 1",
        -1, True, "sales fell {pct:.0f}% from the same Spring-Festival-aligned period a year earlier",
        "近3个月销售额较上年春节同期下降{pct:.0f}%"),
    "active_days_change_30d": ("trading days in the last 30 days minus those in the 30 days before", -1, False,
                               "trading days changed by {value:.0f} from the previous month",
                               "近30天经营天数较前30天变化{value:.0f}天"),
    "days_since_last_sale": (f"days since the last sale (capped at {LOOKBACK_DAYS})", 1, False,
                             "no sales for {value:.0f} days", "已{value:.0f}天无销售"),
    "sales_history_days": (f"days since the first sale in the look-back (capped at {LOOKBACK_DAYS})", -1, False,
                           "only {value:.0f} days of sales history", "销售记录仅{value:.0f}天"),
    "days_since_last_supplier_payment": (f"days since the last supplier payment (capped at {LOOKBACK_DAYS})", 1,
                                         False, "no supplier payment for {value:.0f} days", "已{value:.0f}天未向供应商付款"),
    "supplier_gap_mean_365d": ("mean days between supplier payments, last 365 days", 1, False,
                               "supplier payments were {value:.0f} days apart on average",
                               "向供应商付款平均间隔{value:.0f}天"),
    "supplier_gap_std_365d": ("standard deviation of days between supplier payments, last 365 days", 1, False,
                              "supplier payments were irregular (gaps vary by {value:.0f} days)",
                              "向供应商付款不规律（间隔波动{value:.0f}天）"),
    "supplier_gap_max_365d": ("longest gap between supplier payments in the last 365 days (days)", 1, False,
                              "a {value:.0f}-day gap without paying suppliers", "曾有{value:.0f}天未向供应商付款"),
    "distinct_suppliers_365d": ("distinct suppliers paid in the last 365 days", 0, False,
                                "paid {value:.0f} suppliers last year", "近一年向{value:.0f}家供应商付款"),
    "distinct_suppliers_90d": ("distinct suppliers paid in the last 90 days", -1, False,
                               "paid only {value:.0f} suppliers in the last 3 months", "近3个月仅向{value:.0f}家供应商付款"),
    "supplier_months_paid_365d": ("30-day blocks of the last 365 days with a supplier payment", -1, False,
                                  "paid suppliers in only {value:.0f} of the last 12 months",
                                  "近12个月中仅{value:.0f}个月向供应商付款"),
    "top_supplier_share_365d": ("share of supplier payments to the largest supplier, last 365 days", 0, True,
                                "{pct:.0f}% of supplier payments went to one supplier",
                                "{pct:.0f}%的供应商付款集中于一家"),
    "tax_filings_365d": ("tax filings filed in the last 365 days", -1, False,
                         "only {value:.0f} tax filings in the last year", "近一年仅申报纳税{value:.0f}次"),
    "tax_declared_sales_90d": ("sales declared in tax filings filed in the last 90 days (CNY)", -1, False,
                               "declared only {value:,.0f} CNY of sales to the tax office in 3 months",
                               "近3个月申报销售额仅{value:,.0f}元"),
    "tax_declared_sales_365d": ("sales declared in tax filings filed in the last 365 days (CNY)", -1, False,
                                "declared only {value:,.0f} CNY of sales to the tax office in a year",
                                "近一年申报销售额仅{value:,.0f}元"),
    "tax_paid_365d": ("tax paid with filings of the last 365 days (CNY)", -1, False,
                      "paid only {value:,.0f} CNY of tax in a year", "近一年纳税仅{value:,.0f}元"),
    "tax_late_filings_365d": ("tax filings after their due date, last 365 days", 1, False,
                              "{value:.0f} late tax filings in the last year", "近一年逾期申报纳税{value:.0f}次"),
    "tax_late_share_365d": ("share of tax filings after their due date, last 365 days", 1, True,
                            "{pct:.0f}% of tax filings were late", "{pct:.0f}%的纳税申报逾期"),
    "tax_days_late_mean_365d": ("mean days past the due date of tax filings, last 365 days", 1, False,
                                "tax filings were {value:.1f} days late on average", "纳税申报平均逾期{value:.1f}天"),
    "days_since_last_tax_filing": ("days since the last tax filing", 1, False,
                                   "no tax filing for {value:.0f} days", "已{value:.0f}天未申报纳税"),
    "tax_declared_growth_90d": ("declared sales filed in the last 90 days over the 90 days before, minus 1", -1, True,
                                "declared sales fell {pct:.0f}% quarter on quarter", "申报销售额环比下降{pct:.0f}%"),
    "platform_to_tax_sales_90d": ("platform sales over declared sales, periods filed in the last 90 days", 1,
                                  True, "platform sales were {pct:.0f}% of the sales declared for tax",
                                  "平台销售额为申报销售额的{pct:.0f}%"),
    "platform_to_tax_sales_365d": ("platform sales over declared sales, periods filed in the last 365 days", 1,
                                   True, "platform sales were {pct:.0f}% of the sales declared for tax over a year",
                                   "近一年平台销售额为申报销售额的{pct:.0f}%"),
    "utility_bills_365d": ("utility bills issued in the last 365 days", -1, False,
                           "only {value:.0f} utility bills in the last year", "近一年仅有{value:.0f}期水电账单"),
    "utility_late_share_180d": ("share of utility bills due in the last 180 days paid late or still unpaid", 1,
                                True, "{pct:.0f}% of utility bills in 6 months were paid late",
                                "近6个月{pct:.0f}%的水电费逾期缴纳"),
    "utility_late_share_365d": ("share of utility bills due in the last 365 days paid late or still unpaid", 1,
                                True, "{pct:.0f}% of utility bills in a year were paid late",
                                "近一年{pct:.0f}%的水电费逾期缴纳"),
    "utility_days_late_mean_180d": ("mean days utility bills were paid after due, last 180 days", 1, False,
                                    "utility bills were paid {value:.1f} days late on average",
                                    "水电费平均逾期{value:.1f}天"),
    "utility_days_late_mean_365d": ("mean days utility bills were paid after due, last 365 days", 1, False,
                                    "utility bills were paid {value:.1f} days late on average over a year",
                                    "近一年水电费平均逾期{value:.1f}天"),
    "utility_overdue_bills": ("utility bills past due and unpaid at the application date", 1, False,
                              "{value:.0f} utility bills are overdue", "有{value:.0f}期水电费逾期未缴"),
    "utility_amount_90d": ("utility bills issued in the last 90 days (CNY)", 0, False,
                           "utility bills of {value:,.0f} CNY in 3 months", "近3个月水电费{value:,.0f}元"),
    "utility_yoy_growth_90d": ("utility bills of the last 90 days over the same 90 days a year earlier, minus 1",
                               -1, True, "electricity use fell {pct:.0f}% year on year", "用电量同比下降{pct:.0f}%"),
    "prior_loans": ("loans started before the application", 0, False,
                    "{value:.0f} earlier loans", "此前有{value:.0f}笔贷款"),
    "prior_platform_loans": ("earlier loans from this platform", 0, False,
                             "{value:.0f} earlier loans from us", "此前在本平台有{value:.0f}笔贷款"),
    "prior_loan_amount": ("total amount of earlier loans (CNY)", 0, False,
                          "earlier loans total {value:,.0f} CNY", "此前贷款合计{value:,.0f}元"),
    "prior_defaults": ("earlier loans that defaulted before the application", 1, False,
                       "{value:.0f} earlier loans defaulted", "此前有{value:.0f}笔贷款违约"),
    "prior_late_loans": ("earlier loans with a repayment 30+ days late before the application", 1, False,
                         "{value:.0f} earlier loans were repaid late", "此前有{value:.0f}笔贷款逾期还款"),
    "prior_late_loans_365d": ("earlier loans first 30+ days late within the last 365 days", 1, False,
                              "{value:.0f} late loan repayments in the last year", "近一年有{value:.0f}笔贷款逾期"),
    "prior_repaid_loans": ("earlier loans fully repaid before the application", -1, False,
                           "only {value:.0f} loans repaid so far", "此前仅结清{value:.0f}笔贷款"),
    "open_loans": ("loans outstanding at the application date", 1, False,
                   "{value:.0f} other loans outstanding", "当前有{value:.0f}笔未结清贷款"),
    "open_loan_amount": ("original amount of loans outstanding at the application date (CNY)", 1, False,
                         "{value:,.0f} CNY of loans outstanding", "未结清贷款{value:,.0f}元"),
    "days_since_last_loan": ("days since the most recent earlier loan started", -1, False,
                             "took another loan only {value:.0f} days ago", "距上一笔贷款仅{value:.0f}天"),
}
_HEAD = ("sector", "region", "size", "firm_age_days", "platform_tenure_days", "owner_age", "employees",
         "requested_amount", "term_months", "amount_to_revenue_365d", "amount_to_monthly_revenue_90d")
_LOAN = ("prior_loans", "prior_platform_loans", "prior_loan_amount", "prior_defaults", "prior_late_loans",
         "prior_late_loans_365d", "prior_repaid_loans", "open_loans", "open_loan_amount", "days_since_last_loan")


def _window_spec(name: str) -> tuple[FeatureSpec, bool] | None:
    metric, _, rest = name.rpartition("_")
    if metric not in _WINDOW_META or not rest.endswith("d") or not rest[:-1].isdigit():
        return None
    w = rest[:-1]
    desc, mono, en, zh = _WINDOW_META[metric]
    return FeatureSpec(name, desc.format(w=w), True, mono, en.replace("{w}", w), zh.replace("{w}", w)), \
        metric in _RATIO_METRICS


def _all_specs() -> list[tuple[FeatureSpec, bool]]:
    names = list(_HEAD) + _sales_names() + list(SUP_FEATURES) + list(TAX_FEATURES) + list(UTIL_FEATURES) + list(_LOAN)
    out = []
    for n in names:
        ws = _window_spec(n)
        if ws is None:
            desc, mono, ratio, en, zh = _OTHER_META[n]
            ws = FeatureSpec(n, desc, True, mono, en, zh), ratio
        out.append(ws)
    return out


def feature_specs() -> dict[str, FeatureSpec]:
    """Every feature column of `build_features`, in output order, with its metadata."""
    return {s.name: s for s, _ in _all_specs()}


RATIO_FEATURES = frozenset(s.name for s, ratio in _all_specs() if ratio)


def outcome_specs() -> dict[str, FeatureSpec]:
    """Outcome columns: never features (recorded after the decision)."""
    return {TARGET: FeatureSpec(TARGET, "1 if the loan defaulted (90+ days past due) within 12 months of the "
                                "application, 0 if not, NaN if 12 months had not passed by the data end",
                                available_at_decision=False)}
