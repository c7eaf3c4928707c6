"""The credit report as a reader sees it, in zh and en: read from real rendered reports of models trained
on German credit through the CLI (a lightgbm champion on an 80/20 split, --test-size 0.2, and a
scorecard validated out of time on a date column added to the rows), never from a stored snapshot."""
from __future__ import annotations

import html as htmllib
import json
import re

import pandas as pd
import pytest

from smepulse.cli import run
from smepulse.credit.data import load_german
from smepulse.credit.model_card import when

CJK = "\u4e00-\u9fff"
# the calibration methods as the zh report must name them, written out here by hand
ZH_METHODS = {"platt": "Platt 缩放 (platt)", "beta": "Beta 校准 (beta)", "isotonic": "保序回归 (isotonic)"}


@pytest.fixture(scope="module")
def reports(shared_data, tmp_path_factory):
    d = tmp_path_factory.mktemp("report_zh")
    german = shared_data / "credit" / "german_credit" / "german.data"
    assert run(["credit", "train", "--data", str(german), "--target", "bad", "--n-estimators", "40",
                "--test-size", "0.2", "--out", str(d / "gbm")]) == 0
    dated = load_german(shared_data)
    dated["application_date"] = pd.date_range("2020-01-01", periods=len(dated), freq="D").strftime("%Y-%m-%d")
    dated.to_csv(d / "german_dated.csv", index=False)
    assert run(["credit", "train", "--data", str(d / "german_dated.csv"), "--target", "bad", "--model", "scorecard",
                "--time-column", "application_date", "--out", str(d / "card")]) == 0
    out = {}
    for name in ("gbm", "card"):
        for lang in ("zh", "en"):
            assert run(["credit", "report", str(d / name), "--out", str(d / f"{name}.{lang}.html"),
                        "--lang", lang]) == 0
            out[name, lang] = (d / f"{name}.{lang}.html").read_text(encoding="utf-8")
        out[name, "dir"] = d / name
    return out


def text_lines(page: str) -> list[str]:
    """The report's visible text, one table cell, paragraph or card line per item (no images, no CSS)."""
    page = re.sub(r"<style>.*?</style>|<img[^>]*>", "", page, flags=re.S)
    page = re.sub(r"</t[dh]>|</tr>|</p>|</h\d>|\n", "\n", page)
    return [s.strip() for s in htmllib.unescape(re.sub(r"<[^>]+>", "", page)).split("\n") if s.strip()]


def header(page: str) -> dict[str, str]:
    """The first table: {label: text}."""
    first = page[page.index("<table>"):page.index("</table>")]
    return {htmllib.unescape(k): htmllib.unescape(v)
            for k, v in re.findall(r"<tr><th>([^<]*)</th><td>([^<]*)</td></tr>", first)}


