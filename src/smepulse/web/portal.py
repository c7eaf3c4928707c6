"""The reader's side: latest release page (en/zh), series explorer, and the read API. Every page has a JSON twin."""
from __future__ import annotations

import csv
import io
import json
import math
import re
from datetime import datetime
from html import escape
from urllib.parse import urlencode

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from pydantic import BaseModel, ConfigDict, Field

from smepulse.errors import SmepulseError
from smepulse.methodology.release_config import Label
from smepulse.periods import QUARTER_RE
from smepulse.release.exports import SDMX_COLUMNS, release_json, release_rows, to_sdmx
from smepulse.release.facts import build_facts
from smepulse.release.narrative import Names
from smepulse.release.report import ReleaseData, build_release, render_html
from smepulse.spreadsheet import neutralise, neutralise_frame
from smepulse.web.auth import Problem, get_db
from smepulse.web.chart import chart_svg
from smepulse.web.db import Database
from smepulse.web.i18n import LANGS, pick_lang, t
from smepulse.web.survey_ops import commentary

router = APIRouter()
COMMENTARY = {"en": "Economist's commentary", "zh": "经济学家点评"}

# empty is allowed: the explorer's form sends as_of= when the reader leaves the date blank
DATE_PATTERN = r"^(\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?)?$"
ROW_COLUMNS = ["period", "series", "group", "adjustment", "value", "n", "se", "ci_low", "ci_high", "n_eff", "up",
               "same", "down", "flag", "vintage", "as_of", "kind"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class SeriesRow(BaseModel):
    period: str = Field(examples=["2025-12"])
    series: str = Field(examples=["headline"])
    group: str = Field(examples=["all"])
    adjustment: str = Field(description="nsa or sa", examples=["sa"])
    value: float | None = Field(description="the index (null when not publishable)", examples=[52.4])
    n: int | None = Field(description="respondents", examples=[412])
    se: float | None = Field(description="standard error", examples=[0.8])
    ci_low: float | None = None
    ci_high: float | None = None
    n_eff: float | None = Field(None, description="effective sample size (design effect of the weights)")
    up: float | None = Field(None, description="weighted share answering the first code (up), percent")
    same: float | None = Field(None, description="weighted share answering the middle code, percent")
    down: float | None = Field(None, description="weighted share answering the last code (down), percent")
    flag: str = ""
    vintage: str = Field(description="the vintage the row comes from")
    as_of: str = Field(description="when that vintage was published")
    kind: str = Field(description="flash or final")


class Health(BaseModel):
    status: str
    store: str


def _clean(x):
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return None
    return x


def _as_of(text: str | None) -> str | None:
    """A date the pattern let through but the calendar does not know (2025-13-45) is a 422 in FastAPI's own
    shape, the one the OpenAPI description declares for every bad parameter."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).isoformat(sep=" ")
    except ValueError:
        raise RequestValidationError([{"type": "value_error", "loc": ("query", "as_of"), "input": text,
                                       "msg": f"as_of {text!r} is not a date: use YYYY-MM-DD"}]) from None


CACHE_MAX = 4000


def generation(request: Request, db: Database) -> str | None:
    """What the cached reads depend on: the latest vintage. On the embedded default the server holds the file
    alone, so only its own publish (which clears the cache) can change it; on a server database another process
    may publish, so it is asked each time."""
    survey = _survey(request)
    if "://" in db.target:  # once per request (a request asks for it three or four times)
        if not hasattr(request.state, "generation"):
            request.state.generation = _latest_vintage(db, survey)
        return request.state.generation
    cache = request.app.state.cache
    if "generation" not in cache:
        cache["generation"] = _latest_vintage(db, survey)
    return cache["generation"]


def cached_rows(request: Request, db: Database, series: str, group: str, adjustment: str | None,
                as_of: str | None, vintage: str | None) -> list[dict]:
    """series_rows, cached per query and generation (bounded)."""
    key = ("rows", series, group, adjustment, as_of, vintage, generation(request, db))
    cache = request.app.state.cache
    if key not in cache:
        if len(cache) > CACHE_MAX:
            cache.clear()
        cache[key] = series_rows(db, _survey(request), series, group, adjustment, as_of, vintage)
    return cache[key]


class UnknownChoice(SmepulseError):
    """A series, group or vintage the store has never published: a typo, not "no data" (404)."""

    def __init__(self, field: str, value: str, known: list[str]):
        shown = ", ".join(known[:40]) + (f" (and {len(known) - 40} more)" if len(known) > 40 else "")
        super().__init__(f"{field} {value!r} is not known: known {field} values are {shown or 'none yet'}")
        self.field, self.value, self.known = field, value, known


def check_choices(request: Request, db: Database, series: str, group: str, vintage: str | None) -> None:
    """Refuse a series, group or vintage that is neither in the methodology nor ever published (UnknownChoice)."""
    choices = _choices(request, db)
    m = request.app.state.methodology
    ids = [c.id for c in m.composites] + [q.id for q in m.questions]
    known_series = ids + [s for s in choices["series"] if s not in ids]
    if series not in known_series:
        raise UnknownChoice("series", series, known_series)
    if group not in choices["groups"] and group != "all":
        raise UnknownChoice("group", group, choices["groups"])
    if vintage:
        vintages = _vintage_ids(request, db)
        if vintage not in vintages:
            raise UnknownChoice("vintage", vintage, vintages)


def _vintage_ids(request: Request, db: Database) -> list[str]:
    key = ("vintage_ids", generation(request, db))
    cache = request.app.state.cache
    if key not in cache:
        cache[key] = [v for (v,) in db.rows("SELECT vintage_id FROM vintage WHERE survey = ? ORDER BY as_of DESC, "
                                            "created_at DESC", [_survey(request)])]
    return cache[key]


def _checked_rows(request: Request, db: Database, series: str, group: str, adjustment: str | None,
                  as_of: str | None, vintage: str | None) -> list[dict]:
    """cached_rows for the read API: an unknown series, group or vintage is a 404 naming the known ones."""
    try:
        check_choices(request, db, series, group, vintage)
    except UnknownChoice as exc:
        raise HTTPException(404, str(exc)) from None
    return cached_rows(request, db, series, group, adjustment, as_of, vintage)


UNKNOWN = {404: {"model": Problem, "description": "a series, group or vintage that was never published (the "
                 "answer names the known ones)"}}

def series_rows(db: Database, survey: str, series: str, group: str = "all", adjustment: str | None = None,
                as_of: str | None = None, vintage: str | None = None) -> list[dict]:
    """For one series and group, each period's row from the latest vintage published by `as_of` (or one vintage)."""
    where, params = ['v.survey = ?', 's.series = ?', 's."group" = ?'], [survey, series, group]
    if adjustment:
        where.append("s.adjustment = ?")
        params.append(adjustment)
    if vintage:
        where.append("v.vintage_id = ?")
        params.append(vintage)
    if as_of:
        where.append("v.as_of <= CAST(? AS TIMESTAMP)")
        params.append(as_of)
    sql = f"""SELECT period, adjustment, value, n, se, ci_low, ci_high, n_eff, up, same, down, flag, vintage_id,
        as_of, kind FROM (
        SELECT s.period, s.adjustment, s.value, s.n, s.se, s.ci_low, s.ci_high, s.n_eff, s.up, s.same, s.down,
               s.flag, s.vintage_id, v.as_of, v.kind, row_number() OVER (PARTITION BY s.period, s.adjustment
                                          ORDER BY v.as_of DESC, v.created_at DESC) AS rn
        FROM series s JOIN vintage v ON v.vintage_id = s.vintage_id WHERE {' AND '.join(where)}) t
        WHERE rn = 1 ORDER BY period, adjustment"""
    rows = db.rows(sql, params)
    return [{"period": p, "series": series, "group": group, "adjustment": a, "value": _clean(v),
             "n": None if n is None else int(n), "se": _clean(se), "ci_low": _clean(lo), "ci_high": _clean(hi),
             "n_eff": _clean(ne), "up": _clean(u), "same": _clean(sm), "down": _clean(d), "flag": fl or "",
             "vintage": vid, "as_of": str(at), "kind": k}
            for p, a, v, n, se, lo, hi, ne, u, sm, d, fl, vid, at, k in rows]


def _plain(x):
    """numpy scalars and timestamps as JSON values."""
    if hasattr(x, "item"):
        return _clean(x.item())
    return str(x)


def _survey(request: Request) -> str:
    return request.app.state.methodology.name


def csv_response(rows: list[dict], columns: list[str], filename: str) -> Response:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns)
    for r in rows:
        w.writerow([neutralise(r.get(c)) for c in columns])
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# -------------------------------------------------------------------------------------------------- API

