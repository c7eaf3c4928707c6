"""Periods: `YYYY-MM` strings at the edges, integer month numbers inside (year * 12 + month - 1)."""
from __future__ import annotations

import re
from datetime import datetime

import numpy as np
import pandas as pd

from smepulse.errors import InputError

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")


def is_month(text: str) -> bool:
    return bool(MONTH_RE.match(str(text)))


def to_index(period: str) -> int:
    m = MONTH_RE.match(period)
    if not m:
        raise ValueError(f"period {period!r} is not YYYY-MM")
    return int(m.group(1)) * 12 + int(m.group(2)) - 1


def from_index(i: int) -> str:
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def month_range(start: str, n: int) -> list[str]:
    s = to_index(start)
    return [from_index(s + k) for k in range(n)]


def quarter_of(periods: pd.Series) -> pd.Series:
    """'2024-11' -> '2024Q4', vectorised."""
    year = periods.str.slice(0, 4)
    q = ((periods.str.slice(5, 7).astype(int) - 1) // 3 + 1).astype(str)
    return year + "Q" + q


def month_name(period: str, lang: str = "en") -> str:
    i = to_index(period)
    if lang == "zh":
        return f"{i // 12}年{i % 12 + 1}月"
    return pd.Timestamp(year=i // 12, month=i % 12 + 1, day=1).strftime("%B %Y")


def index_array(periods: pd.Series) -> np.ndarray:
    return (periods.str.slice(0, 4).astype(int) * 12 + periods.str.slice(5, 7).astype(int) - 1).to_numpy()


def parse_date_option(text: str | None, option: str) -> datetime | None:
    """A command-line date (`2026-11-05` or an ISO datetime); None stays None."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} must be a date like 2026-11-05, got {text!r}") from None