def test_zh_report_lines_use_full_width_punctuation(reports):
    for name in ("gbm", "card"):
        lines = text_lines(reports[name, "zh"])
        # no ASCII colon, comma or semicolon touching Chinese text, anywhere in the report or its card
        bad = [s for s in lines if re.search(f"[{CJK}（）][:,;]|[:,;] ?[{CJK}]", s)]
        assert not bad, bad
        head = header(reports[name, "zh"])
        assert head["目标"] == "bad（1 = 违约；PD 期限：数据未注明）"
        assert re.fullmatch(r".*german(\.data|_dated\.csv)，1000 行，sha256:[0-9a-f]{64}", head["训练数据"])
        rel = next(s for s in lines if s.startswith("Hosmer-Lemeshow "))
        assert re.fullmatch(r"Hosmer-Lemeshow [\d.]+（自由度 8，p = [\d.e-]+）；全样本：平均 PD [\d.]+，"
                            r"实际违约率 [\d.]+，精确二项检验 p = [\d.e-]+；ECE [\d.]+。"
                            r"PD 下限 [\d.]+，上限 [\d.]+；期限：未注明。", rel), rel
        assert any(re.fullmatch(r"审批阈值：PD 不高于 0\.\d{4}；不利影响比 = .*", s) for s in lines)
    # 1000 rows, 20% held out; stratified: 200 test rows
    assert header(reports["gbm", "zh"])["样本划分"] == "随机分层 20%；训练样本 800，测试样本 200"
    assert header(reports["gbm", "en"])["Split"] == "random stratified 20%; training rows 800, test rows 200"
    # out of time: rows sorted by date, the first round(0.7 * 1000) = 700 train, day 0 = 2020-01-01
    first, until, start, last = (pd.Timestamp("2020-01-01") + pd.Timedelta(days=k) for k in (0, 699, 700, 999))
    assert header(reports["card", "zh"])["样本划分"] == (
        f"跨时间（out-of-time），时间列 application_date：训练 {first:%Y-%m-%d} 至 {until:%Y-%m-%d}；"
        f"测试 {start:%Y-%m-%d} 至 {last:%Y-%m-%d}；训练样本 700，测试样本 300")
    assert header(reports["card", "en"])["Split"] == (
        f"out of time (application_date): train {first:%Y-%m-%d} to {until:%Y-%m-%d}; test {start:%Y-%m-%d} "
        f"to {last:%Y-%m-%d}; training rows 700, test rows 300")
    # the card names the out-of-time split with the same words as the report
    card = (reports["card", "dir"] / "model_card.zh.md").read_text(encoding="utf-8")
    assert "验证方式：跨时间（out-of-time）" in card
    assert "按时间划分" not in reports["card", "zh"] + card


def test_zh_report_names_no_method_in_english(reports):
    for name in ("gbm", "card"):
        page = reports[name, "zh"]
        plain = re.sub(r"\([a-z_]+\)", "", " ".join(text_lines(page)))  # a code in brackets is the column's name
        assert not re.findall(r"\b(platt|isotonic|beta|none|vs)\b", plain)
    met = json.loads((reports["gbm", "dir"] / "metrics.json").read_text())
    cal = met["calibration"]
    assert set(cal["cv_brier"]) == {"platt", "beta", "isotonic"}  # German: enough bads for all three
    assert header(reports["gbm", "zh"])["校准"] == ZH_METHODS[cal["method"]] + "（交叉验证 Brier：" + "，".join(
        f"{ZH_METHODS[k]} {v:.5f}" for k, v in cal["cv_brier"].items()) + "）"
    # a scorecard's Platt map lives in its points: its calibrator is recorded as "none"
    assert json.loads((reports["card", "dir"] / "metrics.json").read_text())["calibration"]["method"] == "none"
    assert header(reports["card", "zh"])["校准"] == "Platt 缩放 (platt)，已计入分值"
    assert header(reports["card", "en"])["Calibration"] == "platt, in the points"
    assert "- 方法：Platt 缩放 (platt)，已计入分值" in (reports["card", "dir"] / "model_card.zh.md").read_text()
    assert "PSI（训练对测试）" in reports["gbm", "zh"]


def test_decile_order_is_stated(reports):
    # reliability deciles run up from the lowest PD, lift deciles down from the riskiest: each table says so
    for lang, rel_head, lift_head, decile in (("zh", "可靠性：按十分位（1 = PD 最低）与等级的校准",
                                               "各十分位提升度（1 = 风险最高）", "十分位"),
                                              ("en", "Reliability: calibration by decile (1 = lowest PD) and grade",
                                               "Lift by decile (1 = riskiest)", "decile")):
        page = reports["gbm", lang]
        assert rel_head in page and lift_head in page
        rel = page[page.index(rel_head):page.index(lift_head)]
        pds = [float(x) for x in re.findall(f"<tr><td>{decile} \\d+</td>(?:<td>[^<]*</td>){{3}}<td>([\\d.]+)</td>",
                                            rel)]
        lift = page[page.index(lift_head):]
        rates = [float(x) for x in re.findall(r"<tr><td>\d+</td><td>\d+</td><td>([\d.]+)</td>", lift)][:10]
        assert len(pds) == 10 and pds == sorted(pds) and rates[0] > rates[-1]


