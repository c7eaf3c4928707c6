"""The respondent's form at /r/{token}: generated from the methodology, saved on every block, submitted once,
and only within the wave's fieldwork dates (web/fieldwork.py: late days and link expiry from the web config).
Saves and submissions are written by the respondent writer (web/submissions.py), group-committed."""
from __future__ import annotations

import asyncio
import logging

import duckdb
import psycopg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool

from smepulse.web import fieldwork, survey_ops
from smepulse.web.auth import csrf_protect, get_db
from smepulse.web.db import Database
from smepulse.web.i18n import pick_lang, t
from smepulse.web.submissions import (
    BUSY,
    INVALID,
    MISSING,
    ON_FILE,
    REFUSED,
    REPLAYED,
    SAVED,
    WRITE_CONFLICTS,
    Outcome,
    Post,
    once_more,
)

router = APIRouter()
log = logging.getLogger(__name__)
# what a store can raise for a post it does not write (a write conflict among them)
STORE_ERRORS = (duckdb.Error, psycopg.Error)


def _lang(request: Request, explicit: str | None, saved: str | None = None) -> str:
    return pick_lang(explicit or saved, request.headers.get("accept-language"))


def _page(request: Request, inv: survey_ops.Invitation, lang: str, answers: dict, errors: list[str] | None = None,
          status_code: int = 200, message: str = "", alert: str = "", invalid: list[str] | None = None):
    """The form; errors: questions marked (those in `invalid` as "not one of the choices", others unanswered)."""
    m = request.app.state.methodology
    blocks = [(b, [m.question(q) for q in qs]) for b, qs in m.blocks().items()]
    return request.app.state.render(request, "respond.html", status_code=status_code, lang=lang, inv=inv,
                                    blocks=blocks, answers=answers, errors=errors or [], message=message,
                                    alert=alert, na=survey_ops.NOT_APPLICABLE, label=labeller(m, lang),
                                    invalid=invalid or [])


def labeller(m, lang: str):
    """Words for a block or an answer code: the catalogue's (block_<id>, code_<code>), else the methodology's
    composite of that id (blocks), else the id itself, so a block or code new in the YAML still shows."""
    composites = {c.id: c.text for c in m.composites if c.text is not None}

    def label(kind: str, key: str) -> str:
        word = t(f"{kind}_{key}", lang)
        if word != f"{kind}_{key}":
            return word
        if kind == "block" and key in composites:
            return getattr(composites[key], lang)
        return key.replace("_", " ")
    return label


def _gone(request: Request, key: str, lang: str, status_code: int, message: str = "", note: str = ""):
    return request.app.state.render(request, "respond_done.html", status_code=status_code, lang=lang, key=key,
                                    done=None, message=message, note=note)


# what a link outside its answering days shows: message key and HTTP status
REFUSALS = {fieldwork.EXPIRED: ("link_expired", 410), fieldwork.CLOSED: ("wave_closed", 410),
           fieldwork.NOT_YET: ("fieldwork_not_yet", 403), fieldwork.OVER: ("fieldwork_over", 410)}


def _refusal(request: Request, inv: survey_ops.Invitation, state: str, lang: str, wants_json: bool = False,
             had_draft: bool | None = None):
    """The bilingual page (or JSON) for a link that takes no answers today; the saved draft stays as it was.
    had_draft: whether it has one (None: look in the store)."""
    key, status = REFUSALS[state]
    policy = request.app.state.fieldwork
    dates = {"opens": inv.wave.opens, "last": policy.last_day(inv.wave)}
    message = t(key, lang).format(**dates)
    if had_draft is None:
        had_draft = survey_ops.draft(request.app.state.db, inv.token) is not None
    kept = state in (fieldwork.NOT_YET, fieldwork.OVER) and had_draft
    note = t("draft_kept", lang) if kept else ""
    if wants_json:
        return JSONResponse({"saved": False, "submitted": False, "reason": state, "message": message,
                             "draft_kept": kept}, status_code=status)
    # on the page each date in a no-break span: a narrow phone line breaks Chinese text after any character
    # and would split "2026-12-" from "02"
    return _gone(request, key, lang, status, escape(t(key, lang)).format(
        **{k: Markup('<span class="date">{}</span>').format(v) for k, v in dates.items()}), note)


@router.get("/r/{token}", include_in_schema=False)
def form(request: Request, token: str, lang: str | None = None, db: Database = Depends(get_db)):
    inv = survey_ops.invitation(db, token)
    if inv is None:
        return _gone(request, "link_invalid", _lang(request, lang), 404)
    state = request.app.state.fieldwork.state(inv.wave)
    if state == fieldwork.EXPIRED:
        return _refusal(request, inv, state, _lang(request, lang))
    done = survey_ops.submission(db, token)
    if done:
        lang = _lang(request, lang, done["lang"])
        bench = survey_ops.benchmark(db, request.app.state.methodology, inv)
        if bench is not None:  # after publication: the firm's answers against its sector
            return request.app.state.render(request, "benchmark.html", lang=lang, inv=inv, bench=bench,
                                            label=labeller(request.app.state.methodology, lang))
        return request.app.state.render(request, "respond_done.html", lang=lang, key="already_submitted", done=done)
    if not inv.active:  # retired from the panel
        return _gone(request, "link_invalid", _lang(request, lang), 404)
    d = survey_ops.draft(db, token) or {}
    if state != fieldwork.OPEN:
        return _refusal(request, inv, state, _lang(request, lang, d.get("lang")))
    return _page(request, inv, _lang(request, lang, d.get("lang")), d.get("answers", {}))


