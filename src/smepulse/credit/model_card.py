"""The model card: a Markdown document in English and Chinese written next to every trained model
(model_card.md, model_card.zh.md; pinned by the manifest like every other file).

Sections follow Mitchell et al. (2019), "Model Cards for Model Reporting", adapted to credit risk
(and to what a model validator asks under SR 11-7 / PRA SS1/23): intended use, data and window,
target and PD horizon, features and exclusions, performance with the out-of-time test, calibration,
fairness by protected group, limitations, provenance (library versions, data hash, who and when).
Every figure comes from the model's own manifest and validation metrics; nothing is typed by hand.
"""
from __future__ import annotations

import getpass
import re
from datetime import UTC, datetime

from smepulse.credit.fairness import attribute_shown, shown
from smepulse.credit.notes import in_language, render

WORDS = {
    "title": ("Model card", "模型卡"),
    "use": ("Intended use", "预期用途"),
    "use_text": ("Probability of default (PD) of a small-business credit application over the horizon below, "
                 "for approval, limit and pricing decisions with a human able to review them. Not for "
                 "populations, products or periods unlike the training data (see limitations).",
                 "估计小微企业信贷申请在下述期限内的违约概率（PD），用于审批、额度与定价决策，并可由人工复核。"
                 "不适用于与训练数据明显不同的客群、产品或时期（见局限）。"),
    "use_default": ("This is the default statement; state the model's own use with `credit train --intended-use TEXT`.",
                    "以上为默认表述；可用 `credit train --intended-use TEXT` 写明模型的实际用途。"),
    "range": ("train {a} to {b}; test {c} to {d}", "训练 {a} 至 {b}；测试 {c} 至 {d}"),
    "no_time_split": ("no time column; random stratified split, {tr:g}% train / {te:g}% test",
                      "无时间列；随机分层划分，训练 {tr:g}% / 测试 {te:g}%"),
    "data": ("Data", "数据"), "source": ("source", "来源"), "rows": ("rows", "行数"),
    "hash": ("data hash", "数据哈希"), "window": ("window", "时间窗口"),
    "train_until": ("trained on rows until", "训练数据截至"), "test_from": ("tested on rows from", "测试数据起始"),
    "censored": ("censored rows dropped (no outcome yet)", "剔除的未到期（无结果）行数"),
    "target": ("Target and horizon", "目标与期限"),
    "target_def": ("1 = default (bad), 0 = no default", "1 = 违约（坏客户），0 = 未违约"),
    "auc_ci": ("AUC 95% interval {lo:.3f}-{hi:.3f} (Hanley-McNeil) on {b} defaults among {n} test rows.",
               "AUC 的 95% 区间为 {lo:.3f}-{hi:.3f}（Hanley-McNeil），测试样本 {n} 条中违约 {b} 条。"),
    "horizon": ("PD horizon", "PD 期限"),
    "months": ("months", "个月"), "not_stated": ("not stated in the data", "数据未注明"),
    "features": ("Features", "特征"), "n_features": ("features used", "使用的特征数"),
    "top": ("most important", "最重要的特征"), "excluded": ("excluded by the user", "用户排除的列"),
    "protected": ("protected attributes checked for fairness only (not features)",
                  "受保护属性（仅用于公平性检验，不作为特征）"),
    # age-like columns stay features unless the lender's policy excludes them (train.py): say so, never "never"
    "never_reasons": ("protected attributes used as features but never given as reasons",
                      "作为特征但从不作为拒绝理由的受保护属性"),
    "exclude_hint": (" (to drop them, list them under `exclude:` in a --policy file)",
                     "（如需剔除，在 --policy 文件的 `exclude:` 中列出）"),
    "perf": ("Performance", "模型表现"), "split": ("validation", "验证方式"),
    "oot": ("out of time", "跨时间（out-of-time）"), "random": ("random stratified {pct:g}%", "随机分层 {pct:g}%"),
    "calib": ("Calibration", "校准"), "method": ("method", "方法"),
    "floor": ("PD floor / ceiling", "PD 下限 / 上限"), "hl": ("Hosmer-Lemeshow", "Hosmer-Lemeshow 检验"),
    "binom": ("mean PD vs observed (exact binomial p)", "平均 PD 与实际违约率（精确二项检验 p 值）"),
    "passed": ("passed", "通过"), "failed": ("FAILED: recalibrate before use", "未通过：使用前需重新校准"),
    "fair": ("Fairness", "公平性"), "cutoff": ("approval at PD at or below", "审批阈值：PD 不高于"),
    "group": ("group", "组别"), "attribute": ("attribute", "属性"), "approval": ("approval rate", "通过率"),
    "air": ("adverse-impact ratio", "不利影响比"),
    "mean_pd": ("mean PD", "平均 PD"), "bad_rate": ("bad rate", "违约率"),
    "observed": ("observed bad rate", "实际违约率"),
    "by_time": ("Performance over time (test rows by application date)", "分时段表现（测试集按申请日期）"),
    "by_seg": ("Performance by segment (test rows)", "分群表现（测试集）"),
    "period": ("period", "时间段"), "segment": ("segment", "分群"), "bads": ("bads", "违约数"),
    "no_seg": ("no segment column (sector, size, region, product...) in the data; name one with --segment",
               "数据中没有分群列（行业、规模、地区、产品等）；可用 --segment 指定"),
    "no_time": ("no application date (--time-column): performance over time is not measured",
                "未给出申请日期（--time-column），无法按时间段评估表现"),
    "no_fair": ("No protected attribute in the data: fairness not checked.", "数据中没有受保护属性：未做公平性检验。"),
    "limits": ("Limitations and warnings", "局限与警告"),
    "lim_sample": ("Trained on {n} labelled rows with {b} defaults: figures carry sampling error.",
                   "训练样本为 {n} 条有结果的记录，其中违约 {b} 条：各项指标存在抽样误差。"),
    "lim_sim": ("Monitor PSI of the score and of each feature monthly (stored development sample) and "
                "recalibrate when the out-of-time calibration test fails.",
                "应每月监测评分及各特征的 PSI（与保存的开发样本比较），跨时间校准检验未通过时需重新校准。"),
    "prov": ("Provenance", "来源与版本"), "version": ("model version", "模型版本"),
    "created": ("trained", "训练时间"), "by": ("trained by", "训练人"), "libs": ("library versions", "依赖库版本"),
    "champion": ("champion", "冠军模型"), "cv": ("{t} trees by {k}-fold cross-validation, refitted with {r} trees "
                                               "on all {n} training rows",
                                               "{k} 折交叉验证选出 {t} 棵树，用全部 {n} 条训练数据以 {r} 棵树重新拟合"),
    "card": ("scorecard", "评分卡"),
    "card_text": ("{k} of {m} characteristics selected; points and PD from one calibrated mapping",
                  "从 {m} 个变量中选出 {k} 个；分值与 PD 出自同一个校准映射"),
    "rows_split": ("{n} (train {tr}, test {te})", "{n}（训练 {tr}，测试 {te}）"),
    "window_text": ("{tu} {a}; {tf} {b}", "{tu} {a}；{tf} {b}"),
    "hl_text": ("{x:.2f} ({d} df), p = {p:.3g}", "{x:.2f}（自由度 {d}），p = {p:.3g}"),
    "binom_text": ("{a:.4f} vs {b:.4f}, p = {p:.3g}", "{a:.4f} 对 {b:.4f}，p = {p:.3g}"),
    "n": ("n", "样本数"), "p": ("p", "p 值"), "period_to": (" to ", " 至 "), "air_low": (" (< 0.8)", "（< 0.8）"),
}
# calibration methods as a Chinese reader knows them (the method's code in brackets); the card and the
# report both name a method through calibration_named, so each has one translation
METHOD_ZH = {"platt": "Platt 缩放 (platt)", "beta": "Beta 校准 (beta)", "isotonic": "保序回归 (isotonic)",
             "none": "未校准 (none)"}
