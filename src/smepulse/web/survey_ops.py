"""Survey operations on the store (the domain; survey_admin.py holds its pages): the panel (register import,
add, retire, replace, with a log), waves, invitation links, drafts, response rates. Pages and API call these; so
do tests. A respondent's saves and submissions are written by web/submissions.py (group-committed).

Web answers land in the store's own `response`, `coded_attribute` and `coded_answer` tables (import id
`web-<wave>`, whose `import_log.source` is `web`), with the received date as `response_date`, so `smepulse
publish` and a flash cut-off see web answers and imported answers alike."""
from __future__ import annotations

import json
import re
import secrets
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from smepulse.errors import InputError
from smepulse.methodology import Methodology
from smepulse.periods import from_index, to_index
from smepulse.pipeline.publish import Published, publish
from smepulse.survey.responses import ROW, read_table
from smepulse.web.db import Database, now

REGISTER_COLUMNS = ["firm_id", "name", "sector", "region", "size", "exporter", "weight"]
NOT_APPLICABLE = "na"
DEVICES = ("phone", "tablet", "desktop")
EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


# -------------------------------------------------------------------------------------------------- panel

def read_register(content: bytes, filename: str) -> pd.DataFrame:
    """A firm register from CSV or Excel: firm_id, name, sector, region, size, exporter, weight (+ email).

    Read by the same reader as responses files (encodings such as GB18030, gzip, Excel formula cells, true
    line numbers in `_row`), from a private temporary copy of the upload named like it."""
    suffix = "".join(Path(filename).suffixes[-2:]).lower() or ".csv"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"register{suffix}"
        path.write_bytes(content)
        try:
            table, _ = read_table(path)
        except InputError as exc:  # name the user's file, not the temporary copy
            raise InputError(str(exc).replace(str(path), filename)) from None
    df = table.to_pandas()
    df.columns = [c if c == ROW else str(c).strip().lower() for c in df.columns]
    missing = [c for c in REGISTER_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"missing columns {', '.join(missing)} (need {', '.join(REGISTER_COLUMNS)})", file=filename)
    if "email" not in df.columns:
        df["email"] = ""
    return df[[*REGISTER_COLUMNS, "email", ROW]].fillna("")


def validate_register(df: pd.DataFrame, m: Methodology, source: str) -> pd.DataFrame:
    """Every row checked before anything is stored: classification values from the methodology, weight > 0."""
    out = df.copy()
    lines = out.pop(ROW).tolist() if ROW in out else list(range(2, len(out) + 2))
    for c in out.columns:
        out[c] = out[c].astype(str).str.strip()
    for i, row in zip(lines, out.itertuples(index=False), strict=True):
        if not row.firm_id or len(row.firm_id) > 64:
            raise InputError("firm_id is empty or longer than 64 characters", file=source, row=i, column="firm_id")
        if not row.name or len(row.name) > 200:
            raise InputError("name is empty or longer than 200 characters", file=source, row=i, column="name")
        for dim in ("sector", "region", "size", "exporter"):
            allowed = m.classifications[dim].values if dim in m.classifications else None
            value = getattr(row, dim)
            if allowed and value not in allowed:
                raise InputError(f"{value!r} is not one of {', '.join(allowed)}", file=source, row=i, column=dim)
        try:
            w = float(row.weight)
        except ValueError:
            w = float("nan")
        if not w > 0 or w == float("inf"):
            raise InputError(f"weight {row.weight!r} must be a positive number", file=source, row=i, column="weight")
        if row.email and not EMAIL.match(row.email):
            raise InputError(f"email {row.email!r} is not an address", file=source, row=i, column="email")
    dup = out["firm_id"][out["firm_id"].duplicated()]
    if len(dup):
        raise InputError(f"firm_id {dup.iloc[0]!r} appears twice", file=source, column="firm_id")
    out["weight"] = out["weight"].astype(float)
    return out


REGISTER_FIELDS = ("name", "sector", "region", "size", "exporter", "weight", "email")


