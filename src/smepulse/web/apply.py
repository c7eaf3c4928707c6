"""Credit applications in the web app: the decision API, the phone-sized apply page (zh/en), the
decision page with reasons, human review (PIPL art. 24) and the review queue for signed-in staff.

The decision service reads the champion from config.extra['credit_model'] (default: STORE_DIR/credit/champion,
which `make demo` builds) and the policy from config.extra['credit_policy'] (default: the shipped policy).
The JSON API is for machine clients: it needs `Content-Type: application/json` (a cross-site form cannot
send that without a CORS pre-flight, which the app never allows), so it carries no CSRF token; the HTML
forms do.
"""
from __future__ import annotations

import asyncio
import functools
import gc
import json
import logging
import threading
import time
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel
from starlette.datastructures import Headers

from smepulse.decision.application import MAX_AMOUNT, PURPOSES, Application, example_application
from smepulse.decision.book import REVIEW_OUTCOMES, DecisionBook
from smepulse.decision.errors import (
    ApplicationInvalid,
    DecisionError,
    DecisionUnavailable,
    OfferExceedsExposure,
    OfferNotOpen,
    UnknownDecision,
)
from smepulse.decision.prefill import prefill
from smepulse.decision.service import DecisionService, IdempotencyConflict
from smepulse.decision.uscc import UsccError
from smepulse.decision.uscc import validate as uscc_validate
from smepulse.errors import SmepulseError
from smepulse.web import auth
from smepulse.web.i18n import LANGS, t

router = APIRouter()
log = logging.getLogger(__name__)
CONSENT_VERSION = "consent-2026-12"
CONSENT = {
    "en": "I agree that the lender may use my business's transaction, tax and utility data to decide on this "
          "application (consent text " + CONSENT_VERSION + ").",
    "zh": "本人同意贷款机构使用本企业的交易、税务和水电数据审批本次申请（授权书版本 " + CONSENT_VERSION + "）。",
}
WORDS = {
    "en": {"title": "Apply for a business loan", "code": "Unified social credit code", "amount": "Amount (yuan)",
           "term": "Term (months)", "purpose": "Purpose", "submit": "Apply", "decision": "Decision",
           "approve": "Approved", "decline": "Declined", "refer": "Referred to our team", "limit": "Limit",
           "rate": "Annual rate", "reasons": "Main reasons", "review": "Ask for a human review",
           "review_sent": "Your review request is in our queue.",
           "review_note": "Anything the reviewer should know (optional)", "review_done": "Human review",
           "queue": "Review queue", "lang": "中文",
           "accept": "Accept this offer", "booked": "Your loan is booked", "loan": "Loan", "start": "Starts",
           "maturity": "Matures", "expired": "This offer has closed: please apply again.",
           "exposure": "This offer no longer fits your business's borrowing limit (another loan was booked "
                       "since): please apply again.",
           "closed": "We cannot take applications at the moment (our decision service is not available): "
                     "please try again later.", "colon": ": ", "yuan": " CNY"},
    "zh": {"title": "申请经营贷款", "code": "统一社会信用代码", "amount": "金额（元）", "term": "期限（月）",
           "purpose": "用途", "submit": "提交申请", "decision": "审批结果", "approve": "已批准", "decline": "未通过",
           "refer": "已转人工审核", "limit": "额度", "rate": "年利率", "reasons": "主要原因",
           "review": "申请人工复核", "review_sent": "您的复核申请已进入队列。",
           "review_note": "需要复核人了解的情况（选填）", "review_done": "人工复核结果", "queue": "复核队列",
           "lang": "English",
           "accept": "接受此额度", "booked": "贷款已发放", "loan": "贷款编号", "start": "起始日", "maturity": "到期日",
           "expired": "该额度已失效，请重新申请。",
           "exposure": "此额度已超出贵企业的授信上限（此后已发放其他贷款），请重新申请。",
           "closed": "暂时无法受理申请（审批服务不可用），请稍后再试。", "colon": "：", "yuan": "元"},
}
EXAMPLE = Application.model_config["json_schema_extra"]["examples"][0]  # the approved one
EXAMPLES = {  # both succeed against the store `make demo` builds (decision/demo_book.py); "demo" is approved
    "demo": {"summary": "approved: an example firm of the demo credit book the policy approves",
             "value": EXAMPLE},
    "declined": {"summary": "declined: an example firm of the demo credit book a knock-out rule declines",
                 "value": example_application("declined")}}
_lock = threading.Lock()
REFRESH_SECONDS = 1.0  # how soon a snapshot batch, a candidate list or a loan another process wrote is seen


def service(request: Request) -> DecisionService:
    return start_service(request.app)


