"""Invitations and reminders by rule, sent over SMTP (settings in a TOML or JSON file), or exported as a CSV of
links for a mail merge when no SMTP server is configured (nothing is lost).

Rules: only firms of the wave that have not submitted, have an e-mail address and are still in the panel;
an invitation goes to firms never mailed; a reminder to firms mailed before, at least `min_days` after the last
mail and at most `max_count` mails in all. Each mail sent is logged in `mail_log` and counted on the invitation."""
from __future__ import annotations

import json
import smtplib
import ssl
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from smepulse.errors import InputError
from smepulse.methodology import Methodology
from smepulse.web.db import Database, now

KINDS = ("invitation", "reminder")


@dataclass(frozen=True)
class SmtpSettings:
    """host, port; sender (From); username/password (optional, with starttls or ssl); base_url: the public
    address put in the links (default: the address the admin is using)."""
    host: str
    port: int = 25
    sender: str = "smepulse@localhost"
    username: str = ""
    password: str = ""
    starttls: bool = False
    ssl: bool = False
    base_url: str = ""
    timeout: float = 20.0


def load_smtp(path: str | Path | None) -> SmtpSettings | None:
    """The settings in `path` (TOML, or JSON by suffix), or None when no file is given."""
    if path is None:
        return None
    p = Path(path)
    try:
        raw = p.read_bytes()
        data = json.loads(raw) if p.suffix.lower() == ".json" else tomllib.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read SMTP settings: {exc.strerror}", file=str(p)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"SMTP settings are not valid {'JSON' if p.suffix == '.json' else 'TOML'}: {exc}",
                         file=str(p)) from None
    data = data.get("smtp", data) if isinstance(data, dict) else data
    if not isinstance(data, dict) or not isinstance(data.get("host"), str) or not data["host"]:
        raise InputError("give at least host = \"smtp.example.com\" (in an [smtp] table or at the top)", file=str(p))
    known = set(SmtpSettings.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})", file=str(p))
    try:
        s = SmtpSettings(**data)
        port = int(s.port)
    except (TypeError, ValueError):
        raise InputError(f"port {data.get('port')!r} must be a number", file=str(p)) from None
    if not 0 < port < 65536:
        raise InputError(f"port {port} is out of range", file=str(p))
    return SmtpSettings(**{**data, "port": port})


def due(db: Database, wave_id: str, kind: str, min_days: float = 3, max_count: int = 3,
        at: datetime | None = None) -> list[dict]:
    """The firms the rule picks now: token, firm_id, name, email, sent."""
    if kind not in KINDS:
        raise InputError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    at = at or now()
    where = "i.sent = 0" if kind == "invitation" else "i.sent >= 1 AND i.sent < ? AND i.last_sent <= ?"
    params: list = [wave_id] + ([] if kind == "invitation" else [int(max_count), at - timedelta(days=min_days)])
    rows = db.rows("SELECT i.token, i.firm_id, f.name, f.email, i.sent FROM invitation i JOIN firm f ON f.firm_id = "
                   "i.firm_id LEFT JOIN submission s ON s.token = i.token WHERE i.wave_id = ? AND s.token IS NULL "
                   f"AND f.status = 'active' AND f.email <> '' AND {where} ORDER BY i.firm_id", params)
    return [{"token": t, "firm_id": f, "name": n, "email": e, "sent": int(k)} for t, f, n, e, k in rows]


def message(m: Methodology, kind: str, period: str, closes, name: str, email: str, link: str,
            sender: str) -> EmailMessage:
    """A bilingual plain-text mail (Chinese first) with the firm's personal link."""
    title_zh, title_en = m.title.zh, m.title.en
    msg = EmailMessage()
    remind_zh, remind_en = ("提醒：", "Reminder: ") if kind == "reminder" else ("", "")
    msg["Subject"] = f"{remind_zh}{title_zh} {period} / {remind_en}{title_en} {period}"
    msg["From"] = sender
    msg["To"] = email
    msg.set_content(
        f"{name}：\n\n诚邀贵企业参加{title_zh}（{period}）。请在 {closes} 前通过以下专属链接作答，"
        f"回答会逐块保存，可随时继续：\n{link}\n\n"
        f"Dear {name},\n\nplease answer the {title_en} for {period} by {closes} at your personal link "
        f"(answers are saved block by block; you can come back at any time):\n{link}\n")
    return msg


def send(db: Database, m: Methodology, smtp: SmtpSettings | None, wave_id: str, kind: str, base_url: str,
         min_days: float = 3, max_count: int = 3, at: datetime | None = None) -> dict:
    """Send the mails the rule picks; returns counts. Without SMTP settings nothing is sent (use the CSV)."""
    if smtp is None:
        raise InputError("no SMTP server is configured (smepulse serve --smtp FILE): download the links as CSV "
                         "for a mail merge instead")
    rows = db.rows("SELECT period, closes, status FROM wave WHERE wave_id = ?", [wave_id])
    if not rows:
        raise InputError(f"no wave {wave_id}")
    period, closes, status = rows[0]
    if status != "open":
        raise InputError(f"wave {wave_id} is {status}: mails go out only while it is open")
    picked = due(db, wave_id, kind, min_days, max_count, at)
    base = (smtp.base_url or base_url).rstrip("/")
    sent, failed = 0, []
    if picked:
        context = ssl.create_default_context()
        cls = smtplib.SMTP_SSL if smtp.ssl else smtplib.SMTP
        kwargs = {"context": context} if smtp.ssl else {}
        with cls(smtp.host, smtp.port, timeout=smtp.timeout, **kwargs) as client:
            if smtp.starttls and not smtp.ssl:
                client.starttls(context=context)
            if smtp.username:
                client.login(smtp.username, smtp.password)
            for r in picked:
                msg = message(m, kind, period, closes, r["name"], r["email"], f"{base}/r/{r['token']}", smtp.sender)
                try:
                    client.send_message(msg)
                except smtplib.SMTPRecipientsRefused:
                    failed.append(r["firm_id"])
                    _log(db, wave_id, r, kind, "refused")
                    continue
                sent += 1
                _log(db, wave_id, r, kind, "sent")
    return {"kind": kind, "picked": len(picked), "sent": sent, "failed": failed}


def _log(db: Database, wave_id: str, r: dict, kind: str, status: str) -> None:
    t = now()
    with db.transaction() as con:
        if status == "sent":
            con.execute("UPDATE invitation SET sent = sent + 1, last_sent = ? WHERE token = ?", [t, r["token"]])
        con.execute("INSERT INTO mail_log VALUES (?, ?, ?, ?, ?, ?)", [t, wave_id, r["firm_id"], kind, r["email"],
                                                                     status])
