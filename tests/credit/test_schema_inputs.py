"""How a training table's columns are read: date text is never a feature, a stray word in a number
column is bad input (exit 2, naming file, line and field), codes and zip codes stay features."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from smepulse.cli import run
from smepulse.credit.notes import render
from smepulse.credit.schema import looks_like_date

N = 1500
DAYS = pd.date_range("2015-01-01", periods=N, freq="D")
# one column per common way of writing a date; day > 12 somewhere, so d/m and m/d are both seen
DATE_TEXT = {"opened_iso": DAYS.strftime("%Y-%m-%d"), "opened_us": DAYS.strftime("%-m/%-d/%Y"),
             "opened_eu": DAYS.strftime("%d/%m/%Y"), "opened_mon": DAYS.strftime("%d-%b-%y"),
             "opened_slash": DAYS.strftime("%Y/%m/%d"), "opened_stamp": DAYS.strftime("%Y-%m-%dT%H:%M:%S"),
             "opened_short": DAYS.strftime("%Y-%-m-%-d"), "opened_dot": DAYS.strftime("%d.%m.%Y")}


def _book(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"applied": DAYS, "LIMIT_BAL": rng.lognormal(11, 1, N).round(),
                       "arrears": rng.poisson(0.6, N),
                       "zip": rng.choice([2139, 10001, 94105, 60601, 73301], N),
                       "grade": rng.choice(["A1", "B2", "C3", "D4"], N)})
    logit = -1.6 + 0.9 * df.arrears - 0.4 * (np.log(df.LIMIT_BAL) - 11) + 0.5 * (df.grade == "D4")
    df["default"] = (rng.random(N) < 1 / (1 + np.exp(-logit))).astype(int)
    return df


@pytest.mark.parametrize("col", list(DATE_TEXT))
def test_each_date_format_is_a_date(col):
    assert looks_like_date(pd.Series(DATE_TEXT[col]))


@pytest.mark.parametrize("values", [
    ["02139", "10001", "94105", "60601"] * 50,       # zip codes as text
    ["A12", "B7", "C3", "Z9"] * 50,                  # short codes
    ["1/2", "3/4", "1/4"] * 50,                      # fractions
    ["yes", "no"] * 100, ["2019", "2020", "2021"] * 50,  # categories and years
    ["12-34", "56-78"] * 100,                        # hyphenated codes
])
def test_codes_zips_and_numbers_are_not_dates(values):
    assert not looks_like_date(pd.Series(values))


def test_a_few_typos_do_not_hide_a_date_column():
    s = pd.Series(list(DATE_TEXT["opened_iso"][:200]) + ["unknown"] * 5)  # 97.6% dates
    assert looks_like_date(s)
    assert not looks_like_date(pd.Series(list(DATE_TEXT["opened_iso"][:100]) + ["unknown"] * 20))


def _train(tmp_path, df, name="loans.csv", *extra):
    path = tmp_path / name
    df.to_csv(path, index=False)
    out = tmp_path / "model"
    code = run(["credit", "train", "--data", str(path), "--target", "default", "--time-column", "applied",
                "--out", str(out), "--n-estimators", "60", *extra])
    return path, out, code


def test_date_text_is_never_a_feature_and_scoring_does_not_need_it(tmp_path, capsys):
    df = _book()
    for col, vals in DATE_TEXT.items():
        df[col] = vals
    path, out, code = _train(tmp_path, df)
    printed = capsys.readouterr().out
    assert code == 0, printed
    man = json.loads((out / "manifest.json").read_text())
    names = {f["name"]: f["type"] for f in man["features"]}
    assert not set(DATE_TEXT) & set(names)
    assert names["zip"] == "numeric" and names["grade"] == "categorical" and "LIMIT_BAL" in names
    met = json.loads((out / "metrics.json").read_text())
    notes = [n for n in met["warning_codes"] if n["code"] == "schema_date_text"]
    assert len(notes) == 1  # one line names them all
    en, zh = render(notes[0], "en"), render(notes[0], "zh")
    assert all(c in en and c in zh for c in DATE_TEXT) and "日期" in zh
    assert " ".join(printed.split()).count("date column(s) not used as features") == 1
    # a model never expects them: a file without the dates scores every row
    new = tmp_path / "new.csv"
    df.drop(columns=[*DATE_TEXT, "default"]).head(50).to_csv(new, index=False)
    assert run(["credit", "score", "--model", str(out), "--data", str(new), "--out", str(tmp_path / "s.csv")]) == 0
    scored = pd.read_csv(tmp_path / "s.csv")
    assert scored["score_error"].isna().all() and scored["pd"].between(0, 1).all()


def test_a_word_in_a_number_column_is_bad_input(tmp_path, capsys):
    df = _book()
    df["LIMIT_BAL"] = df["LIMIT_BAL"].astype(object)
    row = 999
    df.loc[row, "LIMIT_BAL"] = "abc"
    df.loc[[5, 17], "LIMIT_BAL"] = ""  # blanks are missing values, not errors
    line = row + 2  # file line: the header is line 1, data row 0 is line 2
    path, out, code = _train(tmp_path, df)
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(path) in lines[0] and f"line {line}," in lines[0] and "LIMIT_BAL" in lines[0]
    assert "'abc'" in lines[0] and "Traceback" not in err
    assert not out.exists()  # nothing written


def test_blanks_alone_and_common_text_codes_still_train(tmp_path, capsys):
    df = _book()
    df["LIMIT_BAL"] = df["LIMIT_BAL"].astype(object)
    df.loc[[5, 17], "LIMIT_BAL"] = ""
    df["rating"] = np.where(np.arange(N) % 10 == 0, "NR", (np.arange(N) % 7).astype(str))  # 10% text level
    _, out, code = _train(tmp_path, df)
    assert code == 0, capsys.readouterr()
    names = {f["name"]: f["type"] for f in json.loads((out / "manifest.json").read_text())["features"]}
    assert names["LIMIT_BAL"] == "numeric" and names["rating"] == "categorical"


def test_a_declared_category_may_hold_a_rare_word():
    from smepulse.credit.data import check_features  # noqa: PLC0415
    X = pd.DataFrame({"code": [str(i % 9) for i in range(99)] + ["X"], "v": np.arange(100.0)})
    with pytest.raises(Exception, match="data row 100, column 'code': 'X'"):
        check_features(X.copy())
    check_features(X, categorical={"code"})  # the metadata says it is a code: no error


def test_train_reads_the_metadata_s_categories(tmp_path, capsys):
    """Through `credit train --metadata`: a column the metadata declares categorical may hold a rare
    word ('X' once in 400 numeric codes) and trains; the same file without the metadata is refused."""
    df = _book()
    df["branch"] = [str(i % 9) for i in range(len(df))]
    df.loc[7, "branch"] = "X"
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps([{"name": "branch", "description": "branch code", "kind": "categorical"}]))
    _path, out, code = _train(tmp_path, df, "loans.csv", "--metadata", str(meta))
    assert code == 0, capsys.readouterr().err
    assert (out / "manifest.json").is_file()
    (tmp_path / "plain").mkdir()
    _path, _out, code = _train(tmp_path / "plain", df)
    assert code == 2 and "'branch': 'X' is not a number" in capsys.readouterr().err
