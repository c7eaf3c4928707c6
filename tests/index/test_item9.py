"""Smaller correctness fixes: columns from explicit lists (a classification named city or channel), raking
that cannot meet its margins, the bootstrap's raking tolerance, t intervals near the publication minimum,
quarterly effective samples, and `compose` naming what it skipped."""
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import SMEI
from scipy.stats import t as student_t

from smepulse.cli import main
from smepulse.errors import InputError
from smepulse.index import compute
from smepulse.index.compose import quarterly
from smepulse.index.precision import _rake, interval_quantile
from smepulse.index.weighting import RAKE_TOLERANCE, frame_from_methodology, rake
from smepulse.methodology import load_methodology
from smepulse.sim.survey import simulate_survey
from smepulse.survey.responses import from_frame


@pytest.fixture(scope="module")
def sample():
    return simulate_survey(n_firms=400, n_months=2, start="2024-01", seed=8).responses


@pytest.mark.parametrize("name", ["city", "channel", "country"])
def test_a_classification_named_like_a_count_column_rakes(tmp_path, sample, name):
    """The same answers with `region` renamed give the same indices (the engine used to pick count
    columns by the prefix 'c' and crashed on these names)."""
    text = Path(SMEI.source_file).read_text(encoding="utf-8")
    path = tmp_path / f"smei-{name}.yaml"
    path.write_text(text.replace("region", name), encoding="utf-8")
    renamed = load_methodology(str(path))
    got = compute(from_frame(sample.rename(columns={"region": name}), renamed),
                  frame_from_methodology(renamed)).series
    want = compute(from_frame(sample, SMEI), frame_from_methodology(SMEI)).series
    got["group"] = got["group"].str.replace(f"{name}=", "region=", regex=False)
    key = ["period", "series", "group", "adjustment"]
    a, b = got.set_index(key)["value"].sort_index(), want.set_index(key)["value"].sort_index()
    pd.testing.assert_series_equal(a, b, rtol=1e-12)


def test_raking_that_cannot_meet_every_margin_is_an_error():
    # every manufacturer is in the east and nobody else is: sector and region shares contradict each other
    cells = pd.DataFrame({"period": "2024-01", "sector": ["manufacturing", "construction"],
                          "region": ["east", "west"], "w": [10.0, 10.0]})
    targets = pd.DataFrame({"period": "2024-01", "dimension": ["sector", "sector", "region", "region"],
                            "value": ["manufacturing", "construction", "east", "west"],
                            "share": [0.5, 0.5, 0.2, 0.8]})
    with pytest.raises(InputError, match="raking cannot meet every margin of sector, region"):
        rake(cells, targets, ["sector", "region"])
    # consistent targets: met, factors hand-computed (post-stratification to 0.3 / 0.7 of 20)
    ok = targets.assign(share=[0.3, 0.7, 0.3, 0.7])
    factor, _ = rake(cells, ok, ["sector", "region"])
    np.testing.assert_allclose(factor, [0.6, 1.4], rtol=1e-12)


def test_bootstrap_rakes_to_the_estimates_tolerance():
    """A 3 x 3 table with a sparse corner needs far more than 30 IPF passes to meet its margins."""
    rng = np.random.default_rng(0)
    base = np.array([[50.0, 1.0, 0.5], [1.0, 40.0, 0.2], [0.3, 0.4, 30.0]]).ravel()
    totals = base[None, :] * rng.uniform(0.8, 1.2, size=(4, 9))
    rows, cols = np.repeat(np.arange(3), 3), np.tile(np.arange(3), 3)
    shares = [np.array([0.2, 0.3, 0.5]), np.array([0.6, 0.3, 0.1])]
    t = totals * _rake(totals, [rows, cols], shares)
    grand = totals.sum(axis=1, keepdims=True)
    for mem, sh in zip([rows, cols], shares, strict=True):
        got = np.stack([t[:, mem == v].sum(axis=1) for v in range(3)], axis=1) / grand
        np.testing.assert_allclose(got, np.broadcast_to(sh, got.shape), atol=10 * RAKE_TOLERANCE)


def test_t_quantile_on_the_effective_sample():
    q = interval_quantile(np.array([30.0, 1e6, np.nan]), 0.95)
    assert q[0] == pytest.approx(student_t.ppf(0.975, 29)) and q[0] == pytest.approx(2.045, abs=1e-3)
    assert q[1] == pytest.approx(1.95996, abs=1e-4) and q[2] == pytest.approx(1.95996, abs=1e-4)


def test_quarterly_effective_sample_is_not_the_panel_three_times():
    monthly = pd.DataFrame({"period": ["2024-01", "2024-02", "2024-03"], "series": "sales", "group": "all",
                            "value": [50.0, 53.0, 56.0], "n": [41, 52, 60], "n_eff": [40.0, 50.0, 60.0]})
    q = quarterly(monthly).iloc[0]
    assert q["period"] == "2024Q1" and q["value"] == 53.0
    assert q["n"] == 60 and q["n_eff"] == 50.0  # not 153 and 150


def _cli(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["smepulse", *map(str, args)])
    with pytest.raises(SystemExit) as done:
        main()
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


def test_compose_names_skipped_months_and_exits_2_when_nothing_is_composed(tmp_path, monkeypatch, capsys):
    comps = ["new_orders", "production", "employment", "supplier_delivery_time", "raw_materials_inventory"]
    rows = [(p, c, 50.0 + i) for p in ("2024-01", "2024-02") for i, c in enumerate(comps)
            if not (p == "2024-02" and c == "employment")]
    src = tmp_path / "nbs.csv"
    pd.DataFrame(rows, columns=["period", "series", "value"]).to_csv(src, index=False)
    code, out, err = _cli(monkeypatch, capsys, "compose", "--methodology", "nbs-pmi", "--series", src,
                          "--out", tmp_path / "o.csv")
    assert code == 0 and "1 months composed" in out
    assert "2024-02 pmi (missing employment)" in err
    only = tmp_path / "only.csv"
    pd.DataFrame({"period": ["2024-01"], "series": ["production"], "value": [51.0]}).to_csv(only, index=False)
    code, _, err = _cli(monkeypatch, capsys, "compose", "--methodology", "nbs-pmi", "--series", only,
                        "--out", tmp_path / "o2.csv")
    assert code == 2 and "nothing was composed" in err and "2024-01 pmi (missing new_orders, employment" in err
    assert not (tmp_path / "o2.csv").exists()
