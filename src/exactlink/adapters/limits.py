"""Bounds on the waits a person can set: one rule for ``--timeout`` and every seconds-valued
environment variable (``EXACTLINK_HTTP_DEADLINE``, ``EXACTLINK_STORE_STATEMENT_TIMEOUT``, ...).

``float()`` accepts ``nan``, ``inf``, ``-1`` and ``1e12``; each would wait for ever, fail later
as a bug (``int(nan)``), or turn a bound off. So a value is a finite number of seconds inside the
range its wait allows, or it is refused as a usage error (exit 2) that names the accepted range.
"""

from __future__ import annotations

import math
import os

from exactlink.errors import UsageError
from exactlink.i18n import _

DAY = 86400.0  # no wait of exactlink's is meant to outlast a day: a larger value is a typo


def parse_seconds(text: object, low: float, high: float) -> float | None:
    """``text`` as seconds in ``[low, high]``, or None for anything else (nan, inf, words)."""
    if isinstance(text, bool):
        return None
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(value) or not low <= value <= high:
        return None
    return value


def accepted_range(low: float, high: float) -> str:
    """The accepted range, in the words of every message about it."""
    return _("a number of seconds from {low:g} to {high:g}").format(low=low, high=high)


def env_seconds(name: str, default: float, low: float, high: float) -> float:
    """The environment variable ``name`` as seconds (``default`` when unset or empty);
    any other value than a number in ``[low, high]`` is a ``UsageError`` naming the range."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = parse_seconds(raw, low, high)
    if value is None:
        shown = raw if len(raw) <= 40 else raw[:40] + "..."
        raise UsageError(
            _("{name}={value} is not {range}.").format(
                name=name, value=shown, range=accepted_range(low, high)
            ),
            hint=_("Set {name} to {range}, or unset it for the default ({default:g} s).").format(
                name=name, range=accepted_range(low, high), default=default
            ),
            details={"variable": name, "min": low, "max": high},
        )
    return value