@router.get("/healthz", response_model=Health, tags=["api"], responses={503: {"model": Health}})
def healthz(request: Request, db: Database = Depends(get_db)):
    """200 when the store answers a query, 503 when it does not."""
    ok = db.ping()
    return JSONResponse({"status": "ok" if ok else "unavailable", "store": "duckdb" if "://" not in db.target
                         else "postgresql"}, status_code=200 if ok else 503)


SeriesQ = Query("headline", max_length=64, description="series id: a question or composite of the methodology")
GroupQ = Query("all", max_length=128, description="group, e.g. all, size=small")
AdjQ = Query(None, pattern="^(nsa|sa)$", description="nsa or sa (default both)")
AsOfQ = Query(None, pattern=DATE_PATTERN, description="what was published by this date (YYYY-MM-DD; empty: now)")
VintageQ = Query(None, max_length=128, description="exactly one vintage id (empty: the latest by as_of)")


@router.get("/api/v1/series", response_model=list[SeriesRow], tags=["api"], responses=UNKNOWN)
def api_series(request: Request, series: str = SeriesQ, group: str = GroupQ, adjustment: str | None = AdjQ,
               as_of: str | None = AsOfQ, vintage: str | None = VintageQ, db: Database = Depends(get_db)):
    """One series and group, each period from the latest vintage published by `as_of` (default now), or from
    one `vintage`. Example: `/api/v1/series?series=headline&group=all&adjustment=sa`. An unknown series, group
    or vintage is a 404 that names the known ones (a typo is not "no data").

    Each row is the newest published (by `as_of`) row of its period and adjustment: when the newest vintage
    was published without seasonal adjustment, the `sa` rows come from the newest vintage that has them, and
    each row's `vintage`, `as_of` and `kind` say which; ask for one `vintage` to get only its rows."""
    # plain JSON of the cached rows: skips re-validating each row against the schema it was built to; encoded once
    # per query and generation
    key = ("api/v1/series", series, group, adjustment, as_of, vintage, generation(request, db))
    return cached_json(request, key, lambda: _checked_rows(request, db, series, group, adjustment, _as_of(as_of),
                                                           vintage))


