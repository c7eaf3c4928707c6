"""Admin pages for survey operations (behind sign-in; writes need the admin role and a CSRF token):
the panel, waves, links, response rates, closing and publishing."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel, Field

from smepulse.errors import SmepulseError, StoreError
from smepulse.store import is_server_url
from smepulse.store.postgres import PgConnection
from smepulse.web import i18n, mail, survey_ops
from smepulse.web.auth import SIGNED_IN, Problem, User, csrf_protect, get_db, require_admin, require_user
from smepulse.web.db import Database
from smepulse.web.portal import csv_response

router = APIRouter()
WRITE = [Depends(csrf_protect)]
STRATA = ("sector", "region", "size", "exporter")
COMMENTARY_MAX = 4000  # characters per language: the form says so and the handler refuses more (never cuts)
PUBLISH_LOCK = 0x736D7770  # PostgreSQL advisory lock class of "a wave is being published" ("smwp")
_publishing: set[tuple[str, str]] = set()  # (store file, wave) being published in this process (DuckDB)
_publishing_lock = threading.Lock()


@contextmanager
def one_publish(db: Database, wave_id: str) -> Iterator[None]:
    """One publish of a wave at a time: a second one while the first runs is refused at once (StoreError, shown
    to the admin) instead of queueing behind it and storing a second, identical vintage. On PostgreSQL the claim is
    a session advisory lock on a connection of its own, so it holds across every server on the database and is
    let go when that connection ends, even if this process dies; a DuckDB file has one writing process (the CLI
    forwards its commands into the server), so a claim in this process is enough."""
    busy = StoreError(f"wave {wave_id} is being published by another request right now; nothing was published by "
                      "this one: reload the page in a minute to see that vintage, and publish again only if you "
                      "want another")
    if is_server_url(db.target):
        con = PgConnection(db.target)
        try:
            if not con.execute("SELECT pg_try_advisory_lock(CAST(? AS INTEGER), hashtext(?))",
                               [PUBLISH_LOCK, wave_id]).fetchall()[0][0]:
                raise busy
            yield
        finally:
            con.close()  # the session ends: its advisory lock with it
        return
    key = (os.path.realpath(db.target), wave_id)
    with _publishing_lock:
        if key in _publishing:
            raise busy
        _publishing.add(key)
    try:
        yield
    finally:
        with _publishing_lock:
            _publishing.discard(key)


FLASH_MAX_AGE = 600  # seconds a message link stays valid: long enough for the redirect, no longer
DETAIL_MAX = 1500  # characters of an error's detail carried in the link


def _signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret, salt="smepulse-admin-flash")


def _back(request: Request, path: str, msg: str = "", error: str = "", detail: str = "",
          **args: str | int) -> RedirectResponse:
    """Redirect after a form: the message is a code of web/i18n.py (`msg_*`, `error_*`) with its arguments, in
    the link signed by the server (itsdangerous, timed), so no one can make an admin page show a text of their
    own by sending a crafted link (a link without a valid signature or with an unknown code shows nothing). The
    code and arguments stay readable in the link (`msg=imported&added=12`) for people and tests."""
    fields = {k: str(v) for k, v in (("msg", msg), ("error", error), ("detail", detail[:DETAIL_MAX])) if v}
    fields.update({k: str(v) for k, v in args.items()})
    q = urlencode({**fields, "sig": _signer(request).dumps(fields)}) if fields else ""
    lang = parse_qs(urlsplit(request.headers.get("referer", "")).query).get("lang", [""])[0]
    if lang in i18n.LANGS:  # back in the language of the page the form was on
        q = f"{q}&lang={lang}" if q else f"lang={lang}"
    return RedirectResponse(path + (f"?{q}" if q else ""), status_code=303)


def flash(request: Request, lang: str) -> tuple[str, str]:
    """(message, error) for the page, in `lang`, from a signed link of `_back`; ("", "") for anything else."""
    sig = request.query_params.get("sig")
    if not sig:
        return "", ""
    try:
        fields = _signer(request).loads(sig, max_age=FLASH_MAX_AGE)
    except BadSignature:
        return "", ""
    if not isinstance(fields, dict):
        return "", ""
    return (i18n.message(f"msg_{fields['msg']}", lang, fields) if "msg" in fields else "",
            i18n.message(f"error_{fields['error']}", lang, fields) if "error" in fields else "")


def _render(request: Request, name: str, **ctx):
    lang = i18n.page_lang(request)
    msg, error = flash(request, lang)
    return request.app.state.render(request, name, lang=lang, msg=msg, error=error,
                                    labels=i18n.Labels(request.app.state.methodology, lang), **ctx)


def _failed(request: Request, path: str, exc: Exception) -> RedirectResponse:
    """A refusal from the engine or the store: a bilingual lead-in and the engine's one-line detail (which names
    the file, row and column); a raking failure names the page's own weights field, never a CLI flag."""
    text = str(exc) or type(exc).__name__
    if text.startswith("raking cannot meet"):
        return _back(request, path, error="raking", detail=text.split(": the respondents")[0])
    return _back(request, path, error="failed", detail=text)


