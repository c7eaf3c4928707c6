"""Programmes: dated rows with sources, candidate lists, tags at the decision's date, the quarterly
ledger (台账) of a hand-built quarter in CSV and Excel with formula cells neutralised."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime

import openpyxl
import pandas as pd
import pytest

from smepulse.decision.book import DecisionBook
from smepulse.decision.errors import DecisionError
from smepulse.decision.programmes import (
    import_candidates,
    in_force,
    ledger,
    load_programmes,
    quarter_bounds,
    write_ledger,
)
from smepulse.decision.service import DecisionService, replay
from smepulse.decision.uscc import firm_code

from .conftest import AS_OF

SHARED_TABLE = "sci_tech_innovation_and_transformation_relending"


def test_rows_have_sources_and_match_the_public_figures(shared_data):
    rows = load_programmes()
    assert all(r.source.startswith("https://") for r in rows)
    pub = pd.read_csv(shared_data / "pboc" / "structural_tools.csv")
    pub = pub[pub["tool"] == SHARED_TABLE].set_index("effective_date")
    ours = {r.effective_date.isoformat(): r for r in rows if r.programme == "sci_tech_relending"}
    assert set(ours) == set(pub.index)
    for d, r in ours.items():
        assert (r.quota_bn_yuan, r.rate_pct, r.refinanced_share_pct) == \
            (pub.loc[d, "quota_bn_yuan"], pub.loc[d, "rate_pct"], pub.loc[d, "refinanced_share_pct"])


def test_row_in_force_by_date():
    rows = load_programmes()
    assert "sci_tech_relending" not in in_force(rows, date(2024, 4, 6))
    assert in_force(rows, date(2024, 4, 7))["sci_tech_relending"].rate_pct == 1.75
    assert in_force(rows, date(2025, 5, 7))["sci_tech_relending"].quota_bn_yuan == 800
    r = in_force(rows, date(2026, 2, 1))["sci_tech_relending"]
    assert r.rate_pct == 1.25 and "private_high_rd" in r.borrower_classes
    assert "private_high_rd" not in in_force(rows, date(2025, 12, 31))["sci_tech_relending"].borrower_classes


def loan(i, amount, start, months, programmes, rate=0.07):
    s = pd.Timestamp(start)
    return {"loan_id": f"L{i}", "decision_id": f"d{i}", "uscc": firm_code(i), "firm_id": i, "amount": amount,
            "annual_rate": rate, "term_months": months, "start_date": s.date(),
            "maturity_date": (s + pd.DateOffset(months=months)).date(), "programmes": json.dumps(programmes)}


TECH = [{"programme": "sci_tech_relending", "list_batch": "2024-B1", "class": "tech_first_loan", "project_id": None}]
INCL = [{"programme": "inclusive_small_micro_support", "list_batch": None, "class": "micro"}]


def test_ledger_of_a_hand_built_quarter(tmp_path):
    loans = pd.DataFrame([
        loan(1, 1_000_000, "2024-07-01", 12, TECH + INCL),  # 92 days in Q3
        loan(2, 500_000, "2024-08-15", 12, TECH),           # 47 days in Q3
        loan(3, 300_000, "2024-09-20", 1, TECH),            # matures 2024-10-20: 11 days in Q3
        loan(4, 200_000, "2024-08-01", 12, INCL),           # not this programme
        loan(5, 400_000, "2024-10-01", 12, TECH),           # next quarter
        loan(6, 100_000, "2024-06-30", 12, TECH),           # previous quarter
    ])
    df, s = ledger(loans, "2024Q3", funding_cost=0.025)
    assert df["loan_id"].tolist() == ["L1", "L2", "L3"]
    assert df["refinanceable_principal"].tolist() == [600_000, 300_000, 180_000]  # 60% of eligible principal
    assert df["days_in_quarter"].tolist() == [92, 47, 11]
    # benefit = refinanceable x (2.5% - 1.75%) x days / 365
    want = [600_000 * 0.0075 * 92 / 365, 300_000 * 0.0075 * 47 / 365, 180_000 * 0.0075 * 11 / 365]
    assert df["funding_cost_benefit"].tolist() == pytest.approx(want, abs=1e-9)
    assert want == pytest.approx([1134.2466, 289.7260, 40.6849], abs=1e-4)
    assert s["eligible_principal"] == 1_800_000 and s["refinanceable_principal"] == 1_080_000
    assert s["quota_usage_share"] == pytest.approx(1_080_000 / 500e9)
    assert s["funding_cost_benefit"] == pytest.approx(sum(want))
    assert df["list_batch"].tolist() == ["2024-B1"] * 3

    csv = write_ledger(df, s, tmp_path / "ledger.csv")
    assert pd.read_csv(csv)["loan_id"].tolist() == ["L1", "L2", "L3"]
    assert (tmp_path / "ledger_summary.csv").is_file()
    bad = df.copy()
    bad.loc[0, "list_batch"] = "=HYPERLINK(\"http://x\")"
    bad.loc[1, "list_batch"] = "@SUM(A1)"
    xlsx = write_ledger(bad, s, tmp_path / "ledger.xlsx")
    ws = openpyxl.load_workbook(xlsx)["ledger"]
    col = [c.value for c in ws[1]].index("list_batch") + 1
    assert ws.cell(2, col).value == "'=HYPERLINK(\"http://x\")" and ws.cell(3, col).value == "'@SUM(A1)"
    assert ws.cell(2, col).data_type == "s"


def test_quarter_names():
    assert quarter_bounds("2024Q4") == (date(2024, 10, 1), date(2025, 1, 1))
    with pytest.raises(DecisionError, match="YYYYQn"):
        quarter_bounds("2024-3")


def test_candidate_lists_tag_decisions_and_loans(sim_book, tmp_path):
    store = tmp_path / "store.duckdb"
    shutil.copy(sim_book["store"], store)
    book = DecisionBook(store)
    svc = DecisionService(book, sim_book["model_dir"], clock=lambda: datetime(2024, 12, 1, 9, tzinfo=UTC))
    firms = sim_book["firms"][:40]
    lst = pd.DataFrame({"uscc": [firm_code(f) for f in firms], "list_batch": "2024-B1", "class": "tech_sme",
                        "listed_on": "2024-06-20"})
    lst.loc[len(lst)] = [firm_code(firms[0]), "2025-B1", "tech_sme", "2025-01-10"]  # listed after the decision
    lst.to_excel(tmp_path / "list.xlsx", index=False)
    assert import_candidates(book, tmp_path / "list.xlsx") == 41
    bad = lst.copy()
    bad.loc[0, "uscc"] = "9144030071526726XH"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DecisionError, match="row 2"):
        import_candidates(book, tmp_path / "bad.csv")
    booked = 0
    for f in firms:
        b = {"uscc": firm_code(f), "amount": 50_000, "term_months": 12, "application_date": AS_OF.isoformat(),
             "consent": {"given": True, "text_version": "consent-2026-12"}}
        rec, _ = svc.submit(b)
        if rec["decision"] == "decline":
            assert rec["programmes"] == []
            continue
        tech = [t for t in rec["programmes"] if t["programme"] == "sci_tech_relending"]
        assert [t["list_batch"] for t in tech] == ["2024-B1"]  # the 2025 batch is not known on 2024-12-01
        snap = book.latest_snapshot(firm_code(f), AS_OF)
        assert tech[0]["class"] == ("tech_first_loan" if not snap.features["prior_loans"] else "tech_sme")
        incl = [t for t in rec["programmes"] if t["programme"] == "inclusive_small_micro_support"]
        assert bool(incl) == (snap.features["size"] in ("small", "micro"))
        stored, again = replay(book, rec["decision_id"])
        assert again == stored
        if rec["decision"] == "approve":
            svc.accept(rec["decision_id"], start=date(2024, 12, 2))
            booked += 1
    assert booked
    df, s = ledger(book.loans(), "2024Q4")
    assert len(df) == booked and s["refinanceable_principal"] == pytest.approx(0.6 * df["amount"].sum())
    book.close()


def test_unknown_programme_ids_are_refused_with_the_known_ones(sim_book, tmp_path):
    store = tmp_path / "store.duckdb"
    shutil.copy(sim_book["store"], store)
    pd.DataFrame({"uscc": [firm_code(sim_book["firms"][0])], "list_batch": ["B1"], "class": ["tech_sme"],
                  "listed_on": ["2024-06-20"]}).to_csv(tmp_path / "list.csv", index=False)
    with DecisionBook(store) as book, pytest.raises(DecisionError, match="known: .*sci_tech_relending"):
        import_candidates(book, tmp_path / "list.csv", "nope")
    with pytest.raises(DecisionError, match="'nope' is not in the programme table"):
        ledger(pd.DataFrame(columns=["start_date", "programmes"]), "2024Q3", "nope")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for args in (["candidates", str(tmp_path / "list.csv"), "--programme", "nope"],
                 ["ledger", "--quarter", "2024Q3", "--programme", "nope", "--out", str(tmp_path / "l.csv")]):
        r = subprocess.run([sys.executable, "-m", "smepulse", "credit", *args, "--store", str(store)],
                           capture_output=True, text=True, env=env, timeout=120, check=False)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "programme 'nope' is not in the programme table (known:" in r.stderr + r.stdout
        assert "Traceback" not in r.stderr
    with DecisionBook(store) as book:
        assert book.con.execute("SELECT count(*) FROM credit_candidate").fetchone()[0] == 0  # nothing imported
    assert not (tmp_path / "l.csv").exists()
