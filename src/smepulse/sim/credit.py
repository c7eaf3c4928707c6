"""Seeded generator of SME alternative data for credit (no public SME transaction data exists).

One latent monthly *health* process per firm drives everything: payment-platform sales, refunds,
supplier payments, tax filings, utility payments, repayment of prior loans and default within 12
months of a loan application. Health is an AR(1) around a firm mean set by sector, size, age and
owner, plus a common macro cycle and sector shocks (`SectorShock`). Defaults are drawn from monthly
hazards of the *future* health path, so features built from the past predict them only partly.
After a default, health drops and most firms close, so any look-ahead in features is punished.

Output (all amounts in CNY; dates are Parquet DATE; one directory per table, chunked by firm):
  firms.parquet          firm_id, sector, region, size, founded_date, onboard_date, owner_age,
                         owner_gender, employees, thin_file
  transactions/*.parquet firm_id, date, kind ('sale' | 'refund' | 'supplier_payment'), amount,
                         n_customers (sales: customers that day; refunds: refund count),
                         top_customer_amount (sales), counterparty_id (supplier payments)
  tax/*.parquet          firm_id, period (first day of month), due_date (15th of the next month),
                         filing_date, declared_sales, tax_paid
  utilities/*.parquet    firm_id, period, bill_date, due_date, paid_date (null = unpaid at data end), amount
  loans.parquet          loan_id, firm_id, lender ('platform' | 'other'), application_id, start_date,
                         amount, term_months, first_late_date, default_date, repaid_date (events
                         after the data end are null: not yet observed)
  applications.parquet   application_id, firm_id, application_date, amount, term_months, currency,
                         outcome ('default' | 'repaid' | 'open' at data end), default_date,
                         default_12m (1/0; null when 12 months have not passed by the data end)
Applications are dated in the window [start, start + months). The data (flows, tax, utilities, loans,
outcomes) run on for `outcome_months` of follow-up to the data end, start + months + outcome_months
(exclusive), and begin `history_months` before the start. With the default 12 months of follow-up
every application has an observed 12-month outcome (default_12m is never null); outcome_months=0 ends
the data with the window, so the last year's applications are right-censored as a live book's are.
Hidden health runs 12 months past the data end; only what happened before the data end is written.
"""
from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from smepulse.errors import CreditError
from smepulse.seasonal.holidays import cny_dates

SECTORS = ("manufacturing", "construction", "real_estate", "wholesale_retail", "transport_logistics",
           "accommodation_catering", "it_finance", "other_services")
SECTOR_P = np.array([0.16, 0.08, 0.04, 0.32, 0.08, 0.14, 0.06, 0.12])
SECTOR_HEALTH = np.array([0.0, -0.15, -0.25, 0.0, -0.05, -0.1, 0.15, 0.05])
SECTOR_LOGREV = np.array([0.6, 0.7, 0.8, 0.0, 0.3, -0.2, 0.3, -0.3])
SECTOR_TICKET = np.array([6000.0, 15000.0, 30000.0, 90.0, 1500.0, 70.0, 2500.0, 200.0])  # CNY per customer
SECTOR_B2B = np.array([1, 1, 1, 0, 1, 0, 1, 0], dtype=bool)  # quiet weekends, few customers
SECTOR_REFUND = np.array([0.006, 0.003, 0.002, 0.02, 0.008, 0.012, 0.01, 0.015])
REGIONS = ("east", "central", "west", "northeast")
REGION_P = np.array([0.45, 0.25, 0.2, 0.1])
REGION_HEALTH = np.array([0.1, 0.0, -0.05, -0.15])
SIZES = ("micro", "small", "medium")
SIZE_P = np.array([0.7, 0.25, 0.05])
SIZE_HEALTH = np.array([-0.15, 0.05, 0.25])
SIZE_LOGREV = np.array([7.8, 9.3, 10.8])  # log CNY per active day
KINDS = ("sale", "refund", "supplier_payment")
PHI, HEALTH_SD = 0.85, 0.32  # monthly AR(1) persistence and innovation sd
HAZARD_SLOPE = -2.6  # log-odds of monthly default hazard per unit of health


@dataclass(frozen=True)
class SectorShock:
    """A macro shock: `size` added to the health of every firm in `sector` for `months` months."""
    sector: str
    start: str  # 'YYYY-MM'
    months: int = 6
    size: float = -0.8