@router.post("/r/{token}", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def post(request: Request, token: str):
    """A block saved or the form submitted. Nothing here reads the store: the post goes to the respondent writer
    (web/submissions.py), which checks and writes it with the others of its batch and commits; the answer is
    sent once that commit is done (awaited, so no thread waits meanwhile)."""
    fields = {k: str(v) for k, v in (await request.form()).items()}
    lang = _lang(request, fields.get("lang"))
    wants_json = "application/json" in request.headers.get("accept", "")
    if not survey_ops.plausible_token(token):
        return _gone(request, "link_invalid", lang, 404)
    m = request.app.state.methodology
    action = fields.get("action", "save")
    saving = action in ("save", "lang-en", "lang-zh")
    try:
        seconds = float(fields.get("seconds") or 0)
    except ValueError:
        seconds = 0.0
    block = fields.get("block", "") if saving else ""
    # an answer that is none of the question's codes: a submit is not taken, the valid answers are saved
    invalid = survey_ops.invalid_answers(m, fields)
    p = Post(token, not saving and not invalid, survey_ops.clean_answers(m, fields), lang,
             survey_ops.device_class(request.headers.get("user-agent", "")), block if block in m.blocks() else "",
             seconds)
    try:
        out: Outcome = await asyncio.wrap_future(request.app.state.respondents.post(p))
    except (*WRITE_CONFLICTS, BUSY):  # still a conflict after the writer's retry, or an import holds the store
        return await run_in_threadpool(_conflict, request, p, wants_json)
    except STORE_ERRORS:  # the store refused this post (its batch's others were written without it)
        log.exception("a respondent's post was not written")
        return await run_in_threadpool(_conflict, request, p, wants_json)
    if out.kind == INVALID:
        return _gone(request, "link_invalid", lang, 404)
    if out.kind == REFUSED:
        return await run_in_threadpool(_refusal, request, out.inv, out.state, lang, wants_json, out.had_draft)
    if out.kind == REPLAYED:
        if wants_json:
            return JSONResponse({"submitted": True, "replayed": True, "message": t("already_submitted", lang)})
        return request.app.state.render(request, "respond_done.html", lang=lang, key="already_submitted",
                                        done=out.done)
    if out.kind == MISSING or (out.kind == SAVED and not saving):
        missing = [q for q in survey_ops.missing_answers(m, out.answers) if q not in invalid]
        message = t("answers_not_codes" if invalid else "form_has_errors", lang)
        if wants_json:
            return JSONResponse({"submitted": False, "missing": missing, "invalid": invalid, "message": message},
                                status_code=422)
        errors = [q.id for q in m.questions if q.id in invalid or q.id in missing]
        return await run_in_threadpool(_page, request, out.inv, lang, out.answers, errors=errors, status_code=422,
                                       invalid=invalid)
    if out.kind == SAVED:
        if action.startswith("lang-"):
            return RedirectResponse(f"/r/{token}?lang={action[5:]}", status_code=303)
        if wants_json:
            return JSONResponse({"saved": True, "answered": len(out.answers), "message": t("saved", lang)})
        return await run_in_threadpool(_page, request, out.inv, lang, out.answers, message=t("saved", lang))
    if out.kind == ON_FILE:  # this firm's month came in by an import first
        if wants_json:
            return JSONResponse({"submitted": False, "reason": "answers_on_file",
                                 "message": t("answers_on_file", lang)}, status_code=409)
        return _gone(request, "answers_on_file", lang, 409)
    if wants_json:
        return JSONResponse({"submitted": True, "replayed": False, "message": t("thanks", lang)})
    return request.app.state.render(request, "respond_done.html", lang=lang, key="thanks", done=out.done)


def _conflict(request: Request, p: Post, wants_json: bool):
    """Still a write conflict after the retry, or the store refused the post: nothing of it is stored (its
    transaction was refused whole); the answers go into the draft if they can, and back on the page in any case,
    with a 503 that asks to try again (Retry-After), in the page's language."""
    db, answers, lang = request.app.state.db, p.answers, p.lang
    inv = survey_ops.invitation(db, p.token)
    if inv is None:
        return _gone(request, "link_invalid", lang, 404)
    try:
        merged = survey_ops.save_draft(db, inv.token, answers, lang, p.device)
        kept = True
    except STORE_ERRORS:
        merged, kept = {**((survey_ops.draft(db, inv.token) or {}).get("answers", {})), **answers}, False
    message = t("save_conflict", lang)
    if wants_json:
        return JSONResponse({"saved": False, "submitted": False, "reason": "conflict", "message": message,
                             "draft_kept": kept}, status_code=503, headers={"Retry-After": "2"})
    page = _page(request, inv, lang, merged, status_code=503, alert=message)
    page.headers["Retry-After"] = "2"
    return page


__all__ = ["once_more"]  # the retry the writer runs (web/submissions.py), used here by name in tests
