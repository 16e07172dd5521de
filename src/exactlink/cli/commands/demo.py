"""`exactlink demo`: the whole job against the embedded sandbox, in a temporary home."""

from __future__ import annotations


def demo() -> None:
    """Run the whole flow against a local sandbox: portal, clients, connect, activate, doctor."""
    from exactlink.errors import ExactlinkError

    raise ExactlinkError("demo is not built yet")