@dataclass(frozen=True)
class SimConfig:
    n_firms: int = 10_000
    start: str = "2023-01-01"
    months: int = 24
    default_rate: float = 0.02  # mean 12-month default probability over applications
    seed: int = 0
    thin_share: float = 0.15  # new businesses with under ~6 months of data when they first apply
    apps_per_firm: float = 1.0  # mean applications per firm over the span
    shocks: tuple[SectorShock, ...] | None = None  # None: one seeded random shock
    chunk_firms: int = 2_500  # firms per Parquet part; bounds memory (about 0.3 GB per worker)
    workers: int = 1  # processes writing chunks in parallel; output is the same for any number
    # Months of flows before `start`, so every application has the features' full look-back (480 days).
    history_months: int = 16
    # Months of data after the application window: 12 observes every application's 12-month outcome;
    # fewer leaves the last applications unlabelled (censored), as in a book scored before they mature.
    outcome_months: int = 12
    # Counterfactual futures for look-ahead tests: health innovations (firm and macro) from this month
    # ('YYYY-MM') on are drawn from `fork_seed`; everything dated before it must not change.
    fork_month: str | None = None
    fork_seed: int = 0

    def validate(self) -> None:
        if self.n_firms < 1:
            raise CreditError(f"n_firms must be >= 1, got {self.n_firms}")
        if not 6 <= self.months <= 240:
            raise CreditError(f"months must be 6-240, got {self.months}")
        if not 0.001 <= self.default_rate <= 0.5:
            raise CreditError(f"default_rate must be in [0.001, 0.5], got {self.default_rate}")
        if not 0 <= self.history_months <= 60:
            raise CreditError(f"history_months must be 0-60, got {self.history_months}")
        if not 0 <= self.outcome_months <= 60:
            raise CreditError(f"outcome_months must be 0-60, got {self.outcome_months}")
        if not 0 <= self.thin_share <= 1:
            raise CreditError(f"thin_share must be in [0, 1], got {self.thin_share}")
        for s in self.shocks or ():
            if s.sector not in SECTORS:
                raise CreditError(f"shock sector '{s.sector}' unknown; use one of {', '.join(SECTORS)}")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _month_starts(start: np.datetime64, n: int) -> np.ndarray:
    return (start.astype("datetime64[M]") + np.arange(n + 1)).astype("datetime64[D]")


# ------------------------------------------------------------------ firm-level state
def _firms(cfg: SimConfig, rng: np.random.Generator, start, end) -> dict:
    n = cfg.n_firms
    f = {
        "sector": rng.choice(len(SECTORS), n, p=SECTOR_P),
        "region": rng.choice(len(REGIONS), n, p=REGION_P),
        "size": rng.choice(len(SIZES), n, p=SIZE_P),
        "thin": rng.random(n) < cfg.thin_share,
        "owner_age": rng.integers(22, 66, n),
        "owner_gender": rng.choice(np.array(["m", "f"]), n, p=[0.68, 0.32]),
        "growth": rng.normal(0.03, 0.12, n),  # yearly sales drift independent of health
        "platform_share": rng.uniform(0.35, 0.95, n),  # share of true sales seen on the platform
        "conc": rng.beta(2, 5, n),  # typical top-customer share for B2B firms
        "cost_share": rng.uniform(0.3, 0.7, n),
        "n_suppliers": rng.integers(1, 6, n),
        "payday": rng.integers(1, 29, (n, 5)),
        "supplier_id": rng.integers(1, 500_000, (n, 5)),
        "kwh_scale": rng.lognormal(0, 0.4, n),
    }
    f["employees"] = np.maximum(1, np.round(rng.lognormal(np.array([1.0, 2.8, 4.3])[f["size"]], 0.5))).astype(int)
    f["logrev"] = SIZE_LOGREV[f["size"]] + SECTOR_LOGREV[f["sector"]] + rng.normal(0, 0.5, n)
    age_years = rng.gamma(2.0, 4.0, n) + 0.5
    f["founded"] = start - np.round(age_years * 365.25).astype("timedelta64[D]")
    f["onboard"] = start - rng.integers(365, 5 * 365, n).astype("timedelta64[D]")  # established firms
    f["onboard"] = np.maximum(f["onboard"], f["founded"])
    f["exit"] = np.full(n, end + np.timedelta64(400, "D"))  # beyond any date written
    return f


def _health(cfg: SimConfig, f: dict, n_months: int, start, origin, fork: bool) -> np.ndarray:
    """Monthly health, column 0 = month `origin`. Innovations are drawn whole (firm x month) from their
    own stream, so a fork changes months >= fork_month and nothing before them. Month t's innovations are
    the same for any `n_months` (firm innovations fill month by month; the macro walk and the random
    shock have streams of their own), so the follow-up's length never changes the health of a month."""
    n = cfg.n_firms
    rng = np.random.default_rng([cfg.seed, 2])
    age = np.maximum((start - f["founded"]).astype(float) / 365.25, 0.1)
    mu = (SECTOR_HEALTH[f["sector"]] + REGION_HEALTH[f["region"]] + SIZE_HEALTH[f["size"]]
          + 0.12 * np.log(age) - 0.15 * f["thin"] - 0.006 * np.abs(f["owner_age"] - 45)
          + 0.3 - 0.5 * (f["conc"] - 0.3) * SECTOR_B2B[f["sector"]] + rng.normal(0, 0.45, n))
    x0 = rng.normal(0, HEALTH_SD / np.sqrt(1 - PHI**2), n)
    eps = rng.normal(0, HEALTH_SD, (n_months, n)).astype(np.float32)
    d_macro = np.random.default_rng([cfg.seed, 2, 1]).normal(0, 0.08, n_months)
    shock_list = _shocks(cfg, np.random.default_rng([cfg.seed, 2, 2]), start.astype("datetime64[M]"))
    if fork and cfg.fork_month:
        k = int((np.datetime64(cfg.fork_month, "M") - origin).astype(int))
        if 0 <= k < n_months:
            alt = np.random.default_rng([cfg.seed, 3, cfg.fork_seed])
            eps[k:] = alt.normal(0, HEALTH_SD, (n_months - k, n))
            d_macro[k:] = alt.normal(0, 0.08, n_months - k)
    macro = d_macro.cumsum() * 0.5
    shocks = np.zeros((len(SECTORS), n_months))
    month0 = origin
    for s in shock_list:
        m = int((np.datetime64(s.start, "M") - month0).astype(int))
        lo, hi = max(m, 0), min(m + s.months, n_months)
        if lo < hi:
            # Ramps in and out over two months: sector downturns build up and fade.
            ramp = np.minimum(1.0, np.minimum(np.arange(lo, hi) - m + 1, m + s.months - np.arange(lo, hi)) / 2)
            shocks[SECTORS.index(s.sector), lo:hi] += s.size * ramp
    h = np.empty((n, n_months), dtype=np.float32)
    x = x0
    for t in range(n_months):  # loop over months (tens), vectorised over firms
        x = PHI * x + eps[t]
        h[:, t] = mu + x + macro[t] + shocks[f["sector"], t]
    return h


