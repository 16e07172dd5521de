"""Option types shared by commands: ``Seconds`` for every ``--timeout``.

click's ``FloatRange(min=1)`` lets ``nan`` through (no comparison with nan is true) and has no
upper bound, so ``--timeout nan`` waited for ever. ``Seconds`` takes the rule of
``adapters.limits``: a finite number in the range, else a usage error (exit 2) that names it.
"""

from __future__ import annotations

from typing import Any

import click

from exactlink.adapters.limits import accepted_range, parse_seconds


class Seconds(click.ParamType):
    """A number of seconds from ``low`` to ``high``, finite."""

    name = "seconds"

    def __init__(self, low: float, high: float) -> None:
        self.low = low
        self.high = high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = parse_seconds(value, self.low, self.high)
        if seconds is None:
            from exactlink.cli.output import visible
            from exactlink.i18n import _

            self.fail(
                _("{value} is not {range}.").format(
                    value=visible(str(value)[:40]), range=accepted_range(self.low, self.high)
                ),
                param,
                ctx,
            )
        return seconds

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return self.name.upper()  # translated by cli.helptext.localize, like Click's own types
