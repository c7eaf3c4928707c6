"""The driver against a Census reference run: same spec, same data, D11 within 0.1%."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smepulse.errors import SeasonalError
from smepulse.seasonal.x13 import add_save, run_spec, run_spec_file


@pytest.fixture(scope="module")
def reference(shared_data):
    ref_dir = shared_data / "x13_reference"
    out = run_spec_file(ref_dir / "Hobby_toy_and_game_stores.spc",
                        data_file=ref_dir / "Hobby_toy_and_game_stores.dat")
    tables = pd.read_csv(ref_dir / "Hobby_toy_and_game_stores_x13_tables.csv")
    tables.index = [f"{y}-{m:02d}" for y, m in zip(tables["year"], tables["month"], strict=False)]
    return out, tables


def test_d11_matches_census_within_0_1_percent(reference):
    out, ref = reference
    d11 = out.table("d11")
    assert list(d11.index) == list(ref.index)  # span=(2002.Jan,) honoured: 2002-01..2015-06
    rel = (d11 / ref["d11"] - 1).abs()
    assert rel.max() < 0.001, rel.idxmax()


def test_other_tables_match_reference(reference):
    out, ref = reference
    # The reference prints factors in percent and rounded to 2 decimals; saved files hold ratios.
    assert np.allclose(out.table("d10") * 100, ref["d10"], atol=0.1)
    assert np.allclose(out.table("d16") * 100, ref["d16"], atol=0.1)
    assert (out.table("d12") / ref["d12"] - 1).abs().max() < 0.002


def test_reference_model_and_regressors_read(reference):
    out, _ = reference
    assert out.model == "(0 1 2)(0 1 1)"
    variables = set(out.regression["variable"])
    assert {"Mon", "Tue", "Easter[8]"} <= variables
    # Easter raises sales of toy stores before Easter (positive, clearly significant).
    easter = out.regression.set_index("variable").loc["Easter[8]"]
    assert easter["estimate"] > 0 and easter["t"] > 3


def test_add_save_merges_existing_list():
    spec = "series{data=(1 2 3)}\nx11{save=(d11) seasonalma=s3x3} # x11{ in a comment }\n"
    edited = add_save(spec, "x11", ("d10", "d11"))
    assert "save=(d11 d10)" in edited and "comment" not in edited


def test_x13_failure_shows_its_own_error_text():
    spec = "series{start=2010.01 data=(1 2 3 4 5 6 7 8 9 10)}\nx11{save=(d11)}\n"
    with pytest.raises(SeasonalError, match="at least 3 complete years"):
        run_spec(spec, label="tiny")
