"""`exactlink support`: material for a support ticket."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Material for a support ticket.")