def _shocks(cfg: SimConfig, rng: np.random.Generator, month0) -> tuple[SectorShock, ...]:
    if cfg.shocks is not None:
        return cfg.shocks
    sector = SECTORS[rng.integers(len(SECTORS))]
    m = int(rng.integers(3, max(4, cfg.months - 3)))
    return (SectorShock(sector, str(month0 + m), int(rng.integers(6, 13)), -0.8),)


# ------------------------------------------------------------------ applications and loans
def _mi(dates: np.ndarray, origin) -> np.ndarray:
    """Month index of dates in the health array (column 0 = month `origin`)."""
    return (dates.astype("datetime64[M]") - origin).astype(int)


def _month_day(origin, m: np.ndarray) -> np.ndarray:
    return (origin + m).astype("datetime64[D]")


def _applications(cfg: SimConfig, f: dict, h: np.ndarray, h_cal: np.ndarray, origin, start, window_end
                  ) -> pd.DataFrame:
    """Applications with their platform-loan outcome. Every draw has a fixed shape (no draw count depends
    on health), so a different future changes outcomes after an application and nothing before it."""
    n = cfg.n_firms
    rng = np.random.default_rng([cfg.seed, 4])
    k = rng.poisson(cfg.apps_per_firm, n)
    k[f["thin"]] = np.maximum(k[f["thin"]], 1)  # new businesses are here to borrow
    firm = np.repeat(np.arange(n), k)
    span = int((window_end - start).astype(int))  # the follow-up after the window has no applications
    date = start + rng.integers(0, span, firm.size).astype("timedelta64[D]")  # history precedes the start
    order = np.lexsort((date, firm))
    firm, date = firm[order], date[order]
    # Thin-file firms joined the platform 20-180 days before their first application.
    first = np.r_[True, firm[1:] != firm[:-1]]
    thin_first = first & f["thin"][firm]
    onboard = date[thin_first] - rng.integers(20, 181, thin_first.sum()).astype("timedelta64[D]")
    f["onboard"][firm[thin_first]] = onboard
    f["founded"][firm[thin_first]] = onboard - rng.integers(0, 120, thin_first.sum()).astype("timedelta64[D]")
    # One application per firm-day.
    keep = np.r_[True, (firm[1:] != firm[:-1]) | (date[1:] != date[:-1])]
    firm, date = firm[keep], date[keep]
    m = firm.size

    m_app = _mi(date, origin)
    monthly_rev = np.exp(f["logrev"][firm] + 0.8 * h[firm, m_app]) * 26
    amount = np.maximum(5_000, np.round(monthly_rev * rng.uniform(0.5, 3.0, m), -3))
    term = rng.choice(np.array([6, 12, 24]), m, p=[0.3, 0.5, 0.2])
    # Step s (0..11): in month m_app+1+s the firm may stop paying, with a hazard from that month's
    # health (the future health innovations are what the features cannot see). 30 days later it is
    # first late (30+ days past due), 90 days later in default (90+ days past due): every event is
    # dated in or after the month whose health caused it.
    steps = np.arange(12)
    fut = m_app[:, None] + 1 + steps
    lev = np.log(amount / monthly_rev)
    base = 0.25 * lev[:, None] + 0.4 * f["thin"][firm][:, None]
    damp = np.where(steps[None, :] >= term[:, None], 0.3, 1.0)  # repaid short loans mostly stop the clock
    # Intercept from the unforked path: a counterfactual future must not move the hazard of the past.
    # A stop in steps 0-8 becomes a default within 12 months (step 8 about half the time).
    w12 = np.where(steps < 8, 1.0, np.where(steps == 8, 0.5, 0.0))
    a = _calibrate(HAZARD_SLOPE * h_cal[firm[:, None], fut] + base, damp * w12, cfg.default_rate)
    hazard = _sigmoid(a + HAZARD_SLOPE * h[firm[:, None], fut] + base) * damp
    hit = rng.random(hazard.shape) < hazard
    dm = np.where(hit.any(1), hit.argmax(1), -1)
    stop = _month_day(origin, m_app + 1 + np.maximum(dm, 0)) + rng.integers(0, 28, m).astype("timedelta64[D]")
    nat = np.datetime64("NaT")
    default_date = np.where(dm >= 0, stop + np.timedelta64(90, "D"), nat)
    # Late but cured: one month of the first year of the term, its own health.
    cs = np.minimum(rng.integers(0, 12, m), term - 1)
    cured = (dm < 0) & (rng.random(m) < _sigmoid(-3.0 - 1.2 * h[firm, m_app + 1 + cs]))
    cured_late = _month_day(origin, m_app + 1 + cs) + rng.integers(0, 28, m).astype("timedelta64[D]") \
        + np.timedelta64(30, "D")
    late = np.where(dm >= 0, stop + np.timedelta64(30, "D"), np.where(cured, cured_late, nat))
    apps = pd.DataFrame({"application_id": np.arange(1, m + 1), "firm_id": firm, "application_date": date,
                         "amount": amount, "term_months": term, "default_date": default_date,
                         "first_late_date": late})
    # The platform would not lend again after a default: drop later applications of the firm (ids are
    # given before, so an application's id does not depend on what happens after it).
    first_def = apps.groupby("firm_id")["default_date"].transform("min")
    return apps[~(apps["application_date"] > first_def)].reset_index(drop=True)