# a scorecard's calibrator is "none" because its Platt map is folded into the points (scorecard.recalibrate)
IN_POINTS = ("platt, in the points", "Platt 缩放 (platt)，已计入分值")


def calibration_named(method: str | None, lang: str, kind: str = "") -> str:
    """A calibration method as a reader of `lang` sees it: zh 保序回归 (isotonic), en the method's code."""
    if kind == "scorecard" and method == "none":
        return IN_POINTS[0 if lang == "en" else 1]
    return METHOD_ZH.get(method, method) if lang == "zh" else str(method)


def when(stamp) -> str:
    """A training time as people read it: 2026-12-06 22:15 UTC, not 2026-12-06T22:15:03.123456+00:00."""
    try:
        t = datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp)  # not ISO: shown as recorded
    if t.tzinfo is None:
        return t.strftime("%Y-%m-%d %H:%M")
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def notes_shown(met: dict, lang: str) -> list[str]:
    """The model's warnings in `lang` (notes.in_language); in zh a protected attribute is named as the
    fairness table names it, 企业主性别 (owner_gender), not by the bare column. The notes store column
    names only (train.py), so the names come from the fairness report's descriptions at render time."""
    attrs = (met.get("fairness") or {}).get("attributes") or {}
    if lang != "zh" or not attrs:
        return in_language(met, lang)

    def named(note):
        if not isinstance(note, dict):
            return note
        p = dict(note.get("params") or {})
        if note.get("code") == "protected" and isinstance(p.get("columns"), str):
            p["columns"] = "、".join(attribute_shown(c, attrs.get(c, {}), lang) for c in p["columns"].split(", "))
        elif str(note.get("code")).startswith("fairness_") and isinstance(p.get("attribute"), str):
            p["attribute"] = attribute_shown(p["attribute"], attrs.get(p["attribute"], {}), lang)
        return {**note, "params": p}
    return [render(named(n), lang) for n in met.get("warning_codes") or met.get("warnings", [])]