def start_service(app) -> DecisionService:
    """The app's decision service, built once (on the first credit request, or at start-up by
    `check_at_start`). A model or policy that does not load or verify raises DecisionUnavailable (one
    line), then and on every later request until the server is restarted with a good one."""
    svc = getattr(app.state, "decision_service", None)
    if svc is not None:
        return svc
    with _lock:
        svc = getattr(app.state, "decision_service", None)
        failed = getattr(app.state, "decision_unavailable", None)
        if failed is not None:
            raise DecisionUnavailable(failed)
        if svc is None:
            cfg = app.state.config
            db = app.state.db
            model = Path(cfg.extra.get("credit_model") or Path(db.target).parent / "credit" / "champion")
            try:
                if not model.is_dir():
                    raise DecisionError(f"no champion model at {model}: run `make demo` or `smepulse credit train`")
                book = DecisionBook(db.store.con, lock=db.lock)
                svc = DecisionService(book, model, cfg.extra.get("credit_policy"), refresh_seconds=REFRESH_SECONDS)
            except SmepulseError as exc:
                app.state.decision_unavailable = f"the decision service cannot start: {exc}"
                raise DecisionUnavailable(app.state.decision_unavailable) from None
            app.state.decision_service = svc
            # the model, the policy and the book's memory are long-lived (~300k objects with the app's own):
            # out of the cyclic GC's full collections, which took ~0.5 s each under load (2.7 s of 25 s at
            # 100 decisions/s on PostgreSQL, 0.03 s frozen; docs/benchmarks.md "Credit decisions")
            gc.collect()
            gc.freeze()
    return svc


def check_at_start(app) -> None:
    """For `serve` before it listens: when a credit model or policy is configured (or the store's default
    champion exists), load and verify both now, so a tampered model or a bad policy stops the command with
    one line instead of answering 503 to every applicant."""
    cfg = app.state.config
    default = Path(app.state.db.target).parent / "credit" / "champion" if app.state.db.target else None
    if cfg.extra.get("credit_model") or cfg.extra.get("credit_policy") or (default and default.is_dir()):
        start_service(app)


def _closed_page(fn):
    """An HTML route that answers 503 in the page's language when the decision service cannot start."""
    @functools.wraps(fn)
    def page(request: Request, *args, **kwargs):
        try:
            return fn(request, *args, **kwargs)
        except DecisionUnavailable as exc:
            log.error("%s", exc)
            return _page(_lang(request), f"<p class='error' role='alert'>{WORDS[_lang(request)]['closed']}</p>",
                         status=503)
    return page


def _lang(request: Request) -> str:
    v = request.query_params.get("lang") or request.cookies.get("lang") or ""
    return "en" if v.startswith("en") else "zh"


# the decision API's own words (the apply page's validation messages are web/i18n.py's, the USCC's uscc.py's)
API_WORDS = {
    "en": {"json_only": "send the application as application/json",
           "not_utf8": "the body is not UTF-8 text",
           "not_json": "the body is not valid JSON ({why})",
           "not_object": "the application must be a JSON object",
           "lang": "lang must be 'en' or 'zh'",
           "conflict": "Idempotency-Key {key} was used with a different request body; use a new key for a new "
                       "application",
           "key_length": "Idempotency-Key must be 1-200 characters",
           "closed": "the decision service is not available (its model or policy does not load): try again later",
           "uscc": "uscc: the unified social credit code is required (18 characters)",
           "consent": "consent must give 'given' (true or false) and the 'text_version' of the consent text shown "
                      "(1-40 characters); 'given_at', if sent, is a date and time",
           "application_date": "application_date must be a date (YYYY-MM-DD)",
           "date_future": "application_date {date} is in the future (today is {today}, UTC)",
           "date_too_old": "application_date {date} is more than {days} days before today ({today}, UTC)",
           "project_id": "project_id must be text of at most 64 characters",
           "channel": "channel must be text of at most 20 characters",
           "unknown_field": "'{field}' is not a field of an application",
           "approve": "Approved: up to {limit:,.0f} yuan at {rate:.2f}% a year.",
           "approve_lower": "Approved for {limit:,.0f} yuan (you asked for {asked:,.0f}) at {rate:.2f}% a year.",
           "decline": "Declined.", "refer": "Referred to our team: a person will look at this application.",
           "reasons": " Main reasons: {reasons}."},
    "zh": {"json_only": "请以 application/json 格式提交申请",
           "not_utf8": "请求内容不是 UTF-8 文本",
           "not_json": "请求内容不是有效的 JSON（{why}）",
           "not_object": "申请须为一个 JSON 对象",
           "lang": "lang 只能为 'en' 或 'zh'",
           "conflict": "Idempotency-Key {key} 已用于另一份申请内容；新申请请使用新的键",
           "key_length": "Idempotency-Key 须为1至200个字符",
           "closed": "审批服务暂不可用（模型或政策文件无法加载），请稍后再试",
           "uscc": "请填写统一社会信用代码（18位）",
           "consent": "consent 须包含 given（true 或 false）和所展示授权书的 text_version（1至40个字符）；"
                      "如提供 given_at，须为日期时间",
           "application_date": "application_date 须为日期（YYYY-MM-DD）",
           "date_future": "申请日期 {date} 晚于今天（{today}，UTC），不能受理未来日期的申请",
           "date_too_old": "申请日期 {date} 早于今天（{today}，UTC）超过{days}天",
           "project_id": "project_id 须为不超过64个字符的文本",
           "channel": "channel 须为不超过20个字符的文本",
           "unknown_field": "“{field}”不是申请中的字段",
           "approve": "已批准：额度最高{limit:,.0f}元，年利率{rate:.2f}%。",
           "approve_lower": "已批准：额度{limit:,.0f}元（申请金额{asked:,.0f}元），年利率{rate:.2f}%。",
           "decline": "未通过。", "refer": "已转人工审核：我们的工作人员将审阅本次申请。",
           "reasons": "主要原因：{reasons}。"},
}
FIELD_WORDS = {"amount": "apply_amount_invalid", "term_months": "apply_term_invalid",
               "purpose": "apply_purpose_invalid"}  # web/i18n.py keys, shared with the apply page


