"""A 1 GB line, made on the fly in a temporary folder (nothing large in the repository): refused with one line
naming the file and the line, after reading about the line limit (64 MB) rather than the whole file, quickly and
in bounded memory. (The compressed cases are multi-member gzip files, one 64 MB member repeated, which gzip
readers decompress as one 1 GB stream; only the plain file costs 1 GB of disk writing.)"""
from __future__ import annotations

import gzip
import time
import tracemalloc

import pytest

from smepulse.cli import run
from smepulse.survey.responses import MAX_HEADER, MAX_LINE

GB = 1 << 30
BLOCK = b"x" * (64 << 20)


def _one_gb_line(fh, head: bytes, tail: bytes, block: bytes) -> None:
    fh.write(head)
    for _ in range(GB // len(BLOCK)):
        fh.write(block)
    fh.write(tail)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("long")
    with open(d / "r.csv", "wb") as fh:  # a real 1 GB line: line 2
        _one_gb_line(fh, b"period,firm_id,sales\n2024-03,", b",up\n", BLOCK)
    with open(d / "r.csv.gz", "wb") as fh:
        _one_gb_line(fh, gzip.compress(b"period,firm_id,sales\n2024-03,"), gzip.compress(b",up\n"),
                     gzip.compress(BLOCK, compresslevel=1))
    with open(d / "h.csv.gz", "wb") as fh:  # a 1 GB header line (no line break at all)
        _one_gb_line(fh, gzip.compress(b"period,"), b"", gzip.compress(BLOCK, compresslevel=1))
    yield d
    for p in d.iterdir():
        p.unlink()


@pytest.mark.parametrize("name, says", [
    ("r.csv", f"line 2 is longer than {MAX_LINE >> 20} MB"),
    ("r.csv.gz", f"line 2 is longer than {MAX_LINE >> 20} MB"),
    ("h.csv.gz", f"the header line is longer than {MAX_HEADER >> 20} MB"),
])
@pytest.mark.parametrize("command", ["import", "compute"])
def test_one_gb_line_is_refused_in_one_line(folder, name, says, command, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SMEPULSE_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("COLUMNS", "300")
    src = folder / name
    assert src.stat().st_size > GB or name.endswith(".gz")
    argv = {"import": ["import", "--methodology", "smei", "--store", str(tmp_path / "s.duckdb")],
            "compute": ["compute", "--methodology", "smei", "--out", str(tmp_path / "o.csv")]}[command]
    tracemalloc.start()
    t0 = time.perf_counter()
    code = run([*argv, "--responses", str(src)])
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error:") and str(src) in err and says in err, err
    assert peak < 200 << 20, f"{peak >> 20} MB traced while refusing a 1 GB line"
    assert elapsed < 60, f"{elapsed:.1f} s to refuse a 1 GB line"  # reads ~64 MB, not 1 GB (loaded machine)
    assert not (tmp_path / "s.duckdb").exists() and not (tmp_path / "o.csv").exists()