def cached_json(request: Request, key: tuple, build) -> Response:
    """The JSON of `build()`, encoded once per `key` (which holds the generation: a publish makes a new key);
    what `build` raises (a 404, a bad date) is not cached."""
    cache = request.app.state.cache
    body = cache.get(key)
    if body is None:
        body = JSONResponse(build()).body
        if len(cache) > CACHE_MAX:
            cache.clear()
        cache[key] = body
    return Response(body, media_type="application/json")


def _filename(series: str, group: str, ext: str) -> str:
    """A download's file name from the query: letters, digits, '.', '-', '_' only (nothing that breaks a header)."""
    stem = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "-" for ch in f"{series}_{group}")
    return f"{stem}.{ext}"


@router.get("/api/v1/series.csv", tags=["api"], response_class=Response,
            responses={**UNKNOWN, 200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "the rows of /api/v1/series as CSV"}})
def api_series_csv(request: Request, series: str = SeriesQ, group: str = GroupQ, adjustment: str | None = AdjQ,
                   as_of: str | None = AsOfQ, vintage: str | None = VintageQ, db: Database = Depends(get_db)):
    """The same rows as `/api/v1/series`, as CSV (text cells neutralised for spreadsheets)."""
    rows = _checked_rows(request, db, series, group, adjustment, _as_of(as_of), vintage)
    return csv_response(rows, ROW_COLUMNS, _filename(series, group, "csv"))