@router.get("/admin/panel", include_in_schema=False)
def panel_page(request: Request, user: User = Depends(require_user), db: Database = Depends(get_db)):
    return _render(request, "panel.html", firms=survey_ops.panel(db), log=survey_ops.panel_log(db))


FIRM_COLUMNS = ("firm_id", "name", "sector", "region", "size", "exporter", "weight", "status")
LOG_COLUMNS = ("logged_at", "firm_id", "action", "reason", "by_user", "other_firm")


class PanelDoc(BaseModel):
    firms: list[dict] = Field(description="every firm of the register: " + ", ".join(FIRM_COLUMNS))
    log: list[dict] = Field(description="the latest changes (newest first): " + ", ".join(LOG_COLUMNS))


@router.get("/api/v1/admin/panel", tags=["admin"], response_model=PanelDoc, responses=SIGNED_IN)
def panel_json(user: User = Depends(require_user), db: Database = Depends(get_db)):
    """The JSON twin of the panel page (signed-in users): the register and its log, as the page shows them."""
    return JSONResponse({"firms": [dict(zip(FIRM_COLUMNS, r, strict=True)) for r in survey_ops.panel(db)],
                         "log": [{**dict(zip(LOG_COLUMNS, r, strict=True)), "logged_at": str(r[0])}
                                 for r in survey_ops.panel_log(db)]})


@router.post("/admin/panel/import", include_in_schema=False, dependencies=WRITE)
async def panel_import(request: Request, upload: UploadFile = File(..., alias="register"),
                       user: User = Depends(require_admin),
                       db: Database = Depends(get_db)):
    content = await upload.read()
    try:
        df = survey_ops.read_register(content, upload.filename or "register.csv")
        got = survey_ops.import_register(db, df, request.app.state.methodology, upload.filename or "upload",
                                         user.username)
    except SmepulseError as exc:
        return _failed(request, "/admin/panel", exc)
    return _back(request, "/admin/panel", msg="imported", added=got["added"], updated=got["updated"])


@router.post("/admin/panel/retire", include_in_schema=False, dependencies=WRITE)
def panel_retire(request: Request, firm_id: str = Form(...), reason: str = Form(...),
                 user: User = Depends(require_admin),
                 db: Database = Depends(get_db)):
    try:
        survey_ops.retire_firm(db, firm_id, reason, user.username)
    except SmepulseError as exc:
        return _failed(request, "/admin/panel", exc)
    return _back(request, "/admin/panel", msg="retired", firm=firm_id)


def _firm_form(firm_id: str, name: str, sector: str, region: str, size: str, exporter: str, weight: str,
               email: str) -> dict:
    return {"firm_id": firm_id, "name": name, "sector": sector, "region": region, "size": size, "exporter": exporter,
            "weight": weight, "email": email}


@router.post("/admin/panel/add", include_in_schema=False, dependencies=WRITE)
def panel_add(request: Request, firm_id: str = Form(...), name: str = Form(...), sector: str = Form(...),
              region: str = Form(...), size: str = Form(...), exporter: str = Form(...), weight: str = Form(...),
              email: str = Form(""), user: User = Depends(require_admin), db: Database = Depends(get_db)):
    try:
        survey_ops.add_firm(db, _firm_form(firm_id, name, sector, region, size, exporter, weight, email),
                     request.app.state.methodology, user.username)
    except SmepulseError as exc:
        return _failed(request, "/admin/panel", exc)
    return _back(request, "/admin/panel", msg="added", firm=firm_id)


