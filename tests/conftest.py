"""Shared test fixtures: where the real public datasets live."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SMEPULSE_SHARED", ROOT.parent / "shared"))
DATA = SHARED / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; skipped with a reason only outside CI when it is absent."""
    if not DATA.is_dir():
        if os.environ.get("CI"):
            raise RuntimeError(f"CI needs the shared datasets at {DATA}")
        pytest.skip(f"../shared/data not found at {DATA}")
    return DATA