def _calibrate(score: np.ndarray, damp: np.ndarray, rate: float) -> float:
    """Intercept so the mean 12-month PD over applications equals `rate` (bisection)."""
    lo, hi = -20.0, 5.0
    for _ in range(50):
        a = (lo + hi) / 2
        pd12 = 1 - np.prod(1 - _sigmoid(a + score) * damp, axis=1)
        lo, hi = (a, hi) if pd12.mean() < rate else (lo, a)
    return (lo + hi) / 2


def _distress(cfg: SimConfig, f: dict, h: np.ndarray, apps: pd.DataFrame, origin) -> None:
    """After a default health collapses; 70% of defaulters close within 90 days."""
    rng = np.random.default_rng([cfg.seed, 5])
    u, delay = rng.random(cfg.n_firms), rng.integers(0, 91, cfg.n_firms)  # per firm: fixed shapes
    d = apps.dropna(subset=["default_date"]).groupby("firm_id")["default_date"].min()
    firm = d.index.to_numpy()
    ddate = d.to_numpy().astype("datetime64[D]")
    m = _mi(ddate, origin)
    cols = np.arange(h.shape[1])
    h[firm] -= 1.5 * (cols[None, :] >= m[:, None])
    closes = u[firm] < 0.7
    f["exit"][firm[closes]] = ddate[closes] + delay[firm[closes]].astype("timedelta64[D]")


def _loans(cfg: SimConfig, f: dict, h: np.ndarray, apps: pd.DataFrame, origin, start, end) -> pd.DataFrame:
    nat = np.datetime64("NaT")
    # Platform loans: one per application, outcomes from the simulation.
    a_date = apps["application_date"].to_numpy().astype("datetime64[D]")
    a_def = apps["default_date"].to_numpy().astype("datetime64[D]")
    a_term = apps["term_months"].to_numpy()
    a_mat = (a_date.astype("datetime64[M]") + a_term).astype("datetime64[D]") + (
        a_date - a_date.astype("datetime64[M]").astype("datetime64[D]"))
    has_def = ~np.isnat(a_def)
    platform = pd.DataFrame({
        "firm_id": apps["firm_id"].to_numpy(), "lender": "platform",
        "application_id": apps["application_id"].to_numpy(), "start_date": a_date,
        "amount": apps["amount"].to_numpy(), "term_months": a_term,
        "first_late_date": apps["first_late_date"].to_numpy().astype("datetime64[D]"),
        "default_date": a_def, "repaid_date": np.where(has_def, nat, a_mat)})
    # Loans from other lenders, some before the data start. Month by month over the term, a firm may
    # stop paying (hazard from that month's health): late 30 days later, default 90 days later; or be
    # late once and cure. Events are dated in or after the month whose health drew them.
    rng = np.random.default_rng([cfg.seed, 6])
    k = rng.poisson(0.8, cfg.n_firms)
    firm = np.repeat(np.arange(cfg.n_firms), k)
    m = firm.size
    s = start - np.timedelta64(3 * 365, "D") + rng.integers(0, 3 * 365 + int((end - start).astype(int)),
                                                           m).astype("timedelta64[D]")
    s = np.maximum(s, f["founded"][firm] + np.timedelta64(30, "D"))
    term = rng.choice(np.array([12, 24, 36]), m)
    mat = s + (term * 30.4).astype("timedelta64[D]")
    steps = np.arange(36)
    midx = np.clip(_mi(s, origin)[:, None] + steps, 0, h.shape[1] - 1)
    hh = h[firm[:, None], midx]
    within = steps[None, :] < term[:, None]
    u_def, u_late = rng.random((m, 36)), rng.random((m, 36))
    day_def, day_late = rng.integers(0, 28, m), rng.integers(0, 28, m)
    amount = np.round(np.exp(f["logrev"][firm] + 3.5 + rng.normal(0, 0.6, m)), -3)
    stop_hit = within & (u_def < _sigmoid(-7.0 - 1.6 * hh))
    late_hit = within & (u_late < _sigmoid(-5.6 - 1.4 * hh))

    def when(hit, day):
        j = np.where(hit.any(1), hit.argmax(1), -1)
        month = _month_day(origin, np.clip(_mi(s, origin) + np.maximum(j, 0), 0, None))
        return j, np.maximum(month, s + np.timedelta64(1, "D")) + day.astype("timedelta64[D]")

    j_def, stop = when(stop_hit, day_def)
    j_late, cure = when(late_hit, day_late)
    o_def = np.where(j_def >= 0, stop + np.timedelta64(90, "D"), nat)
    o_late = np.where(j_def >= 0, stop + np.timedelta64(30, "D"),
                      np.where(j_late >= 0, cure + np.timedelta64(30, "D"), nat))
    other = pd.DataFrame({
        "firm_id": firm, "lender": "other", "application_id": pd.array([pd.NA] * m, "Int64"),
        "start_date": s, "amount": amount, "term_months": term, "first_late_date": o_late, "default_date": o_def,
        "repaid_date": np.where(np.isnat(o_def), mat, nat)})
    other = other[other["start_date"] < np.minimum(end, f["exit"][firm])]
    loans = pd.concat([platform, other], ignore_index=True)
    loans["application_id"] = loans["application_id"].astype("Int64")
    for c in ("first_late_date", "default_date", "repaid_date"):  # not yet observed at the data end
        v = loans[c].to_numpy().astype("datetime64[D]")
        loans[c] = np.where(v < end, v, nat)
    loans = loans[loans["start_date"] < end].sort_values(["firm_id", "start_date"], kind="stable")
    loans.insert(0, "loan_id", np.arange(1, len(loans) + 1))
    return loans.reset_index(drop=True)