def import_register(db: Database, df: pd.DataFrame, m: Methodology, source: str, user: str) -> dict:
    """All or nothing: new firms are added, known firms updated; each change logged (an update with what changed,
    from -> to; a known firm whose row is unchanged is neither counted nor logged)."""
    df = validate_register(df, m, source)
    added = updated = 0
    with db.transaction() as con:
        known = {r[0]: r[1:] for r in con.execute(f"SELECT firm_id, {', '.join(REGISTER_FIELDS)} FROM firm")
                 .fetchall()}
        t = now()
        for r in df.itertuples(index=False):
            values = [r.name, r.sector, r.region, r.size, r.exporter, float(r.weight), r.email]
            if r.firm_id in known:
                changes = [f"{k} {old!r} -> {new!r}" for k, old, new in zip(REGISTER_FIELDS, known[r.firm_id], values,
                                                                            strict=True) if old != new]
                if not changes:
                    continue
                con.execute("UPDATE firm SET name = ?, sector = ?, region = ?, size = ?, exporter = ?, weight = ?, "
                            "email = ?, updated_at = ? WHERE firm_id = ?", [*values, t, r.firm_id])
                updated += 1
                reason = f"register {source}: {'; '.join(changes)}"[:500]
            else:
                con.execute("INSERT INTO firm VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)",
                            [r.firm_id, *values, t])
                _invite_to_open_waves(con, r.firm_id)
                added += 1
                reason = f"register {source}"
            con.execute("INSERT INTO firm_log VALUES (?, ?, ?, ?, ?, '')",
                        [t, r.firm_id, "update" if r.firm_id in known else "add", reason, user])
    return {"added": added, "updated": updated}


def retire_firm(db: Database, firm_id: str, reason: str, user: str, replaced_by: str = "") -> None:
    if not reason.strip():
        raise InputError("say why the firm leaves the panel (reason)")
    with db.transaction() as con:
        if not con.execute("SELECT 1 FROM firm WHERE firm_id = ? AND status = 'active'", [firm_id]).fetchall():
            raise InputError(f"no active firm {firm_id!r} in the panel")
        con.execute("UPDATE firm SET status = 'retired', updated_at = ? WHERE firm_id = ?", [now(), firm_id])
        con.execute("INSERT INTO firm_log VALUES (?, ?, 'retire', ?, ?, ?)",
                    [now(), firm_id, reason.strip()[:500], user, replaced_by])


def replace_firm(db: Database, old_id: str, new: dict, m: Methodology, reason: str, user: str) -> None:
    """Retire `old_id` and add `new` (a register row) in one transaction, both logged."""
    df = validate_register(pd.DataFrame([{**{"email": ""}, **new}]), m, "form")
    r = df.iloc[0]
    with db.transaction():
        with db.connection() as con:
            if con.execute("SELECT 1 FROM firm WHERE firm_id = ?", [r.firm_id]).fetchall():
                raise InputError(f"firm {r.firm_id!r} is already in the panel")
        retire_firm(db, old_id, reason, user, replaced_by=r.firm_id)
        with db.connection() as con:
            con.execute("INSERT INTO firm VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)",
                        [r.firm_id, r["name"], r.sector, r.region, r["size"], r.exporter, float(r.weight), r.email,
                         now()])
            con.execute("INSERT INTO firm_log VALUES (?, ?, 'replace', ?, ?, ?)",
                        [now(), r.firm_id, reason.strip()[:500], user, old_id])
            _invite_to_open_waves(con, r.firm_id)


def add_firm(db: Database, new: dict, m: Methodology, user: str) -> None:
    """One firm from the admin form (a register row); it gets a link in every open wave."""
    df = validate_register(pd.DataFrame([{**{"email": ""}, **new}]), m, "form")
    with db.transaction() as con:
        if con.execute("SELECT 1 FROM firm WHERE firm_id = ?", [df.iloc[0].firm_id]).fetchall():
            raise InputError(f"firm {df.iloc[0].firm_id!r} is already in the panel")
    import_register(db, df, m, "form", user)


def _invite_to_open_waves(con, firm_id: str) -> None:
    for (wid,) in con.execute("SELECT wave_id FROM wave WHERE status = 'open'").fetchall():
        con.execute("INSERT INTO invitation VALUES (?, ?, ?, ?, 0, NULL) ON CONFLICT DO NOTHING",
                    [secrets.token_urlsafe(24), wid, firm_id, now()])


# -------------------------------------------------------------------------------------------------- waves

@dataclass(frozen=True)
class Wave:
    wave_id: str
    survey: str
    period: str
    opens: date
    closes: date
    status: str

    @property
    def is_open(self) -> bool:
        return self.status == "open"


def _wave(row) -> Wave:
    return Wave(*row)


