"""A formula in a methodology's classification value, through the real path a producer runs: import ->
publish -> release with every export. No spreadsheet output holds a live formula: the Excel workbook has no
formula cell and every CSV and SDMX-CSV cell that starts with the value is neutralised (a leading `'`)."""
from __future__ import annotations

import csv

import openpyxl
import yaml

from smepulse.cli import run
from smepulse.methodology import load_methodology
from smepulse.methodology.model import PRESET_DIR
from smepulse.sim.survey import simulate_survey

FORMULA = "=cmd|' /C calc'!A0"


def _swap(x, old: str, new: str):
    """`x` (YAML data) with every string `old` and every `dimension=old` group key turned into `new`."""
    if isinstance(x, dict):
        return {_swap(k, old, new): _swap(v, old, new) for k, v in x.items()}
    if isinstance(x, list):
        return [_swap(v, old, new) for v in x]
    if x == old:
        return new
    if isinstance(x, str) and x.endswith("=" + old):
        return x[: -len(old)] + new
    return x


def test_formula_classification_value_is_neutralised_in_every_export(tmp_path):
    data = yaml.safe_load((PRESET_DIR / "smei.yaml").read_text(encoding="utf-8"))
    yml = tmp_path / "m.yaml"
    yml.write_text(yaml.safe_dump(_swap(data, "construction", FORMULA), allow_unicode=True), encoding="utf-8")
    m = load_methodology(yml)
    assert FORMULA in m.classifications["sector"].values
    src = tmp_path / "r.parquet"
    simulate_survey(n_firms=1500, n_months=14, seed=5, methodology=m).responses.to_parquet(src)
    store = str(tmp_path / "s.duckdb")
    assert run(["import", "--methodology", str(yml), "--store", store, "--responses", str(src)]) == 0
    assert run(["publish", "--methodology", str(yml), "--store", store, "--no-seasonal", "--replicates", "0",
                "--min-n", "0"]) == 0
    out = tmp_path / "rel"
    assert run(["release", "--methodology", str(yml), "--store", store, "--period", "2024-02",
                "--format", "md", "--out", str(out / "r.md")]) == 0
    files = sorted(p for p in out.rglob("*") if p.is_file())
    sheets = [p for p in files if p.suffix == ".xlsx"]
    tables = [p for p in files if p.suffix == ".csv"]
    assert sheets and len(tables) >= 2, files  # the CSV and the SDMX-CSV
    for book in sheets:
        wb = openpyxl.load_workbook(book)  # formulas as written, not cached values
        cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
        assert not [c.coordinate for c in cells if c.data_type == "f"]
        assert any(isinstance(c.value, str) and FORMULA in c.value for c in cells)  # the group is there
    for table in tables:
        rows = list(csv.reader(table.open(encoding="utf-8-sig", newline="")))
        cells = [v for r in rows for v in r]
        assert not [v for v in cells if v[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(v)], table
        assert any(FORMULA.upper() in v.upper() for v in cells), table  # it got here (SDMX codes: upper case)


def _number(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True
