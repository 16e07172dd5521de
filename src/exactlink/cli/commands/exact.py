"""`exactlink exact`: the Exact Online app, the connection, divisions and activation."""

from __future__ import annotations

import typer

app = typer.Typer(
    no_args_is_help=True, help="Exact Online: app settings, connect, divisions, activate."
)
