"""The front door: `smepulse COMMAND --help` explains each command with an example."""
from __future__ import annotations

import typer

from smepulse.credit import cli as credit_cli
from smepulse.decision import cli as decision_cli
from smepulse.errors import SmepulseError
from smepulse.index import cli as index_cli
from smepulse.pipeline import cli as pipeline_cli
from smepulse.release import cli as release_cli
from smepulse.seasonal import cli as seasonal_cli
from smepulse.sim import cli as sim_cli

app = typer.Typer(help="smepulse: SME confidence indices and SME digital credit.",
                  no_args_is_help=True, pretty_exceptions_enable=False)

# Each pillar owns its commands in its own module; this file only wires them in.
index_cli.register(app)
pipeline_cli.register(app)
sim_cli.register(app)
release_cli.register(app)
seasonal_cli.register(app)
app.add_typer(credit_cli.app, name="credit", help="SME credit: train, score and report models.")
decision_cli.register(credit_cli.app)  # decisions, audit and replay (smepulse.decision)


def main() -> None:
    try:
        app()
    except SmepulseError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise SystemExit(2) from None
