"""`smepulse serve` on a port another program holds, as a real process: one line, exit 2, nothing announced and
no descriptor written (the CLI would otherwise forward its commands to a server that never started)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from live_server import free_port
from smepulse.web.forward import descriptor_path

pytestmark = pytest.mark.backends("duckdb")  # the descriptor is the embedded default's
SRC = Path(__file__).resolve().parents[2] / "src"


def test_serve_on_a_port_in_use_says_so_in_one_line_and_writes_nothing(store_copy):
    store = store_copy("busy-port")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "smepulse.cli", "serve", "--store", str(store), "--port",
                            str(port)], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200"})
    out = (r.stdout + r.stderr).strip()
    assert r.returncode == 2, out
    assert out == f"error: port {port} on 127.0.0.1 is in use (another server?): stop it or give another --port", out
    assert not descriptor_path(store).exists()
    assert "serving" not in out and "Traceback" not in out


def test_serve_with_a_credit_model_that_does_not_load_says_so_and_does_not_start(store_copy, tmp_path):
    store = store_copy("bad-model")
    bad = tmp_path / "champion"
    bad.mkdir()
    (bad / "manifest.json").write_text("{}", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "smepulse.cli", "serve", "--store", str(store), "--port",
                        str(free_port()),
                        "--credit-model", str(bad)], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200"})
    out = (r.stdout + r.stderr).strip()
    assert r.returncode == 2 and out.startswith("error: ") and len(out.splitlines()) == 1, out
    assert str(bad) in out and "serving" not in out and "Traceback" not in out
    assert not descriptor_path(store).exists()
