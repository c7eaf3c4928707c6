"""A DuckDB store file held by another process.

Held by a running `smepulse serve` (a real server subprocess): the CLI (a real subprocess) sends its command to
that server, which runs it on its own store handle; import, publish, series and release work while the server
serves, and web answers given during a CLI publish are stored exactly once. A wrong or missing token is refused;
a stale descriptor (dead process) is ignored. Held by any other process: one line naming the store and the
holder's PID, exit 2, no traceback.

DuckDB only, by nature: a DuckDB file takes one writing process, and what is tested is how the CLI works around
that (sending its command to the server that holds the file). A PostgreSQL store has no such limit: the CLI opens
a connection of its own beside the server's (tests/store/test_cli_backends.py, test_write_conflicts.py)."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from live_server import free_port
from smepulse.cli import run
from smepulse.methodology import load_methodology
from smepulse.sim.survey import simulate_survey
from smepulse.store import open_store
from smepulse.web.forward import descriptor_path

ROOT = Path(__file__).resolve().parents[2]
HOLD = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(60)"
M = load_methodology("smei")
PERIOD = "2025-03"  # the simulated months end here; the web wave adds firms of its own to it
ADMIN = ("admin", "correct horse battery")
N_WEB = 24
VIA_SERVER = "running the command in that server"


def fieldwork() -> dict:
    """Fieldwork dates around today: links take answers only while fieldwork runs."""
    today = datetime.now(UTC).date()
    return {"opens": str(today - timedelta(days=7)), "closes": str(today + timedelta(days=7))}


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}


def cli(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """The CLI as a user runs it: a process of its own, in the folder `cwd`."""
    return subprocess.run([sys.executable, "-c", "from smepulse.cli import main; main()", *args], cwd=cwd,
                          env=_env(), capture_output=True, text=True, timeout=timeout)


def cli_here(cwd: Path, monkeypatch, capsys, *args: str) -> subprocess.CompletedProcess:
    """The same CLI client in this process (each CLI process spends seconds importing; the client code is the
    same): run() in the folder `cwd`, its output captured."""
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    code = run(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


def test_writing_to_a_store_held_by_another_process_says_who_and_what_to_do(tmp_path, capsys):
    store = tmp_path / "s.duckdb"
    open_store(store).close()  # a valid, empty store
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(store)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code = run(["publish", "--store", str(store)])
        err = capsys.readouterr().err
        assert code == 2, err
        line = " ".join(err.split())
        assert f"PID {holder.pid}" in line and "smepulse serve" in line and "PostgreSQL" in line
        assert "Traceback" not in err
    finally:
        holder.kill()
        holder.wait(10)
    time.sleep(0.1)
    open_store(store).close()  # released: opens again


# -------------------------------------------------------------------------------------------------- served

def register_csv(n: int) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["firm_id", "name", "sector", "region", "size", "exporter", "weight", "email"])
    values = {d: M.classifications[d].values for d in ("sector", "region", "size", "exporter")}
    for i in range(n):
        w.writerow([f"W{i:04d}", f"Web firm {i}", *(v[i % len(v)] for v in values.values()), 1, ""])
    return buf.getvalue().encode()


def answers(seed: int) -> dict:
    return {q.id: q.codes[(seed + k) % 3] for k, q in enumerate(M.questions)}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """An empty store, a responses file and `smepulse serve` on it (a subprocess on a free loopback port)."""
    folder = tmp_path_factory.mktemp("held")
    store = folder / "store.duckdb"
    open_store(store).close()
    sample = simulate_survey(n_firms=80, n_months=13, start="2024-03", seed=3)
    sample.responses.to_csv(folder / "responses.csv", index=False)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from smepulse.cli import main; main()", "serve", "--store",
                             "store.duckdb", "--port", str(port)], cwd=folder, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200 and descriptor_path(store).exists():
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"smepulse serve did not start: {proc.communicate(timeout=5)}")
        time.sleep(0.2)
    yield {"folder": folder, "store": store, "url": url, "proc": proc, "responses": sample.responses}
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    assert not descriptor_path(store).exists()  # removed on shutdown


@pytest.fixture(scope="module")
def imported(served) -> subprocess.CompletedProcess:
    """The responses imported by the CLI, through the server."""
    return cli(served["folder"], "import", "--responses", "responses.csv", "--store", "store.duckdb")


def test_descriptor_is_private_and_names_the_server(served):
    path = descriptor_path(served["store"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["pid"] == served["proc"].pid and data["url"] == served["url"] and len(data["token"]) >= 40
    assert data["store"] == os.path.realpath(served["store"])


def test_import_publish_series_and_release_while_serving(served, imported, monkeypatch, capsys):
    folder, r = served["folder"], imported
    assert r.returncode == 0, r.stderr
    assert VIA_SERVER in r.stderr and f"PID {served['proc'].pid}" in r.stderr
    assert f"imported {len(served['responses']):,} responses" in r.stdout, r.stdout
    r = cli(folder, "publish", "--store", "store.duckdb", "--no-seasonal", "--replicates", "0",
            "--as-of", "2025-04-01")
    assert r.returncode == 0 and VIA_SERVER in r.stderr, r.stderr
    vintage = re.search(r"published final vintage (\S+)", r.stdout).group(1)
    r = cli(folder, "series", "--store", "store.duckdb", "--out", "as_published.csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader((folder / "as_published.csv").open()))  # written in the CLI's folder
    assert {row["vintage_id"] for row in rows} == {vintage}
    r = cli(folder, "release", "--store", "store.duckdb", "--period", "2025-02", "--out", "release.md",
            "--no-exports")
    assert r.returncode == 0, r.stderr
    assert "2025" in (folder / "release.md").read_text(encoding="utf-8")
    api = httpx.get(f"{served['url']}/api/v1/series", params={"series": "headline"}).json()
    assert {row["vintage"] for row in api} == {vintage}  # the web serves what the CLI published
    r = cli_here(folder, monkeypatch, capsys, "publish", "--store", "store.duckdb", "--flash-cutoff", "2025-13-01")
    assert r.returncode == 2 and r.stderr.count("error:") == 1 and "Traceback" not in r.stderr  # one line


def _sign_in(c: httpx.Client) -> str:
    def csrf(html: str) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = c.post("/signin", data={"username": ADMIN[0], "password": ADMIN[1], "next": "/admin",
                                "csrf_token": csrf(c.get("/signin").text)})
    assert r.status_code == 303, r.text
    return csrf(c.get("/admin").text)


def test_web_answers_during_a_cli_publish_are_stored_exactly_once(served, imported, monkeypatch, capsys):
    folder, url = served["folder"], served["url"]
    assert imported.returncode == 0, imported.stderr
    r = cli_here(folder, monkeypatch, capsys, "users", "add", ADMIN[0], "--role", "admin", "--password", ADMIN[1],
                 "--store", "store.duckdb")
    assert r.returncode == 0 and VIA_SERVER in r.stderr, r.stderr
    with httpx.Client(base_url=url, timeout=60) as admin:
        token = _sign_in(admin)
        r = admin.post("/admin/panel/import", files={"register": ("register.csv", register_csv(N_WEB), "text/csv")},
                       data={"csrf_token": token})
        assert "added=24" in r.headers["location"], r.headers["location"]
        r = admin.post("/admin/waves", data={"period": PERIOD, **fieldwork(), "csrf_token": token})
        assert r.status_code == 303, r.text
        links = list(csv.DictReader(io.StringIO(admin.get(f"/admin/waves/smei-{PERIOD}/links.csv").text)))
    tokens = [row["link"].rsplit("/", 1)[1] for row in links]
    publish = subprocess.Popen([sys.executable, "-c", "from smepulse.cli import main; main()", "publish", "--store",
                                "store.duckdb", "--no-seasonal", "--replicates", "400", "--frame", "design"],
                               cwd=folder, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    during = 0
    with httpx.Client(base_url=url, timeout=120) as c:
        for i, tok in enumerate(tokens):
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get(f"/r/{tok}").text).group(1)
            data = {**answers(i), "action": "submit", "lang": "en", "csrf_token": csrf}
            first, again = c.post(f"/r/{tok}", data=data), c.post(f"/r/{tok}", data=data)  # a double tap
            assert (first.status_code, again.status_code) == (200, 200), first.text
            during += publish.poll() is None
    out, err = publish.communicate(timeout=300)
    assert publish.returncode == 0 and VIA_SERVER in err, err
    assert during > 0, "no answer was given while the CLI publish ran"
    with httpx.Client(base_url=url, timeout=60) as admin:
        _sign_in(admin)
        rate = admin.get(f"/api/v1/admin/waves/smei-{PERIOD}/rate").json()
    assert (rate["invited"], rate["answered"]) == (N_WEB, N_WEB)  # none lost, none twice
    # the web answers are in the store the CLI sees: a publish now counts the 24 web firms in the month
    r = cli_here(folder, monkeypatch, capsys, "publish", "--store", "store.duckdb", "--no-seasonal", "--replicates",
                 "0", "--frame", "design")
    assert r.returncode == 0 and VIA_SERVER in r.stderr, r.stderr
    vintage = re.search(r"published final vintage (\S+)", r.stdout).group(1)
    rows = httpx.get(f"{url}/api/v1/series", params={"series": "headline", "adjustment": "nsa"}).json()
    month = [row for row in rows if row["period"] == PERIOD and row["vintage"] == vintage]
    assert month and month[0]["n"] == int((served["responses"]["period"] == PERIOD).sum()) + N_WEB


def test_a_wrong_or_missing_token_is_refused(served, monkeypatch, capsys):
    url, path = served["url"], descriptor_path(served["store"])
    body = {"argv": ["users", "add", "intruder", "--password", "pw", "--store", str(served["store"])]}
    assert httpx.post(f"{url}/_cli/run", json=body).status_code == 401
    assert httpx.post(f"{url}/_cli/run", json=body, headers={"Authorization": "Bearer guessed"}).status_code == 401
    assert "/_cli/run" not in httpx.get(f"{url}/openapi.json").text
    saved = path.read_text()
    try:  # a descriptor whose token is not the server's: the CLI says the server refused, in one line
        path.write_text(json.dumps({**json.loads(saved), "token": "not-the-token"}))
        r = cli_here(served["folder"], monkeypatch, capsys, "users", "add", "intruder", "--password", "pw",
                     "--store", "store.duckdb")
        assert r.returncode == 2 and "refused the command (HTTP 401" in r.stderr and "Traceback" not in r.stderr
    finally:
        path.write_text(saved)
    r = cli_here(served["folder"], monkeypatch, capsys, "users", "add", "intruder", "--store", "store.duckdb")
    # it would prompt for the password: said, not left waiting on the server's terminal
    assert r.returncode == 2 and "give --password on the command line" in r.stderr, r.stderr


def test_a_stale_descriptor_is_ignored(tmp_path, capsys):
    store = tmp_path / "s.duckdb"
    open_store(store).close()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(30)
    descriptor_path(store).write_text(json.dumps({"pid": dead.pid, "url": f"http://127.0.0.1:{free_port()}",
                                                  "token": "x" * 43, "store": os.path.realpath(store)}))
    descriptor_path(store).chmod(0o600)
    sample = simulate_survey(n_firms=40, n_months=2, start="2025-01", seed=1)
    sample.responses.to_csv(tmp_path / "r.csv", index=False)
    assert run(["import", "--responses", str(tmp_path / "r.csv"), "--store", str(store)]) == 0
    out, err = capsys.readouterr()
    assert VIA_SERVER not in err and "imported" in out
    with open_store(store, read_only=True) as st:
        assert st.con.execute("SELECT count(*) FROM response").fetchall()[0][0] == len(sample.responses)
