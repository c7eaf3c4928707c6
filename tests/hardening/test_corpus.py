"""Run every case of the bad-input corpus in-process: a clear error or a correct result, never a traceback."""
from __future__ import annotations

import pytest
from corpus import CASES, Case

from smepulse.cli import run


def _run(case: Case, tmp_path, capsys) -> tuple[int, str, str]:
    for name, build in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        build(path)
    argv = [a.replace("{d}", str(tmp_path)) for a in case.argv]
    code = run(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(reason=c.xfail, strict=True)]
                                               if c.xfail else []) for c in CASES])
def test_case(case: Case, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SMEPULSE_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = _run(case, tmp_path, capsys)
    assert "Traceback" not in err and "Traceback" not in out, err
    assert code != 1, f"unanticipated failure (a bug): {err}"
    if case.expect == "ok":
        assert code == 0, f"expected success, got exit {code}: {err}"
        if case.check:
            case.check(tmp_path)
        return
    assert code == 2, f"expected a clear error (exit 2), got exit {code}\nstdout: {out[-500:]}\nstderr: {err}"
    first = err.strip().splitlines()[0] if err.strip() else ""
    assert first.startswith(("error:", "Usage:")), err
    flat = " ".join(err.split())
    for text in case.says:
        assert " ".join(text.split()) in flat, f"error does not say {text!r}: {err}"
    if case.check:
        case.check(tmp_path)


def test_corpus_is_large_enough():
    assert len(CASES) >= 150