def xlsx_bytes(rows: list[dict], about: list[tuple[str, str]]) -> bytes:
    """An Excel workbook: sheet `series` (the rows, ROW_COLUMNS) and sheet `about` (what was asked, which vintage,
    its commentary); every text cell and header neutralised by the release's own neutralise_frame."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, frame in (("series", pd.DataFrame(rows, columns=ROW_COLUMNS)),
                            ("about", pd.DataFrame(about, columns=["field", "value"], dtype=object))):
            # control characters are not allowed in a workbook's XML: dropped (a query may carry them)
            frame = neutralise_frame(frame).map(lambda v: ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v)
            frame.to_excel(xw, sheet_name=name, index=False)
    return buf.getvalue()


def _about(request: Request, db: Database, rows: list[dict], series: str, group: str, adjustment: str | None,
           as_of: str | None, vintage: str | None) -> list[tuple[str, str]]:
    m = request.app.state.methodology
    latest = max(rows, key=lambda r: r["as_of"])["vintage"] if rows else None
    note = commentary(db, latest) or {}
    return [("survey", m.name), ("title", m.title.en), ("title_zh", m.title.zh), ("series", series),
            ("group", group), ("adjustment", adjustment or "nsa and sa"), ("as_of", as_of or ""),
            ("vintage", vintage or ""), ("latest_vintage_in_rows", latest or ""),
            ("commentary", note.get("en", "")), ("commentary_zh", note.get("zh", "")),
            ("source", f"/api/v1/series?{request.url.query}")]


@router.get("/api/v1/series.xlsx", tags=["api"], response_class=Response,
            responses={**UNKNOWN, 200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
                             "description": "the rows of /api/v1/series as an Excel workbook"}})
def api_series_xlsx(request: Request, series: str = SeriesQ, group: str = GroupQ, adjustment: str | None = AdjQ,
                    as_of: str | None = AsOfQ, vintage: str | None = VintageQ, db: Database = Depends(get_db)):
    """The same rows as `/api/v1/series`, as Excel: sheet `series` (the rows) and `about` (the query, the vintage
    and its commentary). Text cells that start with `=`, `+`, `-`, `@` are neutralised."""
    rows = _checked_rows(request, db, series, group, adjustment, _as_of(as_of), vintage)
    body = xlsx_bytes(rows, _about(request, db, rows, series, group, adjustment, as_of, vintage))
    return Response(body, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{_filename(series, group, "xlsx")}"'})


SDMX_CSV = "application/vnd.sdmx.data+csv; version=1.0.0"


def sdmx_csv(rows: list[dict], methodology) -> str:
    """The rows as SDMX-CSV, by the release exports' own to_sdmx (same DATAFLOW, dimensions and codes)."""
    frame = pd.DataFrame(rows, columns=ROW_COLUMNS).rename(columns={"vintage": "vintage_id"})
    table = to_sdmx(frame, methodology) if len(frame) else pd.DataFrame(columns=SDMX_COLUMNS)
    return neutralise_frame(table).to_csv(index=False)


@router.get("/api/v1/series.sdmx.csv", tags=["api"], response_class=Response,
            responses={**UNKNOWN, 200: {"content": {SDMX_CSV: {"schema": {"type": "string"}}},
                             "description": "the rows of /api/v1/series as SDMX-CSV (version 1 layout)"}})
