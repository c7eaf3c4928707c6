"""The store commands with --store FILE and --store postgresql://...: the same commands, the same results."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pandas as pd
import pytest
from typer.testing import CliRunner

from live_server import free_port
from smepulse.cli import app, run
from smepulse.errors import StoreError
from smepulse.store import open_store
from smepulse.web.auth import User, authenticate
from smepulse.web.db import Database

SRC = Path(__file__).resolve().parents[2] / "src"

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


def test_users_add_takes_the_store_by_path_or_url(store_target, capsys):
    """`--store` of the web commands takes a postgresql:// URL as the store commands' does (a Path option folded
    the URL's '//': "store folder postgresql:/user:PASSWORD@host does not exist")."""
    assert run(["users", "add", "alice", "--role", "admin", "--password", "long enough 1", "--store",
                store_target]) == 0, capsys.readouterr().err
    assert "user alice (admin) saved" in capsys.readouterr().out
    db = Database(store_target)
    try:
        assert authenticate(db, "alice", "long enough 1") == User("alice", "admin")
    finally:
        db.close()


def test_serve_takes_a_postgresql_url_as_store_and_hides_its_password(pg_url):
    """`smepulse serve --store postgresql://...` (a real process) serves that database and never prints the
    password (the embedded default's `serve --store FILE`: tests/store/test_held_store.py)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from smepulse.cli import main; main()", "serve", "--store",
                             pg_url, "--port", str(port)], env={**os.environ, "PYTHONPATH": str(SRC)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.communicate(timeout=5)
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert r.status_code == 200 and r.json() == {"status": "ok", "store": "postgresql"}
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    said = out.replace("\n", "")
    assert "smepulse serving postgresql://smepulse:***@127.0.0.1" in said and f"http://127.0.0.1:{port}/" in said
    assert urlsplit(pg_url).password not in out + err
