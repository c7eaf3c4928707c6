"""Self-contained HTML model report: charts are matplotlib PNGs inlined as base64 (no CDN, no JS)."""
from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from jinja2 import Environment, FileSystemLoader, select_autoescape  # noqa: E402

from smepulse.credit.artefact import library_versions  # noqa: E402
from smepulse.credit.fairness import attribute_shown, shown  # noqa: E402
from smepulse.credit.model_card import WORDS as CARD_WORDS  # noqa: E402
from smepulse.credit.model_card import calibration_named, feature_named, model_card, notes_shown, when  # noqa: E402
from smepulse.credit.train import CreditModel  # noqa: E402
from smepulse.errors import CreditError  # noqa: E402

TEMPLATES = Path(__file__).parent / "templates"


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def charts(met: dict) -> dict[str, str]:
    out = {}
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.plot(met["roc"]["fpr"], met["roc"]["tpr"], label=f"AUC {met['auc']:.3f}")
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test)")
    ax.legend(loc="lower right")
    out["roc"] = _png(fig)

    cal = met["calibration_table"]
    fig, ax = plt.subplots(figsize=(4.2, 4))
    hi = max(max(r["mean_pd"] for r in cal), max(r["observed"] for r in cal)) * 1.05
    ax.plot([0, hi], [0, hi], ls=":", c="grey")
    ax.plot([r["mean_pd"] for r in cal], [r["observed"] for r in cal], "o-")
    ax.set(xlabel="predicted PD", ylabel="observed bad rate", title="Calibration by decile (test)")
    out["calibration"] = _png(fig)

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    tr, te = np.asarray(met["score_hist"]["train"]), np.asarray(met["score_hist"]["test"])
    bins = np.linspace(min(tr.min(), te.min()), max(tr.max(), te.max()), 40)
    ax.hist(tr, bins, alpha=0.5, density=True, label="train")
    ax.hist(te, bins, alpha=0.5, density=True, label="test")
    ax.set(xlabel="score (higher = safer)", title=f"Score distribution, PSI {met['psi_score']:.3f}")
    ax.legend()
    out["scores"] = _png(fig)

    imp = sorted(met["importance"].items(), key=lambda kv: kv[1])[-15:]
    fig, ax = plt.subplots(figsize=(5.5, 0.3 * len(imp) + 1))
    ax.barh([k for k, _ in imp], [v for _, v in imp])
    ax.set(xlabel="share of importance", title="Feature importance")
    out["importance"] = _png(fig)
    return out


