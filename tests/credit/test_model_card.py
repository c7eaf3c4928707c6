"""The model card's words: the zh card is Chinese typography throughout (full-width colon after a
Chinese label, 、 between list items, translated table heads and methods); the en card is English."""
from __future__ import annotations

import re

from smepulse.credit.model_card import model_card

MANIFEST = {"model_version": "lightgbm-x", "source": "book.csv", "n_rows": 1000, "training_data_hash": "sha256:ab",
            "target": "bad", "target_definition": "1 = default", "pd_horizon_months": 12, "excluded": ["id", "memo"],
            "features": [{"name": "sector", "description_zh": "行业", "labels_zh": {"retail": "批发和零售业"},
                          "labels_en": {"retail": "wholesale and retail"}},
                         {"name": "turnover", "description_zh": "营业额"}, {"name": "age"}],
            "trained_by": "ana", "created_at": "2026-12-06T21:00:00+00:00",
            "versions": {"smepulse": "0.1.0", "lightgbm": "4.7.0"}}
ROW = {"n": 300, "bads": 30, "auc": 0.8, "mean_pd": 0.1, "observed": 0.1, "binomial_p": 0.9}
METRICS = {"n_train": 700, "n_test": 300, "n_bads": 30, "n_bads_train": 70, "auc": 0.8, "gini": 0.6, "ks": 0.4,
           "brier": 0.1, "bad_rate": 0.1, "mean_pd": 0.1, "psi_score": 0.01, "auc_ci95": [0.75, 0.85],
           "split": {"kind": "out-of-time", "time_column": "applied", "train_until": "2024-06-30",
                     "test_from": "2024-07-01"},
           "n_censored": 5, "importance": {"turnover": 0.7, "sector": 0.3, "age": 0.0},
           "champion": {"cv_trees": 80, "cv_folds": 5, "refit_trees": 100, "refit_rows": 700},
           "calibration": {"method": "isotonic", "floor": 0.0003, "ceiling": 0.9997},
           "reliability": {"hosmer_lemeshow": 7.5, "hl_dof": 8, "hl_p": 0.48, "mean_pd": 0.1, "observed": 0.1,
                           "binomial_p": 0.9, "passed": True},
           "by_period": [{**ROW, "group": "2024-07-01 to 2024-12-31"}],
           "by_segment": {"sector": [{**ROW, "group": "retail"}]},
           "fairness": {"cutoff": 0.2, "attributes": {"gender": {
               "description_zh": "性别", "description_en": "gender",
               "groups": [{**ROW, "group": "f", "label_zh": "女", "label_en": "female", "approval_rate": 0.8,
                           "air": 0.7, "flag": True}]}}},
           "warnings": [], "warning_codes": []}
CJK = "\u4e00-\u9fff"


def test_the_zh_card_uses_chinese_punctuation_after_chinese_words():
    zh = model_card(MANIFEST, METRICS, "zh")
    # no ASCII colon after Chinese text or a closing bracket that follows it (the old "行业 (sector): ...")
    assert not re.search(rf"[{CJK}）)`]: ", zh), re.findall(rf".*[{CJK}）)`]: .*", zh)
    for line in ("# 模型卡：lightgbm-x", "- 来源：book.csv", "- 行数：1000（训练 700，测试 300）",
                 "- 时间窗口（applied）：训练数据截至 2024-06-30；测试数据起始 2024-07-01",
                 "- 剔除的未到期（无结果）行数：5", "- `bad`：1 = 违约（坏客户），0 = 未违约", "- PD 期限：12 个月",
                 "- 最重要的特征：营业额 (turnover)：70.0%；行业 (sector)：30.0%",
                 "- 用户排除的列：id、memo", "- 受保护属性（仅用于公平性检验，不作为特征）：性别 (gender)",
                 "- 方法：保序回归 (isotonic)", "- Hosmer-Lemeshow 检验：7.50（自由度 8），p = 0.48",
                 "- 平均 PD 与实际违约率（精确二项检验 p 值）：0.1000 对 0.1000，p = 0.9",
                 "| 2024-07-01 至 2024-12-31 | 300 |", "| 行业 (sector)：批发和零售业 | 300 |",
                 "| 性别 (gender) | 女 (f) | 300 | 80.0% | 0.70（< 0.8） |",
                 "| 时间段 | 样本数 | 违约数 | AUC | 平均 PD | 实际违约率 | p 值 |",
                 "- 依赖库版本：smepulse 0.1.0、lightgbm 4.7.0", "- 训练人：ana"):
        assert line in zh, line
    assert "age" not in zh.split("最重要的特征")[1].splitlines()[0]  # 0% is not "most important"


