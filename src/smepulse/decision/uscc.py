"""Unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters from a 31-character alphabet (digits and capitals without I, O, Z, S, V):
1 registration authority, 1 entity type, 6 administrative division, 9 organisation code
(GB 11714), 1 check character. The check character makes sum(value_i * 3^i mod 31) + check
a multiple of 31 over the first 17 positions (GB 32100-2015, clause 4.3 and annex B).
"""
from __future__ import annotations

from smepulse.decision.errors import DecisionError

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUE = {c: i for i, c in enumerate(ALPHABET)}
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28


def check_character(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters."""
    if len(first17) != 17:
        raise DecisionError(f"a unified social credit code has 17 characters before its check, got {len(first17)}")
    try:
        total = sum(VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    except KeyError as exc:
        raise DecisionError(f"character {exc.args[0]!r} is not allowed in a unified social credit code "
                            f"(allowed: {ALPHABET})") from None
    return ALPHABET[(31 - total % 31) % 31]


def normalise(code: str) -> str:
    """Upper case, no spaces or hyphens."""
    return "".join(str(code).split()).replace("-", "").upper()


def validate(code: str) -> str:
    """The normalised code, or DecisionError saying what is wrong and how to fix it."""
    c = normalise(code)
    if len(c) != 18:
        raise DecisionError(f"unified social credit code {code!r} has {len(c)} characters; it needs 18 "
                            "(统一社会信用代码为18位)")
    bad = [ch for ch in c if ch not in VALUE]
    if bad:
        raise DecisionError(f"unified social credit code {code!r}: character {bad[0]!r} is not allowed "
                            f"(GB 32100-2015 uses {ALPHABET})")
    if not c[2:8].isdigit():
        raise DecisionError(f"unified social credit code {code!r}: characters 3-8 are the administrative "
                            "division code and must be digits")
    want = check_character(c[:17])
    if c[17] != want:
        raise DecisionError(f"unified social credit code {code!r}: check character is {c[17]!r}, "
                            "the first 17 characters give " f"{want!r}; re-type the code from the licence")
    return c


def is_valid(code: str) -> bool:
    try:
        validate(code)
    except DecisionError:
        return False
    return True


def make_code(body17: str) -> str:
    """A valid code from 17 characters (the simulator's firms get codes this way)."""
    return body17 + check_character(body17)


ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714-1997 organisation code check


def org_check(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation code body (digits, capitals)."""
    total = sum(int(c, 36) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def firm_code(firm_id: int, division: str = "110108") -> str:
    """The code smepulse gives a simulated firm: legal person (9), enterprise (1), a division,
    the firm id as the organisation code body, both check characters."""
    body = f"{int(firm_id):08d}"
    return make_code("91" + division + body + org_check(body))
