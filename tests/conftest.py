"""Shared test fixtures: where the real public datasets live, the session's Chromium and PostgreSQL server."""
from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import pytest

import pgcluster

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


# -- PostgreSQL: one server per test run (tests/pgcluster.py), shared by the xdist workers --------------------
_OWNS_PG_STATE = False


def pytest_configure(config):
    """The controlling process names the run's state folder before xdist starts its workers (they inherit the
    name); the folder is made by the first test that needs the server, so runs without one leave nothing."""
    global _OWNS_PG_STATE
    if not hasattr(config, "workerinput") and not os.environ.get(pgcluster.STATE_ENV):
        os.environ[pgcluster.STATE_ENV] = os.path.join(tempfile.gettempdir(),
                                                       f"smepulse-pg-run-{os.getpid()}-{secrets.token_hex(4)}")
        _OWNS_PG_STATE = True


def pytest_unconfigure(config):
    if _OWNS_PG_STATE:
        pgcluster.stop(Path(os.environ.pop(pgcluster.STATE_ENV)))


@pytest.fixture(scope="session")
def pg_database(worker_id) -> str:
    """This worker's own database on the run's PostgreSQL server (started on first use)."""
    try:
        return pgcluster.server_database(worker_id)
    except FileNotFoundError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))


@pytest.fixture()
def pg_url(pg_database) -> str:
    """A postgresql:// URL of an empty store (a new schema in the worker's database)."""
    return pgcluster.fresh_schema(pg_database)


@pytest.fixture(params=["duckdb", "postgresql"])
def store_target(request, tmp_path) -> str:
    """An empty store on each backend: a DuckDB file, then a PostgreSQL URL. Tests that take it run twice."""
    if request.param == "duckdb":
        return str(tmp_path / "store.duckdb")
    return request.getfixturevalue("pg_url")