def _w(key: str, lang: str) -> str:
    return WORDS[key][0 if lang == "en" else 1]


def _f(v, spec: str = ".4f") -> str:
    return "-" if v is None else format(v, spec)


def _day(v) -> str:
    """A split boundary: the date alone when the time is midnight (2023-09-24, not 2023-09-24T00:00:00.000000)."""
    text = str(v)
    return text[:10] if re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ]00:00:00(\.0+)?)?", text) else text


def model_card(manifest: dict, met: dict, lang: str = "en") -> str:
    """The card as Markdown, from the model's manifest and validation metrics. In zh a Chinese label is
    followed by the full-width colon and lists by the enumeration comma (、)."""
    w = lambda k: _w(k, lang)  # noqa: E731
    zh = lang == "zh"
    c, sep = ("：", "、") if zh else (": ", ", ")
    sp = met.get("split", {})
    lines = [f"# {w('title')}{c}{manifest.get('model_version', '')}", "",
             f"## {w('use')}", "", *_use(manifest, w), "",
             f"## {w('data')}", "",
             f"- {w('source')}{c}{manifest.get('source') or '-'}",
             f"- {w('rows')}{c}" + w("rows_split").format(n=manifest.get("n_rows"), tr=met.get("n_train"),
                                                        te=met.get("n_test")),
             f"- {w('hash')}{c}`{manifest.get('training_data_hash')}`"]
    if sp.get("kind") == "out-of-time":
        col = f"（{sp.get('time_column')}）" if zh else f" ({sp.get('time_column')})"
        if sp.get("train_from"):  # first and last dates of each part (models trained before: the cut only)
            lines += [f"- {w('window')}{col}{c}" + w("range").format(
                a=_day(sp["train_from"]), b=_day(sp.get("train_until")), c=_day(sp.get("test_from")),
                d=_day(sp.get("test_until")))]
        else:
            lines += [f"- {w('window')}{col}{c}" + w("window_text").format(
                tu=w("train_until"), a=_day(sp.get("train_until")), tf=w("test_from"), b=_day(sp.get("test_from")))]
    elif sp.get("test_size") is not None:
        te = 100 * sp["test_size"]
        lines += [f"- {w('window')}{c}" + w("no_time_split").format(tr=100 - te, te=te)]
    if met.get("n_censored"):
        lines += [f"- {w('censored')}{c}{met['n_censored']}"]
    h = manifest.get("pd_horizon_months")
    lines += ["", f"## {w('target')}", "", f"- `{manifest.get('target')}`{c}"
              + w("target_def"),  # the horizon has its own line below (target_definition repeats it)
              f"- {w('horizon')}{c}" + (f"{h} {w('months')}" if h else w("not_stated")), "",
              f"## {w('features')}", ""]
    feats = manifest.get("features", [])
    # features that never split (0%) are not "most important", however few the model has
    imp = [kv for kv in sorted((met.get("importance") or {}).items(), key=lambda kv: -kv[1]) if kv[1] > 0][:10]
    top = [f"{k} ({v:.1%})" if lang == "en" else f"{feature_named(manifest, k, lang)}：{v:.1%}" for k, v in imp]
    lines += [f"- {w('n_features')}{c}{len(met.get('importance') or feats)}",
              f"- {w('top')}{c}" + (("；" if zh else ", ").join(top) or "-")]
    if manifest.get("excluded"):
        lines += [f"- {w('excluded')}{c}{sep.join(manifest['excluded'])}"]
    fair = met.get("fairness")
    if fair:
        lines += [f"- {w('protected')}{c}" + sep.join(attribute_shown(a, t, lang) if zh else a
                                                   for a, t in fair["attributes"].items())]
    if manifest.get("never_reasons"):
        lines += [f"- {w('never_reasons')}{c}" + sep.join(feature_named(manifest, f, lang)
                                                         for f in manifest["never_reasons"]) + w("exclude_hint")]
    champ = met.get("champion")
    if champ:
        lines += [f"- {w('champion')}{c}" + w("cv").format(t=champ["cv_trees"], k=champ["cv_folds"],
                                                           r=champ["refit_trees"], n=champ["refit_rows"])]
    sel = met.get("scorecard_selection")
    if sel:
        k = sum(1 for s in sel.values() if s["status"] == "selected")
        lines += [f"- {w('card')}{c}" + w("card_text").format(k=k, m=len(sel))]
    lines += ["", f"## {w('perf')}", "",
              f"{w('split')}{c}" + (w("oot") if sp.get("kind") == "out-of-time"
                                    else w("random").format(pct=100 * sp.get("test_size", 0.3))), "",
              f"| AUC | Gini | KS | Brier | {w('bad_rate')} | {w('mean_pd')} | PSI |", "|---|---|---|---|---|---|---|",
              "| " + " | ".join(_f(met.get(k)) for k in ("auc", "gini", "ks", "brier", "bad_rate", "mean_pd",
                                                         "psi_score")) + " |", ""]
    if met.get("auc_ci95"):
        lo, hi = met["auc_ci95"]
        lines += [w("auc_ci").format(lo=lo, hi=hi, b=met.get("n_bads"), n=met.get("n_test")), ""]
    lines += _breakdowns(manifest, met, lang, w)
    cal, rel = met.get("calibration", {}), met.get("reliability") or {}
    method = cal.get("method")
    lines += [f"## {w('calib')}", "", f"- {w('method')}{c}{calibration_named(method, lang, manifest.get('kind', ''))}",
              f"- {w('floor')}{c}{cal.get('floor')} / {cal.get('ceiling')}"]
    if rel:
        lines += [f"- {w('hl')}{c}" + w("hl_text").format(x=rel["hosmer_lemeshow"], d=rel["hl_dof"], p=rel["hl_p"]),
                  f"- {w('binom')}{c}" + w("binom_text").format(a=rel["mean_pd"], b=rel["observed"],
                                                                p=rel["binomial_p"]),
                  f"- **{w('passed') if rel['passed'] else w('failed')}**"]
    lines += ["", f"## {w('fair')}", ""]
    if fair:
        lines += [f"{w('cutoff')} {fair['cutoff']:.4f}", "",
                  f"| {w('attribute')} | {w('group')} | {w('n')} | {w('approval')} | {w('air')} | {w('mean_pd')} | "
                  f"{w('observed')} | AUC |", "|---|---|---|---|---|---|---|---|"]
        for attr, t in fair["attributes"].items():
            for r in t["groups"]:
                air = _f(r["air"], ".2f") + (w("air_low") if r["flag"] else "")
                lines.append(f"| {attribute_shown(attr, t, lang)} | {shown(r, lang)} | {r['n']} | "
                             f"{r['approval_rate']:.1%} | {air} | "
                             f"{r['mean_pd']:.4f} | {r['observed']:.4f} | {_f(r['auc'], '.3f')} |")
    else:
        lines += [w("no_fair")]
    lines += ["", f"## {w('limits')}", "",
              "- " + w("lim_sample").format(n=met.get("n_train"), b=met.get("n_bads_train", "?")),
              "- " + w("lim_sim")]
    lines += [f"- {x}" for x in notes_shown(met, lang)]
    lines += ["", f"## {w('prov')}", "", f"- {w('version')}{c}`{manifest.get('model_version')}`",
              f"- {w('created')}{c}{when(manifest.get('created_at'))}", f"- {w('by')}{c}{manifest.get('trained_by')}",
              f"- {w('libs')}{c}" + sep.join(f"{k} {v}" for k, v in (manifest.get("versions") or {}).items()), ""]
    return "\n".join(lines)