def api_series_sdmx(request: Request, series: str = SeriesQ, group: str = GroupQ, adjustment: str | None = AdjQ,
                    as_of: str | None = AsOfQ, vintage: str | None = VintageQ, db: Database = Depends(get_db)):
    """The same rows as `/api/v1/series`, as SDMX-CSV: `DATAFLOW`, the dimensions (FREQ, INDICATOR, BREAKDOWN,
    BREAKDOWN_VALUE, RESPONSE, ADJUSTMENT), `TIME_PERIOD`, `OBS_VALUE`, then attributes, as the release's
    `_sdmx.csv` (docs/formats.md). Full precision, as the JSON."""
    rows = _checked_rows(request, db, series, group, adjustment, _as_of(as_of), vintage)
    return Response(sdmx_csv(rows, request.app.state.methodology), media_type=SDMX_CSV,
                    headers={"Content-Disposition": f'attachment; filename="{_filename(series, group, "sdmx.csv")}"'})


class VintageRow(BaseModel):
    vintage: str
    kind: str
    as_of: str
    created_at: str
    note: str


@router.get("/api/v1/vintages", response_model=list[VintageRow], tags=["api"])
def api_vintages(request: Request, db: Database = Depends(get_db)):
    """Every vintage of the survey, oldest first."""
    rows = db.rows("SELECT vintage_id, kind, as_of, created_at, note FROM vintage WHERE survey = ? "
                   "ORDER BY as_of, created_at", [_survey(request)])
    return [{"vintage": v, "kind": k, "as_of": str(a), "created_at": str(c), "note": n} for v, k, a, c, n in rows]


class Choices(BaseModel):
    series: list[str]
    groups: list[str]


@router.get("/api/v1/choices", response_model=Choices, tags=["api"])
def api_choices(request: Request, db: Database = Depends(get_db)):
    """The series and groups that have been published."""
    return _choices(request, db)


def _choices(request: Request, db: Database) -> dict:
    key = ("choices", generation(request, db))
    cache = request.app.state.cache
    if key not in cache:
        rows = db.rows('SELECT DISTINCT s.series, s."group" FROM series s JOIN vintage v ON v.vintage_id = '
                       's.vintage_id WHERE v.survey = ?', [_survey(request)])
        m = request.app.state.methodology
        order = [c.id for c in m.composites] + [q.id for q in m.questions]
        series = sorted({s for s, _ in rows}, key=lambda s: (order.index(s) if s in order else len(order), s))
        groups = sorted({g for _, g in rows}, key=lambda g: (g != "all", g))
        cache[key] = {"series": series, "groups": groups}
    return cache[key]


def _latest_vintage(db: Database, survey: str) -> str | None:
    rows = db.rows("SELECT vintage_id FROM vintage WHERE survey = ? ORDER BY as_of DESC, created_at DESC LIMIT 1",
                   [survey])
    return rows[0][0] if rows else None


# -------------------------------------------------------------------------------------------------- pages

@router.get("/", include_in_schema=False)
def home(request: Request):
    return RedirectResponse("/release", status_code=303)


