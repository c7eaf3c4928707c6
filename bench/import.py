"""Import benchmark (not part of the test suite): `smepulse import` against DuckDB's own read_csv, same run.

    .venv/bin/python bench/import.py [--rows 2000000]

Builds a wide SMEI responses file of `--rows` rows (all questions, sector/region/size/exporter, weight) as
CSV and as zstd Parquet, then, each in a fresh subprocess (so peak memory is the run's own):
  1. smepulse import from CSV and from Parquet into a new store (validation, normalisation, long tables);
  2. the floor: DuckDB `CREATE TABLE t AS SELECT * FROM read_csv(...)` / `read_parquet(...)` into a new file
     (no validation, one wide table).
Reports wall time, peak RSS (ru_maxrss of the child) and the store file size next to the zstd Parquet size.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from smepulse.methodology import load_methodology

SRC = str(Path(__file__).resolve().parents[1] / "src")

PEAK = ("import atexit, resource, sys\n"  # the child's own peak RSS, written when it exits
        "atexit.register(lambda: sys.stderr.write("
        "f'\\nPEAK {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n'))\n")
SMEPULSE = PEAK + """
import sys
from smepulse.cli import run
sys.exit(run(["import", "--methodology", "smei", "--store", sys.argv[2], "--responses", sys.argv[1]]))
"""
DUCKDB = PEAK + """
import sys, duckdb
con = duckdb.connect(sys.argv[2])
reader = "read_parquet" if sys.argv[1].endswith(".parquet") else "read_csv"
con.execute(f"CREATE TABLE t AS SELECT * FROM {reader}(?)", [sys.argv[1]])
con.close()
"""


def build(rows: int, folder: Path) -> tuple[Path, Path]:
    m = load_methodology("smei")
    rng = np.random.default_rng(0)
    firms = 50_000
    months = -(-rows // firms)
    firm = np.tile(np.arange(firms), months)[:rows]
    month = np.repeat(np.arange(months), firms)[:rows]
    cols: dict[str, pa.Array] = {
        "period": pa.array([f"{2000 + (k // 12):04d}-{k % 12 + 1:02d}" for k in range(months)]).take(month),
        "firm_id": pa.array([f"F{i:06d}" for i in range(firms)]).take(firm),
        "weight": pa.array(rng.integers(1, 5, rows).astype(float)),
    }
    for d, cls in m.classifications.items():
        values = pa.array(list(cls.values))
        cols[d] = values.take(pa.array(rng.integers(0, len(cls.values), firms))).take(firm)
    for q in m.questions:
        codes = pa.array(list(q.codes) + [None])
        p = [0.95 / len(q.codes)] * len(q.codes) + [0.05]  # 5% blank answers
        cols[q.id] = codes.take(pa.array(rng.choice(len(q.codes) + 1, rows, p=p)))
    table = pa.table(cols)
    csv_path, pq_path = folder / "responses.csv", folder / "responses.parquet"
    pacsv.write_csv(table, csv_path)
    pq.write_table(table, pq_path, compression="zstd")
    return csv_path, pq_path


def measure(script: str, src: Path, store: Path) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", script, str(src), str(store)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": SRC})
    wall = time.perf_counter() - t0
    peaks = [int(x.split()[1]) for x in proc.stderr.splitlines() if x.startswith("PEAK ")]
    size = store.stat().st_size + sum(p.stat().st_size for p in store.parent.glob(store.name + ".wal"))
    return {"exit": proc.returncode, "wall_s": round(wall, 2),
            "peak_rss_mb": round(peaks[-1] / 1024) if peaks else None,
            "store_mb": round(size / 2**20, 1),
            "stderr": "\n".join(x for x in proc.stderr.splitlines() if not x.startswith("PEAK ")).strip()[-300:]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_path, pq_path = build(args.rows, folder)
        out = {"rows": args.rows, "csv_mb": round(csv_path.stat().st_size / 2**20, 1),
               "parquet_zstd_mb": round(pq_path.stat().st_size / 2**20, 1)}
        for name, script in (("duckdb_read", DUCKDB), ("smepulse_import", SMEPULSE)):
            for kind, src in (("csv", csv_path), ("parquet", pq_path)):
                store = folder / f"{name}-{kind}.duckdb"
                out[f"{name}_{kind}"] = measure(script, src, store)
        for kind in ("csv", "parquet"):
            a, b = out[f"smepulse_import_{kind}"], out[f"duckdb_read_{kind}"]
            out[f"ratio_time_{kind}"] = round(a["wall_s"] / b["wall_s"], 2)
        out["store_over_parquet"] = round(out["smepulse_import_parquet"]["store_mb"] / out["parquet_zstd_mb"], 2)
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
