"""When a respondent's link takes answers: the wave's fieldwork dates, late answers and link expiry.

The policy is data, in the web config file's `[respondents]` table (docs/web.md), with optional per-wave
overrides in `[respondents.wave."<wave id>"]`:

    [respondents]
    late_days = 0            # answers taken this many days after fieldwork closes (while the wave is open)
    link_expires_days = 90   # the link stops working altogether this many days after fieldwork closes
    timezone = "Asia/Shanghai"   # the calendar the fieldwork dates are in (default UTC)

By default (no file) answers are taken from the day fieldwork opens to the day it closes, and only while the
wave is open; a link stops taking answers when the wave closes but goes on showing the firm its receipt and,
after publication, its benchmark."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from smepulse.errors import InputError

# what a link may do today, in the order the checks run
EXPIRED, CLOSED, NOT_YET, OVER, OPEN = "expired", "closed", "not_yet", "over", "open"
KEYS = ("late_days", "link_expires_days", "timezone")


@dataclass(frozen=True)
class LinkPolicy:
    late_days: int = 0
    link_expires_days: int | None = None
    timezone: str = "UTC"
    waves: dict = field(default_factory=dict)  # wave id -> LinkPolicy

    def for_wave(self, wave_id: str) -> LinkPolicy:
        return self.waves.get(wave_id, self)

    def today(self) -> date:
        return datetime.now(UTC).astimezone(ZoneInfo(self.timezone)).date()

    def state(self, wave, today: date | None = None) -> str:
        """EXPIRED (the link is dead), CLOSED (the wave is closed), NOT_YET / OVER (outside the fieldwork window
        and its late days), or OPEN (answers are taken)."""
        p = self.for_wave(wave.wave_id)
        today = today or p.today()
        if p.link_expires_days is not None and today > wave.closes + timedelta(days=p.link_expires_days):
            return EXPIRED
        if not wave.is_open:
            return CLOSED
        if today < wave.opens:
            return NOT_YET
        if today > wave.closes + timedelta(days=p.late_days):
            return OVER
        return OPEN

    def last_day(self, wave) -> date:
        """The last day answers are taken (the close date plus the late days)."""
        return wave.closes + timedelta(days=self.for_wave(wave.wave_id).late_days)


def _policy(table: dict, where: str, source: str, base: LinkPolicy | None = None) -> LinkPolicy:
    unknown = sorted(set(table) - set(KEYS) - ({"wave"} if base is None else set()))
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})", file=source)
    p = base or LinkPolicy()
    for key in ("late_days", "link_expires_days"):
        if key in table:
            v = table[key]
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 3660:
                raise InputError(f"{where}.{key} = {v!r}: give a whole number of days, 0 to 3660", file=source)
            p = replace(p, **{key: v})
    if "timezone" in table:
        try:
            ZoneInfo(str(table["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(f"{where}.timezone = {table['timezone']!r} is not a time zone (e.g. "
                             "\"Asia/Shanghai\")", file=source) from None
        p = replace(p, timezone=str(table["timezone"]))
    if p.link_expires_days is not None and p.link_expires_days < p.late_days:
        raise InputError(f"{where}: link_expires_days ({p.link_expires_days}) is before the last late day "
                         f"(late_days = {p.late_days})", file=source)
    return p


def load_policy(path: str | Path | None) -> LinkPolicy:
    """The `[respondents]` policy of the web config file (TOML), or the default when no file is given."""
    if path is None:
        return LinkPolicy()
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the web config: {exc.strerror}", file=str(p)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"the web config is not valid TOML: {exc}", file=str(p)) from None
    unknown = sorted(set(data) - {"respondents"})
    if unknown:
        raise InputError(f"unknown table [{unknown[0]}] (known: [respondents])", file=str(p))
    table = data.get("respondents", {})
    base = _policy(table, "respondents", str(p))
    waves = table.get("wave", {})
    if not isinstance(waves, dict):
        raise InputError("respondents.wave: give one table per wave id", file=str(p))
    return replace(base, waves={w: _policy(t if isinstance(t, dict) else {"?": t}, f"respondents.wave.{w}",
                                           str(p), base) for w, t in waves.items()})
