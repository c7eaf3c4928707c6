"""A DuckDB store file held by another process (a running `smepulse serve`): a writing command gets one
line naming the store, the holder's PID and what to do instead, exit 2, and no traceback."""
from __future__ import annotations

import subprocess
import sys
import time

from smepulse.cli import run
from smepulse.store import open_store

HOLD = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(60)"


def test_writing_to_a_store_held_by_another_process_says_who_and_what_to_do(tmp_path, capsys):
    store = tmp_path / "s.duckdb"
    open_store(store).close()  # a valid, empty store
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(store)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code = run(["publish", "--store", str(store)])
        err = capsys.readouterr().err
        assert code == 2, err
        line = " ".join(err.split())
        assert f"PID {holder.pid}" in line and "smepulse serve" in line and "PostgreSQL" in line
        assert "Traceback" not in err
    finally:
        holder.kill()
        holder.wait(10)
    time.sleep(0.1)
    open_store(store).close()  # released: opens again