LABELS = {  # key: (en, zh)
    "title": ("Credit model report", "信用模型报告"), "created": ("created", "创建于"),
    "target": ("Target", "目标"), "data": ("Training data", "训练数据"), "rows": ("rows", "行"),
    "split": ("Split", "样本划分"), "calibration": ("Calibration", "校准"), "reject": ("Reject inference", "拒绝推断"),
    "validation": ("Validation (test set)", "验证（测试集）"), "bad_rate": ("bad rate", "违约率"),
    "mean_pd": ("mean PD", "平均 PD"),
    # the reliability deciles run from the lowest PD up, the lift deciles from the riskiest down: say which
    "reliability": ("Reliability: calibration by decile (1 = lowest PD) and grade",
                    "可靠性：按十分位（1 = PD 最低）与等级的校准"),
    "lift": ("Lift by decile (1 = riskiest)", "各十分位提升度（1 = 风险最高）"), "stability": ("Stability", "稳定性"),
    "features": ("Features", "特征"), "scorecard": ("Scorecard", "评分卡"), "fairness": ("Fairness", "公平性"),
    "cutoff": ("Approval at PD at or below", "审批阈值：PD 不高于"),
    "air_note": ("adverse-impact ratio = a group's approval rate over the most approved group's; below 0.8 "
                 "is flagged (four-fifths rule)",
                 "不利影响比 = 该组通过率 / 通过率最高组的通过率；低于 0.8 标红（五分之四规则）"),
    "attribute": ("attribute", "属性"), "group": ("group", "组别"), "approval": ("approval rate", "通过率"),
    "air": ("adverse-impact ratio", "不利影响比"), "observed": ("observed bad rate", "实际违约率"),
    "card": ("Model card", "模型卡"), "warnings": ("Warnings", "警告"),
    "out-of-time": CARD_WORDS["oot"], "random-stratified": CARD_WORDS["random"],
    "train_until": ("trained on rows until", "训练样本截至"), "test_from": ("tested on rows from", "测试样本始于"),
    "n_train": ("training rows", "训练样本"), "n_test": ("test rows", "测试样本"),
    "cv_brier": ("cross-validated Brier", "交叉验证 Brier"), "dof": ("{d} df", "自由度 {d}"),
    "whole": ("whole sample", "全样本"), "binom": ("exact binomial", "精确二项检验"),
    "floor": ("PD floor", "PD 下限"), "ceiling": ("ceiling", "上限"),
    "horizon_text": ("horizon {h}", "期限：{h}"),
    "not_stated": ("not stated", "未注明"), "months": ("months", "个月"), "time_col": ("", "时间列 "),
    # FeatureSpec.monotone: the direction of risk as words, not -1/0/1
    "mono+1": ("higher = riskier", "越高风险越大"), "mono-1": ("higher = safer", "越高风险越小"),
    "mono0": ("none", "无约束"),
    # punctuation: Chinese text takes the full-width forms (the model card does the same)
    "colon": (": ", "："), "comma": (", ", "，"), "semi": ("; ", "；"), "lp": (" (", "（"), "rp": (")", "）"),
    "stop": (". ", "。"),
    "cal_fails": ("Calibration fails on the test rows: recalibrate before using these PDs",
                  "测试样本上校准未通过：使用这些 PD 前需重新校准"),
    "cal_fails_why": ("a test below", "有检验的 p 值低于"), "bads": ("bads", "违约数"),
    "expected": ("expected", "预期违约数"), "decile": ("decile", "十分位"), "grade": ("grade", "等级"),
    "lift_col": ("lift", "提升度"), "capture": ("cumulative capture", "累计捕获率"),
    "feature": ("feature", "特征"), "psi_col": ("PSI train vs test", "PSI（训练对测试）"),
    "type": ("type", "类型"), "description": ("description", "说明"), "monotone": ("monotone", "单调方向"),
    "numeric": ("numeric", "数值"), "categorical": ("categorical", "类别"),
    "scaling": ("Score = {points} at odds {odds}:1, +{pdo} points per doubling of the odds (PDO).",
                "评分 = 好坏比 {odds}:1 时为 {points} 分，好坏比每翻一倍加 {pdo} 分（PDO）。"),
    "auc_ci": CARD_WORDS["auc_ci"],  # one source of the words: the model card's
    "variable": ("variable", "变量"), "bin": ("bin", "分箱"), "points": ("points", "分值"),
}


def bin_label(spec, text: str, lang: str) -> str:
    """A scorecard bin as people read it: category codes by their metadata labels (zh: joined by 、),
    "Missing" translated."""
    if text == "Missing":
        return "Missing" if lang == "en" else "缺失"
    labels = (spec.labels_zh if lang == "zh" else spec.labels_en) if spec else {}
    if not labels:
        return text
    return ("、" if lang == "zh" else ", ").join(str(labels.get(v, v)) for v in text.split(", "))