def _release(request: Request, db: Database, lang: str):
    """The release of the latest published month, built from the held store (cached per vintage and language)."""
    survey = _survey(request)
    vid = _latest_vintage(db, survey)
    if vid is None:
        return None
    key = ("release", vid, lang)
    cache = request.app.state.cache
    if key not in cache:
        m = request.app.state.methodology
        note = commentary(db, vid)
        if note:  # the economist's paragraph for this vintage, from the admin's publish form
            m = m.model_copy(update={"release": m.release.model_copy(update={"commentary": Label(**note)})})
        with db.connection():
            df = db.store.series(survey)
            revs = []
            for s in [c.id for c in m.composites]:
                try:
                    revs.append(db.store.revisions(survey, s, "all").assign(series=s))
                except SmepulseError:
                    continue
        rev = pd.concat(revs, ignore_index=True) if revs else None
        latest = df["as_of"].max()
        data = ReleaseData(df, source="store", revisions=rev, as_of=str(latest)[:10],
                           vintage=df.loc[df["as_of"] == latest, "vintage_id"].iloc[0])
        months = df["period"].astype(str)
        period = str(months[(df["flag"].fillna("") == "") & (months.str.len() == 7)].max())  # not 2025Q1
        facts = build_facts(df, period, m)
        rel = build_release(data, period, m, lang=lang, facts=facts, charts=request.app.state.config.release_charts)
        html = render_html(rel)
        if note and 'id="commentary"' not in html:  # a release template without the commentary block
            block = (f'<section id="commentary"><h2>{COMMENTARY[lang]}</h2>'
                     f'<p class="commentary">{escape(note[lang])}</p>')
            html = html.replace('<section id="narrative">', block + '</section>\n<section id="narrative">', 1)
        doc = release_json(data, period, m, facts, [rel], release_rows(data, period))
        doc.pop("charts", None)
        doc["commentary"] = note[lang] if note else ""
        doc = json.loads(json.dumps(doc, default=_plain))
        cache[key] = (html, doc)
    return cache[key]


@router.get("/release", include_in_schema=False)
def release_page(request: Request, lang: str | None = None, db: Database = Depends(get_db)):
    lang = pick_lang(lang, request.headers.get("accept-language"))
    got = _release(request, db, lang)
    if got is None:
        return request.app.state.render(request, "empty.html", lang=lang)
    html = got[0].replace("</body>", f'<nav class="smepulse-nav"><a href="/release?lang='
                          f'{"en" if lang == "zh" else "zh"}">{"English" if lang == "zh" else "中文"}</a> · '
                          f'<a href="/explore?lang={lang}">{"Series explorer" if lang == "en" else "指数浏览"}</a>'
                          f' · <a href="/release.json?lang={lang}">JSON</a></nav></body>', 1)
    return HTMLResponse(html)


class ReleaseDoc(BaseModel):
    """The release of the latest month (more keys may follow: methodology version and hash, source)."""
    model_config = ConfigDict(extra="allow")
    survey: str
    period: str = Field(examples=["2025-02"])
    provisional: bool
    as_of: str | None
    vintage: str | None
    adjustment: str | None
    facts: list[dict]
    narrative: dict[str, list[dict]] = Field(description="per language, the paragraphs and their sentences")
    series: list[dict] = Field(description="every published row of the month")
    commentary: str = Field(description="the economist's paragraph for this vintage, or empty")


@router.get("/release.json", tags=["pages"], response_model=ReleaseDoc,
            responses={404: {"model": Problem, "description": "nothing published yet"}})
def release_page_json(request: Request, lang: str = Query("en", pattern="^(en|zh)$"), db: Database = Depends(get_db)):
    """The JSON twin of the release page: facts, narrative and the month's series."""
    got = _release(request, db, lang)
    if got is None:
        raise HTTPException(404, "nothing published yet")
    return JSONResponse(got[1])


def _explore(request: Request, db: Database, series: str, group: str, adjustment: str | None, as_of: str | None,
             vintage: str | None) -> dict:
    choices = _choices(request, db)
    rows = cached_rows(request, db, series, group, adjustment, _as_of(as_of), vintage)
    adjs = sorted({r["adjustment"] for r in rows})
    if adjustment is None and adjs:
        adjustment = "sa" if "sa" in adjs else adjs[0]
        rows = [r for r in rows if r["adjustment"] == adjustment]
    query = urlencode({k: v for k, v in (("series", series), ("group", group), ("adjustment", adjustment),
                                         ("as_of", as_of), ("vintage", vintage)) if v})
    downloads = {"csv": f"/api/v1/series.csv?{query}", "xlsx": f"/api/v1/series.xlsx?{query}",
                 "sdmx": f"/api/v1/series.sdmx.csv?{query}", "json": f"/explore.json?{query}"}
    return {"series": series, "group": group, "adjustment": adjustment, "as_of": as_of, "vintage": vintage,
            "choices": choices, "rows": rows, "downloads": downloads}