def _use(manifest: dict, w) -> list[str]:
    """The intended use the trainer stated (--intended-use), else the SME default, marked as the default."""
    given = manifest.get("intended_use")
    return [given] if given else [w("use_text"), "", w("use_default")]


def feature_named(manifest: dict, col: str, lang: str) -> str:
    """A feature as a reader of `lang` sees it: in zh its Chinese description with the column in
    brackets (no bare English column name in the Chinese text), in en the column name."""
    if lang != "zh":
        return col
    spec = next((f for f in manifest.get("features", []) if isinstance(f, dict) and f.get("name") == col), {})
    return f"{spec['description_zh']} ({col})" if spec.get("description_zh") else col


def _breakdowns(manifest: dict, met: dict, lang: str, w) -> list[str]:
    """Performance over time and by segment: n, bads, AUC, mean PD against the observed bad rate."""
    head = f"| {w('n')} | {w('bads')} | AUC | {w('mean_pd')} | {w('observed')} | {w('p')} |"
    rule = "|---|---|---|---|---|---|---|"
    c = "：" if lang == "zh" else ": "

    def row(first: str, r: dict) -> str:
        return (f"| {first} | {r['n']} | {r['bads']} | {_f(r['auc'], '.3f')} | {r['mean_pd']:.4f} | "
                f"{r['observed']:.4f} | {_f(r['binomial_p'], '.3g')} |")

    lines = [f"## {w('by_time')}", ""]
    if met.get("by_period"):  # "2023-09-05 to 2024-01-01" as metrics.performance_by_period names it
        lines += [f"| {w('period')} {head}", rule] + [row(r["group"].replace(" to ", w("period_to")), r)
                                                       for r in met["by_period"]]
    else:
        lines += [w("no_time")]
    lines += ["", f"## {w('by_seg')}", ""]
    specs = {f.get("name"): f for f in manifest.get("features", []) if isinstance(f, dict)}
    if met.get("by_segment"):
        lines += [f"| {w('segment')} {head}", rule]
        for col, rows in met["by_segment"].items():
            spec = specs.get(col, {})
            zdesc = spec.get("description_zh") if lang == "zh" else None
            name = f"{zdesc} ({col})" if zdesc else col  # en: the column; zh: its Chinese name too
            labels = spec.get(f"labels_{lang}") or {}
            lines += [row(f"{name}{c}{labels.get(r['group'], r['group'])}", r) for r in rows]
    else:
        lines += [w("no_seg")]
    return [*lines, ""]


def trained_by() -> str:
    """The operating-system user who ran the training (recorded in the manifest)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
