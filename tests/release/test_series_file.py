"""A release from a plain series file (`period, series, group, value, n`: an index history kept in a
spreadsheet), end to end through the CLI, and one-line errors for values a release must not narrate."""
from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from smepulse.cli import app
from smepulse.errors import InputError
from smepulse.methodology import load_methodology
from smepulse.release.facts import published
from smepulse.release.report import load_series_file
from smepulse.release.sample import synthetic_series

M = load_methodology("smei")
PERIOD = "2026-09"


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    out = tmp_path_factory.mktemp("plain")
    df = synthetic_series(M, end=PERIOD, months=18, groups=["all", "sector=manufacturing", "region=east"])
    df = df[(df["adjustment"] == "nsa") & df["value"].notna()][["period", "series", "group", "value", "n"]]
    path = out / "plain.csv"
    df.to_csv(path, index=False)
    return path, df


def test_plain_series_file_release_end_to_end(plain, tmp_path):
    path, df = plain
    runner = CliRunner()
    for lang in ("en", "zh"):
        r = runner.invoke(app, ["release", "--period", PERIOD, "--series", str(path), "--lang", lang,
                                "--out", str(tmp_path / f"r_{lang}.md")])
        assert r.exit_code == 0, r.output
        md = (tmp_path / f"r_{lang}.md").read_text(encoding="utf-8")
        head = df[(df.series == "headline") & (df.group == "all") & (df.period == PERIOD)]["value"].iloc[0]
        assert f"{published(head):.1f}" in md
        assert "nan" not in md.lower().replace("nanjing", "")
    for ext in ("_series.csv", "_series.xlsx", ".json", "_sdmx.csv"):
        assert (tmp_path / f"r_en{ext}").exists()
    r = runner.invoke(app, ["release", "--period", PERIOD, "--series", str(path), "--out", str(tmp_path / "r.html"),
                            "--no-exports"])
    assert r.exit_code == 0, r.output
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<svg" in html and "Headline" in html


@pytest.mark.parametrize(("value", "message"), [("inf", "not a finite number"), ("-inf", "not a finite number"),
                                                ("150", "outside 0 to 100"), ("-3", "outside 0 to 100")])
def test_bad_values_name_file_line_and_column(plain, tmp_path, value, message):
    path, df = plain
    bad = tmp_path / "bad.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[5].split(",")
    cells[3] = value
    lines[5] = ",".join(cells)
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_series_file(bad, M)
    assert f"file {bad}" in str(e.value) and "line 6" in str(e.value) and "column 'value'" in str(e.value)
    assert message in str(e.value)


def test_balance_range_and_cli_exit_2(plain, tmp_path):
    path, df = plain
    ec = load_methodology("ec-industry")
    neg = tmp_path / "neg.csv"
    df.assign(value=df["value"] - 80).to_csv(neg, index=False)
    load_series_file(neg, ec)  # balances may be negative
    with pytest.raises(InputError, match="outside -100 to 100"):
        load_series_file(neg.write_text("period,series,group,value,n\n2026-09,headline,all,-150,3\n") and neg, ec)
    bad = tmp_path / "inf.csv"
    bad.write_text("period,series,group,value,n\n2026-08,headline,all,50,3\n2026-09,headline,all,inf,3\n")
    r = subprocess.run([sys.executable, "-c", "from smepulse.cli import main; main()", "release", "--period",
                        PERIOD, "--series", str(bad), "--out", str(tmp_path / "x.md")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "line 3" in err[0] and "column 'value'" in err[0] and "Traceback" not in r.stderr
    assert not (tmp_path / "x.md").exists()

