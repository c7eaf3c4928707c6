"""`smepulse serve` and `smepulse users add`."""
from __future__ import annotations

import errno
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console

from smepulse.errors import InputError
from smepulse.store import is_server_url, redact
from smepulse.web.auth import ROLES, add_user
from smepulse.web.config import WebConfig
from smepulse.web.db import open_database
from smepulse.web.fieldwork import load_policy
from smepulse.web.forward import remove_descriptor, write_descriptor
from smepulse.web.mail import load_smtp

console = Console()
users_app = typer.Typer(help="Users of the web admin.", no_args_is_help=True)


def _target(store: str | None, db: str | None) -> str:
    if store is not None and db is not None:
        raise InputError("give --store PATH or --db URL, not both")
    if store is not None and is_server_url(store):  # --store takes a URL, as the store commands' --store does
        return store
    if db is not None and not db.startswith(("postgresql://", "postgres://")):
        raise InputError(f"--db {db!r}: use a postgresql:// URL (or --store PATH for a DuckDB file)")
    return db or str(store or Path("demo/smepulse.duckdb"))


def _loopback(host: str) -> str | None:
    """The address this machine's CLI reaches the server at (None: it listens on another interface only)."""
    if host in ("0.0.0.0", "127.0.0.1", "localhost") or host.startswith("127."):
        return "127.0.0.1" if host in ("0.0.0.0", "localhost") else host
    if host in ("::", "::1"):
        return "[::1]"
    return None


def check_port(host: str, port: int) -> None:
    """Bind the address uvicorn will bind (with SO_REUSEADDR, as uvicorn does) and let it go: a port already in
    use stops `serve` with one line before it announces anything or writes its descriptor."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (OSError, UnicodeError) as exc:
        raise InputError(f"--host {host!r} is not an address of this machine ({exc})") from None
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise InputError(f"port {port} on {host} is in use (another server?): stop it or give another "
                                 "--port") from None
            raise InputError(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from None


def serve(
    ctx: typer.Context,
    # str, not Path: a Path would fold the URL's "//" (and print its password unredacted in the error)
    store: str | None = typer.Option(None, "--store", help="DuckDB store file (default demo/smepulse.duckdb), or a "
                                     "postgresql:// URL as --db."),
    db: str | None = typer.Option(None, "--db", help="PostgreSQL URL instead of a store file."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    methodology: str = typer.Option("smei", "--methodology", help="Methodology preset or YAML the survey uses."),
    smtp: Path | None = typer.Option(None, "--smtp", help="SMTP settings file (TOML, or JSON by suffix) for "
                                     "invitations; without it, the links are exported as CSV."),
    config_file: Path | None = typer.Option(None, "--config", help="Web config file (TOML): [respondents] "
                                            "late_days, link_expires_days, timezone (docs/web.md)."),
    credit_model: Path | None = typer.Option(None, "--credit-model", help="Champion model directory of the "
                                             "decision API (default: STORE_DIR/credit/champion)."),
    credit_policy: Path | None = typer.Option(None, "--credit-policy", help="Credit policy directory "
                                              "(default: the shipped policy)."),
) -> None:
    """Serve the portal, read API, admin and respondent forms over one store.

    Example: smepulse serve --store demo/smepulse.duckdb   (then open http://127.0.0.1:8000/)
    """
    # the config files first: a bad key stops the command in a second, before the store is opened (which takes
    # long on a big store); create_app reads them again, which costs next to nothing
    load_policy(config_file)
    load_smtp(smtp)
    check_port(host, port)
    import uvicorn  # noqa: PLC0415 (the server is only needed by this command)

    from smepulse.web.app import create_app, take_cli_commands  # noqa: PLC0415 (builds the app only when serving)
    from smepulse.web.apply import check_at_start  # noqa: PLC0415 (as create_app: only when serving)

    target = _target(store, db)
    db = target if is_server_url(target) else None
    if db is None and not Path(target).exists():
        raise InputError(f"store {target} does not exist: run `make demo` (or `smepulse demo --out demo`) first, "
                         "or give --store PATH")
    extra = {k: str(v) for k, v in (("credit_model", credit_model), ("credit_policy", credit_policy)) if v}
    config = WebConfig(store=None if db else target, db=db, methodology=methodology, smtp_config=smtp,
                       config_file=config_file, extra=extra)
    app = create_app(config)
    check_at_start(app)  # a tampered credit model or a bad policy: one line, exit 2, before anything is announced
    runner: Callable[[list[str]], int] | None = (ctx.obj or {}).get("run")
    local = _loopback(host) if db is None and runner is not None else None
    token = take_cli_commands(app, runner) if local else None
    if token:  # the CLI on this machine sends its commands on this store here (web/forward.py, docs/web.md)
        write_descriptor(target, f"http://{local}:{port}", token)
    console.print(f"smepulse serving {redact(target)} on http://{host}:{port}/")  # never the password
    if token:
        console.print(f"smepulse commands with --store {target} now run in this server (docs/web.md)")
    # uvicorn shuts down gracefully on SIGTERM, then raises it again with the handler found at start: make that
    # handler end the command normally, so `finally` removes the descriptor (as it does after Ctrl-C)
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        signal.signal(signal.SIGTERM, previous)
        if token:
            remove_descriptor(target, token)


def _stop(signum, frame) -> None:
    raise typer.Exit(0)


def users_add(
    username: str = typer.Argument(..., help="User name (letters, digits, . - _)."),
    role: str = typer.Option("viewer", "--role", help=f"One of {', '.join(ROLES)}."),
    password: str = typer.Option(..., "--password", prompt=True, hide_input=True, confirmation_prompt=True,
                                 help="Asked for when not given (better than on the command line)."),
    # str, not Path: a Path would fold the URL's "//" (and print its password unredacted in the error)
    store: str | None = typer.Option(None, "--store", help="DuckDB store file (default demo/smepulse.duckdb), or a "
                                     "postgresql:// URL as --db."),
    db: str | None = typer.Option(None, "--db", help="PostgreSQL URL instead of a store file."),
) -> None:
    """Add a user of the web admin (or reset an existing user's password and role).

    Example: smepulse users add alice --role admin --store demo/smepulse.duckdb
    """
    database = open_database(_target(store, db))
    try:
        user = add_user(database, username, password, role)
    finally:
        database.close()
    console.print(f"user {user.username} ({user.role}) saved")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    users_app.command("add")(users_add)
    app.add_typer(users_app, name="users")
