"""The commands end to end, in-process through `smepulse.cli.main` (exit codes as a user sees them):
import, publish, series, methodologies, and the one weighting default shared by compute and publish."""
import sys

import pandas as pd
import pytest
from helpers import DOZEN

from smepulse.cli import main
from smepulse.sim.survey import simulate_survey


def cli(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["smepulse", *map(str, args)])
    with pytest.raises(SystemExit) as done:
        main()
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    path = tmp_path_factory.mktemp("cmd") / "answers.csv"
    s = simulate_survey(n_firms=300, n_months=3, start="2024-04", seed=21)
    s.responses.to_csv(path, index=False)
    return path


def _headline(df: pd.DataFrame) -> pd.Series:
    h = df[(df["series"] == "headline") & (df["adjustment"] == "nsa") & (df["period"].str.len() == 7)]
    return h.set_index(["period", "group"])["value"].sort_index()


def test_compute_and_publish_share_one_weighting_default(tmp_path, answers, monkeypatch, capsys):
    store = tmp_path / "s.duckdb"
    code, out, _ = cli(monkeypatch, capsys, "import", "--responses", answers, "--store", store)
    assert code == 0 and "imported 726 responses" in out
    code, out, _ = cli(monkeypatch, capsys, "publish", "--store", store, "--no-seasonal", "--replicates", 0,
                       "--as-of", "2024-07-25")
    assert code == 0 and "published final vintage" in out
    code, _, _ = cli(monkeypatch, capsys, "series", "--store", store, "--out", tmp_path / "pub.csv")
    assert code == 0
    published = pd.read_csv(tmp_path / "pub.csv", dtype={"period": str})
    for frame, name in ((None, "default.csv"), ("design", "design.csv")):
        extra = [] if frame is None else ["--frame", frame]
        code, out, _ = cli(monkeypatch, capsys, "compute", "--responses", answers, "--seasonal", "none",
                           "--replicates", 0, "--out", tmp_path / name, *extra)
        assert code == 0, out
    default = pd.read_csv(tmp_path / "default.csv", dtype={"period": str})
    design = pd.read_csv(tmp_path / "design.csv", dtype={"period": str})
    pd.testing.assert_series_equal(_headline(default), _headline(published), rtol=1e-9)
    assert (_headline(default) - _headline(design)).abs().max() > 0.01  # raking changes the figure


def test_publish_takes_the_same_options_as_compute(tmp_path, answers, monkeypatch, capsys):
    store = tmp_path / "s.duckdb"
    cli(monkeypatch, capsys, "import", "--responses", answers, "--store", store)
    for i, args in enumerate((["--frame", "design", "--min-n", 0], ["--frame", "design"])):
        code, out, _ = cli(monkeypatch, capsys, "publish", "--store", store, "--no-seasonal", "--replicates", 0,
                           "--as-of", f"2024-07-2{i}", *args)
        assert code == 0, out
    code, _, _ = cli(monkeypatch, capsys, "compute", "--responses", answers, "--seasonal", "none",
                     "--replicates", 0, "--frame", "design", "--min-n", 0, "--out", tmp_path / "c.csv")
    assert code == 0
    code, out, _ = cli(monkeypatch, capsys, "series", "--store", store, "--as-of", "2024-07-20",
                       "--out", tmp_path / "v0.csv")
    assert code == 0 and "from 1 vintage(s)" in out
    no_min = pd.read_csv(tmp_path / "v0.csv", dtype={"period": str})
    with_min = pd.read_csv(tmp_path / "c.csv", dtype={"period": str})
    assert (no_min["flag"] == "suppressed").sum() == 0
    pd.testing.assert_series_equal(_headline(no_min), _headline(with_min), rtol=1e-9)
    code, _, _ = cli(monkeypatch, capsys, "series", "--store", store, "--out", tmp_path / "v1.csv")
    latest = pd.read_csv(tmp_path / "v1.csv", dtype={"period": str})
    assert (latest["flag"] == "suppressed").sum() > 0  # the default minimum (30) again


def test_all_cells_suppressed_is_one_clear_line(tmp_path, monkeypatch, capsys):
    src = tmp_path / "dozen.csv"
    DOZEN.to_csv(src, index=False)  # 12 firms: every effective sample is below 30
    code, _, err = cli(monkeypatch, capsys, "compute", "--responses", src, "--out", tmp_path / "o.csv")
    assert code == 2
    assert err.strip().count("\n") == 0 and "cells are suppressed" in err and "--min-n" in err
    assert not (tmp_path / "o.csv").exists()
    store = tmp_path / "s.duckdb"
    assert cli(monkeypatch, capsys, "import", "--responses", src, "--store", store)[0] == 0
    code, _, err = cli(monkeypatch, capsys, "publish", "--store", store)
    assert code == 2 and err.strip().count("\n") == 0 and "cells are suppressed" in err
    code, out, _ = cli(monkeypatch, capsys, "publish", "--store", store, "--min-n", 0, "--no-seasonal",
                       "--replicates", 0)
    assert code == 0, out


def test_import_errors_exit_2_and_import_nothing(tmp_path, answers, monkeypatch, capsys):
    store = tmp_path / "s.duckdb"
    assert cli(monkeypatch, capsys, "import", "--responses", answers, "--store", store)[0] == 0
    code, _, err = cli(monkeypatch, capsys, "import", "--responses", answers, "--store", store)
    assert code == 2 and "already in the store" in err and "--replace" in err
    code, out, _ = cli(monkeypatch, capsys, "import", "--responses", answers, "--store", store, "--replace")
    assert code == 0 and "imported 726 responses" in out
    bad = pd.read_csv(answers).assign(period="2024-09")
    bad.loc[3, "sales"] = "sideways"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    code, _, err = cli(monkeypatch, capsys, "import", "--responses", tmp_path / "bad.csv", "--store", store)
    assert code == 2 and "'sales'" in err
    assert cli(monkeypatch, capsys, "import", "--responses", tmp_path / "missing.csv", "--store", store)[0] == 2


def test_series_errors_exit_2(tmp_path, answers, monkeypatch, capsys):
    store = tmp_path / "s.duckdb"
    cli(monkeypatch, capsys, "import", "--responses", answers, "--store", store)
    cli(monkeypatch, capsys, "publish", "--store", store, "--no-seasonal", "--replicates", 0, "--as-of",
        "2024-07-25")
    code, _, err = cli(monkeypatch, capsys, "series", "--store", store, "--as-of", "2024-01-01",
                       "--out", tmp_path / "o.csv")
    assert code == 2 and "nothing of 'smei' was published as of 2024-01-01" in err
    code, _, err = cli(monkeypatch, capsys, "series", "--store", store, "--vintage", "nope",
                       "--out", tmp_path / "o.csv")
    assert code == 2 and "no vintage 'nope'" in err
    code, _, _ = cli(monkeypatch, capsys, "series", "--store", store, "--as-of", "not-a-date",
                     "--out", tmp_path / "o.csv")
    assert code == 2
    assert not (tmp_path / "o.csv").exists()


def test_methodologies_lists_every_preset(monkeypatch, capsys):
    code, out, _ = cli(monkeypatch, capsys, "methodologies")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert {"smei", "nbs-pmi", "caixin-pmi", "ism-pmi", "ec-consumer", "ec-industry"} <= set(names)
    assert any("中小企业信心指数" in line for line in out.splitlines() if line.startswith("smei"))
