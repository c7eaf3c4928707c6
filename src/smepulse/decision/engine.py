"""decide(application, snapshot, model, policy) -> Decision.

Order: consent -> snapshot (unknown firm or stale: refer) -> application-time features -> PD and
true reasons from the model (credit.reasons.explain: the features actually scored) -> policy tables
(knock-outs, PD band, pricing) -> limit and price by the formulas below -> programme tags.

exposure = open_loan_amount (the snapshot's) + booked_exposure (this book's loans since the snapshot)
limit  = floor_to(min(max_limit, revenue_share * revenue_365d - exposure), limit_rounding)
offer  = min(requested amount, limit); below min_limit: decline (capacity)
rate   = min(max_annual_rate, funding_cost + pd * lgd + operating_cost + capital_charge + margin)
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

import numpy as np

from smepulse.credit.reasons import explain, explain_vector, feature_vector
from smepulse.decision.application import Application
from smepulse.decision.policy import Policy

OUTCOMES = ("approve", "decline", "refer")
APPLICATION_FEATURES = ("requested_amount", "term_months", "amount_to_revenue_365d", "amount_to_monthly_revenue_90d")


@dataclass(frozen=True)
class Snapshot:
    """A firm's point-in-time features as of a date (built by the `credit features` batch)."""
    snapshot_id: str
    firm_id: int
    uscc: str
    as_of: date
    features: dict
    # the snapshot's part of a model's float vector, built once per (snapshot, model): see model_explanation
    vectors: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass
class Decision:
    decision: str
    pd: float | None
    score: float | None
    limit: float
    annual_rate: float | None
    reasons: list[dict]
    programmes: list[dict]
    rules_fired: list[str]
    band: str | None
    requested_amount: float
    snapshot_id: str | None
    policy_version: str
    policy_sha256: str
    model_version: str | None
    timings_ms: dict = field(default_factory=dict)
    price_components: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def application_features(features: dict, amount: float, term_months: int) -> dict:
    """The application-time features, by the formulas of credit/features.py's feature SQL."""
    r365, r90 = features.get("revenue_365d"), features.get("revenue_90d")
    return {
        "requested_amount": float(amount), "term_months": float(term_months),
        "amount_to_revenue_365d": amount / r365 if _num(r365) and r365 != 0 else None,
        "amount_to_monthly_revenue_90d": amount / (r90 / 3.0) if _num(r90) and r90 != 0 else None,
    }


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v))


def _get(features: dict, name: str, default=None):
    v = features.get(name, default)
    return v if _num(v) else default


def knockout_inputs(app: Application, features: dict | None, booked_exposure: float = 0.0) -> dict:
    f = features or {}
    age = _get(f, "firm_age_days")
    return {
        "consent": 1 if app.consent.given else 0,
        "firm_age_months": None if age is None else age / 30.4375,
        "tax_late_filings_365d": _get(f, "tax_late_filings_365d"),
        "utility_overdue_bills": _get(f, "utility_overdue_bills"),
        "exposure_after": _get(f, "open_loan_amount", 0.0) + booked_exposure + app.amount
        if features is not None else None,
        "prior_defaults": _get(f, "prior_defaults"),
        "days_since_last_sale": _get(f, "days_since_last_sale"),
        "sales_history_days": _get(f, "sales_history_days"),
        # segment labels, for policies whose tables differ by segment (a switch node in the file)
        "sector": f.get("sector"), "region": f.get("region"), "size": f.get("size"),
    }




def _slots(model) -> list[tuple[int, str]] | None:
    """(position, name) of the application-time features in the model's vector, or None when one of them
    is coded as a category (then the vector cannot be patched with the raw number)."""
    names = list(model.features)
    slots = [(names.index(a), a) for a in APPLICATION_FEATURES if a in names]
    return None if any(model.schema.is_categorical(a) for _, a in slots) else slots


def model_explanation(model, snapshot: Snapshot, features: dict, top_n: int):
    """PD, score and reasons for `features` (the snapshot's plus the application-time ones): the same as
    credit.reasons.explain(model, features, top_n) (tests/decision/test_fast_path.py), with the snapshot's
    part of the float vector built once per snapshot and model (credit.reasons' split of `explain`: the
    snapshot's features become a float vector once; only the application-time ones are set per decision)."""
    if model.kind != "lightgbm":
        return explain(model, features, top_n=top_n)
    hit = snapshot.vectors.get(id(model))
    if hit is None or hit[0] is not model:
        slots = _slots(model)
        if slots is None:
            return explain(model, features, top_n=top_n)
        base = feature_vector(model, {**snapshot.features, **{a: None for _, a in slots}})
        snapshot.vectors[id(model)] = hit = (model, base, slots)
    _, base, slots = hit
    x = base.copy()
    for j, a in slots:
        v = features.get(a)
        x[0, j] = np.nan if v is None else float(v)
    return explain_vector(model, x, top_n)


def _model_version(model) -> str | None:
    if model is None:
        return None
    m = getattr(model, "manifest", {}) or {}
    return str(m.get("model_version") or model.kind)


