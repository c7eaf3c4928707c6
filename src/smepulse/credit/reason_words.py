"""The words of many reasons at once: `ReasonBook.sentence`'s rules compiled per feature.

`sentence(name, value)` is the reference: one value, every rule spelled out. Scoring a book calls it
for each distinct category only; numeric values go through a `NumericWords` plan compiled once per
feature: templates rewritten to positional fields so `map(str.format, ...)` formats a whole column in
compiled code, the typical-value suffix precomputed. tests/credit/test_reasons.py asserts the plans
give exactly the reference's words over thousands of scored rows.
"""
from __future__ import annotations

import math
import string

import numpy as np

FIELDS = {"value": "0", "pct": "1", "abs": "2"}  # the names a reason template may use (see _template)


def positional(tpl: str) -> str | None:
    """`tpl` with {value}/{pct}/{abs} as {0}/{1}/{2}; None when the reference would not format it for a
    number (empty, another field name, a bad format spec): the generic sentence is used instead."""
    if not tpl:
        return None
    out = []
    try:
        for literal, field, spec, conv in string.Formatter().parse(tpl):
            out.append(literal.replace("{", "{{").replace("}", "}}"))
            if field is None:
                continue
            root = field.split(".", 1)[0].split("[", 1)[0]
            if root not in FIELDS:
                return None  # the reference raises KeyError/IndexError: generic words
            out.append("{" + FIELDS[root] + field[len(root):] + (f"!{conv}" if conv else "")
                       + (f":{spec}" if spec else "") + "}")
        res = "".join(out)
        res.format(1.0, 100.0, 1.0)  # a float's format spec fails for every float or for none
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None
    return res


def fmt_number(v, integer: bool = False) -> str:
    """A number as reasons quote it: integers plainly (thousands separated from 10,000), else 3 digits."""
    if integer or (isinstance(v, float) and v.is_integer() and abs(v) < 1e15):
        return f"{int(v):,}" if abs(v) >= 10_000 else str(int(v))
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.3g}"
    return str(v)


def fmt_code(v) -> str:
    """A category's value as the data holds it: a code or identifier is quoted verbatim in every
    language (ZIP 99654, not "99,654"; NAICS 451120.0 read as a float is 451120), and it is the key
    of `labels_en`/`labels_zh`. Amounts go through `fmt_number` instead."""
    if isinstance(v, (bool, np.bool_, int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)
    return str(v)


def format_all(tpl: str | None, u: np.ndarray) -> list:
    """`tpl` formatted for every value of `u` (value, |value| x 100, |value|), or Nones."""
    if tpl is None:
        return [None] * len(u)
    a = np.abs(u)
    return list(map(tpl.format, u.tolist(), (a * 100).tolist(), a.tolist()))


class NumericWords:
    """(en, zh) of a numeric feature for many values; the same words as `ReasonBook.sentence`."""

    def __init__(self, book, name: str):
        spec = book.specs.get(name)
        self.book, self.name = book, name
        self.signed = bool(spec and (spec.reason_rise_en or spec.reason_rise_zh))
        self.en = positional(spec.reason_en) if spec else None
        self.zh = positional(spec.reason_zh) if spec else None
        self.rise_en = positional(spec.reason_rise_en) if spec else None
        self.rise_zh = positional(spec.reason_rise_zh) if spec else None
        self.ref = book.reference_.get(name, float("nan"))
        self.suffix = None
        if not self.signed and book.direction_.get(name, 0) == 0 and not math.isnan(self.ref):
            typ = typical(self.ref, spec.reason_en if spec else "")
            self.suffix = ((f" (above the typical {typ})", f"（高于通常水平{typ}）"),
                           (f" (below the typical {typ})", f"（低于通常水平{typ}）"))

    def words(self, u: np.ndarray) -> tuple[list, list]:
        """(en, zh) lists for the distinct non-missing values `u`."""
        u = u + 0.0  # -0.0 -> 0.0, as the reference does (factorize counts them as one value)
        if self.signed:
            rising = u >= 0
            en, zh = [None] * len(u), [None] * len(u)
            for mask, te, tz in ((rising, self.rise_en, self.rise_zh), (~rising, self.en, self.zh)):
                pos = np.flatnonzero(mask)
                for k, e, z in zip(pos.tolist(), format_all(te, u[pos]), format_all(tz, u[pos]), strict=True):
                    en[k], zh[k] = e, z
        else:
            en, zh = format_all(self.en, u), format_all(self.zh, u)
        gaps = [k for k in range(len(u)) if en[k] is None or zh[k] is None]
        for k in gaps:  # the reference's generic high/low/typical words fill what a template cannot say
            ge, gz, _ = self.book.generic(self.name, float(u[k]))
            en[k], zh[k] = en[k] or ge, zh[k] or gz
        if self.suffix is not None:  # a neutral template says which side of the typical value it is on
            (hi_en, hi_zh), (lo_en, lo_zh) = self.suffix
            skip = set(gaps)
            side = np.sign(u - self.ref).astype(int).tolist()
            en = [e if d == 0 or k in skip else e + (hi_en if d > 0 else lo_en)
                  for k, (e, d) in enumerate(zip(en, side, strict=True))]
            zh = [z if d == 0 or k in skip else z + (hi_zh if d > 0 else lo_zh)
                  for k, (z, d) in enumerate(zip(zh, side, strict=True))]
        return en, zh


def typical(ref: float, template: str) -> str:
    """The typical value as a neutral template's suffix quotes it (a percentage if the template does)."""
    return f"{ref * 100:.{1 if abs(ref) < 0.1 else 0}f}%" if "{pct" in template else fmt_number(ref)