# ------------------------------------------------------------------ per-chunk flows
def _day_effects(days: np.ndarray) -> dict[str, np.ndarray]:
    """Day-of-week, annual and Chinese New Year multipliers shared by all firms."""
    cny = cny_dates()
    years = days.astype("datetime64[Y]").astype(int) + 1970
    this = np.array([np.datetime64(cny[y]) for y in years])
    nxt = np.array([np.datetime64(cny[y + 1]) for y in years])
    a, b = (days - this).astype(int), (days - nxt).astype(int)
    off = np.where(np.abs(a) <= np.abs(b), a, b)  # days from the nearest CNY
    doy = (days - days.astype("datetime64[Y]")).astype(int)
    return {
        "dow": (days.astype("datetime64[D]").astype(int) + 3) % 7,  # 0 = Monday
        "annual": 0.08 * np.sin(2 * np.pi * (doy - 80) / 365.25),
        "pre_cny": ((off >= -21) & (off <= -2)).astype(float),
        "holiday": ((off >= -1) & (off <= 6)).astype(float),
        "restart": ((off >= 7) & (off <= 14)).astype(float),
    }


def _daily_health(h: np.ndarray, days: np.ndarray, start) -> np.ndarray:
    """Health on each day, moving from the previous month's value to the current month's over the month
    (column 0 of `h` is the month before `start`). Never toward the next month: no look-ahead."""
    month = days.astype("datetime64[M]")
    m = (month - start.astype("datetime64[M]")).astype(int)
    first = month.astype("datetime64[D]")
    length = ((month + 1).astype("datetime64[D]") - first).astype(float)
    w = (((days - first).astype(float) + 1) / length).astype(np.float32)
    return h[:, m] * (1 - w) + h[:, m + 1] * w


def _flows(f: dict, ids: np.ndarray, h: np.ndarray, days: np.ndarray, eff: dict, rng, start, end):
    """Daily sales and refunds (sale rows, refund rows) and the sales matrix for monthly sums."""
    f32 = np.float32
    sec = f["sector"][ids]
    b2b = SECTOR_B2B[sec][:, None]
    hd = _daily_health(h, days, start)
    shape = hd.shape
    weekend = (eff["dow"] >= 5)[None, :]
    retailish = np.isin(sec, [3, 5])[:, None]
    years = ((days - start).astype(f32) / f32(365.25))[None, :]
    day_term = (eff["annual"] - 0.7 * eff["holiday"] - 0.25 * eff["restart"]).astype(f32)[None, :]
    log_mu = (f["logrev"][ids].astype(f32)[:, None] + f32(0.8) * hd + f["growth"][ids].astype(f32)[:, None] * years
              + day_term + np.where(weekend, np.where(b2b, f32(-0.6), f32(0.15)), f32(0))
              + eff["pre_cny"].astype(f32)[None, :] * np.where(retailish, f32(0.2), f32(-0.05)))
    sig = 1 / (1 + np.exp(2 * hd))  # distressed firms are more volatile
    log_mu += (f32(0.2) + f32(0.5) * sig) * rng.standard_normal(shape, dtype=f32)
    amount = np.exp(log_mu)
    del log_mu
    p_active = 1 / (1 + np.exp(-(f32(2.3) + f32(1.2) * hd - np.where(weekend & b2b, f32(1.8), f32(0)))))
    p_active *= (1 - 0.75 * eff["holiday"]).astype(f32)[None, :]
    alive = (days[None, :] >= f["onboard"][ids][:, None]) & (days[None, :] < f["exit"][ids][:, None])
    active = alive & (rng.random(shape, dtype=f32) < p_active)
    amount = np.where(active, np.round(amount, 2), f32(0))
    # Per-cell draws are made for every firm-day (fixed shapes), so a different future elsewhere never
    # shifts the random numbers of a past day.
    z_cust, z_share = rng.standard_normal(shape, dtype=f32), rng.standard_normal(shape, dtype=f32)
    u_ref, e_ref = rng.random(shape, dtype=f32), rng.standard_exponential(shape, dtype=f32)
    fi, di = np.nonzero(active)
    amt = amount[fi, di]
    # Per-row quantities only where the firm traded: far fewer cells than firm x day.
    sec_r = sec[fi]
    lam = amt / SECTOR_TICKET[sec_r].astype(f32)  # Poisson by its normal approximation: 10x faster
    cust = 1 + np.maximum(0, np.round(lam + np.sqrt(lam) * z_cust[fi, di])).astype(np.int32)
    conc = np.where(SECTOR_B2B[sec_r], f["conc"][ids][fi], 0.0)
    share = np.clip(conc * np.exp(0.3 * z_share[fi, di]), 1.0 / cust, 1)
    top = np.round(amt * share, 2)
    h_r = hd[fi, di]
    rate = SECTOR_REFUND[sec_r] * np.exp(-0.9 * h_r)  # expected refunds / sales
    p_ref = np.minimum(0.9, 1 - np.exp(-cust * rate))
    ref_on = u_ref[fi, di] < p_ref
    ref_amt = np.minimum(amt, amt * e_ref[fi, di] * rate / np.maximum(p_ref, 1e-6))[ref_on]
    n_ref = np.maximum(1, np.round(cust[ref_on] * rate[ref_on])).astype(np.int32)
    sales = (ids[fi], days[di], 0, amt, cust, top)
    refunds = (ids[fi[ref_on]], days[di[ref_on]], 1, np.maximum(0.01, np.round(ref_amt, 2)), n_ref, None)
    return sales, refunds, amount


