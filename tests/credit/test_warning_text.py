"""Warnings have a code and an en and a zh template (credit/notes.yaml): the zh report and model card
carry no English warning sentence, and every warning shows in both languages, also after a reload."""
from __future__ import annotations

import html as html_lib
import re

import numpy as np
import pandas as pd
import pytest

from smepulse.credit.model_card import model_card
from smepulse.credit.notes import TEMPLATES, Note, render
from smepulse.credit.report import write_report
from smepulse.credit.train import load_model, train

# four ASCII words in a row (a column name or a code like `gender = f` is one or two words, not prose)
ENGLISH_RUN = re.compile(r"\b[A-Za-z]{2,}(?:[ ,;:'()-]+[A-Za-z]{2,}){3,}")


@pytest.fixture(scope="module")
def warned(tmp_path_factory):
    """A small book that triggers several warnings: a constant column, a protected column with a
    proxy (adverse impact), few defaults among the test rows (and a failing calibration test)."""
    rng = np.random.default_rng(9)
    n = 700
    gender = rng.choice(["f", "m"], n)
    x = rng.normal(size=n) + np.where(gender == "f", 1.2, 0.0)
    df = pd.DataFrame({"x": x, "z": rng.normal(size=n), "gender": gender, "const": 7})
    df["bad"] = (rng.random(n) < 1 / (1 + np.exp(-(-3.4 + 0.9 * x)))).astype(int)
    m = train(df, "bad", model="logistic")
    out = tmp_path_factory.mktemp("warned")
    m.save(out / "model")
    return m, load_model(out / "model"), out


def test_several_different_warnings_are_coded(warned):
    m, _, _ = warned
    codes = {n["code"] for n in m.metrics["warning_codes"]}
    assert {"constant", "protected", "fairness_air", "few_test_defaults"} <= codes, codes
    assert "other" not in codes
    assert [render(n, "en") for n in m.metrics["warning_codes"]] == m.metrics["warnings"]


def _visible_text(html: str) -> str:
    html = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'src="data:[^"]*"', " ", html)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", html))


def test_zh_report_has_no_english_warning_and_both_languages_have_each(warned):
    m, loaded, out = warned
    for model in (m, loaded):  # the codes survive save and load
        zh = _visible_text(write_report(model, out / "zh.html", "zh").read_text(encoding="utf-8"))
        en = _visible_text(write_report(model, out / "en.html", "en").read_text(encoding="utf-8"))
        for note in model.metrics["warning_codes"]:
            z, e = render(note, "zh"), render(note, "en")
            assert z in zh and e in en and z != e
            assert not ENGLISH_RUN.search(z), z
        for sentence in model.metrics["warnings"]:
            assert sentence not in zh
        assert "原文为英文" not in zh
        card = model_card(model.manifest, model.metrics, "zh")
        for sentence in model.metrics["warnings"]:
            assert sentence not in card
        assert all(render(n, "zh") in card for n in model.metrics["warning_codes"])


def test_every_template_has_both_languages_with_the_same_fields():
    fields = re.compile(r"{(\w+)")
    for code, t in TEMPLATES.items():
        assert set(t) == {"en", "zh"}, code
        assert set(fields.findall(t["en"])) == set(fields.findall(t["zh"])), code
        if code != "other":  # free text from a library stays as it came
            assert not ENGLISH_RUN.search(re.sub(r"--[\w-]+|{[^}]*}", "", t["zh"])), code


def test_a_note_is_its_english_text_and_renders_nested_fields():
    n = Note("censored", n=3, how=Note("censor_column", column="open_flag"))
    assert n == "3 rows with no outcome yet (censored: column 'open_flag') dropped"
    assert render(n.to_dict(), "zh") == "剔除 3 条尚无结果的记录（未到期，依据：列“open_flag”）"
    with pytest.raises(KeyError, match="no warning template"):
        Note("no_such_code")
