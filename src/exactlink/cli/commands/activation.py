"""`exactlink exact divisions | activate | deactivate`: link each client to its administration.

These commands live on the `exact` group (cli/commands/exact.py) but in their own module, so the
connection commands and the activation commands stay readable apart.
"""

from __future__ import annotations

from exactlink.cli.commands.exact import app

__all__ = ["app"]
