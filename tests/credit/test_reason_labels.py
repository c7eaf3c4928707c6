"""Words of reasons and scorecard bins as a reader sees them: Chinese text in Chinese, codes verbatim,
bin edges that tell distinct bins apart (issue #10, the validator's audit of SBA and German reasons)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from smepulse.credit.data import read_table, sba_specs
from smepulse.credit.metadata import FeatureSpec
from smepulse.credit.reasons import ReasonBook, model_reason_book
from smepulse.credit.scorecard import WoeScorecard, bin_labels
from smepulse.credit.train import train

# Latin letters a zh reason may carry, and only these: (1) the category value quoted after 取值为
# (a bank's or city's proper name, a verbatim code); (2) a column name quoted as data (“Zip”), the
# fallback for an undescribed column; (3) the acronyms of the programme and the code list. An English
# description, quoted or not (指标“fiscal year of approval”), fails.
ZH_ALLOWED_LATIN = ("SBA", "NAICS", "LowDoc")


def zh_prose(zh: str, columns=()) -> str:
    """The zh reason without what may be Latin (rules above): what is left must be Chinese."""
    out = re.sub("取值为“[^”]*”", "取值为", zh)
    for c in sorted(columns, key=len, reverse=True):
        out = out.replace(f"“{c}”", "")
    for a in ZH_ALLOWED_LATIN:
        out = out.replace(a, "")
    return out


def test_zh_prose_rule_catches_english_descriptions():
    # the audit's findings fail the rule; proper nouns in quotes and the acronyms pass it
    assert re.search("[A-Za-z]", zh_prose("指标“fiscal year of approval”偏低（数值 1980）"))
    assert re.search("[A-Za-z]", zh_prose("lending bank的取值为“REGIONS BANK”"))
    assert not re.search("[A-Za-z]", zh_prose("贷款银行的取值为“REGIONS BANK”"))
    assert not re.search("[A-Za-z]", zh_prose("SBA 担保金额偏高（数值 101,250）"))
    assert not re.search("[A-Za-z]", zh_prose("字段“Zip”的取值为“99654”", ["Zip"]))
    assert re.search("[A-Za-z]", zh_prose("字段“lending bank”的取值为“REGIONS BANK”", ["Bank"]))


def test_every_sba_field_has_a_chinese_description():
    specs = sba_specs()
    missing = [n for n, s in specs.items() if not s.description_zh]
    assert not missing, missing
    latin = {n: s.description_zh for n, s in specs.items() if re.search("[A-Za-z]", zh_prose(s.description_zh))}
    assert not latin, latin


def test_sba_reasons_in_chinese_are_chinese(shared_data, tmp_path):
    """SBA 7(a) as the CLI reads it: every zh reason's prose is Chinese (rule: zh_prose has no Latin
    letter), documented codes are labelled in both languages, no code carries a thousands separator."""
    df = read_table(shared_data / "credit" / "sba" / "SBAnational_partial_22427rows.csv")
    df = df[df["MIS_Status"].notna()].reset_index(drop=True)
    m = train(df, "MIS_Status", time_column="ApprovalDate", specs=sba_specs(), n_estimators=60)
    out, _ = m.score_frame(df)
    zh = pd.concat([out[f"reason_zh_{i}"] for i in (1, 2, 3)]).dropna()
    en = pd.concat([out[f"reason_{i}"] for i in (1, 2, 3)]).dropna()
    assert len(zh) > 10_000
    bad = sorted({z for z in zh if re.search("[A-Za-z]", zh_prose(z, df.columns))})
    assert not bad, bad[:5]
    book = model_reason_book(m)
    for code in ("Zip", "FranchiseCode", "NAICS"):  # identifiers are categories, quoted verbatim
        if code in book.features_:
            assert book.kind_[code] == "categorical", code
    quoted = pd.concat([en.str.findall("“([^”]*)”"), zh.str.findall("“([^”]*)”")]).explode().dropna()
    assert not quoted[quoted.str.fullmatch(r"\d{1,3}(,\d{3})+")].any(), "a code shown with separators"
    # the coded fields' words, straight from the book (they need not be among the top reasons)
    assert book.sentence("UrbanRural", 2)[:2] == ("urban or rural area is “rural”", "城市或农村的取值为“农村”")
    assert book.sentence("NewExist", "1")[1] == "新设或存续企业的取值为“存续企业”"
    assert book.sentence("LowDoc", "Y")[:2] == ("LowDoc programme loan is “yes”", "LowDoc 简化手续贷款项目的取值为“是”")
    assert book.sentence("NAICS", 0)[:2] == ("industry code (NAICS) is “not recorded (code 0)”",
                                            "行业代码（NAICS）的取值为“未记录（代码 0）”")


def test_code_value_is_verbatim_in_both_languages_and_amounts_keep_separators():
    specs = {"Zip": FeatureSpec("Zip", "borrower's ZIP code", kind="categorical", description_zh="借款企业邮政编码"),
             "FranchiseCode": FeatureSpec("FranchiseCode", "franchise code", kind="categorical"),
             "GrAppv": FeatureSpec("GrAppv", "gross amount approved", description_zh="批准金额")}
    X = pd.DataFrame({"Zip": [99654.0, 10001.0, 60601.0] * 10, "FranchiseCode": [15100, 1, 0] * 10,
                      "GrAppv": np.arange(30) * 5_000.0 + 20_000.0})  # 30 levels: an amount
    book = ReasonBook(specs, policy=None).fit(X)
    for v in (99654, 99654.0, np.float64(99654.0), np.int64(99654), "99654"):
        en, zh, claim = book.sentence("Zip", v)
        assert (en, zh, claim) == ("borrower's ZIP code is “99654”", "借款企业邮政编码的取值为“99654”", "category"), v
    en, zh, _ = book.sentence("FranchiseCode", 15100)
    assert "“15100”" in en and "“15100”" in zh and "15,100" not in en + zh
    en, zh, _ = book.sentence("GrAppv", 193_000.0)  # an amount is still grouped for reading
    assert en == "gross amount approved is high (value 193,000)" and zh == "批准金额偏高（数值 193,000）"
    # the batch path gives the same words as the one-value reference
    codes, ens, zhs = book._words(0, np.array([99654.0, 10001.0], dtype=object))
    assert [ens[c] for c in codes] == ["borrower's ZIP code is “99654”", "borrower's ZIP code is “10001”"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), min_size=1, max_size=10, unique=True))
def test_bin_labels_keep_distinct_edges_distinct(splits):
    """Property: for any increasing distinct splits, no bin reads [a, a), the labels are distinct and
    each printed edge keeps the splits' order (parsed back, strictly increasing)."""
    splits = sorted(splits)
    labels = bin_labels(splits)
    assert len(labels) == len(splits) + 1 and len(set(labels)) == len(labels)
    edges = []
    for lab in labels:
        lo, hi = lab[1:-1].split(", ")
        assert lo != hi, lab
        edges.append(hi)
    printed = [float(e) for e in edges[:-1]]
    assert all(a < b for a, b in zip(printed, printed[1:], strict=False)), (splits, labels)


def test_bin_labels_regression_and_fitted_scorecard():
    assert bin_labels([0.0151, 0.0249]) == ["(-inf, 0.0151)", "[0.0151, 0.0249)", "[0.0249, inf)"]
    # a fitted card on a small-valued rate: its numeric bins print distinct edges from its own splits
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 0.05, 4000)
    y = (rng.uniform(size=4000) < 0.05 + 4 * x).astype(int)
    sc = WoeScorecard(min_iv=0.0, selection="iv").fit(pd.DataFrame({"refund_rate_180d": x}), y)
    b = sc.bins_["refund_rate_180d"]
    assert len(b["splits"]) >= 2 and b["labels"] == bin_labels(b["splits"])
    for lab, n in zip(b["labels"], b["count"], strict=True):
        lo, hi = lab[1:-1].split(", ")
        assert n == 0 or lo != hi, lab
