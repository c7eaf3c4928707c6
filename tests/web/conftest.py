"""One small store built once per test session ON EACH BACKEND (a DuckDB file, and a database on the run's
PostgreSQL server: tests/pgcluster.py); ONE running server over a copy of it per backend for the files that
share it (uvicorn in a thread on a free loopback port), and `own_server` for a module that needs a store of its own.

Every test that uses a store (through `server`, `client`, `own_server`, `store_copy`, `fresh_store`) runs twice,
`[duckdb]` and `[postgresql]`, with the same assertions: the session-scoped `backend` parameter, so pytest runs
all of one backend's tests, then the other's, and each backend's store, server and app are built once. A module
or test that can run on one backend only says so, and why, with `pytest.mark.backends("duckdb")`.

A module whose tests change what others see (panel, waves, publishing) runs on its own server, and each of its
tests gets the state it needs from fixtures, never from tests that ran before: any order, any xdist worker."""
from __future__ import annotations

import itertools
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

import pgcluster
from live_server import Server, free_port
from smepulse.methodology import load_methodology
from smepulse.pipeline.publish import publish
from smepulse.sim.survey import simulate_survey
from smepulse.store import open_store
from smepulse.survey.responses import from_frame
from smepulse.web.app import create_app
from smepulse.web.auth import add_user
from smepulse.web.config import WebConfig

BACKENDS = ("duckdb", "postgresql")


def pytest_configure(config):
    config.addinivalue_line("markers", "backends(*names): run this test on these store backends only (say why)")


def pytest_generate_tests(metafunc):
    """Each test that needs a store runs on every backend (pytest_collection_modifyitems drops the runs a
    `backends` mark excludes: a mark on one pytest.param is seen only there)."""
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS, indirect=True, scope="session")


def pytest_collection_modifyitems(config, items):
    """Only the backends a test's `backends` mark names. With `--dist loadgroup` each backend's web tests run on
    one xdist worker (`-n 2`: the DuckDB half beside the PostgreSQL half), so each backend's store, server and
    Chromium are built once, in one process (plain `-n` works too; without -n, one process runs both halves)."""
    here = Path(__file__).parent
    keep, drop = [], []
    for item in items:
        if here not in Path(item.path).parents:
            keep.append(item)
            continue
        mark = item.get_closest_marker("backends")
        on = getattr(item, "callspec", None) and item.callspec.params.get("backend")
        if mark and on and on not in mark.args:
            drop.append(item)
            continue
        item.add_marker(pytest.mark.xdist_group(f"web-{on or 'postgresql'}"))  # store-free tests: the lighter half
        keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def backend(request) -> str:
    return request.param


ADMIN = ("admin", "correct horse battery")
VIEWER = ("viewer", "viewer password 1")


def build_store(target: str | Path) -> str | Path:
    """120 firms over 14 months, a flash and a final vintage (no X-13: fast)."""
    m = load_methodology("smei")
    sample = simulate_survey(n_firms=120, n_months=14, start="2024-01", seed=3)
    with open_store(target) as st:
        st.save_methodology(m)
        st.import_responses(from_frame(sample.responses, m, source="simulator"))
        publish(st, m, kind="flash", as_of=datetime(2025, 3, 10), seasonal=False, replicates=20)
        publish(st, m, kind="final", as_of=datetime(2025, 3, 25), seasonal=False, replicates=20)
    return target


@dataclass
class Template:
    """The session's store on one backend, built once: a closed DuckDB file (a copy is a file copy), or a
    PostgreSQL database nobody is connected to (a copy is CREATE DATABASE ... TEMPLATE: a fraction of a second)."""
    backend: str
    source: str  # the DuckDB file, or the template database's name
    prefix: str = ""  # of the copies' database names
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def copy(self, folder: Path, name: str = "copy") -> Path | str:
        """A store of its own: a DuckDB file in `folder`, or a postgresql:// URL of a new database."""
        if self.backend == "duckdb":
            folder.mkdir(parents=True, exist_ok=True)
            return Path(shutil.copy(self.source, folder / "smepulse.duckdb"))
        label = re.sub(r"[^a-z0-9]+", "_", name.lower())[:20]
        return pgcluster.new_database(f"{self.prefix}_{next(self.counter)}_{label}", template=self.source)