def _suppliers(f, ids, h, month_starts, rng, end):
    nf, nm = ids.size, month_starts.size - 1
    hm = h[:, :nm]
    k = f["n_suppliers"][ids]
    exists = np.arange(5)[None, None, :] < k[:, None, None]
    pay = exists & (rng.random((nf, nm, 5)) < _sigmoid(2.4 + 1.8 * hm)[:, :, None])
    delay = rng.exponential(1 + 6 * _sigmoid(-2 * hm))[:, :, None] * rng.random((nf, nm, 5)) * 2
    date = (month_starts[:-1][None, :, None] + (f["payday"][ids][:, None, :] - 1).astype("timedelta64[D]")
            + delay.astype(int).astype("timedelta64[D]"))
    alive = (date >= f["onboard"][ids][:, None, None]) & (date < np.minimum(f["exit"][ids], end)[:, None, None])
    pay &= alive
    monthly = np.exp(f["logrev"][ids][:, None] + 0.8 * hm) * 22 * f["cost_share"][ids][:, None]
    amt = monthly[:, :, None] / k[:, None, None] * rng.lognormal(0, 0.25, (nf, nm, 5))
    i, m, s = np.nonzero(pay)
    return (ids[i], date[i, m, s], 2, np.round(amt[i, m, s], 2), None, None, f["supplier_id"][ids][i, s])


def _tax_util(f, ids, h, month_starts, month_sales, rng, end):
    nf, nm = ids.size, month_starts.size - 1
    hm = h[:, :nm]
    ends = month_starts[1:]
    alive = (month_starts[:-1][None, :] >= f["onboard"][ids][:, None]) & (ends[None, :] <= f["exit"][ids][:, None])
    # Tax: declared sales scale platform sales up by the platform share; distress under-reports.
    declared = month_sales / f["platform_share"][ids][:, None] * np.exp(
        0.2 * np.minimum(hm, 0) + rng.normal(0, 0.08, (nf, nm)))
    late = rng.random((nf, nm)) < _sigmoid(-2.6 - 1.8 * hm)
    lag = np.where(late, 15 + 1 + rng.exponential(20, (nf, nm)), rng.integers(1, 15, (nf, nm)))
    filing = ends[None, :] + lag.astype(int).astype("timedelta64[D]") - np.timedelta64(1, "D")
    ok = alive & (filing < end)
    i, m = np.nonzero(ok)
    tax = {"firm_id": ids[i], "period": month_starts[m], "due_date": ends[m] + np.timedelta64(14, "D"),
           "filing_date": filing[i, m],
           "declared_sales": np.round(declared[i, m], 2), "tax_paid": np.round(declared[i, m] * 0.01, 2)}
    # Utilities: bill on the 5th of the next month, due 20 days later; distress pays late or never.
    bill = ends + np.timedelta64(4, "D")
    due = bill + np.timedelta64(20, "D")
    on_bill = (month_starts[:-1][None, :] >= f["onboard"][ids][:, None]) & (
        month_starts[:-1][None, :] < f["exit"][ids][:, None]) & (bill[None, :] < end)
    p_late = _sigmoid(-2.0 - 2.0 * hm)
    u = rng.random((nf, nm))
    paid_off = np.where(u < p_late, 1 + rng.exponential(18, (nf, nm)), -rng.integers(0, 16, (nf, nm)))
    paid = due[None, :] + paid_off.astype(int).astype("timedelta64[D]")
    closed = paid >= f["exit"][ids][:, None]  # closed firms stop paying
    paid = np.where(closed | (paid >= end), np.datetime64("NaT"), paid)
    season = 1 + 0.25 * np.cos(2 * np.pi * (month_starts[:-1].astype("datetime64[M]").astype(int) % 12 - 6.5) / 6)
    kwh = f["kwh_scale"][ids][:, None] * np.exp(f["logrev"][ids][:, None] * 0.6) * season[None, :] * np.exp(0.2 * hm)
    i, m = np.nonzero(on_bill)
    util = {"firm_id": ids[i], "period": month_starts[m], "bill_date": bill[m], "due_date": due[m],
            "paid_date": paid[i, m], "amount": np.round(kwh[i, m] * 0.8, 2)}
    return tax, util


