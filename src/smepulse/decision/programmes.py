"""Policy programmes (PBoC structural tools) as dated parameter tables, candidate lists, tags, and the
quarterly ledger (台账) a bank submits for refinancing.

programmes.csv ships with smepulse: one row per programme and effective date, each with its public
source; the row in force on a date is the latest one dated on or before it, so a rule changes by adding
a row. Borrower classes: tech_sme, tech_first_loan, transformation_project, private_high_rd come from
candidate lists (imported per list batch); small and micro from the firm's size for the inclusive tools.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from smepulse.decision.book import DecisionBook, _now
from smepulse.decision.errors import DecisionError
from smepulse.decision.uscc import validate
from smepulse.spreadsheet import neutralise

TABLE = Path(__file__).with_name("programmes.csv")
LIST_CLASSES = ("tech_sme", "transformation_project", "private_high_rd")
LIST_COLUMNS = ("uscc", "list_batch", "class", "listed_on")


@dataclass(frozen=True)
class ProgrammeRow:
    programme: str
    effective_date: date
    quota_bn_yuan: float | None
    rate_pct: float | None
    refinanced_share_pct: float | None
    borrower_classes: tuple[str, ...]
    requires_list: bool
    max_borrower_exposure_yuan: float | None
    source: str


def _f(v: str) -> float | None:
    return float(v) if v not in ("", None) else None


def load_programmes(path: str | Path = TABLE) -> list[ProgrammeRow]:
    rows = []
    with open(path, encoding="utf-8", newline="") as fh:
        for i, r in enumerate(csv.DictReader(fh), start=2):
            if not r.get("source"):
                raise DecisionError(f"{path} line {i}: every programme row needs its public source")
            try:
                rows.append(ProgrammeRow(r["programme"], date.fromisoformat(r["effective_date"]),
                                         _f(r["quota_bn_yuan"]), _f(r["rate_pct"]), _f(r["refinanced_share_pct"]),
                                         tuple(x for x in r["borrower_classes"].split(";") if x),
                                         r["requires_list"] == "yes", _f(r["max_borrower_exposure_yuan"]),
                                         r["source"]))
            except (KeyError, ValueError) as exc:
                raise DecisionError(f"{path} line {i}: {exc}") from None
    return sorted(rows, key=lambda r: (r.programme, r.effective_date))


def known_programme(programme: str, rows: list[ProgrammeRow] | None = None) -> str:
    """`programme` if the programme table has it, else a DecisionError listing the ones it has."""
    names = sorted({r.programme for r in (rows if rows is not None else load_programmes())})
    if programme not in names:
        raise DecisionError(f"programme {programme!r} is not in the programme table (known: {', '.join(names)})")
    return programme


def in_force(rows: list[ProgrammeRow], on: date) -> dict[str, ProgrammeRow]:
    """The row of each programme in force on a date (programmes not yet created are absent)."""
    out = {}
    for r in rows:
        if r.effective_date <= on:
            out[r.programme] = r
    return out


def import_candidates(book: DecisionBook, path: str | Path, programme: str = "sci_tech_relending") -> int:
    """Import a candidate list (CSV or Excel: uscc, list_batch, class, listed_on[, project_id])."""
    known_programme(programme)
    p = Path(path)
    if not p.is_file():
        raise DecisionError(f"candidate list {p} not found")
    df = pd.read_excel(p, dtype=str) if p.suffix.lower() in (".xlsx", ".xls") else pd.read_csv(p, dtype=str)
    df.columns = [c.strip().lower() for c in df.columns]
    missing = [c for c in LIST_COLUMNS if c not in df.columns]
    if missing:
        raise DecisionError(f"candidate list {p} lacks column '{missing[0]}' (needs {', '.join(LIST_COLUMNS)})")
    rows = []
    for i, r in enumerate(df.fillna("").to_dict("records"), start=2):
        try:
            code = validate(r["uscc"])
        except DecisionError as exc:
            raise DecisionError(f"candidate list {p} row {i}: {exc}") from None
        if r["class"] not in LIST_CLASSES:
            raise DecisionError(f"candidate list {p} row {i}: class {r['class']!r} is not one of "
                                f"{', '.join(LIST_CLASSES)}")
        try:
            listed = date.fromisoformat(r["listed_on"][:10])
        except ValueError:
            raise DecisionError(f"candidate list {p} row {i}: listed_on {r['listed_on']!r} is not a date") from None
        if not r["list_batch"]:
            raise DecisionError(f"candidate list {p} row {i}: list_batch is empty")
        rows.append((programme, r["list_batch"], code, r["class"], r.get("project_id") or None, listed, _now()))

    def write():
        book.con.executemany(
            "INSERT INTO credit_candidate VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (programme, list_batch, uscc) "
            "DO UPDATE SET class = EXCLUDED.class, project_id = EXCLUDED.project_id, listed_on = EXCLUDED.listed_on, "
            "imported_at = EXCLUDED.imported_at", rows)
    book._tx(write)
    book.memory.reload_listings()
    return len(rows)


class ProgrammeTagger:
    """Tags for a decision: every programme the loan is eligible for on its date (tags may overlap)."""

    def __init__(self, book: DecisionBook, rows: list[ProgrammeRow] | None = None):
        self.book, self.rows = book, rows if rows is not None else load_programmes()

    def listings(self, code: str, on: date) -> list[tuple]:
        """(programme, list_batch, class, project_id) of the firm's listings dated on or before `on`, by
        listing date (from the book's memory of the candidate lists)."""
        return self.book.memory.listed(code, on)

    def __call__(self, app, snapshot, out: dict) -> list[dict]:
        on = app.application_date or date.today()
        rows = in_force(self.rows, on)
        feats = snapshot.features if snapshot else {}
        tags = []
        listed = self.listings(app.uscc, on)
        for prog, batch, cls, project in listed:
            r = rows.get(prog)
            if r is None or cls not in r.borrower_classes:
                continue
            if cls == "transformation_project" and not (project and app.project_id == project):
                continue
            first = cls == "tech_sme" and "tech_first_loan" in r.borrower_classes and not feats.get("prior_loans")
            tags.append({"programme": prog, "row": r.effective_date.isoformat(), "list_batch": batch,
                         "class": "tech_first_loan" if first else cls, "project_id": project,
                         "rate_pct": r.rate_pct, "refinanced_share_pct": r.refinanced_share_pct})
        size = feats.get("size")
        exposure = (feats.get("open_loan_amount") or 0.0) + out.get("booked_exposure", 0.0) + out.get("limit", 0.0)
        for prog, r in sorted(rows.items()):
            if r.requires_list or size not in r.borrower_classes:
                continue
            if r.max_borrower_exposure_yuan is not None and exposure > r.max_borrower_exposure_yuan:
                continue
            tags.append({"programme": prog, "row": r.effective_date.isoformat(), "list_batch": None,
                         "class": size, "project_id": None, "rate_pct": r.rate_pct,
                         "refinanced_share_pct": r.refinanced_share_pct})
        return tags


def quarter_bounds(quarter: str) -> tuple[date, date]:
    """'2024Q3' -> (2024-07-01, 2024-10-01): start inclusive, end exclusive."""
    try:
        y, q = int(quarter[:4]), int(quarter[-1])
        if quarter[4].upper() != "Q" or not 1 <= q <= 4:
            raise ValueError
    except (ValueError, IndexError):
        raise DecisionError(f"quarter {quarter!r}: write it as YYYYQn, e.g. 2024Q3") from None
    start = date(y, 3 * q - 2, 1)
    end = date(y + 1, 1, 1) if q == 4 else date(y, 3 * q + 1, 1)
    return start, end


def ledger(loans: pd.DataFrame, quarter: str, programme: str = "sci_tech_relending",
           funding_cost: float = 0.025, rows: list[ProgrammeRow] | None = None) -> tuple[pd.DataFrame, dict]:
    """The 台账 for loans disbursed in `quarter` tagged with `programme`: per loan the eligible and
    refinanceable principal and the funding-cost benefit for the loan's days in the quarter
    (refinanceable x (funding_cost - relending rate) x days / 365); and a summary with quota usage."""
    start, end = quarter_bounds(quarter)
    table = rows if rows is not None else load_programmes()
    known_programme(programme, table)
    out = []
    for loan in loans.to_dict("records"):
        s = pd.Timestamp(loan["start_date"]).date()
        if not start <= s < end:
            continue
        tags = [t for t in json.loads(loan["programmes"]) if t["programme"] == programme]
        if not tags:
            continue
        t = tags[0]
        r = in_force(table, s)[programme]
        share = (r.refinanced_share_pct or 0) / 100
        rate = (r.rate_pct or 0) / 100
        eligible = float(loan["amount"])
        refin = eligible * share
        m = pd.Timestamp(loan["maturity_date"]).date()
        days = max(0, (min(m, end) - s).days)
        out.append({"programme": programme, "quarter": quarter, "loan_id": loan["loan_id"],
                    "borrower": loan.get("firm_id"), "uscc": loan["uscc"], "list_batch": t.get("list_batch"),
                    "class": t.get("class"), "project_id": t.get("project_id"), "amount": eligible,
                    "annual_rate": float(loan["annual_rate"]), "start_date": s.isoformat(),
                    "maturity_date": m.isoformat(), "eligible_principal": eligible,
                    "refinanceable_principal": refin, "relending_rate_pct": r.rate_pct,
                    "refinanced_share_pct": r.refinanced_share_pct, "days_in_quarter": days,
                    "funding_cost_benefit": refin * (funding_cost - rate) * days / 365})
    df = pd.DataFrame(out, columns=["programme", "quarter", "loan_id", "borrower", "uscc", "list_batch", "class",
                                    "project_id", "amount", "annual_rate", "start_date", "maturity_date",
                                    "eligible_principal", "refinanceable_principal", "relending_rate_pct",
                                    "refinanced_share_pct", "days_in_quarter", "funding_cost_benefit"])
    r_end = in_force(table, end - timedelta(days=1)).get(programme)
    quota = r_end.quota_bn_yuan * 1e9 if r_end and r_end.quota_bn_yuan else None
    refin_total = float(df["refinanceable_principal"].sum())
    summary = {"programme": programme, "quarter": quarter, "loans": len(df),
               "eligible_principal": float(df["eligible_principal"].sum()), "refinanceable_principal": refin_total,
               "quota_yuan": quota, "quota_usage_share": refin_total / quota if quota else None,
               "funding_cost_benefit": float(df["funding_cost_benefit"].sum()), "funding_cost": funding_cost}
    return df, summary


def write_ledger(df: pd.DataFrame, summary: dict, out: str | Path) -> Path:
    """CSV or Excel (.xlsx: sheets 'ledger' and 'summary'), text cells neutralised."""
    out = Path(out)
    safe = df.map(neutralise) if len(df) else df
    summ = pd.DataFrame([{k: neutralise(v) for k, v in summary.items()}])
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".xlsx":
        with pd.ExcelWriter(out, engine="openpyxl") as xw:
            safe.to_excel(xw, sheet_name="ledger", index=False)
            summ.to_excel(xw, sheet_name="summary", index=False)
    elif out.suffix.lower() == ".csv":
        safe.to_csv(out, index=False)
        summ.to_csv(out.with_name(out.stem + "_summary.csv"), index=False)
    else:
        raise DecisionError(f"ledger output {out}: use .csv or .xlsx")
    return out
