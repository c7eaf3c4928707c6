"""One small store built once per test session; ONE running server over a copy of it for the files that share it
(uvicorn in a thread on a free loopback port), and `own_server` for a module that needs a store of its own.

A module whose tests change what others see (panel, waves, publishing) runs on its own server, and each of its
tests gets the state it needs from fixtures, never from tests that ran before: any order, any xdist worker."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from live_server import Server, free_port
from smepulse.methodology import load_methodology
from smepulse.pipeline.publish import publish
from smepulse.sim.survey import simulate_survey
from smepulse.store import open_store
from smepulse.survey.responses import from_frame
from smepulse.web.app import create_app
from smepulse.web.auth import add_user
from smepulse.web.config import WebConfig


def pytest_collection_modifyitems(items):
    """With `--dist loadgroup` every web test runs on one xdist worker, beside the rest of the suite on the others:
    the session's store, server and Chromium are built once instead of once per worker (plain `-n` works too)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.xdist_group("web"))


ADMIN = ("admin", "correct horse battery")
VIEWER = ("viewer", "viewer password 1")


def build_store(path: Path) -> Path:
    """120 firms over 14 months, a flash and a final vintage (no X-13: fast)."""
    m = load_methodology("smei")
    sample = simulate_survey(n_firms=120, n_months=14, start="2024-01", seed=3)
    with open_store(path) as st:
        st.save_methodology(m)
        st.import_responses(from_frame(sample.responses, m, source="simulator"))
        publish(st, m, kind="flash", as_of=datetime(2025, 3, 10), seasonal=False, replicates=20)
        publish(st, m, kind="final", as_of=datetime(2025, 3, 25), seasonal=False, replicates=20)
    return path


@pytest.fixture(scope="session")
def store_template(tmp_path_factory) -> Path:
    """Built once; tests get copies (a closed DuckDB file is one file)."""
    return build_store(tmp_path_factory.mktemp("web-template") / "smepulse.duckdb")


def copy_store(template: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(template, folder / "smepulse.duckdb"))


@pytest.fixture()
def fresh_store(store_template, tmp_path) -> Path:
    """A copy of the session's store for this test alone."""
    return copy_store(store_template, tmp_path)


@pytest.fixture(scope="session")
def store_path(store_template, tmp_path_factory) -> Path:
    return copy_store(store_template, tmp_path_factory.mktemp("web"))


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
def serving(store: Path, mailbox: Mailbox) -> Iterator[Server]:
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
        return serving(copy_store(store_template, tmp_path_factory.mktemp("own")), mailbox)
    return start


@pytest.fixture(scope="session")
def store_copy(store_template, tmp_path_factory):
    """store_copy(name): a fresh copy of the session's store in a folder of its own, for a module's own app
    (with its own config: a credit model, a web config file)."""
    return lambda name: copy_store(store_template, tmp_path_factory.mktemp(name))


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
