"""Rules, limits and prices hand-computed for a dozen applicants against the shipped policy files
(src/smepulse/decision/policy/*.json, evaluated by zen-engine).

Policy figures used below (from the files): bands A <2% (20% of 365-day revenue, cap 1,000,000,
margin 1.0%), B 2-5% (15%, 800,000, 2.0%), C 5-10% (10%, 500,000, 3.5%), D 10-20% refer (5%, 200,000,
5.0%), E decline; minimum limit 10,000, limits rounded down to 1,000; pricing up to 12 months:
funding 2.5%, over 12 months 3.0%; LGD 45%, operating cost 1.5%, capital charge 1.2%, cap 18%.
"""
from __future__ import annotations

import json

import pytest

from smepulse.decision.application import Application, parse_application
from smepulse.decision.engine import apply_policy
from smepulse.decision.errors import DecisionError
from smepulse.decision.policy import load_policy
from smepulse.decision.uscc import firm_code

HEALTHY = {"firm_age_days": 1000, "tax_late_filings_365d": 0, "utility_overdue_bills": 0, "open_loan_amount": 0.0,
           "prior_defaults": 0, "days_since_last_sale": 1, "sales_history_days": 400, "revenue_365d": 2_000_000.0}
MODEL_REASONS = [{"code": "sales_trend_90d", "en": "sales fell", "zh": "销售下降"},
                 {"code": "refund_rate_90d", "en": "refunds high", "zh": "退款率偏高"},
                 {"code": "customers_90d", "en": "few customers", "zh": "客户少"},
                 {"code": "supplier_gap_max_365d", "en": "late supplier", "zh": "供应商付款间隔长"}]


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def app(amount=200_000, term=12, consent=True) -> Application:
    return Application(uscc=firm_code(7), amount=amount, term_months=term,
                       consent={"given": consent, "text_version": "consent-2026-12"})


def run(policy, amount=200_000, term=12, pd=0.01, consent=True, **features):
    f = None if not consent else {**HEALTHY, **features}
    return apply_policy(app(amount, term, consent), f, pd if consent else None, MODEL_REASONS, policy)


def test_01_band_a_full_amount(policy):
    r = run(policy, pd=0.01)
    assert r["decision"] == "approve" and r["band"] == "A"
    assert r["limit"] == 200_000  # capacity min(1,000,000, 0.20 * 2,000,000) = 400,000 >= asked
    assert r["annual_rate"] == pytest.approx(0.025 + 0.01 * 0.45 + 0.015 + 0.012 + 0.010)  # 6.65%
    assert r["annual_rate"] == 0.0665
    assert r["reasons"] == []  # approved as asked: nothing to explain
    assert r["rules_fired"] == ["BAND_A", "PRICE_UP_TO_12M"]


def test_02_band_b_lower_limit_than_asked_gives_model_reasons(policy):
    r = run(policy, amount=500_000, term=24, pd=0.03)
    assert r["decision"] == "approve" and r["band"] == "B"
    assert r["limit"] == 300_000  # min(800,000, 0.15 * 2,000,000)
    assert r["annual_rate"] == 0.0905  # 3.0 + 1.35 + 1.5 + 1.2 + 2.0
    assert r["reasons"] == MODEL_REASONS[:3]
    assert r["rules_fired"] == ["BAND_B", "PRICE_OVER_12M", "LIMIT_BELOW_REQUEST"]


def test_03_band_c_existing_exposure_reduces_capacity(policy):
    r = run(policy, amount=100_000, term=6, pd=0.07, open_loan_amount=50_000.0)
    assert r["decision"] == "approve" and r["band"] == "C"
    assert r["limit"] == 100_000  # capacity 0.10 * 2,000,000 - 50,000 = 150,000
    assert r["annual_rate"] == 0.1185  # 2.5 + 3.15 + 1.5 + 1.2 + 3.5


def test_04_band_d_refers_with_limit_and_price(policy):
    r = run(policy, amount=80_000, pd=0.15)
    assert r["decision"] == "refer" and r["band"] == "D"
    assert r["limit"] == 80_000  # capacity min(200,000, 0.05 * 2,000,000) = 100,000
    assert r["annual_rate"] == 0.1695  # 2.5 + 6.75 + 1.5 + 1.2 + 5.0
    assert [x["code"] for x in r["reasons"]] == ["sales_trend_90d", "refund_rate_90d", "customers_90d"]