def wave(db: Database, wave_id: str) -> Wave | None:
    rows = db.rows("SELECT wave_id, survey, period, opens, closes, status FROM wave WHERE wave_id = ?", [wave_id])
    return _wave(rows[0]) if rows else None


def waves(db: Database) -> list[Wave]:
    return [_wave(r) for r in db.rows("SELECT wave_id, survey, period, opens, closes, status FROM wave "
                                      "ORDER BY period DESC")]


def open_wave(db: Database, m: Methodology, period: str, opens: date, closes: date) -> Wave:
    """A wave for `period` with one unguessable link per active firm."""
    try:
        period = from_index(to_index(period))
    except Exception:  # noqa: BLE001 (any parse failure is the user's input)
        raise InputError(f"period {period!r} is not a month: use YYYY-MM") from None
    if closes < opens:
        raise InputError("fieldwork closes before it opens")
    wave_id = f"{m.name}-{period}"
    with db.transaction() as con:
        if con.execute("SELECT 1 FROM wave WHERE wave_id = ?", [wave_id]).fetchall():
            raise InputError(f"a wave for {period} already exists")
        firms = [r[0] for r in con.execute("SELECT firm_id FROM firm WHERE status = 'active' ORDER BY firm_id")
                 .fetchall()]
        if not firms:
            raise InputError("the panel is empty: import a firm register first")
        con.execute("INSERT INTO wave VALUES (?, ?, ?, ?, ?, 'open', ?, NULL)",
                    [wave_id, m.name, period, opens, closes, now()])
        con.executemany("INSERT INTO invitation VALUES (?, ?, ?, ?, 0, NULL)",
                        [[secrets.token_urlsafe(24), wave_id, f, now()] for f in firms])
        if not con.execute("SELECT 1 FROM import_log WHERE import_id = ?", [f"web-{wave_id}"]).fetchall():
            con.execute("INSERT INTO import_log VALUES (?, ?, 'web', 0, 0, ?)", [f"web-{wave_id}", m.name, now()])
    return wave(db, wave_id)


def close_wave(db: Database, wave_id: str) -> None:
    with db.transaction() as con:
        if not con.execute("SELECT 1 FROM wave WHERE wave_id = ? AND status = 'open'", [wave_id]).fetchall():
            raise InputError(f"wave {wave_id} is not open")
        con.execute("UPDATE wave SET status = 'closed', closed_at = ? WHERE wave_id = ?", [now(), wave_id])


def links(db: Database, wave_id: str, base_url: str) -> list[dict]:
    rows = db.rows("SELECT i.firm_id, f.name, f.email, i.token, s.received_at FROM invitation i JOIN firm f "
                   "ON f.firm_id = i.firm_id LEFT JOIN submission s ON s.token = i.token WHERE i.wave_id = ? "
                   "ORDER BY i.firm_id", [wave_id])
    return [{"firm_id": f, "name": n, "email": e, "link": f"{base_url.rstrip('/')}/r/{tok}",
             "submitted": "" if at is None else str(at)} for f, n, e, tok, at in rows]


# -------------------------------------------------------------------------------------------------- respondents

@dataclass(frozen=True)
class Invitation:
    token: str
    wave: Wave
    firm_id: str
    firm_name: str
    attributes: dict
    weight: float
    active: bool = True


# a link with its firm and wave: the columns invitation_of reads, and where they come from
INVITATION_COLUMNS = ("i.token, i.firm_id, f.name, f.sector, f.region, f.size, f.exporter, f.weight, f.status, "
                      "w.wave_id, w.survey, w.period, w.opens, w.closes, w.status")
INVITATION_FROM = "invitation i JOIN firm f ON f.firm_id = i.firm_id JOIN wave w ON w.wave_id = i.wave_id"


def plausible_token(token: str) -> bool:
    """Worth looking up: links are 32 characters (token_urlsafe(24)); nothing longer than 64 is one."""
    return bool(token) and len(token) <= 64


def invitation_of(row) -> Invitation:
    tok, fid, name, sector, region, size, exporter, weight, status = row[:9]
    return Invitation(tok, _wave(row[9:15]), fid, name, {"sector": sector, "region": region, "size": size,
                                                         "exporter": exporter}, float(weight), status == "active")


def invitation(db: Database, token: str) -> Invitation | None:
    if not plausible_token(token):
        return None
    rows = db.rows(f"SELECT {INVITATION_COLUMNS} FROM {INVITATION_FROM} WHERE i.token = ?", [token])
    return invitation_of(rows[0]) if rows else None


