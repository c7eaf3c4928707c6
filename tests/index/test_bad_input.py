"""Bad input: a clear error naming file, line/row and column; nothing half-written."""
import pandas as pd
import pytest
from helpers import DOZEN, SMEI
from typer.testing import CliRunner

from smepulse.errors import InputError, MethodologyError, StoreError
from smepulse.methodology import load_methodology
from smepulse.store import open_store
from smepulse.survey.responses import load_responses

runner = CliRunner()


def _csv(tmp_path, df, name="r.csv"):
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def _error(tmp_path, df) -> str:
    with pytest.raises(InputError) as e:
        load_responses(_csv(tmp_path, df), SMEI)
    return str(e.value)


def test_answer_code_outside_the_scale_names_line_and_column(tmp_path):
    df = DOZEN.copy()
    df.loc[4, "sales"] = "much_better"  # 5th data row = line 6 of the file
    msg = _error(tmp_path, df)
    assert "r.csv" in msg and "line 6" in msg and "column 'sales'" in msg and "much_better" in msg


def test_unknown_question_and_classification(tmp_path):
    msg = _error(tmp_path, DOZEN.assign(happiness="up", colour="red"))
    assert "unknown" in msg and "'happiness'" in msg and "'colour'" in msg


def test_unknown_classification_value(tmp_path):
    df = DOZEN.copy()
    df.loc[0, "sector"] = "mining"
    msg = _error(tmp_path, df)
    assert "line 2" in msg and "column 'sector'" in msg and "mining" in msg


def test_duplicate_firm_and_period(tmp_path):
    df = pd.concat([DOZEN, DOZEN.iloc[[3]]], ignore_index=True)
    msg = _error(tmp_path, df)
    assert "duplicate" in msg and "f04" in msg and "line 14" in msg and "line 5" in msg


def test_malformed_period_and_bad_weight(tmp_path):
    df = DOZEN.astype({"weight": object}).copy()
    df.loc[1, "period"] = "2024-13"
    df.loc[2, "weight"] = "-1"
    msg = _error(tmp_path, df)
    assert "line 3" in msg and "column 'period'" in msg and "2024-13" in msg
    assert "line 4" in msg and "column 'weight'" in msg


def test_missing_required_column(tmp_path):
    assert "column 'firm_id'" in _error(tmp_path, DOZEN.drop(columns="firm_id"))


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        load_responses(empty, SMEI)
    header = tmp_path / "header.csv"
    header.write_text("period,firm_id,sales\n")
    with pytest.raises(InputError, match="no rows"):
        load_responses(header, SMEI)


def test_parquet_rows_are_numbered_from_one(tmp_path):
    df = DOZEN.copy()
    df.loc[0, "funding_cost"] = "cheaper"
    path = tmp_path / "r.parquet"
    df.to_parquet(path)
    with pytest.raises(InputError, match=r"row 1, column 'funding_cost'"):
        load_responses(path, SMEI)


def test_methodology_whose_weights_do_not_sum_to_one(tmp_path):
    text = open(SMEI.source_file, encoding="utf-8").read().replace("{series: profit, weight: 1/8}",
                                                                  "{series: profit, weight: 0.2}")
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MethodologyError) as e:
        load_methodology(path)
    assert "bad.yaml" in str(e.value) and "composites.0" in str(e.value) and "not 1" in str(e.value)


def test_methodology_with_wrong_type_names_key_and_value(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(open(SMEI.source_file, encoding="utf-8").read().replace(
        "publication_minimum: 30", "publication_minimum: many"), encoding="utf-8")
    with pytest.raises(MethodologyError, match=r"publication_minimum.*'many'"):
        load_methodology(path)


def test_cli_reports_error_and_exit_code(tmp_path):
    df = DOZEN.copy()
    df.loc[0, "sales"] = "x"
    src = _csv(tmp_path, df)
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", "from smepulse.cli import main; main()", "compute",
                           "--responses", str(src), "--out", str(tmp_path / "o.csv")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "error:" in proc.stderr and "line 2" in proc.stderr and "'sales'" in proc.stderr
    assert not (tmp_path / "o.csv").exists()


def test_import_is_all_or_nothing(tmp_path):
    store_path = tmp_path / "s.duckdb"
    good = _csv(tmp_path, DOZEN, "good.csv")
    with open_store(store_path) as st:
        st.import_responses(load_responses(good, SMEI))
        before = st.con.execute("SELECT count(*) FROM answer").fetchone()[0]
    # a file with one bad row among valid ones: rejected whole
    bad_df = DOZEN.assign(period="2024-04")
    bad_df.loc[7, "sales"] = "??"
    with pytest.raises(InputError):
        load_responses(_csv(tmp_path, bad_df, "bad.csv"), SMEI)
    # the same responses again: a clash, refused, store unchanged
    with open_store(store_path) as st:
        with pytest.raises(StoreError, match="already in the store"):
            st.import_responses(load_responses(good, SMEI))
        assert st.con.execute("SELECT count(*) FROM answer").fetchone()[0] == before
        assert st.con.execute("SELECT count(*) FROM response").fetchone()[0] == 12