def test_05_band_e_declines(policy):
    r = run(policy, pd=0.30)
    assert r["decision"] == "decline" and r["band"] == "E" and r["limit"] == 0 and r["annual_rate"] is None
    assert len(r["reasons"]) == 3


def test_06_price_capped_at_the_maximum_rate(policy):
    r = run(policy, amount=50_000, pd=0.19)
    # 2.5 + 8.55 + 1.5 + 1.2 + 5.0 = 18.75% > 18%
    assert r["price_components"]["uncapped"] == pytest.approx(0.1875)
    assert r["annual_rate"] == 0.18 and "PRICE_CAPPED" in r["rules_fired"]


def test_07_young_business_knocked_out(policy):
    r = run(policy, firm_age_days=150)  # 4.9 months
    assert r["decision"] == "decline" and r["rules_fired"] == ["KO_YOUNG_BUSINESS"]
    assert r["reasons"] == [{"code": "KO_YOUNG_BUSINESS", "en": "The business is younger than 6 months",
                             "zh": "企业成立不满6个月"}]


def test_08_tax_and_utility_knockouts_both_named(policy):
    r = run(policy, tax_late_filings_365d=3, utility_overdue_bills=2)
    assert r["decision"] == "decline"
    assert r["rules_fired"] == ["KO_TAX_OVERDUE", "KO_UTILITY_ARREARS"]
    assert [x["code"] for x in r["reasons"]] == ["KO_TAX_OVERDUE", "KO_UTILITY_ARREARS"]


def test_09_exposure_cap(policy):
    r = run(policy, open_loan_amount=2_900_000.0)  # 2,900,000 + 200,000 > 3,000,000
    assert r["rules_fired"] == ["KO_EXPOSURE_CAP"] and r["decision"] == "decline"
    r = run(policy, open_loan_amount=2_800_000.0, pd=0.01)  # exactly 3,000,000: not above the cap
    assert "KO_EXPOSURE_CAP" not in r["rules_fired"]
    assert r["decision"] == "decline" and "LIMIT_BELOW_MINIMUM" in r["rules_fired"]  # 400,000 - 2,800,000 < 0


def test_10_no_consent_no_data(policy):
    r = run(policy, consent=False)
    assert r["decision"] == "decline" and r["rules_fired"] == ["KO_CONSENT"]
    assert r["reasons"][0]["code"] == "KO_CONSENT" and "同意" in r["reasons"][0]["zh"]


def test_11_dormant_seller_is_referred_not_approved(policy):
    r = run(policy, pd=0.01, days_since_last_sale=75)
    assert r["decision"] == "refer" and r["rules_fired"][0] == "RF_DORMANT"
    assert r["reasons"][0]["code"] == "RF_DORMANT" and r["limit"] == 200_000


def test_12_capacity_below_minimum_declines(policy):
    r = run(policy, pd=0.01, revenue_365d=40_000.0)  # 0.20 * 40,000 = 8,000 < 10,000
    assert r["decision"] == "decline" and "LIMIT_BELOW_MINIMUM" in r["rules_fired"] and r["limit"] == 0


def test_13_limit_rounded_down_to_a_thousand(policy):
    r = run(policy, amount=300_000, pd=0.03, revenue_365d=1_234_567.0)  # 0.15 * 1,234,567 = 185,185.05
    assert r["limit"] == 185_000 and r["decision"] == "approve"


def test_14_band_boundaries_are_half_open(policy):
    assert run(policy, pd=0.02)["band"] == "B"
    assert run(policy, pd=0.0199999)["band"] == "A"
    assert run(policy, pd=0.10)["band"] == "D"
    assert run(policy, pd=0.20)["band"] == "E"


def test_bad_applications_are_refused_with_the_field():
    ok = {"uscc": firm_code(1), "amount": 1000, "term_months": 12,
          "consent": {"given": True, "text_version": "v1"}}
    assert parse_application(ok).uscc == firm_code(1)
    for change, field in [({"uscc": "9144030071526726XH"}, "uscc"), ({"amount": -5}, "amount"),
                          ({"amount": 1e12}, "amount"), ({"term_months": 0}, "term_months"),
                          ({"purpose": "casino"}, "purpose"), ({"extra": 1}, "extra")]:
        with pytest.raises(DecisionError, match=field):
            parse_application({**ok, **change})


