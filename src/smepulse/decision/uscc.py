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

# What is wrong with a code, by error code, in each language the apply page speaks ({code} etc. filled in).
MESSAGES = {
    "USCC_LENGTH": {"en": "unified social credit code {code!r} has {n} characters; it needs 18",
                    "zh": "统一社会信用代码“{code}”为{n}位，应为18位"},
    "USCC_CHARACTER": {"en": "unified social credit code {code!r}: character {char!r} is not allowed "
                             "(GB 32100-2015 uses {alphabet})",
                       "zh": "统一社会信用代码“{code}”含有不允许的字符“{char}”（GB 32100-2015 只使用 {alphabet}）"},
    "USCC_DIVISION": {"en": "unified social credit code {code!r}: characters 3-8 are the administrative "
                            "division code and must be digits",
                      "zh": "统一社会信用代码“{code}”的第3至8位是行政区划码，必须为数字"},
    "USCC_CHECK": {"en": "unified social credit code {code!r}: check character is {got!r}, the first 17 "
                         "characters give {want!r}; re-type the code from the licence",
                   "zh": "统一社会信用代码“{code}”的校验码为“{got}”，按前17位应为“{want}”，请按营业执照重新输入"},
}


class UsccError(DecisionError):
    """A code that is not a valid USCC: `code` names what is wrong; text(lang) says it in en or zh
    (str() is the English text, as the API and the CLI answer)."""

    def __init__(self, error_code: str, /, **params):
        self.code, self.params = error_code, params
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        return MESSAGES[self.code]["zh" if lang == "zh" else "en"].format(alphabet=ALPHABET, **self.params)


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
    """The normalised code, or UsccError saying what is wrong and how to fix it."""
    c = normalise(code)
    if len(c) != 18:
        raise UsccError("USCC_LENGTH", code=code, n=len(c))
    bad = [ch for ch in c if ch not in VALUE]
    if bad:
        raise UsccError("USCC_CHARACTER", code=code, char=bad[0])
    if not c[2:8].isdigit():
        raise UsccError("USCC_DIVISION", code=code)
    want = check_character(c[:17])
    if c[17] != want:
        raise UsccError("USCC_CHECK", code=code, got=c[17], want=want)
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