def clean_answers(m: Methodology, form: dict) -> dict:
    """Only known questions with one of their codes (or 'na'); anything else is dropped."""
    out = {}
    for q in m.questions:
        v = form.get(q.id)
        if v in (*q.codes, NOT_APPLICABLE):
            out[q.id] = v
    return out


def invalid_answers(m: Methodology, form: dict) -> list[str]:
    """Questions the form answers with a value that is none of their codes (nor 'na'); a blank is no answer."""
    return [q.id for q in m.questions if form.get(q.id) not in (None, "", *q.codes, NOT_APPLICABLE)]


def missing_answers(m: Methodology, answers: dict) -> list[str]:
    return [q.id for q in m.questions if q.id not in answers]


def draft(db: Database, token: str) -> dict | None:
    rows = db.rows("SELECT answers, lang, saves, block_seconds, started_at FROM draft WHERE token = ?", [token])
    if not rows:
        return None
    a, lang, saves, secs, started = rows[0]
    return {"answers": json.loads(a), "lang": lang, "saves": saves, "block_seconds": json.loads(secs),
            "started_at": started}


def save_draft(db: Database, token: str, answers: dict, lang: str, device: str, block: str = "",
               seconds: float = 0.0) -> dict:
    """Merge `answers` into the draft (answers kept across languages, devices and visits)."""
    with db.transaction() as con:
        rows = con.execute("SELECT answers, saves, block_seconds FROM draft WHERE token = ?", [token]).fetchall()
        t = now()
        if rows:
            merged = {**json.loads(rows[0][0]), **answers}
            secs = json.loads(rows[0][2])
            if block:
                secs[block] = round(secs.get(block, 0.0) + max(0.0, min(seconds, 3600.0)), 1)
            con.execute("UPDATE draft SET answers = ?, lang = ?, device = ?, updated_at = ?, saves = saves + 1, "
                        "block_seconds = ? WHERE token = ?",
                        [json.dumps(merged), lang, device, t, json.dumps(secs), token])
        else:
            merged = dict(answers)
            secs = {block: round(max(0.0, min(seconds, 3600.0)), 1)} if block else {}
            con.execute("INSERT INTO draft VALUES (?, ?, ?, ?, ?, ?, 1, ?)",
                        [token, json.dumps(merged), lang, device, t, t, json.dumps(secs)])
    return merged


def submission(db: Database, token: str) -> dict | None:
    rows = db.rows("SELECT received_at, lang FROM submission WHERE token = ?", [token])
    return {"received_at": rows[0][0], "lang": rows[0][1]} if rows else None


def device_class(user_agent: str) -> str:
    ua = (user_agent or "").lower()
    if "ipad" in ua or "tablet" in ua:
        return "tablet"
    if "mobi" in ua or "iphone" in ua or "android" in ua:
        return "phone"
    return "desktop"


# -------------------------------------------------------------------------------------------------- monitoring

def response_rate(db: Database, wave_id: str, stratum: str = "size") -> dict:
    """Invited, answered and the rate, overall, by stratum (a register column) and by fieldwork day."""
    if stratum not in ("sector", "region", "size", "exporter"):
        raise InputError(f"stratum {stratum!r} is not a register column")
    # a firm retired during fieldwork leaves the denominator unless it had already answered
    by = db.rows(f'SELECT f."{stratum}", count(*), count(s.token) FROM invitation i JOIN firm f ON f.firm_id = '
                 f'i.firm_id LEFT JOIN submission s ON s.token = i.token WHERE i.wave_id = ? AND (f.status = '
                 f"'active' OR s.token IS NOT NULL) GROUP BY f.\"{stratum}\" ORDER BY f.\"{stratum}\"", [wave_id])
    days = db.rows("SELECT CAST(received_at AS DATE) AS d, count(*) FROM submission WHERE wave_id = ? GROUP BY d "
                   "ORDER BY d", [wave_id])
    invited = sum(r[1] for r in by)
    answered = sum(r[2] for r in by)
    cumulative, running = [], 0
    for d, k in days:
        running += k
        cumulative.append({"day": str(d), "answered": int(k), "cumulative": running,
                           "rate": round(100 * running / invited, 1) if invited else 0.0})
    return {"wave": wave_id, "invited": invited, "answered": answered,
            "rate": round(100 * answered / invited, 1) if invited else 0.0, "stratum": stratum,
            "strata": [{"value": v, "invited": int(n), "answered": int(a), "rate": round(100 * a / n, 1)}
                       for v, n, a in by], "days": cumulative}