def _api_lang(value, accept: str | None) -> str | None:
    """The API's language: the body's `lang` ('en' or 'zh'), else the first en or zh of Accept-Language,
    else English. None: `value` is given and not a language."""
    if value is not None:
        return value if value in LANGS else None
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip().lower()
        if code.startswith(("en", "zh")):
            return code[:2]
    return "en"


def invalid_text(exc: ApplicationInvalid, body: dict, lang: str) -> str:
    """What is wrong with an application, in `lang` (English: the validator's own message)."""
    if lang == "en":
        return str(exc)
    w, top = API_WORDS[lang], exc.field.split(".")[0]
    if exc.kind == "extra_forbidden":
        return w["unknown_field"].format(field=exc.field)
    if exc.kind in ("date_future", "date_too_old"):
        return w[exc.kind].format(**exc.params)
    if top == "uscc":
        if not isinstance(body.get("uscc"), str):
            return w["uscc"]
        try:
            uscc_validate(body["uscc"])
        except UsccError as bad:
            return bad.text(lang)
        except (DecisionError, TypeError, AttributeError):
            pass
        return w["uscc"]
    if top in FIELD_WORDS:
        return t(FIELD_WORDS[top], lang)
    if top in w:
        return w[top]
    return w["not_object"] if not exc.field else t("apply_failed", lang)


def _problem(status: int, lang: str, detail: str, detail_en: str | None = None) -> JSONResponse:
    out = {"detail": detail, "lang": lang}
    if lang != "en" and detail_en:
        out["detail_en"] = detail_en  # the English text too: what an operator searches the logs for
    return JSONResponse(out, status_code=status)


def decision_message(rec: dict, lang: str) -> str:
    """One sentence saying the decision (limit and rate when approved, the top reasons otherwise)."""
    w = API_WORDS[lang]
    d = rec["decision"]
    if d == "approve":
        asked = float(rec.get("requested_amount") or rec["application"]["amount"])
        key = "approve_lower" if rec["limit"] < asked else "approve"
        text = w[key].format(limit=rec["limit"], asked=asked, rate=rec["annual_rate"] * 100)
    else:
        text = w[d]
    if rec["reasons"]:
        text += w["reasons"].format(reasons=("; " if lang == "en" else "；").join(r[lang] for r in rec["reasons"]))
    return text


def _answer(rec: dict, replayed: bool, lang: str = "en") -> dict:
    """The API's answer: the reasons keep both languages (`en`, `zh`) and say them in `lang` as `text`."""
    return {"decision_id": rec["decision_id"], "decision": rec["decision"], "pd": rec["pd"], "limit": rec["limit"],
            "annual_rate": rec["annual_rate"], "reasons": [{**r, "text": r[lang]} for r in rec["reasons"]],
            "programmes": rec["programmes"], "rules_fired": rec["rules_fired"], "replayed": replayed,
            "lang": lang, "message": decision_message(rec, lang)}


class Reason(BaseModel):
    code: str
    en: str
    zh: str
    text: str  # the same reason in the answer's language


class DecisionAnswer(BaseModel):
    """What the decision API answers (the OpenAPI contract; the audit record keeps more)."""
    decision_id: str
    decision: str
    pd: float | None
    limit: float | None
    annual_rate: float | None
    reasons: list[Reason]
    programmes: list
    rules_fired: list
    replayed: bool
    lang: str
    message: str