def pg_available() -> None:
    """Starts the run's server; outside CI, skips when PostgreSQL is not installed (CI must have it)."""
    try:
        pgcluster.admin_url()
    except FileNotFoundError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def store_template(backend, tmp_path_factory, worker_id) -> Template:
    """Built once per backend; tests get copies."""
    if backend == "duckdb":
        return Template(backend, str(build_store(tmp_path_factory.mktemp("web-template") / "smepulse.duckdb")))
    pg_available()
    name = f"smepulse_web_{worker_id}"
    build_store(pgcluster.new_database(name))
    return Template(backend, name, prefix=f"{name}_c")


def copy_store(template: Template, folder: Path, name: str = "copy") -> Path | str:
    return template.copy(folder, name)


@pytest.fixture()
def fresh_store(store_template, tmp_path) -> Path | str:
    """A copy of the session's store for this test alone."""
    return copy_store(store_template, tmp_path, "fresh")


@pytest.fixture(scope="session")
def store_path(store_template, tmp_path_factory) -> Path | str:
    return copy_store(store_template, tmp_path_factory.mktemp("web"), "shared")


class Mailbox:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) keeping every message it receives."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture(scope="session")
def mailbox(tmp_path_factory):
    box = Mailbox()
    box.controller.start()
    box.settings = tmp_path_factory.mktemp("smtp") / "smtp.toml"
    box.settings.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {box.controller.port}\n'
                            'sender = "survey@example.org"\n', encoding="utf-8")
    yield box
    box.controller.stop()


@contextmanager
def serving(store: Path | str, mailbox: Mailbox) -> Iterator[Server]:
    """The app over `store` with an admin and a viewer, served on a free loopback port while inside."""
    app = create_app(WebConfig(store=store, release_charts=False, smtp_config=mailbox.settings))
    add_user(app.state.db, *ADMIN, role="admin")
    add_user(app.state.db, *VIEWER, role="viewer")
    srv = Server(app, free_port()).start()
    try:
        yield srv
    finally:
        srv.stop()
        app.state.db.close()


@pytest.fixture(scope="session")
def server(store_path, mailbox):
    with serving(store_path, mailbox) as srv:
        yield srv


@pytest.fixture(scope="session")
def own_server(store_template, mailbox, tmp_path_factory):
    """own_server(): a context manager serving a fresh copy of the session's store (for a module fixture)."""
    def start():
        return serving(copy_store(store_template, tmp_path_factory.mktemp("own"), "own"), mailbox)
    return start


@pytest.fixture(scope="session")
def store_copy(store_template, tmp_path_factory):
    """store_copy(name): a fresh copy of the session's store (a file in a folder of its own, or a database), for a
    module's own app (with its own config: a credit model, a web config file)."""
    return lambda name: copy_store(store_template, tmp_path_factory.mktemp(name), name)


@pytest.fixture()
def client(server):
    with httpx.Client(base_url=server.url, timeout=30, follow_redirects=False) as c:
        yield c


def csrf_from(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


def sign_in(client: httpx.Client, user: tuple[str, str] = ADMIN) -> str:
    """Sign in through the real form; returns a CSRF token for this session."""
    page = client.get("/signin")
    token = csrf_from(page.text)
    r = client.post("/signin", data={"username": user[0], "password": user[1], "next": "/admin",
                                     "csrf_token": token})
    assert r.status_code == 303, r.text
    return csrf_from(client.get("/admin").text)


@pytest.fixture(scope="session")
def web():
    """Helpers for tests: csrf_from(html), sign_in(client, user), ADMIN, VIEWER."""
    class Helpers:
        pass
    h = Helpers()
    h.csrf_from, h.sign_in, h.ADMIN, h.VIEWER = csrf_from, sign_in, ADMIN, VIEWER
    return h