def test_policy_files_that_do_not_load_are_refused(tmp_path, policy):
    for f in policy.directory.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "bands.json").write_text("{not json")
    with pytest.raises(DecisionError, match="bands.json"):
        load_policy(tmp_path)
    (tmp_path / "bands.json").unlink()
    with pytest.raises(DecisionError, match="missing"):
        load_policy(tmp_path)


def test_a_new_dated_rule_is_data_not_code(tmp_path, policy):
    """Tightening the young-business rule to 12 months is an edit of knockouts.json; the hash changes."""
    for f in policy.directory.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    ko = json.loads((tmp_path / "knockouts.json").read_text(encoding="utf-8"))
    rows = next(n for n in ko["nodes"] if n["type"] == "decisionTableNode")["content"]["rules"]
    next(r for r in rows if r["_id"] == "KO_YOUNG_BUSINESS")["i_firm_age_months"] = "< 12"
    (tmp_path / "knockouts.json").write_text(json.dumps(ko, ensure_ascii=False), encoding="utf-8")
    stricter = load_policy(tmp_path)
    assert stricter.sha256 != policy.sha256
    assert run(policy, firm_age_days=300)["decision"] == "approve"
    assert run(stricter, firm_age_days=300)["decision"] == "decline"


def test_a_segmented_knockout_file_routes_each_firm_to_its_table(tmp_path, policy):
    """knockouts.json as a graph: a switch node on sector sends each firm to its own table; one zen call
    evaluates the whole policy and the fired rules name only the routed table's rows."""
    for f in policy.directory.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    ko = json.loads((tmp_path / "knockouts.json").read_text(encoding="utf-8"))
    table = next(n for n in ko["nodes"] if n["type"] == "decisionTableNode")
    inp = next(n["id"] for n in ko["nodes"] if n["type"] == "inputNode")
    outp = next(n["id"] for n in ko["nodes"] if n["type"] == "outputNode")
    blank = {k: "" for k in table["content"]["rules"][0] if k.startswith("i_")}
    strict = {**blank, "_id": "KO_BUILDERS_YOUNG", "_description": "", "i_firm_age_months": "< 36",
              "o_code": '"KO_BUILDERS_YOUNG"', "o_action": '"decline"', "o_en": '"Builders need 3 years"',
              "o_zh": '"建筑企业需经营满3年"'}
    common = table["content"]["rules"]
    ko["nodes"] = [n for n in ko["nodes"] if n["type"] != "decisionTableNode"] + [
        {**table, "id": "t_construction", "content": {**table["content"], "rules": common + [strict]}},
        {**table, "id": "t_other", "content": table["content"]},
        {"id": "seg", "type": "switchNode", "name": "segment", "position": {"x": 0, "y": 0},
         "content": {"hitPolicy": "first", "statements": [{"id": "c", "condition": "sector == 'construction'"},
                                                          {"id": "o", "condition": ""}]}}]
    ko["edges"] = [{"id": "a", "type": "edge", "sourceId": inp, "targetId": "seg"},
                   {"id": "b", "type": "edge", "sourceId": "seg", "targetId": "t_construction", "sourceHandle": "c"},
                   {"id": "c", "type": "edge", "sourceId": "seg", "targetId": "t_other", "sourceHandle": "o"},
                   {"id": "d", "type": "edge", "sourceId": "t_construction", "targetId": outp},
                   {"id": "e", "type": "edge", "sourceId": "t_other", "targetId": outp}]
    (tmp_path / "knockouts.json").write_text(json.dumps(ko, ensure_ascii=False), encoding="utf-8")
    seg = load_policy(tmp_path)
    assert seg.n_rules == policy.n_rules + len(common) + 1
    builder = run(seg, firm_age_days=800, sector="construction")  # 26 months: declined by its segment only
    assert builder["decision"] == "decline" and builder["rules_fired"] == ["KO_BUILDERS_YOUNG"]
    assert builder["reasons"] == [{"code": "KO_BUILDERS_YOUNG", "en": "Builders need 3 years",
                                   "zh": "建筑企业需经营满3年"}]
    shop = run(seg, firm_age_days=800, sector="wholesale_retail")
    assert shop == run(policy, firm_age_days=800, sector="wholesale_retail") and shop["decision"] == "approve"
    assert "_rule" not in json.dumps(builder) and "_rule" not in json.dumps(shop)
