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


CHROMIUM = os.environ.get("SMEPULSE_CHROMIUM", "/usr/bin/chromium")
# Flags for a closed network (no background connections) and root in a container.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """ONE Debian Chromium per test session, driven by Playwright (never a downloaded browser).
    Tests open their own context: `page = browser.new_page(viewport={"width": 390, "height": 844})`."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (heavy; only browser tests pay for it)

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