@router.get("/explore", include_in_schema=False)
def explore_page(request: Request, series: str = SeriesQ, group: str = GroupQ, adjustment: str | None = AdjQ,
                 as_of: str | None = Query(None, max_length=64), vintage: str | None = VintageQ,
                 lang: str | None = None, db: Database = Depends(get_db)):
    """The explorer page. A bad date or an unknown series, group or vintage (a hand-edited link) shows the page
    with its own message in the reader's language (422 / 404), never the API's JSON."""
    lang = pick_lang(lang, request.headers.get("accept-language"))
    error, status = "", 200
    try:
        if as_of and not re.fullmatch(DATE_PATTERN, as_of):
            raise RequestValidationError([])  # as the calendar check of _as_of does
        _as_of(as_of)
        check_choices(request, db, series, group, vintage)
        doc = _explore(request, db, series, group, adjustment, as_of, vintage)
    except RequestValidationError:
        error, status = t("as_of_invalid", lang).format(got=as_of), 422
    except UnknownChoice as exc:
        error, status = t("unknown_choice", lang).format(field=t(exc.field, lang), value=exc.value), 404
    if error:
        doc = {**_explore(request, db, series, group, adjustment, None, None), "rows": [], "series": series,
               "group": group, "as_of": None, "vintage": None}
    months = [r for r in doc["rows"] if not QUARTER_RE.match(r["period"])]  # a quarter is no point on a month line
    vintages = db.rows("SELECT vintage_id, kind, as_of FROM vintage WHERE survey = ? ORDER BY as_of DESC, "
                       "created_at DESC", [_survey(request)])
    return request.app.state.render(request, "explore.html", status_code=status, lang=lang, doc=doc, error=error,
                                    chart=chart_svg(months),
                                    phone_chart=chart_svg(months, width=360, height=240, labels=3), vintages=vintages,
                                    names=Names(request.app.state.methodology, lang),
                                    table=sorted(doc["rows"], key=_month_then_quarter, reverse=True),
                                    query=str(request.url.query))


def _month_then_quarter(row: dict) -> tuple[str, int]:
    """A quarter sorts just after its last month (2025-03, 2025Q1), not after every month of the year."""
    q = QUARTER_RE.match(row["period"])
    return (f"{q.group(1)}-{int(q.group(2)) * 3:02d}", 1) if q else (row["period"], 0)


class ExplorerDoc(BaseModel):
    series: str
    group: str
    adjustment: str | None = Field(description="the one shown: as asked, else SA where published, else NSA")
    as_of: str | None
    vintage: str | None
    choices: Choices
    rows: list[SeriesRow]
    downloads: dict[str, str] = Field(description="links to the same rows as csv, xlsx, sdmx (SDMX-CSV) and json")


@router.get("/explore.json", tags=["pages"], response_model=ExplorerDoc, responses=UNKNOWN)
def explore_json(request: Request, series: str = SeriesQ, group: str = GroupQ, adjustment: str | None = AdjQ,
                 as_of: str | None = AsOfQ, vintage: str | None = VintageQ, db: Database = Depends(get_db)):
    """The JSON twin of the series explorer page (404 for an unknown series, group or vintage, as the API). The
    encoded answer is cached per query and generation (what a publish changes), so a repeated query costs the
    generation check only."""
    def build() -> dict:
        try:
            check_choices(request, db, series, group, vintage)
        except UnknownChoice as exc:
            raise HTTPException(404, str(exc)) from None
        return _explore(request, db, series, group, adjustment, as_of, vintage)
    return cached_json(request, ("explore.json", series, group, adjustment, as_of, vintage,
                                 generation(request, db)), build)


__all__ = ["LANGS", "router", "series_rows"]
