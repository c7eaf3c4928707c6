"""The front door: `smepulse COMMAND --help` explains each command with an example.

Exit codes: 0 success; 2 a problem with the user's input, files or options (one line `error: ...` on stderr,
or click's usage message); 1 an unanticipated failure (a bug): a short message on stderr naming a log file
that holds the traceback (under $SMEPULSE_LOG_DIR, else $XDG_STATE_HOME/smepulse/logs, else
~/.local/state/smepulse/logs); 130 interrupted. No traceback is ever printed to the screen.
"""
from __future__ import annotations

import os
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

import typer

from smepulse.credit import cli as credit_cli
from smepulse.decision import cli as decision_cli
from smepulse.errors import SmepulseError
from smepulse.index import cli as index_cli
from smepulse.pipeline import cli as pipeline_cli
from smepulse.release import cli as release_cli
from smepulse.seasonal import cli as seasonal_cli
from smepulse.sim import cli as sim_cli
from smepulse.web import cli as web_cli
from smepulse.web.forward import forward_if_held

app = typer.Typer(help="smepulse: SME confidence indices and SME digital credit.",
                  no_args_is_help=True, pretty_exceptions_enable=False)

# Each pillar owns its commands in its own module; this file only wires them in.
index_cli.register(app)
pipeline_cli.register(app)
sim_cli.register(app)
release_cli.register(app)
seasonal_cli.register(app)
web_cli.register(app)
app.add_typer(credit_cli.app, name="credit", help="SME credit: train, score and report models.")
decision_cli.register(credit_cli.app)  # decisions, audit and replay (smepulse.decision)

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
