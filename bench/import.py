"""Import benchmark (not part of the test suite): `smepulse import` against DuckDB's own read_csv, same run.

    .venv/bin/python bench/import.py [--rows 2000000] [--repeat 3] [--before-src /path/to/other/src]

Builds a wide SMEI responses file of `--rows` rows (all questions, sector/region/size/exporter, weight) as
CSV and as zstd Parquet, then, each in a fresh subprocess (so peak memory is the run's own):
  1. smepulse import from CSV and from Parquet into a new store (validation, normalisation, long tables);
  2. the floor: DuckDB `CREATE TABLE t AS SELECT * FROM read_csv(...)` / `read_parquet(...)` into a new file
     (no validation, one wide table).
Reports medians over --repeat rounds (the runs of a round interleaved, so machine noise hits all alike) of wall
time, peak RSS (the child's VmHWM) and the store file size next to the zstd Parquet size; for smepulse also
`work_s`, the time inside `run()` (without interpreter and CLI start-up), and, measured alone, the start-up
(`python -c "import smepulse.cli"`). --before-src runs another source tree's smepulse (e.g. main before a change)
once per format in the same run, for a before/after.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
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

# The child's own peak RSS (VmHWM of its address space), written when it exits. Not ru_maxrss: Linux carries the
# parent's peak across fork and exec, so every child would report at least this process's (the built table).
PEAK = ("import atexit, sys\n"
        "def _peak():\n"
        "    kb = next(int(x.split()[1]) for x in open('/proc/self/status') if x.startswith('VmHWM'))\n"
        "    sys.stderr.write(f'\\nPEAK {kb}\\n')\n"
        "atexit.register(_peak)\n")
SMEPULSE = PEAK + """
import sys, time
from smepulse.cli import run
t0 = time.perf_counter()
code = run(["import", "--methodology", "smei", "--store", sys.argv[2], "--responses", sys.argv[1]])
sys.stderr.write(f"\\nWORK {time.perf_counter() - t0}\\n")
sys.exit(code)
"""
STARTUP = PEAK + "import smepulse.cli\n"
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


def measure(script: str, src: Path, store: Path, pythonpath: str = SRC) -> dict:
    for p in (store, Path(str(store) + ".wal")):
        p.unlink(missing_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", script, str(src), str(store)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": pythonpath})
    wall = time.perf_counter() - t0
    tagged = {x.split()[0]: float(x.split()[1]) for x in proc.stderr.splitlines() if x.startswith(("PEAK ", "WORK "))}
    size = sum(p.stat().st_size for p in (store, Path(str(store) + ".wal")) if p.exists())
    out = {"exit": proc.returncode, "wall_s": round(wall, 2),
           "peak_rss_mb": round(tagged["PEAK"] / 1024) if "PEAK" in tagged else None,
           "store_mb": round(size / 2**20, 1)}
    if "WORK" in tagged:
        out["work_s"] = round(tagged["WORK"], 2)
    if proc.returncode:
        out["stderr"] = "\n".join(x for x in proc.stderr.splitlines() if not x.startswith(("PEAK ", "WORK ")))[-300:]
    return out


def median_of(runs: list[dict]) -> dict:
    out = {k: statistics.median(r[k] for r in runs) for k in runs[0] if isinstance(runs[0][k], int | float)}
    out["runs"] = [r["wall_s"] for r in runs]
    out["exit"] = max(r["exit"] for r in runs)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--before-src", help="another source tree (its src/ folder) to run once per format")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_path, pq_path = build(args.rows, folder)
        out = {"rows": args.rows, "repeat": args.repeat, "csv_mb": round(csv_path.stat().st_size / 2**20, 1),
               "parquet_zstd_mb": round(pq_path.stat().st_size / 2**20, 1)}
        runs: dict[str, list[dict]] = {}
        for _ in range(args.repeat):
            for kind, src in (("csv", csv_path), ("parquet", pq_path)):
                for name, script in (("duckdb_read", DUCKDB), ("smepulse_import", SMEPULSE)):
                    runs.setdefault(f"{name}_{kind}", []).append(measure(script, src, folder / f"{name}-{kind}.db"))
            runs.setdefault("smepulse_startup", []).append(measure(STARTUP, csv_path, folder / "none.db"))
        if args.before_src:
            for kind, src in (("csv", csv_path), ("parquet", pq_path)):
                runs[f"before_import_{kind}"] = [measure(SMEPULSE, src, folder / f"before-{kind}.db", args.before_src)]
        for key, r in runs.items():
            out[key] = median_of(r)
        for kind in ("csv", "parquet"):
            a, b = out[f"smepulse_import_{kind}"], out[f"duckdb_read_{kind}"]
            out[f"ratio_time_{kind}"] = round(a["wall_s"] / b["wall_s"], 2)
            out[f"ratio_work_{kind}"] = round(a["work_s"] / b["wall_s"], 2)
            if f"before_import_{kind}" in out:
                out[f"ratio_time_before_{kind}"] = round(out[f"before_import_{kind}"]["wall_s"] / b["wall_s"], 2)
        out["store_over_parquet"] = round(out["smepulse_import_parquet"]["store_mb"] / out["parquet_zstd_mb"], 2)
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
