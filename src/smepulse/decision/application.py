"""What an SME owner submits: the application (pydantic v2, validated at the boundary)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from smepulse.decision import uscc
from smepulse.decision.errors import ApplicationInvalid, DecisionError

PURPOSES = ("working_capital", "inventory", "equipment", "technology_upgrade", "other")
MAX_AMOUNT = 50_000_000  # anything above is a typing error, not an SME request


class Consent(BaseModel):
    """Consent to use the firm's transaction, tax and utility data: no consent, no data used."""
    model_config = ConfigDict(extra="forbid")
    given: bool
    text_version: str = Field(min_length=1, max_length=40, description="version of the consent text shown")
    given_at: datetime | None = Field(None, description="when the applicant ticked the box (UTC)")


# The demo credit book's two example firms (decision/demo_book.py gives them the features of a firm the
# policy approves and of one a knock-out declines): the API's OpenAPI examples apply for them.
EXAMPLE_FIRMS = {"approved": 90_000_001, "declined": 90_000_002}


def example_application(which: str) -> dict:
    return {"uscc": uscc.firm_code(EXAMPLE_FIRMS[which]), "amount": 200000, "term_months": 12,
            "purpose": "working_capital",
            "consent": {"given": True, "text_version": "consent-2026-12", "given_at": "2026-12-01T09:00:00Z"}}


class Application(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [example_application("approved")]})
    uscc: str = Field(description="unified social credit code (统一社会信用代码), 18 characters, GB 32100-2015")
    # strict: a number, never text ("200000" is refused, not converted); NaN and infinity are refused first
    amount: float = Field(gt=0, le=MAX_AMOUNT, strict=True, description="requested amount, CNY (a JSON number)")
    term_months: int = Field(ge=1, le=60, strict=True, description="months (a JSON integer)")
    purpose: Literal[PURPOSES] = "working_capital"
    consent: Consent
    application_date: date | None = Field(None, description="defaults to today (UTC)")
    project_id: str | None = Field(None, max_length=64, description="technological transformation project id")
    channel: str = Field("api", max_length=20)

    @field_validator("uscc")
    @classmethod
    def _code(cls, v: str) -> str:
        try:
            return uscc.validate(v)
        except DecisionError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("amount", mode="before")
    @classmethod
    def _finite(cls, v):
        if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
            raise ValueError("amount must be a finite number")
        return v


def check_date(app: Application, today: date, max_age_days: int) -> None:
    """An application is dated today or up to `max_age_days` back (policy settings
    `max_application_age_days`): never in the future, never before the lender could have had it."""
    d = app.application_date
    if d is None:
        return
    if d > today:
        raise ApplicationInvalid(f"application field 'application_date': {d.isoformat()} is in the future "
                                 f"(today is {today.isoformat()}, UTC)", "application_date", "date_future",
                                 date=d.isoformat(), today=today.isoformat())
    if (today - d).days > max_age_days:
        raise ApplicationInvalid(f"application field 'application_date': {d.isoformat()} is more than "
                                 f"{max_age_days} days before today ({today.isoformat()}, UTC)", "application_date",
                                 "date_too_old", date=d.isoformat(), today=today.isoformat(), days=max_age_days)


def parse_application(data: dict) -> Application:
    """An Application, or one ApplicationInvalid naming the first bad field."""
    try:
        return Application.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(p) for p in e["loc"])
        raise ApplicationInvalid(f"application field '{where or 'application'}': {e['msg']}", where,
                                 e["type"]) from None