def apply_policy(app: Application, features: dict | None, pd_: float | None, model_reasons: list[dict],
                 policy: Policy, *, refer: list[dict] | None = None, booked_exposure: float = 0.0) -> dict:
    """The policy part of a decision, given the firm's features and the model's PD and reasons.
    `booked_exposure`: this book's loans to the firm that its snapshot does not know yet."""
    fired: list[str] = []
    res = policy.evaluate_all({**knockout_inputs(app, features, booked_exposure), "pd": pd_,
                               "term_months": app.term_months})
    ko = res["knockouts"]
    fired += ko.fired
    declines = [r for r in ko.rows if r["action"] == "decline"]
    refers = [r for r in ko.rows if r["action"] == "refer"] + list(refer or [])
    top = int(policy.settings["top_reasons"])
    out = {"decision": None, "limit": 0.0, "annual_rate": None, "band": None, "price_components": {},
           "booked_exposure": booked_exposure}
    if declines or pd_ is None:
        out["decision"] = "decline" if declines else "refer"
        rows = declines or refers
        out["reasons"] = [{"code": r["code"], "en": r["en"], "zh": r["zh"]} for r in rows]
        out["rules_fired"] = fired
        return out
    band = res["bands"]
    fired += band.fired
    b = band.rows[0]
    out["band"] = b["band"]
    price = res["pricing"]
    fired += price.fired
    p = price.rows[0]
    raw = p["funding_cost"] + pd_ * p["lgd"] + p["operating_cost"] + p["capital_charge"] + b["margin"]
    rate = round(min(p["max_annual_rate"], raw), int(policy.settings["rate_decimals"]))
    if raw > p["max_annual_rate"]:
        fired.append("PRICE_CAPPED")
    out["price_components"] = {"funding_cost": p["funding_cost"], "expected_loss": pd_ * p["lgd"],
                               "operating_cost": p["operating_cost"], "capital_charge": p["capital_charge"],
                               "margin": b["margin"], "uncapped": raw, "max_annual_rate": p["max_annual_rate"]}
    revenue = _get(features, "revenue_365d", 0.0)
    exposure = _get(features, "open_loan_amount", 0.0) + booked_exposure
    step = float(policy.settings["limit_rounding"])
    capacity = min(float(b["max_limit"]), b["revenue_share"] * revenue - exposure)
    capacity = max(0.0, math.floor(capacity / step) * step)
    outcome = b["outcome"]
    if outcome == "approve" and capacity < b["min_limit"]:
        outcome = "decline"
        fired.append("LIMIT_BELOW_MINIMUM")
    if outcome == "approve" and refers:
        outcome = "refer"
    out["decision"] = outcome
    out["limit"] = min(app.amount, capacity) if outcome != "decline" else 0.0
    out["annual_rate"] = rate if outcome != "decline" else None
    lower = outcome == "approve" and out["limit"] < app.amount
    if lower:
        fired.append("LIMIT_BELOW_REQUEST")
    reasons = []
    if outcome != "approve" or lower:
        reasons = [{"code": r["code"], "en": r["en"], "zh": r["zh"]} for r in refers] + model_reasons[:top]
    out["reasons"] = reasons
    out["rules_fired"] = fired
    return out


def decide(app: Application, snapshot: Snapshot | None, model, policy: Policy, *,
           today: date | None = None, programmes=None, booked_exposure: float = 0.0) -> Decision:
    """One decision. `snapshot` None = the lender has no data on the firm (refer)."""
    t0 = time.perf_counter_ns()
    today = today or app.application_date or datetime.now(UTC).date()
    features, refer = None, []
    pd_, score, model_reasons = None, None, []
    t_feat = t_model = t0
    if app.consent.given and snapshot is None:
        refer.append({"code": "RF_UNKNOWN_FIRM", "en": "We hold no data on this business yet",
                      "zh": "我们尚无该企业的数据"})
    elif app.consent.given:
        age = (today - snapshot.as_of).days
        if age > int(policy.settings["max_snapshot_age_days"]):
            refer.append({"code": "RF_STALE_DATA", "en": f"The business's data is {age} days old",
                          "zh": f"企业数据已有{age}天未更新"})
        else:
            features = dict(snapshot.features)
            features.update(application_features(features, app.amount, app.term_months))
            t_feat = time.perf_counter_ns()
            ex = model_explanation(model, snapshot, features, int(policy.settings["top_reasons"]))
            pd_, score = ex.pd, ex.score
            model_reasons = [{"code": r.code, "en": r.en, "zh": r.zh} for r in ex.reasons]
            t_model = time.perf_counter_ns()
    t_feat = max(t_feat, t0)
    t_model = max(t_model, t_feat)
    out = apply_policy(app, features, pd_, model_reasons, policy, refer=refer, booked_exposure=booked_exposure)
    t_rules = time.perf_counter_ns()
    tags = programmes(app, snapshot, out) if programmes and out["decision"] != "decline" else []
    t_end = time.perf_counter_ns()
    return Decision(
        decision=out["decision"], pd=pd_, score=score, limit=float(out["limit"]), annual_rate=out["annual_rate"],
        reasons=out["reasons"], programmes=tags, rules_fired=out["rules_fired"], band=out["band"],
        requested_amount=float(app.amount), snapshot_id=snapshot.snapshot_id if snapshot else None,
        policy_version=policy.version, policy_sha256=policy.sha256, model_version=_model_version(model),
        timings_ms={"features": (t_feat - t0) / 1e6, "model": (t_model - t_feat) / 1e6,
                    "rules": (t_rules - t_model) / 1e6, "programmes": (t_end - t_rules) / 1e6,
                    "total": (t_end - t0) / 1e6},
        price_components=out["price_components"])
