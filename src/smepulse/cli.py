"""The front door: `smepulse COMMAND --help` explains each command with an example."""
from __future__ import annotations

from importlib.util import find_spec

import typer

from smepulse.errors import SmepulseError

app = typer.Typer(help="smepulse: SME confidence indices and SME digital credit.",
                  no_args_is_help=True, pretty_exceptions_enable=False)


def _register() -> None:
    # Each pillar owns its commands in its own module; this file only wires them in.
    from smepulse.index import cli as index_cli
    index_cli.register(app)
    from smepulse.release import cli as release_cli
    release_cli.register(app)
    if find_spec("smepulse.seasonal.cli"):
        from smepulse.seasonal import cli as seasonal_cli
        seasonal_cli.register(app)
    if find_spec("smepulse.credit.cli"):
        from smepulse.credit import cli as credit_cli
        app.add_typer(credit_cli.app, name="credit", help="SME credit: train, score and report models.")


_register()


def main() -> None:
    try:
        app()
    except SmepulseError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise SystemExit(2)