@router.post("/admin/panel/replace", include_in_schema=False, dependencies=WRITE)
def panel_replace(request: Request, old_id: str = Form(...), reason: str = Form(...), firm_id: str = Form(...),
                  name: str = Form(...), sector: str = Form(...), region: str = Form(...), size: str = Form(...),
                  exporter: str = Form(...), weight: str = Form(...), email: str = Form(""),
                  user: User = Depends(require_admin), db: Database = Depends(get_db)):
    new = _firm_form(firm_id, name, sector, region, size, exporter, weight, email)
    try:
        survey_ops.replace_firm(db, old_id, new, request.app.state.methodology, reason, user.username)
    except SmepulseError as exc:
        return _failed(request, "/admin/panel", exc)
    return _back(request, "/admin/panel", msg="replaced", old=old_id, firm=firm_id)


@router.get("/admin/waves", include_in_schema=False)
def waves_page(request: Request, user: User = Depends(require_user), db: Database = Depends(get_db)):
    return _render(request, "waves.html", waves=survey_ops.waves(db))


class WaveRow(BaseModel):
    wave_id: str
    period: str
    opens: str
    closes: str
    status: str = Field(description="open or closed")


@router.get("/api/v1/admin/waves", tags=["admin"], response_model=list[WaveRow], responses=SIGNED_IN)
def waves_json(user: User = Depends(require_user), db: Database = Depends(get_db)):
    """The JSON twin of the waves page (signed-in users): every wave, newest month first."""
    return [{"wave_id": w.wave_id, "period": w.period, "opens": str(w.opens), "closes": str(w.closes),
             "status": w.status} for w in survey_ops.waves(db)]


@router.post("/admin/waves", include_in_schema=False, dependencies=WRITE)
def wave_open(request: Request, period: str = Form(...), opens: date = Form(...), closes: date = Form(...),
              user: User = Depends(require_admin), db: Database = Depends(get_db)):
    try:
        w = survey_ops.open_wave(db, request.app.state.methodology, period, opens, closes)
    except SmepulseError as exc:
        return _failed(request, "/admin/waves", exc)
    return _back(request, f"/admin/waves/{w.wave_id}", msg="opened")


def _wave_or_404(db: Database, wave_id: str) -> survey_ops.Wave:
    w = survey_ops.wave(db, wave_id)
    if w is None:
        raise HTTPException(404, f"no wave {wave_id}")
    return w


@router.get("/admin/waves/{wave_id}", include_in_schema=False)
def wave_page(request: Request, wave_id: str, stratum: str = "size", user: User = Depends(require_user),
              db: Database = Depends(get_db)):
    w = _wave_or_404(db, wave_id)
    stratum = stratum if stratum in STRATA else "size"
    return _render(request, "wave.html", wave=w, rate=survey_ops.response_rate(db, wave_id, stratum),
                   smtp=request.app.state.smtp is not None, strata=STRATA,
                   due={k: len(mail.due(db, wave_id, k)) for k in mail.KINDS}, commentary_max=COMMENTARY_MAX)


@router.get("/admin/waves/{wave_id}/rate.html", include_in_schema=False)
def wave_rate_fragment(request: Request, wave_id: str, stratum: str = "size", user: User = Depends(require_user),
                       db: Database = Depends(get_db)):
    """The wave page's live response-rate section alone (htmx swaps it in every few seconds)."""
    w = _wave_or_404(db, wave_id)
    stratum = stratum if stratum in STRATA else "size"
    return _render(request, "_rate.html", wave=w, rate=survey_ops.response_rate(db, wave_id, stratum))


@router.get("/api/v1/admin/waves/{wave_id}/rate", tags=["admin"],
            responses={**SIGNED_IN, 404: {"model": Problem, "description": "no such wave"}})
