"""What the lender already knows about a firm, to pre-fill its application: the firm's profile from its
newest feature snapshot (sector, region, size, months in business) and what it asked for last time
(amount, term, purpose). Only labels and the firm's own last request: no revenue or other figures, so a
leaked pre-fill link shows nothing a registry search would not."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from smepulse.decision.book import DecisionBook
from smepulse.decision.uscc import validate

SECTOR_WORDS = {
    "manufacturing": ("Manufacturing", "制造业"), "construction": ("Construction", "建筑业"),
    "real_estate": ("Real estate", "房地产业"), "wholesale_retail": ("Wholesale and retail", "批发和零售业"),
    "transport_logistics": ("Transport and logistics", "交通运输和物流"),
    "accommodation_catering": ("Accommodation and catering", "住宿和餐饮业"),
    "it_finance": ("IT and finance", "信息技术和金融"), "other_services": ("Other services", "其他服务业")}
REGION_WORDS = {"east": ("East", "东部"), "central": ("Central", "中部"), "west": ("West", "西部"),
                "northeast": ("Northeast", "东北")}
SIZE_WORDS = {"micro": ("Micro", "微型"), "small": ("Small", "小型"), "medium": ("Medium", "中型")}


@dataclass(frozen=True)
class Prefill:
    uscc: str
    known: bool                      # the lender holds a snapshot of this firm
    as_of: date | None = None        # the snapshot's date
    profile: dict = field(default_factory=dict)   # label -> {"en", "zh"} words
    amount: float | None = None      # last requested
    term_months: int | None = None
    purpose: str | None = None


def _words(table: dict, value) -> dict | None:
    if value is None:
        return None
    en, zh = table.get(str(value), (str(value), str(value)))
    return {"en": en, "zh": zh}


def prefill(book: DecisionBook, uscc: str, on: date) -> Prefill:
    """What to pre-fill for `uscc` on date `on` (the code must be valid; an unknown firm gets the code only)."""
    code = validate(uscc)
    snap = book.latest_snapshot(code, on)
    last = book.last_application(code)
    profile = {}
    if snap is not None:
        f = snap.features
        age = f.get("firm_age_days")
        months = int(age // 30.4375) if isinstance(age, (int, float)) and age == age else None
        profile = {k: v for k, v in {
            "sector": _words(SECTOR_WORDS, f.get("sector")), "region": _words(REGION_WORDS, f.get("region")),
            "size": _words(SIZE_WORDS, f.get("size")),
            "months_in_business": None if months is None else {"en": str(months), "zh": str(months)}}.items()
            if v is not None}
    return Prefill(code, snap is not None, snap.as_of if snap else None, profile,
                   float(last["amount"]) if last else None, int(last["term_months"]) if last else None,
                   last.get("purpose") if last else None)
