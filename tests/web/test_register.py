"""The firm register is read like a responses file: a GB18030 CSV from a Chinese spreadsheet, true line numbers."""
from __future__ import annotations

import pytest

from smepulse.errors import InputError
from smepulse.methodology import load_methodology
from smepulse.web.survey_ops import read_register, validate_register

M = load_methodology("smei")
HEADER = "firm_id,name,sector,region,size,exporter,weight\n"


def test_gb18030_register_keeps_chinese_names_and_reports_the_true_line():
    text = (HEADER + "\nF1,上海精密机械有限公司,manufacturing,east,small,no,1.5\n"
            "F2,北京贸易,manufacturing,east,small,no,-1\n")
    df = read_register(text.encode("gb18030"), "名册.csv")
    assert df["name"].tolist() == ["上海精密机械有限公司", "北京贸易"]
    with pytest.raises(InputError, match=r"名册\.csv, row 4, column 'weight'"):  # line 2 is blank
        validate_register(df, M, "名册.csv")


def test_a_register_that_is_not_a_workbook_names_the_uploaded_file():
    with pytest.raises(InputError, match=r"^file firms\.xlsx: not an Excel"):
        read_register(b"firm_id,name\n", "firms.xlsx")
