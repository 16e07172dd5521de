"""`exactlink sandbox`: the local Exact Online simulator."""

from __future__ import annotations

import typer

app = typer.Typer(
    no_args_is_help=True, help="A local Exact Online for tests, demos and rehearsals."
)