def _inlined(schema: dict) -> dict:
    """A pydantic JSON schema with its $defs put in place (an OpenAPI $ref resolves from the document root)."""
    defs = schema.pop("$defs", {})

    def walk(x):
        if isinstance(x, dict):
            return walk(defs[x["$ref"].rsplit("/", 1)[-1]]) if "$ref" in x else {k: walk(v) for k, v in x.items()}
        return [walk(v) for v in x] if isinstance(x, list) else x
    return walk(schema)


# the body is read as JSON here (the service validates it and names the bad field in a 422, in the
# applicant's language), so the route says which schema it expects and gives the examples
APPLICATION_SCHEMA = _inlined(Application.model_json_schema())
APPLICATION_SCHEMA["properties"]["lang"] = {
    "type": "string", "enum": list(LANGS), "description": "language of the answer's messages and reason `text` "
    "(default: Accept-Language, else en); not part of the application (a retry in another language is a replay)"}
APPLICATION_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": APPLICATION_SCHEMA, "examples": EXAMPLES}}}}
PROBLEM = {"model": auth.Problem}
DECISIONS_DOC = """Decide a credit application (no human in the loop) and record it in the audit log.

Language: send `"lang": "zh"` in the body (or `Accept-Language: zh-CN`) and the answer's `message`, each reason's
`text` and any error's `detail` are in Chinese (`detail_en` keeps the English); the default is English. Every
reason always carries both `en` and `zh`. A retry with the same `Idempotency-Key` answers the first decision
(`replayed`: true), in the language of the retry."""


@router.post("/api/v1/credit/decisions", tags=["credit"], summary="Decide a credit application",
             description=DECISIONS_DOC,
             responses={200: {"model": DecisionAnswer,
                              "description": "a replay of the first decision for this Idempotency-Key"},
                        201: {"model": DecisionAnswer, "description": "the decision, recorded in the audit log"},
                        400: {**PROBLEM, "description": "the body cannot be read (not UTF-8)"},
                        409: {**PROBLEM, "description": "Idempotency-Key used with another body"},
                        415: {**PROBLEM, "description": "the body is not application/json"},
                        422: {**PROBLEM, "description": "the application is not valid"},
                        503: {**PROBLEM, "description": "the decision service cannot start (model or policy)"}},
             status_code=201, response_model=None, openapi_extra=APPLICATION_BODY)