def wave_rate(wave_id: str, stratum: str = Query("size", pattern=f"^({'|'.join(STRATA)})$"),
              user: User = Depends(require_user),
              db: Database = Depends(get_db)) -> dict:
    """Live response rate of a wave, overall, by stratum and by fieldwork day (signed-in users)."""
    _wave_or_404(db, wave_id)
    try:
        return survey_ops.response_rate(db, wave_id, stratum)
    except SmepulseError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/admin/waves/{wave_id}/links.csv", include_in_schema=False)
def wave_links(request: Request, wave_id: str, user: User = Depends(require_admin), db: Database = Depends(get_db)):
    _wave_or_404(db, wave_id)
    rows = survey_ops.links(db, wave_id, str(request.base_url))
    return csv_response(rows, ["firm_id", "name", "email", "link", "submitted"], f"{wave_id}-links.csv")


@router.post("/admin/waves/{wave_id}/mail", include_in_schema=False, dependencies=WRITE)
def wave_mail(request: Request, wave_id: str, kind: str = Form("invitation"), min_days: float = Form(3),
              max_count: int = Form(3), user: User = Depends(require_admin), db: Database = Depends(get_db)):
    """Invitations (firms never mailed) or reminders (not finished, >= min_days since the last mail, < max_count)."""
    _wave_or_404(db, wave_id)
    try:
        got = mail.send(db, request.app.state.methodology, request.app.state.smtp, wave_id, kind,
                        str(request.base_url), min_days=max(0.0, min_days), max_count=max(1, min(max_count, 20)))
    except (SmepulseError, OSError) as exc:
        return _failed(request, f"/admin/waves/{wave_id}", exc)
    return _back(request, f"/admin/waves/{wave_id}", msg=f"sent_{kind}", sent=got["sent"],
                 refused=len(got["failed"]))


@router.post("/admin/waves/{wave_id}/close", include_in_schema=False, dependencies=WRITE)
def wave_close(request: Request, wave_id: str, user: User = Depends(require_admin), db: Database = Depends(get_db)):
    _wave_or_404(db, wave_id)
    try:
        survey_ops.close_wave(db, wave_id)
    except SmepulseError as exc:
        return _failed(request, f"/admin/waves/{wave_id}", exc)
    return _back(request, f"/admin/waves/{wave_id}", msg="closed")


@router.post("/admin/waves/{wave_id}/publish", include_in_schema=False, dependencies=WRITE)
def wave_publish(request: Request, wave_id: str, kind: str = Form("final"), cutoff: str = Form(""),
                 seasonal: str = Form(""), replicates: int = Form(200), commentary_en: str = Form(""),
                 commentary_zh: str = Form(""), frame: str = Form("methodology"),
                 user: User = Depends(require_admin),
                 db: Database = Depends(get_db)):
    """Run the pipeline on the held store (the same `publish` the CLI runs) and store a new vintage with its
    commentary, all or nothing (survey_ops.publish_wave); one publish of a wave at a time (one_publish). The
    form's fields are checked first, each refusal naming its field, and nothing is published."""
    _wave_or_404(db, wave_id)
    back = f"/admin/waves/{wave_id}"
    if kind not in ("flash", "final"):
        return _back(request, back, error="kind")
    if frame not in ("methodology", "design"):
        return _back(request, back, error="frame")
    for lang, text in (("en", commentary_en), ("zh", commentary_zh)):
        if len(text.strip()) > COMMENTARY_MAX:
            return _back(request, back, error="commentary_long", field=f"commentary_{lang}", max=COMMENTARY_MAX,
                         got=len(text.strip()))
    try:
        cut = date.fromisoformat(cutoff).isoformat() if kind == "flash" and cutoff else None
    except ValueError:
        return _back(request, back, error="cutoff", got=cutoff[:40])
    try:
        with one_publish(db, wave_id):
            p = survey_ops.publish_wave(db, request.app.state.methodology, wave_id, kind=kind, cutoff=cut,
                                        seasonal=bool(seasonal), frame=frame,
                                        replicates=max(0, min(replicates, 2000)), commentary_en=commentary_en,
                                        commentary_zh=commentary_zh, user=user.username)
    except SmepulseError as exc:
        return _failed(request, back, exc)
    request.app.state.cache.clear()
    return _back(request, back, msg=f"published_{p.kind}", vintage=p.vintage_id)
