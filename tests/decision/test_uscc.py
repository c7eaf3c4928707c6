"""Unified social credit codes (GB 32100-2015): published real codes, the standard's example, properties."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smepulse.decision.errors import DecisionError
from smepulse.decision.uscc import (
    ALPHABET,
    MESSAGES,
    UsccError,
    check_character,
    firm_code,
    is_valid,
    org_check,
    validate,
)

# Codes as printed on business licences and published on the National Enterprise Credit Information
# Publicity System (国家企业信用信息公示系统).
PUBLISHED = {
    "914403001922038216": "华为技术有限公司 (Huawei Technologies Co., Ltd.)",
    "9144030071526726XG": "腾讯科技（深圳）有限公司 (Tencent Technology (Shenzhen))",
    "91440300708461136T": "深圳市腾讯计算机系统有限公司 (Shenzhen Tencent Computer Systems)",
    "91110000802100433B": "北京百度网讯科技有限公司 (Beijing Baidu Netcom)",
    "91330100716105852F": "阿里巴巴（中国）有限公司 (Alibaba (China))",
    "91350100M000100Y43": "the example code of GB 32100-2015 (annex)",
}


@pytest.mark.parametrize("code", sorted(PUBLISHED))
def test_published_codes_are_valid(code):
    assert validate(code) == code
    assert check_character(code[:17]) == code[17]


def test_published_organisation_codes_check_under_gb_11714():
    assert org_check("71526726") == "X"  # Tencent: 71526726-X
    assert org_check("19220382") == "1"  # Huawei: 19220382-1
    assert org_check("M000100Y") == "4"


def test_normalises_case_and_spaces():
    assert validate(" 9144 0300 7152 6726xg ") == "9144030071526726XG"


@pytest.mark.parametrize("bad, words", [
    ("9144030071526726X", "17 characters"),
    ("9144030071526726XH", "check character"),
    ("9144030071526726XI", "not allowed"),  # I is not in the alphabet
    ("91AB030071526726XG", "administrative division"),
])
def test_bad_codes_say_what_is_wrong(bad, words):
    with pytest.raises(DecisionError, match=words):
        validate(bad)


def test_every_code_error_has_its_code_and_says_it_in_both_languages():
    with pytest.raises(UsccError) as err:
        validate("9144030071526726XH")
    e = err.value
    assert e.code == "USCC_CHECK" and e.params == {"code": "9144030071526726XH", "got": "H", "want": "G"}
    assert e.text("zh") == "统一社会信用代码“9144030071526726XH”的校验码为“H”，按前17位应为“G”，请按营业执照重新输入"
    assert str(e) == e.text("en") and "check character is 'H'" in str(e)
    assert all(set(m) == {"en", "zh"} for m in MESSAGES.values())


body = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


@given(body)
def test_property_check_character_makes_a_valid_code(b):
    assert is_valid(b + check_character(b)) == b[2:8].isdigit()


@given(body.filter(lambda b: b[2:8].isdigit()), st.integers(0, 16), st.sampled_from(ALPHABET))
def test_property_any_single_substitution_is_caught(b, pos, ch):
    code = b + check_character(b)
    changed = code[:pos] + ch + code[pos + 1:]
    if changed != code and changed[2:8].isdigit():
        assert not is_valid(changed)


@given(body.filter(lambda b: b[2:8].isdigit()), st.integers(0, 16))
def test_property_adjacent_transpositions_are_caught(b, pos):
    code = b + check_character(b)
    swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2:]
    if swapped != code and swapped[2:8].isdigit():
        assert not is_valid(swapped)


@given(st.integers(0, 99_999_999))
def test_property_simulated_firm_codes_are_valid(i):
    assert is_valid(firm_code(i))
