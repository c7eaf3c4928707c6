"""Bad input gives clear errors or warnings that name the column; parsing of real-world formats."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smepulse.credit.data import binary_target, parse_money, parse_time, read_table, split_rows
from smepulse.credit.schema import FeatureSchema
from smepulse.credit.train import train
from smepulse.errors import CreditError, InputError


def _book(n=600, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x - 1)))).astype(int)
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "region": rng.choice(["N", "S", "E"], n), "bad": y})


def test_parse_money():
    s = pd.Series(["$60,000.00 ", " $1,234.5", "", None, "$0.00"])
    assert parse_money(s).tolist()[:2] == [60000.0, 1234.5]
    assert np.isnan(parse_money(s)[2]) and np.isnan(parse_money(s)[3]) and parse_money(s)[4] == 0.0


def test_money_columns_are_detected_as_numbers():
    X = pd.DataFrame({"amt": ["$1,000.00 ", "$2,500.00 ", "$300.00 "] * 5})
    sch = FeatureSchema().fit(X)
    assert sch.money_ == ["amt"] and sch.transform(X).X["amt"].iloc[1] == 2500.0


def test_target_errors_name_the_column():
    df = _book()
    with pytest.raises(InputError, match="'nope'"):
        binary_target(df, "nope")
    with pytest.raises(InputError, match="'region'.*binary"):
        binary_target(df, "region")
    df.loc[3, "bad"] = np.nan
    with pytest.raises(InputError, match="'bad'.*missing.*reject-inference"):
        binary_target(df, "bad")
    lab = pd.DataFrame({"s": ["CHGOFF", "P I F", "P I F"]})
    assert binary_target(lab, "s").tolist() == [1.0, 0.0, 0.0]


def test_constant_and_empty_columns_are_dropped_with_warnings():
    df = _book().assign(const=7, empty=np.nan)
    m = train(df, "bad", model="logistic")
    assert "const" not in m.features and "empty" not in m.features
    assert any("'const' is constant" in w for w in m.metrics["warnings"])
    assert any("'empty' is entirely missing" in w for w in m.metrics["warnings"])


def test_bad_dates_raise_naming_column():
    df = _book().assign(applied=pd.date_range("2020-01-01", periods=600, freq="D").astype(str))
    df.loc[10, "applied"] = "31/31/2020x"
    with pytest.raises(InputError, match="'applied'.*not dates.*\\[10\\]"):
        parse_time(df, "applied")


def test_out_of_time_split_trains_on_earlier_rows():
    y = pd.Series([0, 1] * 50)
    t = pd.Series(pd.date_range("2021-01-01", periods=100, freq="D")[::-1])  # newest first
    sp = split_rows(y, t)
    assert sp.kind == "out-of-time" and len(sp.test) == 30
    assert t.iloc[sp.train].max() < t.iloc[sp.test].min()


def test_random_split_is_stratified_and_reproducible():
    y = pd.Series([1] * 30 + [0] * 70)
    a, b = split_rows(y), split_rows(y)
    assert (a.test == b.test).all() and y.iloc[a.test].sum() == 9 and len(a.test) == 30


def test_unknown_exclude_column_and_unknown_model():
    with pytest.raises(InputError, match="'ghost'"):
        train(_book(), "bad", exclude=["ghost"])
    with pytest.raises(CreditError, match="lightgbm, scorecard, logistic"):
        train(_book(), "bad", model="forest")


def test_read_table_formats(tmp_path):
    df = _book(50)
    df.to_csv(tmp_path / "a.csv", index=False)
    df.to_parquet(tmp_path / "a.parquet")
    df.to_excel(tmp_path / "a.xlsx", index=False)
    (tmp_path / "a.arff").write_text("@relation t\n@attribute x numeric\n@attribute region {N,S,E}\n"
                                    "@attribute bad {0,1}\n@data\n1.5,N,1\n?,S,0\n")
    for ext in ("csv", "parquet", "xlsx"):
        back = read_table(tmp_path / f"a.{ext}")
        assert back.shape == (50, 4) and back["x"].iloc[0] == pytest.approx(df["x"].iloc[0])
    arff = read_table(tmp_path / "a.arff")
    assert arff["region"].tolist() == ["N", "S"] and np.isnan(arff["x"].iloc[1])
    assert binary_target(arff, "bad").tolist() == [1.0, 0.0]
    with pytest.raises(InputError, match="unsupported extension"):
        (tmp_path / "a.json").write_text("{}")
        read_table(tmp_path / "a.json")
