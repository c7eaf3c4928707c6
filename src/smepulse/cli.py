"""The front door: `smepulse COMMAND --help` explains each command with an example.

Exit codes: 0 success; 2 a problem with the user's input, files or options (one line `error: ...` on stderr,
or click's usage message); 1 an unanticipated failure (a bug): a short message on stderr naming a log file
that holds the traceback (under $SMEPULSE_LOG_DIR, else $XDG_STATE_HOME/smepulse/logs, else
~/.local/state/smepulse/logs); 130 interrupted. No traceback is ever printed to the screen.
"""
from __future__ import annotations

import importlib
import os
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import click
import typer
from typer.core import TyperGroup

from smepulse.errors import SmepulseError
from smepulse.web.forward import forward_if_held

# Each pillar owns its commands in its own module (its `register(app)` adds them); this file only wires them
# in. A module is imported when one of its commands runs, not before: `smepulse import` need not load
# LightGBM, FastAPI and the release's renderers (start-up 28.6 s -> see docs/benchmarks.md, under load).
COMMANDS = {
    "compose": "smepulse.index.cli", "methodologies": "smepulse.index.cli",
    "compute": "smepulse.pipeline.cli", "import": "smepulse.pipeline.cli", "publish": "smepulse.pipeline.cli",
    "demo": "smepulse.pipeline.demo_cli",
    "sim": "smepulse.sim.cli",
    "release": "smepulse.release.cli", "series": "smepulse.release.cli", "revisions": "smepulse.release.cli",
    "adjust": "smepulse.seasonal.cli",
    "serve": "smepulse.web.cli", "users": "smepulse.web.cli",
    "credit": "smepulse.credit.cli",
}
CREDIT_HELP = "SME credit: train, score and report models."


@cache
def _commands_of(module: str) -> click.Group:
    """The click commands one module registers, built once (a lazily imported module: see COMMANDS)."""
    if module == "smepulse.credit.cli":
        credit_cli = importlib.import_module(module)
        importlib.import_module("smepulse.decision.cli").register(credit_cli.app)  # decide, audit, replay
        holder = typer.Typer()
        holder.add_typer(credit_cli.app, name="credit", help=CREDIT_HELP)
    else:
        holder = typer.Typer()
        importlib.import_module(module).register(holder)
    holder.callback()(lambda: None)  # always a group, even for a module of one command
    return typer.main.get_command(holder)


class LazyCommands(TyperGroup):
    """The top-level group: lists every command, imports a command's module only to run it (or show its help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context | None, name: str) -> click.Command | None:
        module = COMMANDS.get(name)
        return None if module is None else _commands_of(module).get_command(ctx, name)


app = typer.Typer(cls=LazyCommands, help="smepulse: SME confidence indices and SME digital credit.",
                  no_args_is_help=True, pretty_exceptions_enable=False)


@app.callback()
def _top() -> None:
    """smepulse: SME confidence indices and SME digital credit."""

EXIT_USER, EXIT_BUG, EXIT_INTERRUPTED = 2, 1, 130


def log_dir() -> Path:
    """Where tracebacks of unanticipated failures are written."""
    if os.environ.get("SMEPULSE_LOG_DIR"):
        return Path(os.environ["SMEPULSE_LOG_DIR"])
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "smepulse" / "logs"


def _write_log(exc: BaseException, argv: list[str]) -> str:
    text = (f"smepulse {' '.join(argv)}\n{datetime.now(UTC).isoformat()}\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    for folder in (log_dir(), Path(tempfile.gettempdir()) / "smepulse-logs"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f"crash-{stamp}-", suffix=".log", dir=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            return name
        except OSError:
            continue
    return "(no writable log folder)"


def _one_line(text: str) -> str:
    return " ".join(str(text).split()) or "no details"


def run(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code; never lets a traceback reach the screen."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        command = typer.main.get_command(app)  # what app() builds on each call; built once here, used twice
        # a DuckDB store held by a running `smepulse serve`: the command runs in that server (web/forward.py)
        code = forward_if_held(command, argv)
        if code is None:  # `serve` gets `run` to run the commands the CLI sends it
            code = command(args=argv, prog_name="smepulse", standalone_mode=False, obj={"run": run})
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        return EXIT_INTERRUPTED
    except typer.TyperException as exc:  # usage errors, bad option values (click's, vendored by Typer)
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            typer.secho(f"error: {_one_line(str(exc))}", fg="red", err=True)
        return int(getattr(exc, "exit_code", EXIT_USER))
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except SmepulseError as exc:
        lines = str(exc).splitlines() or ["no details"]
        typer.secho(f"error: {lines[0]}", fg="red", err=True)
        for line in lines[1:]:  # several problems of one file: one line each
            typer.echo(f"  {line.strip()}", err=True)
        return EXIT_USER
    except MemoryError as exc:
        log = _write_log(exc, argv)
        typer.secho(f"error: out of memory; details in {log}", fg="red", err=True)
        return EXIT_BUG
    except OSError as exc:  # disk full, permission denied, a folder where a file was expected
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        typer.secho(f"error: {exc.strerror or _one_line(str(exc))}{where}", fg="red", err=True)
        return EXIT_USER
    except Exception as exc:  # noqa: BLE001 (the last line of defence: log it, say where)
        log = _write_log(exc, argv)
        typer.secho(f"error: unexpected failure ({type(exc).__name__}: {_one_line(str(exc))[:200]}); "
                    f"this is a bug in smepulse, the traceback is in {log}", fg="red", err=True)
        return EXIT_BUG
    return code if isinstance(code, int) else 0


def main() -> None:
    raise SystemExit(run())


if __name__ == "__main__":
    main()