async def decide_api(request: Request, idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    # the documented route; a POST to this path is normally answered by decide_asgi (web/app.py's FastRoutes),
    # with the same code, before the session, routing and parameter solving this route goes through
    return await _decide(request.app, request.headers, await request.body())


async def decide_asgi(scope, receive, send) -> None:
    """POST /api/v1/credit/decisions as a plain ASGI app: the JSON API's hot path (web/app.py sends it here,
    inside the body limit and the server-error handler, past the session cookie, CSRF-free routing and FastAPI's
    parameter solving: ~0.3 ms of CPU a request). It reads no session and sets no cookie, as decide_api."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":  # the client went away before its body arrived: nothing decided
            return
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    response = await _decide(scope["app"], Headers(scope=scope), b"".join(chunks))
    await response(scope, receive, send)


FAST_ROUTES = {("POST", "/api/v1/credit/decisions"): decide_asgi}  # (method, exact path) -> ASGI app


async def _decide(app, headers, body: bytes) -> JSONResponse:
    # async, on the event loop: the decision is ~1 ms of CPU with no store access (a thread hop costs about
    # as much), and the answer awaits the group commit of its audit record without holding a thread. The body
    # is parsed here, not by a Body() parameter: its errors are then said in the applicant's language.
    accept = headers.get("accept-language")
    lang = _api_lang(None, accept)
    if not headers.get("content-type", "").startswith("application/json"):
        return _problem(415, lang, API_WORDS[lang]["json_only"])
    idempotency_key = headers.get("idempotency-key")
    t0 = time.perf_counter()
    try:
        application = json.loads(body)
    except UnicodeDecodeError:
        return _problem(400, lang, API_WORDS[lang]["not_utf8"], API_WORDS["en"]["not_utf8"])
    except json.JSONDecodeError as exc:
        return _problem(422, lang, API_WORDS[lang]["not_json"].format(why=exc), API_WORDS["en"]["not_json"].format(
            why=exc))
    if not isinstance(application, dict):
        return _problem(422, lang, API_WORDS[lang]["not_object"], API_WORDS["en"]["not_object"])
    if "lang" in application:
        chosen = _api_lang(application.pop("lang"), accept)
        if chosen is None:
            return _problem(422, lang, API_WORDS[lang]["lang"], API_WORDS["en"]["lang"])
        lang = chosen
    try:
        svc = getattr(app.state, "decision_service", None) or await asyncio.to_thread(start_service, app)
        rec, replayed = await svc.submit_async(application, idempotency_key)
    except DecisionUnavailable as exc:
        log.error("%s", exc)
        return _problem(503, lang, API_WORDS[lang]["closed"], str(exc))
    except IdempotencyConflict as exc:
        return _problem(409, lang, API_WORDS[lang]["conflict"].format(key=repr(idempotency_key)), str(exc))
    except ApplicationInvalid as exc:
        return _problem(422, lang, invalid_text(exc, application, lang), str(exc))
    except DecisionError as exc:
        key_bad = idempotency_key is not None and not 1 <= len(idempotency_key) <= 200
        text = API_WORDS[lang]["key_length"] if key_bad else str(exc) if lang == "en" else t("apply_failed", lang)
        return _problem(422, lang, text, str(exc))
    ms = (time.perf_counter() - t0) * 1e3  # decide + record, as the handler saw it (W3C Server-Timing)
    return JSONResponse(_answer(rec, replayed, lang), status_code=200 if replayed else 201,
                        headers={"Server-Timing": f"decision;dur={ms:.3f}"})


def _loan_json(loan: dict) -> dict:
    keys = ("loan_id", "decision_id", "uscc", "amount", "annual_rate", "term_months", "start_date", "maturity_date")
    return {k: (loan[k].isoformat() if hasattr(loan[k], "isoformat") else loan[k]) for k in keys}


@router.post("/api/v1/credit/decisions/{decision_id}/accept", tags=["credit"], summary="Accept an approved offer",
             responses={200: {"description": "the loan this offer already became"},
                        201: {"description": "the offer accepted: the loan booked"},
                        404: {"description": "no such decision"},
                        409: {"description": "not an approval, the offer expired, or it no longer fits "
                                            "the firm's exposure limit (another offer booked since)"}}, status_code=201)
def accept_api(request: Request, decision_id: str):
    """The applicant accepts the offer of an approved decision; it becomes a loan in the book, once. The
    decision id (random, 128 bits) is the applicant's handle on the offer, as on the decision page."""
    try:
        svc = service(request)
    except DecisionUnavailable as exc:
        return JSONResponse({"detail": str(exc)}, status_code=503)
    try:
        before = svc.book.loan_for(decision_id)
        loan = svc.accept(decision_id)
    except UnknownDecision as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    except OfferNotOpen as exc:
        return JSONResponse({"detail": str(exc)}, status_code=409)
    return JSONResponse({**_loan_json(loan), "replayed": before is not None}, status_code=200 if before else 201)


def _page(lang: str, body: str, status: int = 200) -> HTMLResponse:
    w = WORDS[lang]
    other = "en" if lang == "zh" else "zh"
    return HTMLResponse(f"""<!doctype html><html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{w['title']}</title>
<link rel="stylesheet" href="/static/app.css"><style>main{{max-width:30rem;margin:auto;padding:1rem}}
label{{display:block;margin:.6rem 0 .2rem}}
input,select,button,textarea{{width:100%;box-sizing:border-box;font-size:1.1rem;padding:.5rem}}
.consent input{{width:auto}}</style></head><body><main><p><a href="?lang={other}">{w['lang']}</a></p>{body}</main>
</body></html>""", status_code=status)


PURPOSE_WORDS = {"working_capital": ("Working capital", "流动资金"), "inventory": ("Inventory", "备货"),
                 "equipment": ("Equipment", "设备购置"), "technology_upgrade": ("Technology upgrade", "技术改造"),
                 "other": ("Other", "其他")}
KNOWN_WORDS = {"en": {"known": "What we already know about your business", "sector": "Sector", "region": "Region",
                      "size": "Size", "months_in_business": "Months in business", "as_of": "data as of"},
               "zh": {"known": "我们已掌握的企业信息", "sector": "行业", "region": "地区", "size": "规模",
                      "months_in_business": "经营月数", "as_of": "数据日期"}}
INVITE_DAYS = 30


def _invites(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret, salt="smepulse-credit-invite")


def invite_token(request: Request, uscc: str) -> str:
    """A signed link token naming the firm (the lender sends it to the firm: the apply page is then
    pre-filled with what the lender knows), valid INVITE_DAYS."""
    return _invites(request).dumps(uscc_validate(uscc))


def _invited(request: Request, token: str) -> str | None:
    try:
        return str(_invites(request).loads(token, max_age=INVITE_DAYS * 86400))
    except BadSignature:
        return None


@router.get("/apply", include_in_schema=False)
@_closed_page
def apply_page(request: Request, uscc: str = "", invite: str = ""):
    """Pre-filled from a signed invitation link (the firm's profile and its last application in the book)
    or from this browser session's last application; a bare ?uscc= fills in the code only."""
    return _apply_form(request, uscc, invite)


def _apply_form(request: Request, uscc: str = "", invite: str = "", error: str = "", status: int = 200,
                lang: str | None = None) -> HTMLResponse:
    """The apply form; `error` is a message already in the page's language (never taken from the URL)."""
    lang, tok = lang or _lang(request), auth.csrf_token(request)
    w, k = WORDS[lang], KNOWN_WORDS[lang]
    svc = service(request)
    last = dict(request.session.get("apply_last") or {})
    code = _invited(request, invite) if invite else None
    if invite and code is None:
        error = error or t("apply_invite_invalid", lang)
    if code is not None:
        request.session["apply_last"] = last = {"uscc": code}
    known = None
    if last.get("uscc"):
        try:
            known = prefill(svc.book, last["uscc"], datetime.now(UTC).date())
        except DecisionError:
            known = None
    fill = {"uscc": uscc or last.get("uscc", ""), "amount": last.get("amount"), "term_months": last.get("term_months"),
            "purpose": last.get("purpose")}
    box = ""
    if known is not None:
        if code is not None:  # the lender identified the firm: its last application in the book too
            fill.update({f: fill[f] or getattr(known, f) for f in ("amount", "term_months", "purpose")})
        if known.profile:
            rows = "".join(f"<dt>{k[name]}</dt><dd>{escape(v[lang])}</dd>" for name, v in known.profile.items())
            box = (f"<section id='known'><h2>{k['known']}</h2><dl>{rows}</dl>"
                   f"<p><small>{k['as_of']} {known.as_of:%Y-%m-%d}</small></p></section>")
    amount = int(fill["amount"]) if fill["amount"] else 100000
    term = int(fill["term_months"]) if fill["term_months"] else 12
    terms = sorted({6, 12, 24, 36, term})
    term_opts = "".join(f"<option{' selected' if m == term else ''}>{m}</option>" for m in terms)
    purposes = "".join(f'<option value="{p}"{" selected" if p == fill["purpose"] else ""}>'
                       f'{PURPOSE_WORDS[p][0 if lang == "en" else 1]}</option>' for p in PURPOSES)
    err = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return _page(lang, f"""<h1>{w['title']}</h1>{err}{box}<form method="post" action="/apply?lang={lang}">
<input type="hidden" name="csrf_token" value="{tok}"><input type="hidden" name="lang" value="{lang}">
<label for="uscc">{w['code']}</label><input id="uscc" name="uscc" required maxlength="18"
 value="{escape(fill['uscc'])}" autocapitalize="characters" autocomplete="off">
<label for="amount">{w['amount']}</label><input id="amount" name="amount" type="number" min="1000" step="1000"
 value="{amount}" required inputmode="numeric">
<label for="term">{w['term']}</label><select id="term" name="term_months">{term_opts}</select>
<label for="purpose">{w['purpose']}</label><select id="purpose" name="purpose">{purposes}</select>
<p class="consent"><label><input type="checkbox" name="consent" value="yes" id="consent"> {CONSENT[lang]}</label></p>
<button type="submit" id="submit">{w['submit']}</button></form>""", status=status)


def _form_error(uscc: str, amount: str, term_months: str, purpose: str, lang: str) -> tuple[str, dict]:
    """(message in `lang`, application body): what is wrong with the form, checked field by field in the
    order the page shows them, so an applicant never sees the API's English text on a zh page."""
    try:
        code = uscc_validate(uscc)
    except UsccError as exc:
        return exc.text(lang), {}
    try:
        value = float(amount)
    except ValueError:
        value = float("nan")
    if not (0 < value <= MAX_AMOUNT):  # also NaN and inf
        return t("apply_amount_invalid", lang), {}
    term = int(term_months) if term_months.strip().isdigit() else 0
    if not 1 <= term <= 60:
        return t("apply_term_invalid", lang), {}
    if purpose not in PURPOSES:
        return t("apply_purpose_invalid", lang), {}
    return "", {"uscc": code, "amount": value, "term_months": term, "purpose": purpose}


@router.post("/apply", include_in_schema=False, dependencies=[Depends(auth.csrf_protect)])
@_closed_page
def apply_submit(request: Request, uscc: str = Form(...), amount: str = Form(""), term_months: str = Form(""),
                 purpose: str = Form("working_capital"), consent: str = Form(""), lang: str = Form("zh")):
    lang = "en" if lang == "en" else "zh"
    error, body = _form_error(uscc, amount, term_months, purpose, lang)
    if error:
        return _apply_form(request, uscc[:40], error=error, status=422, lang=lang)
    body.update({"channel": "web", "consent": {"given": consent == "yes", "text_version": CONSENT_VERSION,
                                               "given_at": datetime.now(UTC).isoformat()}})
    try:
        rec, _ = service(request).submit(body)
    except DecisionError as exc:  # the form passed the checks above: a fault on our side, said in the page's words
        log.warning("apply page: application refused: %s", exc)
        return _apply_form(request, uscc[:40], error=t("apply_failed", lang), status=422, lang=lang)
    request.session["apply_last"] = {"uscc": rec["application"]["uscc"], "amount": body["amount"],
                                     "term_months": body["term_months"], "purpose": purpose}
    return RedirectResponse(f"/apply/decisions/{rec['decision_id']}?lang={lang}", status_code=303)


@router.get("/apply/decisions/{decision_id}", include_in_schema=False)
@_closed_page
def decision_page(request: Request, decision_id: str, review: str = "", error: str = ""):
    lang, tok = _lang(request), auth.csrf_token(request)
    w = WORDS[lang]
    try:
        rec = service(request).book.record(decision_id)
    except DecisionError:
        return HTMLResponse("not found", status_code=404)
    terms = ""
    if rec["decision"] != "decline" and rec["annual_rate"] is not None:
        terms = (f"<p>{w['limit']}{w['colon']}<strong id='limit'>{rec['limit']:,.0f}</strong>{w['yuan']}</p>"
                 f"<p>{w['rate']}{w['colon']}<strong id='rate'>{rec['annual_rate'] * 100:.2f}%</strong></p>")
    reasons = "".join(f"<li>{escape(r[lang])}</li>" for r in rec["reasons"])
    reasons = f"<h2>{w['reasons']}</h2><ol id='reasons'>{reasons}</ol>" if reasons else ""
    offer = ""
    if rec["decision"] == "approve":
        loan = service(request).book.loan_for(decision_id)
        if loan is not None:
            offer = (f"<section id='loan'><h2>{w['booked']}</h2><p>{w['loan']}{w['colon']}{escape(loan['loan_id'])}</p>"
                     f"<p>{w['start']}{w['colon']}{loan['start_date']:%Y-%m-%d} · {w['maturity']}{w['colon']}"
                     f"{loan['maturity_date']:%Y-%m-%d}</p></section>")
        elif error in ("expired", "exposure"):
            offer = f"<p class='error' role='alert' id='{error}'>{w[error]}</p>"
        else:
            offer = (f'<form method="post" action="/apply/decisions/{decision_id}/accept?lang={lang}">'
                     f'<input type="hidden" name="csrf_token" value="{tok}"><button id="accept" type="submit">'
                     f'{w["accept"]}</button></form>')
    done = f"<p id='review-sent'>{w['review_sent']}</p>" if review else (
        f'<form method="post" action="/apply/decisions/{decision_id}/review?lang={lang}">'
        f'<input type="hidden" name="csrf_token" value="{tok}"><label for="note">{w["review_note"]}</label>'
        f'<textarea id="note" name="note" maxlength="2000" rows="3"></textarea>'
        f'<button id="review" type="submit">{w["review"]}</button></form>')
    seen = service(request).book.review_of(decision_id)
    if seen is not None and seen["status"] == "resolved":
        q = QUEUE_WORDS[lang]
        done = (f"<section id='review-outcome'><h2>{w['review_done']}</h2><p>{q[seen['outcome']]}</p>"
                f"<p>{escape(seen['resolution_note'] or '')}</p></section>")
    return _page(lang, f"<h1>{w['decision']}{w['colon']}<span id='decision'>{w[rec['decision']]}</span></h1>{terms}"
                       f"{reasons}{offer}{done}")


@router.post("/apply/decisions/{decision_id}/accept", include_in_schema=False,
             dependencies=[Depends(auth.csrf_protect)])
@_closed_page
def accept_offer(request: Request, decision_id: str):
    lang = _lang(request)
    try:
        service(request).accept(decision_id)
    except UnknownDecision:
        return HTMLResponse("not found", status_code=404)
    except OfferNotOpen as exc:
        why = "exposure" if isinstance(exc, OfferExceedsExposure) else "expired"
        return RedirectResponse(f"/apply/decisions/{decision_id}?lang={lang}&error={why}", status_code=303)
    return RedirectResponse(f"/apply/decisions/{decision_id}?lang={lang}", status_code=303)


@router.post("/apply/decisions/{decision_id}/review", include_in_schema=False,
             dependencies=[Depends(auth.csrf_protect)])
@_closed_page
def review_request(request: Request, decision_id: str, note: str = Form("")):
    lang = _lang(request)
    try:
        service(request).book.request_review(decision_id, note)
    except DecisionError:
        return HTMLResponse("not found", status_code=404)
    return RedirectResponse(f"/apply/decisions/{decision_id}?lang={lang}&review=sent", status_code=303)


QUEUE_WORDS = {
    "en": {"decision": "Decision", "code": "Code", "outcome": "Automated outcome", "requested": "Requested",
           "note": "Applicant's note", "resolve": "Resolve", "upheld": "Upheld (the decision stands)",
           "revised": "Revised (the reviewer changed it)", "resolution_note": "Reviewer's note",
           "resolved": "Resolved reviews", "reviewer": "Reviewer", "resolved_at": "Resolved",
           "admin_only": "Resolving a review needs the admin role."},
    "zh": {"decision": "审批编号", "code": "信用代码", "outcome": "自动审批结果", "requested": "申请时间",
           "note": "申请人留言", "resolve": "处理", "upheld": "维持（原决定有效）", "revised": "改变（复核人已修改）",
           "resolution_note": "复核意见", "resolved": "已处理的复核", "reviewer": "复核人", "resolved_at": "处理时间",
           "admin_only": "处理复核需要管理员权限。"},
}


@router.get("/admin/credit/reviews", include_in_schema=False)
@_closed_page
def review_queue(request: Request, user: auth.User = Depends(auth.require_user)):
    """Open review requests (with the applicant's note; admins resolve them here) and the resolved ones."""
    lang, tok = _lang(request), auth.csrf_token(request)
    w, q = WORDS[lang], QUEUE_WORDS[lang]
    book = service(request).book
    outcome = {"approve": w["approve"], "decline": w["decline"], "refer": w["refer"]}

    def form(r: dict) -> str:
        if not user.is_admin:
            return f"<small>{q['admin_only']}</small>"
        opts = "".join(f'<option value="{o}">{q[o]}</option>' for o in REVIEW_OUTCOMES)
        return (f'<form method="post" action="/admin/credit/reviews/{escape(r["review_id"])}/resolve?lang={lang}">'
                f'<input type="hidden" name="csrf_token" value="{tok}"><select name="outcome">{opts}</select>'
                f'<input name="note" maxlength="2000" aria-label="{q["resolution_note"]}">'
                f'<button type="submit">{q["resolve"]}</button></form>')
    rows = "".join(f"<tr id='{escape(r['review_id'])}'><td>{escape(r['decision_id'])}</td><td>{escape(r['uscc'])}</td>"
                   f"<td>{outcome.get(r['decision'], escape(r['decision']))}</td>"
                   f"<td>{r['requested_at']:%Y-%m-%d %H:%M}</td><td class='note'>{escape(r['note'] or '')}</td>"
                   f"<td>{form(r)}</td></tr>" for r in book.reviews())
    done = "".join(f"<tr><td>{escape(r['decision_id'])}</td><td>{q[r['outcome']] if r['outcome'] in q else ''}</td>"
                   f"<td>{escape(r['resolution_note'] or '')}</td><td>{escape(r['reviewer'] or '')}</td>"
                   f"<td>{r['resolved_at']:%Y-%m-%d %H:%M}</td></tr>" for r in book.reviews("resolved"))
    head = "".join(f"<th>{q[k]}</th>" for k in ("decision", "code", "outcome", "requested", "note", "resolve"))
    head2 = "".join(f"<th>{q[k]}</th>" for k in ("decision", "outcome", "resolution_note", "reviewer", "resolved_at"))
    return _page(lang, f"<h1>{w['queue']}</h1><table id='queue'><tr>{head}</tr>{rows}</table>"
                       f"<h2>{q['resolved']}</h2><table id='resolved'><tr>{head2}</tr>{done}</table>")


@router.post("/admin/credit/reviews/{review_id}/resolve", include_in_schema=False,
             dependencies=[Depends(auth.csrf_protect)])
@_closed_page
def resolve_review(request: Request, review_id: str, outcome: str = Form(...), note: str = Form(""),
                   user: auth.User = Depends(auth.require_admin)):
    """An admin records the outcome of a human review: who, when, upheld or revised, and a note."""
    lang = _lang(request)
    try:
        service(request).book.resolve_review(review_id, outcome, user.username, note)
    except UnknownDecision:
        return HTMLResponse("not found", status_code=404)
    except DecisionError as exc:
        return _page(lang, f"<p class='error' role='alert'>{escape(str(exc))}</p>", status=409)
    return RedirectResponse(f"/admin/credit/reviews?lang={lang}", status_code=303)


@router.get("/admin/credit/invite", include_in_schema=False)
def invite_page(request: Request, uscc: str = "", user: auth.User = Depends(auth.require_user)):
    """Staff: an invitation link for a firm; the firm's apply page opens pre-filled."""
    lang = _lang(request)
    try:
        link = f"{str(request.base_url).rstrip('/')}/apply?{urlencode({'invite': invite_token(request, uscc)})}"
    except DecisionError as exc:
        return _page(lang, f"<p class='error' role='alert'>{escape(str(exc))}</p>")
    return _page(lang, f"<h1>{escape(uscc)}</h1><p><a id='invite' href='{escape(link)}'>{escape(link)}</a></p>")
