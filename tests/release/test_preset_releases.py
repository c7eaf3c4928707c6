"""Releases of the EC industry, NBS PMI and Caixin (S&P Global) PMI presets, end to end through the CLI from a
file of the preset's inputs only: the headline is composed as the producer composes it (checked against a
hand computation here, not the release code), named as the producer names it, worded as a balance or as a
diffusion index, with bars from 0 or from 50, in English and Chinese.

../shared/data holds no EC industry, NBS or Caixin figures (only the EC consumer survey and ISM, tested in
test_other_methodologies.py), so the inputs here are seeded random walks and the checks are of composition,
wording and structure, not of published figures."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from smepulse.cli import app
from smepulse.methodology import load_methodology
from smepulse.periods import month_range
from smepulse.release.facts import published

PERIOD = "2025-06"
# name: (level, step, groups and their labels (NBS and S&P Global publish PMIs by enterprise size; the EC
# by country), the producer's own words)
PRESETS = {
    "ec-industry": (-6.0, 2.5, {"geo=DE": ("in Germany", "German industry", "德国工业"),
                                "geo=FR": ("in France", "French industry", "法国工业")},
                    {"en": ["EC Industrial Confidence Indicator: June 2025", "industrial confidence indicator"],
                     "zh": ["欧盟委员会工业信心指数：2025年6月", "工业信心指数"]}),
    "nbs-pmi": (50.0, 0.6, {"size=large": ("of large enterprises", "large enterprises", "大型企业"),
                            "size=small": ("of small enterprises", "small enterprises", "小型企业")},
                {"en": ["NBS Manufacturing PMI: June 2025", "manufacturing PMI"],
                 "zh": ["国家统计局制造业采购经理指数：2025年6月", "制造业PMI"]}),
    "caixin-pmi": (50.5, 0.7, {"size=large": ("of large firms", "large firms", "大型企业"),
                               "size=small": ("of small firms", "small firms", "小型企业")},
                   {"en": ["S&P Global China General Manufacturing PMI: June 2025", "manufacturing PMI"],
                    "zh": ["标普全球中国制造业PMI：2025年6月", "制造业PMI"]}),
}


def _inputs(name: str, seed: int) -> pd.DataFrame:
    level, step, groups, _ = PRESETS[name]
    m = load_methodology(name)
    rng = np.random.default_rng(seed)
    periods = month_range("2023-01", 30)
    rows = []
    for g in ["all", *groups]:
        for s in m.inputs:
            walk = level + rng.normal(0, 3) + rng.normal(0, step, len(periods)).cumsum()
            rows += [{"period": p, "series": s, "group": g, "adjustment": "sa", "value": round(float(v), 1)}
                     for p, v in zip(periods, walk, strict=True)]
    return pd.DataFrame(rows)


def _by_hand(name: str, df: pd.DataFrame, period: str, group: str = "all") -> float:
    """The producers' formulas, written out: the EC's mean of order books, production expectations and minus
    stocks; the PMIs' 0.30/0.25/0.20/0.15/0.10 with 100 minus suppliers' delivery times."""
    v = df[(df["period"] == period) & (df["group"] == group)].set_index("series")["value"]
    if name == "ec-industry":
        return (v["order_books"] + v["production_expectations"] - v["stocks"]) / 3
    if name == "nbs-pmi":
        return (0.30 * v["new_orders"] + 0.25 * v["production"] + 0.20 * v["employment"]
                + 0.15 * (100 - v["supplier_delivery_time"]) + 0.10 * v["raw_materials_inventory"])
    return (0.30 * v["new_orders"] + 0.25 * v["output"] + 0.20 * v["employment"]
            + 0.15 * (100 - v["suppliers_delivery_times"]) + 0.10 * v["stocks_of_purchases"])


@pytest.fixture(scope="module", params=list(PRESETS))
def release(request, tmp_path_factory):
    name = request.param
    tmp = tmp_path_factory.mktemp(name)
    df = _inputs(name, seed=len(name))
    df.to_csv(tmp / "inputs.csv", index=False)
    groups = PRESETS[name][2]
    cfg = "groups:\n" + "".join(f'  "{g}": {{en_phrase: {p}, en_noun: {n}, zh: {z}}}\n'
                                for g, (p, n, z) in groups.items())
    (tmp / "release.yaml").write_text(cfg, encoding="utf-8")
    runner = CliRunner()
    md = {}
    for lang in ("en", "zh"):
        out = tmp / f"r_{lang}.md"
        r = runner.invoke(app, ["release", "--period", PERIOD, "--series", str(tmp / "inputs.csv"),
                                "--methodology", name, "--config", str(tmp / "release.yaml"), "--lang", lang,
                                "--out", str(out)])
        assert r.exit_code == 0, r.output
        md[lang] = out.read_text(encoding="utf-8")
    doc = json.loads((tmp / "r_en.json").read_text(encoding="utf-8"))
    return {"name": name, "df": df, "md": md, "doc": doc, "m": load_methodology(name)}


def _section(md: str, title: str) -> str:
    return md.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_headline_composed_and_named_as_the_producer_does(release):
    name, df, md = release["name"], release["df"], release["md"]
    now = published(_by_hand(name, df, PERIOD))
    change = published(now - published(_by_hand(name, df, "2025-05")))
    for lang in ("en", "zh"):
        title, headline = PRESETS[name][3][lang]
        assert md[lang].splitlines()[0] == f"# {title}", md[lang].splitlines()[0]
        box = next(line for line in md[lang].splitlines() if line.startswith("| **"))
        assert box.startswith(f"| **{now:.1f}** · ") and box.endswith(f" | {change + 0.0:+.1f} |"), box
        assert headline in md[lang]
    for g in PRESETS[name][2]:  # and each group's headline, in the group table
        v = published(_by_hand(name, df, PERIOD, g))
        row = next(line for line in md["en"].splitlines() if line.startswith(f"| {cap(PRESETS[name][2][g][1])} |"))
        assert row.split("|")[2].strip().startswith(f"{v:.1f} ("), row


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def test_balance_or_diffusion_wording_in_both_languages(release):
    en, zh, m = release["md"]["en"], release["md"]["zh"], release["m"]
    commentary_zh = _section(zh, "解读")
    if m.formula == "balance":
        assert "(0\u00a0=\u00a0as many positive as negative answers)" in en and "0为正负回答相抵" in zh
        assert re.search(r"(positive|negative) balance \((above|below) 0\)", en)
        assert re.search(r"差额为(正|负)（(高于|低于)0）", zh) and "差额" in commentary_zh
        for word in ("50", "no change", "expansion", "contraction", "diffusion", "PMI"):
            assert word not in _section(en, "Commentary") + en.split("\n## ")[0], word
        for word in ("荣枯线", "扩张", "收缩", "扩散指数"):
            assert word not in zh, word
        assert "mean of order books, production expectations and stocks of finished products (sign reversed)" in en
    else:
        assert "(50\u00a0=\u00a0no\u00a0change)" in en and "50为荣枯线" in zh
        assert re.search(r"(expansion|contraction) \((above|below) 50\)", en)
        assert re.search(r"(扩张|收缩)区间（(高于|低于)50）", zh)
        assert re.search(r"\d项指数中|\d项指数均", commentary_zh)
        for word in ("balance", "as many positive", "below zero", "above zero"):
            assert word not in en, word
        assert "差额" not in zh
        assert "weighted mean of new orders (0.3)" in en and "(0.15, 100 minus the index)" in en
    for word in ("SME", "USD", "CNY", "sampling error", "sub-index", "nsa", "Chinese New Year"):
        assert word not in en, word
    for word in ("中小企业", "人民币", "抽样误差", "分类指数", "春节"):
        assert word not in zh, word
    # no code left in the Chinese commentary: every series and group has its Chinese name
    assert not re.search(r"[a-z]+_[a-z]+|\b(?:geo|size|pmi|all)\b", commentary_zh), commentary_zh


def test_bars_start_at_the_neutral_value(release):
    m, spec = release["m"], release["doc"]["charts"]["en"]["sectors"]
    neutral = 0.0 if m.formula == "balance" else 50.0
    bars = spec["layer"][0]
    lo, hi = bars["encoding"]["x"]["scale"]["domain"]
    assert lo < neutral < hi and lo + hi == pytest.approx(2 * neutral)  # symmetric about the neutral value
    rows = spec["datasets"][bars["data"]["name"]] if "name" in bars.get("data", {}) else \
        next(iter(spec["datasets"].values()))
    assert {r["base"] for r in rows} == {neutral} and bars["encoding"]["x2"]["field"] == "base"
    assert len(rows) == 2  # one bar a group
    title = spec["title"]["subtitle"][0]
    assert title == ("Bars from 0 (as many positive as negative answers)" if neutral == 0 else
                     "Bars from 50 (no\u00a0change)")