def header(manifest: dict, met: dict, L: dict, lang: str) -> list[tuple[str, str]]:
    """The report's first table (target, data, split, calibration) as (label, text) rows in `lang`,
    with that language's punctuation (zh: full-width ：，；（）)."""
    c, cm, sc, lp, rp = L["colon"], L["comma"], L["semi"], L["lp"], L["rp"]
    h = manifest.get("pd_horizon_months")
    if lang == "zh":  # the card's words for the horizon (the English definition names the target's source)
        target = f"1 = 违约{sc}{CARD_WORDS['horizon'][1]}{c}" + (f"{h} {L['months']}" if h else
                                                                  CARD_WORDS["not_stated"][1])
    else:
        target = manifest.get("target_definition") or "-"
    sp, cal = met.get("split", {}), met.get("calibration", {})
    if sp.get("kind") == "out-of-time":
        split = L["out-of-time"]
        col = sp.get("time_column")
        if col:  # zh: 跨时间（out-of-time），时间列 d：...; en: out of time (d): ...
            split += f"{cm}{L['time_col']}{col}" if lang == "zh" else f" ({col})"
            if sp.get("train_from"):  # each part's first and last day, in the card's words
                day = {k: str(sp.get(k))[:10] for k in ("train_from", "train_until", "test_from", "test_until")}
                split += c + CARD_WORDS["range"][lang == "zh"].format(
                    a=day["train_from"], b=day["train_until"], c=day["test_from"], d=day["test_until"])
            else:  # a model trained before the split recorded its ends: the cut only
                split += (f"{c}{L['train_until']} {str(sp.get('train_until'))[:10]}{cm}"
                          f"{L['test_from']} {str(sp.get('test_from'))[:10]}")
    elif sp.get("kind") == "random-stratified":
        split = L["random-stratified"].format(pct=100 * sp.get("test_size", 0.3))
    else:
        split = str(sp.get("kind"))
    kind = manifest.get("kind", "")
    calib = calibration_named(cal.get("method"), lang, kind)
    if cal.get("cv_brier"):  # the methods the choice was made between, by cross-validated Brier score
        calib += f"{lp}{L['cv_brier']}{c}" + cm.join(
            f"{calibration_named(k, lang)} {v:.5f}" for k, v in cal["cv_brier"].items()) + rp
    rows = [(L["target"], f"{manifest.get('target')}{lp}{target}{rp}"),
            (L["data"], f"{manifest.get('source')}{cm}{manifest.get('n_rows')} {L['rows']}{cm}"
                        f"{manifest.get('training_data_hash')}"),
            (L["split"], f"{split}{sc}{L['n_train']} {met.get('n_train')}{cm}{L['n_test']} {met.get('n_test')}"),
            (L["calibration"], calib)]
    if met.get("reject_inference"):
        rows.append((L["reject"], str(met["reject_inference"])))
    return rows


def reliability_text(manifest: dict, met: dict, L: dict) -> str:
    """The Hosmer-Lemeshow, whole-sample binomial, floor and horizon sentences under the reliability heading."""
    rel, cal = met["reliability"], met.get("calibration", {})
    c, cm, sc, lp, rp = L["colon"], L["comma"], L["semi"], L["lp"], L["rp"]
    first = (f"Hosmer-Lemeshow {rel['hosmer_lemeshow']:.2f}{lp}{L['dof'].format(d=rel['hl_dof'])}{cm}"
             f"p = {rel['hl_p']:.3g}{rp}{sc}{L['whole']}{c}{L['mean_pd']} {rel['mean_pd']:.4f}{cm}"
             f"{L['observed']} {rel['observed']:.4f}{cm}{L['binom']} p = {rel['binomial_p']:.3g}")
    if "ece" in rel:
        first += f"{sc}ECE {rel['ece']:.4f}"
    h = manifest.get("pd_horizon_months")
    second = (f"{L['floor']} {cal.get('floor')}{cm}{L['ceiling']} {cal.get('ceiling')}{sc}"
              + L["horizon_text"].format(h=f"{h} {L['months']}" if h else L["not_stated"]))
    return first + L["stop"] + second + L["stop"].strip()


def monotone_named(value, L: dict) -> str:
    """FeatureSpec.monotone (+1 higher value -> higher PD, -1 -> lower, 0 none) in words."""
    try:
        sign = (value > 0) - (value < 0)
    except TypeError:
        return str(value)
    return L[f"mono{sign:+d}" if sign else "mono0"]


def write_report(model: CreditModel, out: str | Path, lang: str = "en") -> Path:
    """The HTML report in English (`lang="en"`) or Chinese (`"zh"`), the model card at the end."""
    if lang not in ("en", "zh"):
        raise CreditError(f"report language must be en or zh, not {lang!r}")
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
    met = model.metrics
    psi_rows = sorted(met["psi_features"].items(), key=lambda kv: -kv[1])
    labels = {k: v[0 if lang == "en" else 1] for k, v in LABELS.items()}
    card = model_card({**model.manifest, "versions": model.manifest.get("versions") or library_versions()},
                      met, lang)
    html = env.get_template("credit_report.html").render(
        m=model.manifest, met=met, charts=charts(met), psi_rows=psi_rows, lang=lang, L=labels, card=card,
        warnings=notes_shown(met, lang), header=header(model.manifest, met, labels, lang),
        reliability=reliability_text(model.manifest, met, labels) if met.get("reliability") else "",
        created=when(model.manifest.get("created_at")), monotone=lambda v: monotone_named(v, labels),
        scorecard=met.get("scorecard_table"), shown=shown, attribute_shown=attribute_shown,
        bin_label=lambda var, b: bin_label(model.specs.get(var), b, lang),
        named=lambda col: feature_named(model.manifest, col, lang))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