def panel(db: Database) -> list[tuple]:
    return db.rows("SELECT firm_id, name, sector, region, size, exporter, weight, status FROM firm ORDER BY firm_id")


def panel_log(db: Database, limit: int = 50) -> list[tuple]:
    return db.rows("SELECT logged_at, firm_id, action, reason, by_user, other_firm FROM firm_log "
                   "ORDER BY logged_at DESC LIMIT ?", [limit])


# -------------------------------------------------------------------------------------------------- after publication

def benchmark(db: Database, m: Methodology, inv: Invitation) -> dict | None:
    """The firm's own answers next to its sector's and all firms' indices for the wave's month, from the latest
    vintage that has the month (None before publication). Non-adjusted values: what the firm's answers feed."""
    survey, period = inv.wave.survey, inv.wave.period
    sector = f"sector={inv.attributes['sector']}"
    rows = db.rows("""SELECT series, "group", value, n, vintage_id, kind FROM (
        SELECT s.series, s."group", s.value, s.n, s.vintage_id, v.kind, row_number() OVER (
            PARTITION BY s.series, s."group" ORDER BY v.as_of DESC, v.created_at DESC) AS rn
        FROM series s JOIN vintage v ON v.vintage_id = s.vintage_id
        WHERE v.survey = ? AND s.period = ? AND s.adjustment = 'nsa' AND s."group" IN ('all', ?)) t
        WHERE rn = 1""", [survey, period, sector])
    if not rows:
        return None
    got = {(r[0], r[1]): r for r in rows}
    answers = dict(db.rows("SELECT question, answer FROM answer WHERE survey = ? AND period = ? AND firm_id = ?",
                           [survey, period, inv.firm_id]))

    def value(series: str, group: str):
        r = got.get((series, group))
        return None if r is None or r[2] is None or r[2] != r[2] else round(float(r[2]), 1)

    items = [{"id": q.id, "text": q.text, "answer": answers.get(q.id, NOT_APPLICABLE), "sector": value(q.id, sector),
              "all": value(q.id, "all")} for q in m.index_questions]
    comps = [{"id": c.id, "text": c.text, "sector": value(c.id, sector), "all": value(c.id, "all")}
             for c in m.composites]
    vintage = max(rows, key=lambda r: r[4])
    return {"period": period, "sector": inv.attributes["sector"], "vintage": vintage[4], "kind": vintage[5],
            "questions": items, "composites": comps}


def publish_wave(db: Database, m: Methodology, wave_id: str, *, kind: str = "final", cutoff: str | None = None,
                 seasonal: bool = False, frame: str = "methodology", replicates: int = 200,
                 commentary_en: str = "", commentary_zh: str = "", user: str = "") -> Published:
    """The admin's publish: `publish`, as the CLI runs it, then the commentary, in ONE transaction (the vintage,
    its series, SA specs and factors and the paragraph are all stored or none is), on a connection of its own
    (`Database.private_store`) so respondents keep answering while it runs."""
    with db.private_store() as st, st.transaction():
        p = publish(st, m, kind=kind, cutoff=cutoff, seasonal=seasonal, frame=frame, replicates=replicates,
                    note=f"{kind} from the web admin ({wave_id})")
        _write_commentary(st.con, p.vintage_id, commentary_en, commentary_zh, user)
    return p


def _write_commentary(con, vintage_id: str, en: str, zh: str, user: str) -> None:
    """The economist's paragraph for a vintage (plain text; escaped wherever it is shown)."""
    en, zh = en.strip()[:4000], zh.strip()[:4000]
    if not en and not zh:
        return
    con.execute("DELETE FROM commentary WHERE vintage_id = ?", [vintage_id])
    con.execute("INSERT INTO commentary VALUES (?, ?, ?, ?, ?)", [vintage_id, en or zh, zh or en, user, now()])


def commentary(db: Database, vintage_id: str | None) -> dict | None:
    rows = db.rows("SELECT en, zh FROM commentary WHERE vintage_id = ?", [vintage_id]) if vintage_id else []
    return {"en": rows[0][0], "zh": rows[0][1]} if rows else None


__all__ = ["DEVICES", "datetime"]
