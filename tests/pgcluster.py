"""A throwaway PostgreSQL server for one test run: Debian's initdb and pg_ctl, a temporary data folder, a
free loopback port, a random password (scram-sha-256), fsync off. Started lazily by the first test that needs
it and shared by every pytest-xdist worker (a lock file in the run's state folder); each worker gets its own
database, each store test its own schema; the web tests build their session store once in a database of its
own and copy it per server (`new_database(..., template=...)`). The controlling pytest process stops the server
and deletes the folder when the run ends. PostgreSQL refuses to run as root, so as root the server runs as the
`postgres` user (made by the Debian package), else `nobody`.

Set SMEPULSE_TEST_PG=postgresql://... to run the tests against a server you already have instead."""
from __future__ import annotations

import fcntl
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
from psycopg import sql

STATE_ENV = "SMEPULSE_PG_STATE"
USER = "smepulse"


def bin_dir() -> Path | None:
    """Where Debian's initdb and pg_ctl are (newest major version first), or SMEPULSE_PG_BIN."""
    if os.environ.get("SMEPULSE_PG_BIN"):
        return Path(os.environ["SMEPULSE_PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
                   if p.parts[-3].isdigit() else 0, reverse=True)
    if found:
        return found[0].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _run_as() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and there is no 'postgres' or 'nobody' user to run PostgreSQL as")


def _call(cmd: list[str], cwd: Path, who: pwd.struct_passwd | None) -> None:
    kw = {"user": who.pw_uid, "group": who.pw_gid, "extra_groups": []} if who else {}
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "HOME": str(cwd)}
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False, **kw)
    if done.returncode:
        raise RuntimeError(f"{Path(cmd[0]).name} failed ({done.returncode}): {(done.stderr or done.stdout)[-800:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(state: Path) -> dict:
    pg = bin_dir()
    if pg is None or not (pg / "initdb").exists():
        raise FileNotFoundError("PostgreSQL server binaries not found: `make system-deps` installs Debian's "
                                "postgresql (or set SMEPULSE_PG_BIN)")
    who = _run_as()
    base = Path(tempfile.mkdtemp(prefix="smepulse-pg-"))
    password = secrets.token_urlsafe(18)
    (base / "pw").write_text(password + "\n", encoding="utf-8")
    (base / "sock").mkdir()
    if who:
        for p in (base, base / "pw", base / "sock"):
            os.chown(p, who.pw_uid, who.pw_gid)
    _call([str(pg / "initdb"), "-D", str(base / "data"), "-U", USER, f"--pwfile={base / 'pw'}",
           "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"], base, who)
    (base / "pw").unlink()
    last = None
    for _ in range(5):  # another process may take the free port first
        port = _free_port()
        opts = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={base / 'sock'} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        try:
            _call([str(pg / "pg_ctl"), "-D", str(base / "data"), "-l", str(base / "log"), "-o", opts, "-w",
                   "-t", "60", "start"], base, who)
        except RuntimeError as exc:
            last = exc
            continue
        info = {"base": str(base), "port": port, "password": password, "bin": str(pg)}
        (state / "pg.json").write_text(json.dumps(info), encoding="utf-8")
        return info
    raise RuntimeError(f"PostgreSQL did not start: {last}")


def stop(state: Path) -> None:
    """Stop the run's server (if one was started) and delete its folder."""
    f = state / "pg.json"
    if f.exists():
        info = json.loads(f.read_text(encoding="utf-8"))
        base = Path(info["base"])
        try:
            _call([str(Path(info["bin"]) / "pg_ctl"), "-D", str(base / "data"), "-m", "immediate", "-w", "stop"],
                  base, _run_as())
        finally:
            shutil.rmtree(base, ignore_errors=True)
    shutil.rmtree(state, ignore_errors=True)


@contextmanager
def _locked(state: Path):
    with open(state / "lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def url(port: int, password: str, dbname: str) -> str:
    return f"postgresql://{USER}:{quote(password, safe='')}@127.0.0.1:{port}/{dbname}"


def admin_url() -> str:
    """A URL of the run's server's `postgres` database (the server is started on first use), or SMEPULSE_TEST_PG."""
    if os.environ.get("SMEPULSE_TEST_PG"):
        return os.environ["SMEPULSE_TEST_PG"]
    state = Path(os.environ[STATE_ENV])
    state.mkdir(mode=0o700, exist_ok=True)
    with _locked(state):
        f = state / "pg.json"
        info = json.loads(f.read_text(encoding="utf-8")) if f.exists() else _start(state)
    return url(info["port"], info["password"], "postgres")


def new_database(name: str, template: str | None = None) -> str:
    """A URL of a new database `name` on the run's server (one of that name from an earlier run is dropped
    first): empty, or a copy of the database `template` (CREATE DATABASE ... TEMPLATE copies its files: a built
    store in a fraction of a second; nobody may be connected to the template meanwhile)."""
    admin = admin_url()
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        con.execute(create)
    return admin.rsplit("/", 1)[0] + "/" + name


def database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/")


def server_database(worker: str) -> str:
    """A URL of this worker's own (new, empty) database on the run's server."""
    return new_database(f"smepulse_test_{worker}")


def fresh_schema(database_url: str) -> str:
    """A URL whose search_path is a new empty schema in the worker's database: an empty store per test."""
    name = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(database_url, autocommit=True) as con:
        con.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    sep = "&" if "?" in database_url else "?"
    return f"{database_url}{sep}options=-csearch_path%3D{name}"