def _txn_table(parts: list[tuple]) -> pa.Table:
    firm = np.concatenate([p[0] for p in parts]).astype(np.int32)
    date = np.concatenate([p[1] for p in parts]).astype("datetime64[D]")
    kind = np.concatenate([np.full(len(p[0]), p[2], np.int8) for p in parts])
    amount = np.concatenate([p[3] for p in parts]).astype(np.float64)
    n = [len(p[0]) for p in parts]

    def opt(j, dtype):
        vals = [p[j] if len(p) > j and p[j] is not None else np.zeros(k, dtype) for p, k in zip(parts, n, strict=False)]
        mask = np.concatenate([np.zeros(k, bool) if len(p) > j and p[j] is not None else np.ones(k, bool)
                               for p, k in zip(parts, n, strict=False)])
        return pa.array(np.concatenate(vals).astype(dtype), mask=mask)

    # Rows stay grouped by kind and firm (no sort): DuckDB does not need order, writing is faster.
    return pa.table({
        "firm_id": firm, "date": date, "kind": pa.DictionaryArray.from_arrays(kind, list(KINDS)),
        "amount": amount, "n_customers": opt(4, np.int32), "top_customer_amount": opt(5, np.float64),
        "counterparty_id": opt(6, np.int32)})


def _write(table: pa.Table | pd.DataFrame, path: Path) -> int:
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Dictionaries only for low-cardinality columns: dictionary-encoding amounts costs time, saves nothing.
    dict_cols = [c for c in table.column_names if c.endswith("_id") or c in ("date", "kind", "period")
                 or c.endswith("_date") or c in ("sector", "region", "size", "lender", "outcome", "currency")]
    pq.write_table(table, path, compression="zstd", compression_level=1, use_dictionary=dict_cols)
    return table.num_rows


def _dates_to_date32(df: pd.DataFrame, cols) -> pd.DataFrame:
    for c in cols:
        df[c] = pd.Series(np.asarray(df[c]).astype("datetime64[D]")).astype("datetime64[s]").dt.date
    return df


# ------------------------------------------------------------------ entry point
@dataclass
class SimResult:
    out_dir: Path
    config: SimConfig
    rows: dict[str, int] = field(default_factory=dict)
    # YYYY-MM-DD; the two ends exclusive: applications in [start, applications_end), data to data_end
    data_start: str = ""
    applications_end: str = ""
    data_end: str = ""

    def summary(self) -> str:
        return ", ".join(f"{k}: {v:,}" for k, v in self.rows.items())


def _dates(cfg: SimConfig):
    """(start, end of the application window, data end): the window is [start, start + months), the
    data run `outcome_months` further (both ends exclusive, on the first of a month)."""
    try:
        start = np.datetime64(dt.date.fromisoformat(cfg.start), "D")
    except ValueError as exc:
        raise CreditError(f"start must be YYYY-MM-DD, got '{cfg.start}'") from exc
    month = start.astype("datetime64[M]")
    return (start, (month + cfg.months).astype("datetime64[D]"),
            (month + cfg.months + cfg.outcome_months).astype("datetime64[D]"))


def _core(cfg: SimConfig):
    """Firms, health paths and applications with outcomes (everything but the flows)."""
    cfg.validate()
    start, window_end, end = _dates(cfg)
    pre = max(36, cfg.history_months) + 1  # other lenders' loans start up to 3 years before the start
    origin = start.astype("datetime64[M]") - pre
    # Health to 12 months past the data end: whatever the follow-up, the window's last applications draw
    # their 12 monthly hazards from it, and other lenders' loans run their terms on it.
    n_months = pre + cfg.months + cfg.outcome_months + 13
    f = _firms(cfg, np.random.default_rng([cfg.seed, 0]), start, end)
    h_cal = _health(cfg, f, n_months, start, origin, fork=False)
    h = _health(cfg, f, n_months, start, origin, fork=True) if cfg.fork_month else h_cal.copy()
    apps = _applications(cfg, f, h, h_cal, origin, start, window_end)
    del h_cal
    _distress(cfg, f, h, apps, origin)
    return f, h, apps, start, end, origin