def test_the_en_card_keeps_english_punctuation():
    en = model_card(MANIFEST, METRICS, "en")
    for line in ("# Model card: lightgbm-x", "- rows: 1000 (train 700, test 300)",
                 "- window (applied): trained on rows until 2024-06-30; tested on rows from 2024-07-01",
                 "- most important: turnover (70.0%), sector (30.0%)", "- excluded by the user: id, memo",
                 "- method: isotonic", "- Hosmer-Lemeshow: 7.50 (8 df), p = 0.48",
                 "| 2024-07-01 to 2024-12-31 | 300 |", "| sector: wholesale and retail | 300 |",
                 "| gender | female (f) | 300 | 80.0% | 0.70 (< 0.8) |", "| period | n | bads | AUC |",
                 "- library versions: smepulse 0.1.0, lightgbm 4.7.0"):
        assert line in en, line
    assert "：" not in en and "、" not in en


def test_the_card_tells_fairness_only_attributes_from_features_never_given_as_reasons():
    man = {**MANIFEST, "never_reasons": ["age"]}
    en, zh = model_card(man, METRICS, "en"), model_card(man, METRICS, "zh")
    assert "- protected attributes checked for fairness only (not features): gender" in en
    assert "- protected attributes used as features but never given as reasons: age (to drop them, list them " \
           "under `exclude:` in a --policy file)" in en
    assert "never features" not in en  # the old claim, false for age
    assert "- 受保护属性（仅用于公平性检验，不作为特征）：性别 (gender)" in zh
    assert "- 作为特征但从不作为拒绝理由的受保护属性：age（如需剔除，在 --policy 文件的 `exclude:` 中列出）" in zh
    # no protected feature: no such line
    assert "never given as reasons" not in model_card(MANIFEST, METRICS, "en")


def test_the_card_shows_the_data_period_of_train_and_test():
    met = {**METRICS, "split": {**METRICS["split"], "train_from": "2023-01-02T00:00:00", "test_until": "2024-12-31"}}
    en, zh = model_card(MANIFEST, met, "en"), model_card(MANIFEST, met, "zh")
    assert "- window (applied): train 2023-01-02 to 2024-06-30; test 2024-07-01 to 2024-12-31" in en
    assert "- 时间窗口（applied）：训练 2023-01-02 至 2024-06-30；测试 2024-07-01 至 2024-12-31" in zh
    rnd = {**METRICS, "split": {"kind": "random-stratified", "seed": 42, "test_size": 0.2}}
    assert "- window: no time column; random stratified split, 80% train / 20% test" in model_card(MANIFEST, rnd)
    assert "- 时间窗口：无时间列；随机分层划分，训练 80% / 测试 20%" in model_card(MANIFEST, rnd, "zh")


def test_the_card_states_the_intended_use_given_or_says_it_is_the_default():
    en = model_card({**MANIFEST, "intended_use": "PD of German consumer credit"}, METRICS, "en")
    assert "PD of German consumer credit" in en.split("## Intended use")[1].split("##")[0]
    assert "small-business" not in en
    default = model_card(MANIFEST, METRICS, "en").split("## Intended use")[1].split("##")[0]
    assert "small-business credit application" in default and "--intended-use" in default
    zh = model_card(MANIFEST, METRICS, "zh").split("## 预期用途")[1].split("##")[0]
    assert "小微企业" in zh and "--intended-use" in zh


def test_the_card_states_the_horizon_once():
    """The target line says what 1 and 0 mean and the horizon line says the horizon: 'PD horizon' once in
    the English card (the manifest's target_definition repeats it), 'PD 期限' once in the Chinese one."""
    man = {**MANIFEST, "target": "default_12m", "pd_horizon_months": 12,
           "target_definition": "1 = default (bad), PD horizon 12 months"}
    en, zh = model_card(man, METRICS, "en"), model_card(man, METRICS, "zh")
    assert en.count("PD horizon") == 1 and "- `default_12m`: 1 = default (bad), 0 = no default" in en
    assert zh.count("PD 期限") == 1 and "- PD 期限：12 个月" in zh
