"""The `smepulse adjust` command end to end, through the real CLI app."""
from __future__ import annotations

import numpy as np
import pandas as pd
from seasonal_helpers import index_series, tidy
from typer.testing import CliRunner

from smepulse.cli import app

runner = CliRunner()


def test_adjust_command_writes_nsa_and_sa(tmp_path):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    df = tidy({"new_orders": index_series(72, 1), "short": index_series(30, 2)}, "mfg")
    df.to_csv(src, index=False)
    res = runner.invoke(app, ["adjust", "--series", str(src), "--out", str(dst), "--holiday", "cny"])
    assert res.exit_code == 0, res.output
    out = pd.read_csv(dst, dtype={"period": str})
    assert set(out["adjustment"]) == {"nsa", "sa"} and len(out) == 2 * 72 + 30  # the short one has no SA rows
    sa = out[(out["adjustment"] == "sa") & (out["series"] == "new_orders")]
    # The known seasonal pattern (range 6 points) is gone: SA month means lie within 1 point.
    assert np.ptp(sa.groupby(sa["period"].str[5:])["value"].mean()) < 1.0
    assert "only 30 months" in res.output  # the short series is reported, not adjusted


def test_adjust_command_reports_bad_series(tmp_path):
    src = tmp_path / "in.csv"
    tidy({"flat": index_series(48) * 0 + 50}, "svc").to_csv(src, index=False)
    res = runner.invoke(app, ["adjust", "--series", str(src), "--out", str(tmp_path / "o.csv")])
    assert res.exit_code == 2
    assert "flat" in res.output and "constant" in res.output


def test_help_has_example():
    res = runner.invoke(app, ["adjust", "--help"])
    assert res.exit_code == 0 and "Example: smepulse adjust" in res.output


def test_adjust_command_uses_nsa_rows_and_skips_quarters(tmp_path):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    df = tidy({"pmi": index_series(48, 3)}).assign(adjustment="nsa", n=100)
    quarter = pd.DataFrame({"period": ["2015Q1"], "series": ["pmi"], "group": ["all"],
                            "value": [49.0], "adjustment": ["nsa"], "n": [300]})
    pd.concat([df, quarter]).to_csv(src, index=False)
    res = runner.invoke(app, ["adjust", "--series", str(src), "--out", str(dst), "--method", "stl"])
    assert res.exit_code == 0, res.output
    out = pd.read_csv(dst, dtype={"period": str})
    assert len(out) == 2 * 48 and (out["method"] == "stl").all()
