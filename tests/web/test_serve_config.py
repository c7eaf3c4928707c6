"""`smepulse serve --config FILE` (and `--smtp FILE`) with a bad file: one line naming the file and the key, exit 2,
before the store is opened, so the store file is left exactly as it was (no write, no WAL, no CLI descriptor).

DuckDB only, by nature: what is asserted is the store FILE and its folder left byte for byte as they were (a
PostgreSQL store has no file; `serve --db URL` reads the same config files first, by the same code)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smepulse.cli import run

SRC = Path(__file__).resolve().parents[2] / "src"
pytestmark = pytest.mark.backends("duckdb")


def snapshot(folder: Path) -> dict:
    """Every file in the store's folder with its size and modification time."""
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


@pytest.fixture()
def held(fresh_store):
    return fresh_store, snapshot(fresh_store.parent)


BAD = [("web.toml", "[respondents]\nlate_dayz = 1\n", "--config", "unknown key 'late_dayz'"),
       ("web.toml", "[respondents]\ntimezone = \"Mars/Olympus\"\n", "--config", "respondents.timezone"),
       ("web.toml", "[respondents\n", "--config", "not valid TOML"),
       ("smtp.toml", "[smtp]\nport = 25\n", "--smtp", "host")]


@pytest.mark.parametrize(("name", "text", "option", "says"), BAD)
def test_a_bad_config_file_stops_serve_before_the_store_is_opened(held, tmp_path_factory, capsys, name, text, option,
                                                                  says):
    store, before = held
    bad = tmp_path_factory.mktemp("conf") / name  # not in the store's folder, which must stay as it was
    bad.write_text(text, encoding="utf-8")
    start = time.monotonic()
    code = run(["serve", "--store", str(store), option, str(bad), "--port", "1"])
    took = time.monotonic() - start
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert says in err and str(bad) in err and len(err.splitlines()) == 1, err
    assert took < 2.0, took  # parsing one small file; opening this store alone takes longer on a loaded machine
    assert snapshot(store.parent) == before  # the store was not opened: not written, no WAL, no descriptor


def test_a_missing_config_file_is_named_over_a_real_process(held):
    store, before = held
    missing = store.parent / "nowhere" / "web.toml"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    r = subprocess.run([sys.executable, "-m", "smepulse.cli", "serve", "--store", str(store), "--config",
                        str(missing), "--port", "1"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == f"error: file {missing}: cannot read the web config: No such file or directory"
    assert "Traceback" not in r.stderr and "serving" not in r.stdout
    assert snapshot(store.parent) == before