def test_monotone_in_words(reports):
    # german_meta.yaml: duration_months +1 (longer, riskier), age_years -1; checking_status has none
    want = {"zh": {"duration_months": "越高风险越大", "age_years": "越高风险越小", "checking_status": "无约束"},
            "en": {"duration_months": "higher = riskier", "age_years": "higher = safer",
                   "checking_status": "none"}}
    for lang, words in want.items():
        page = reports["gbm", lang]
        rows = dict(re.findall(r"<tr><td>([a-z_]+)</td><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td></tr>", page))
        assert len(rows) == 18 and all(rows[k] == v for k, v in words.items()), rows
        assert not set(rows.values()) & {"-1", "0", "1"}


def test_protected_attributes_named_in_chinese(reports):
    zh = "受保护属性 婚姻状况与性别 (personal_status_sex)、外籍劳工 (foreign_worker)：仅用于公平性检验"
    assert zh in reports["gbm", "zh"]
    assert zh in (reports["gbm", "dir"] / "model_card.zh.md").read_text(encoding="utf-8")
    assert "protected column(s) personal_status_sex, foreign_worker: used for" in reports["gbm", "en"]


def test_created_time_readable(reports):
    man = json.loads((reports["gbm", "dir"] / "manifest.json").read_text())
    stamp = pd.Timestamp(man["created_at"]).tz_convert("UTC")
    assert f"创建于 {stamp:%Y-%m-%d %H:%M} UTC" in reports["gbm", "zh"]
    assert f"created {stamp:%Y-%m-%d %H:%M} UTC" in reports["gbm", "en"]
    assert f"- 训练时间：{stamp:%Y-%m-%d %H:%M} UTC" in (reports["gbm", "dir"] / "model_card.zh.md").read_text()
    assert not re.search(r"\d\d:\d\d:\d\d", " ".join(text_lines(reports["gbm", "zh"])))


def test_when_hand_values():
    assert when("2026-12-06T22:15:03.123456+00:00") == "2026-12-06 22:15 UTC"
    assert when("2026-12-07T06:15:00+08:00") == "2026-12-06 22:15 UTC"  # Beijing time, shown in UTC
    assert when("2026-12-06T22:15:59") == "2026-12-06 22:15"  # no zone recorded: none claimed
    assert when("yesterday") == "yesterday"


@pytest.mark.parametrize("value", ["0", "0.6", "1", "-0.2", "nan", "0.01", "twenty"])
def test_test_size_out_of_range_is_a_usage_error(shared_data, tmp_path, capsys, value):
    german = shared_data / "credit" / "german_credit" / "german.data"
    code = run(["credit", "train", "--data", str(german), "--target", "bad", "--test-size", value,
                "--out", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert code == 2 and "--test-size" in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_fairness_warnings_name_the_attribute_in_chinese():
    """A hand-built model's stored notes: in zh the protected column and a flagged attribute read by their
    fairness-table names; in en they stay the columns the CLI printed."""
    from smepulse.credit.model_card import notes_shown  # noqa: PLC0415

    grp = {"en": "female (f)", "zh": "女 (f)"}
    ref = {"en": "male (m)", "zh": "男 (m)"}
    met = {"fairness": {"attributes": {"owner_gender": {"description_en": "gender of the firm's owner",
                                                        "description_zh": "企业主性别", "groups": []}}},
           "warning_codes": [{"code": "protected", "params": {"columns": "owner_gender, religion"}},
                             {"code": "fairness_air", "params": {"attribute": "owner_gender", "group": grp,
                                                                 "rate": 0.5, "reference": ref, "air": 0.625,
                                                                 "flag": 0.8}}]}
    zh, en = notes_shown(met, "zh"), notes_shown(met, "en")
    assert zh[0] == "受保护属性 企业主性别 (owner_gender)、religion：仅用于公平性检验，从不作为特征"
    assert zh[1].startswith("公平性：企业主性别 (owner_gender) = 女 (f) 的通过率为 50.0%，而通过率最高的是 男 (m)")
    assert en[0] == "protected column(s) owner_gender, religion: used for the fairness checks only, never as features"
    assert en[1].startswith("FAIRNESS: owner_gender = female (f) is approved at 50.0%")
