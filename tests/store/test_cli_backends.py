"""The store commands with --store FILE and --store postgresql://...: the same commands, the same results."""
from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from smepulse.cli import app, run
from smepulse.errors import StoreError
from smepulse.store import open_store

runner = CliRunner()


def _ok(args: list[str]) -> str:
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    return r.output


def test_import_publish_series_revisions(store_target, tmp_path, capfd):
    src, out = tmp_path / "responses.csv", tmp_path / "series.csv"
    _ok(["sim", "--firms", "80", "--months", "3", "--start", "2025-01", "--out", str(src)])
    said = _ok(["import", "--responses", str(src), "--store", store_target])
    n = len(pd.read_csv(src))
    assert f"imported {n} responses" in said
    assert "***" in said if store_target.startswith("postgresql") else store_target in said.replace("\n", "")
    assert run(["import", "--responses", str(src), "--store", store_target]) == 2  # one line, no traceback
    err = capfd.readouterr().err
    assert "nothing was imported" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    _ok(["publish", "--store", store_target, "--no-seasonal", "--replicates", "0", "--frame", "design",
         "--as-of", "2025-04-01"])
    _ok(["series", "--store", store_target, "--out", str(out)])
    df = pd.read_csv(out, dtype={"period": str})
    assert {"2025-01", "2025-02", "2025-03"} <= set(df["period"]) and df["vintage_id"].nunique() == 1
    head = df[(df["series"] == "headline") & (df["group"] == "all") & (df["period"] == "2025-03")]
    assert head["n"].tolist() == [int((pd.read_csv(src)["period"] == "2025-03").sum())]
    assert "2025-03" in _ok(["revisions", "--store", store_target, "--series", "headline", "--adjustment", "nsa"])


def test_read_only_open_writes_nothing(store_target, tmp_path):
    with open_store(store_target) as st:
        st.con.execute("INSERT INTO meta VALUES (?, ?)", ["probe", "1"])
    with open_store(store_target, read_only=True) as st:
        assert st.con.execute("SELECT value FROM meta WHERE key = ?", ["probe"]).fetchall() == [("1",)]
        with pytest.raises(StoreError, match="read-only"), st.transaction():
            pass