def simulate_applications(cfg: SimConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(firms, applications) exactly as `simulate` writes them, without the flows: quick studies."""
    f, _h, apps, start, end, _origin = _core(cfg)
    return _firm_table(f, start), _app_table(apps, end)


def simulate(cfg: SimConfig, out_dir: str | Path,
             progress: Callable[[int, int], None] | None = None) -> SimResult:
    """Write the alternative-data tables for `cfg` under `out_dir`; deterministic given cfg."""
    out = Path(out_dir)
    f, h, apps, start, end, origin = _core(cfg)
    loans = _loans(cfg, f, h, apps, origin, start, end)
    data_start = (start.astype("datetime64[M]") - cfg.history_months).astype("datetime64[D]")
    i0 = int((data_start.astype("datetime64[M]") - origin).astype(int)) - 1  # the month before the data
    for d in out.glob("*/part-*.parquet") if out.exists() else ():
        d.unlink()  # a rerun into the same directory must not mix old parts
    res = SimResult(out, cfg, {}, str(data_start), str(_dates(cfg)[1]), str(end))
    res.rows["firms"] = _write(_firm_table(f, start), out / "firms.parquet")
    res.rows["applications"] = _write(_app_table(apps, end), out / "applications.parquet")
    res.rows["loans"] = _write(_dates_to_date32(loans, ["start_date", "first_late_date", "default_date",
                                                         "repaid_date"]), out / "loans.parquet")
    chunks = [(c, lo, min(lo + cfg.chunk_firms, cfg.n_firms))
              for c, lo in enumerate(range(0, cfg.n_firms, cfg.chunk_firms))]
    months = cfg.history_months + cfg.months + cfg.outcome_months  # data months, history to data end
    jobs = [(cfg.seed, c, lo, {k: v[lo:hi] for k, v in f.items()}, h[lo:hi, i0:], data_start, end, months, out)
            for c, lo, hi in chunks]
    res.rows.update(transactions=0, tax=0, utilities=0)
    workers = max(1, min(cfg.workers, len(jobs)))
    if workers == 1:
        done = map(_chunk, jobs)
    else:  # chunks have their own seeds, so the output does not depend on the number of workers
        pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"))
        done = pool.map(_chunk, jobs)
    for i, rows in enumerate(done, 1):
        for k, v in rows.items():
            res.rows[k] += v
        if progress:
            progress(i, len(jobs))
    if workers > 1:
        pool.shutdown()
    meta = {"generator": "smepulse.sim.credit", "config": asdict(cfg), "data_start": res.data_start,
            "applications_end": res.applications_end, "data_end": res.data_end, "rows": res.rows}
    (out / "simulation.json").write_text(json.dumps(meta, indent=2, default=str))
    return res


def _chunk(job) -> dict[str, int]:
    """Generate and write the flows of one chunk of firms (runs in a worker process)."""
    seed, c, lo, f, h_ext, start, end, months, out = job  # start: first day of data; h_ext[:, 0]: month before
    h = h_ext[:, 1:]
    ids = np.arange(h.shape[0])
    days = np.arange(start, end)
    eff = _day_effects(days)
    month_starts = _month_starts(start, months)
    mi = (days.astype("datetime64[M]") - start.astype("datetime64[M]")).astype(int)
    rng = np.random.default_rng([seed, 1, c])
    sales, refunds, amount = _flows(f, ids, h_ext, days, eff, rng, start, end)
    sup = _suppliers(f, ids, h, month_starts, rng, end)
    month_sales = np.add.reduceat(amount, np.r_[0, np.nonzero(np.diff(mi))[0] + 1], axis=1)
    del amount
    tax, util = _tax_util(f, ids, h, month_starts, month_sales, rng, end)
    parts = [(p[0] + lo,) + p[1:] for p in (sales, refunds, sup)]  # local -> global firm ids
    tax["firm_id"] = tax["firm_id"] + lo
    util["firm_id"] = util["firm_id"] + lo
    name = f"part-{c:05d}.parquet"
    return {"transactions": _write(_txn_table(parts), out / "transactions" / name),
            "tax": _write(pa.table(tax), out / "tax" / name),
            "utilities": _write(pa.table(util), out / "utilities" / name)}


def _firm_table(f: dict, start) -> pd.DataFrame:
    df = pd.DataFrame({
        "firm_id": np.arange(f["sector"].size, dtype=np.int32),
        "sector": np.array(SECTORS)[f["sector"]], "region": np.array(REGIONS)[f["region"]],
        "size": np.array(SIZES)[f["size"]], "founded_date": f["founded"], "onboard_date": f["onboard"],
        "owner_age": f["owner_age"].astype(np.int16), "owner_gender": f["owner_gender"],
        "employees": f["employees"].astype(np.int32), "thin_file": f["thin"]})
    return _dates_to_date32(df, ["founded_date", "onboard_date"])


def _app_table(apps: pd.DataFrame, end) -> pd.DataFrame:
    a = apps.copy()
    d = a["application_date"].to_numpy().astype("datetime64[D]")
    dd = a["default_date"].to_numpy().astype("datetime64[D]")
    in_month = d - d.astype("datetime64[M]").astype("datetime64[D]")
    horizon = (d.astype("datetime64[M]") + 12).astype("datetime64[D]") + in_month  # 12 months after d
    mature = horizon <= end
    maturity = (d.astype("datetime64[M]") + a["term_months"].to_numpy()).astype("datetime64[D]")
    seen_def = ~np.isnat(dd) & (dd < end)
    a["default_date"] = np.where(seen_def, dd, np.datetime64("NaT"))
    a["outcome"] = np.where(seen_def, "default", np.where(maturity < end, "repaid", "open"))
    a["default_12m"] = np.where(mature, (seen_def & (dd < horizon)).astype(float), np.nan)
    a["currency"] = "CNY"
    a = a[["application_id", "firm_id", "application_date", "amount", "term_months", "currency",
           "outcome", "default_date", "default_12m"]]
    a["firm_id"] = a["firm_id"].astype(np.int32)
    return _dates_to_date32(a, ["application_date", "default_date"])
