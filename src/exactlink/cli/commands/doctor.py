"""`exactlink doctor`: the checklist that says why a client's administration is missing."""

from __future__ import annotations


def doctor() -> None:
    """Check the store, keyring, portal, client, connection and division, with the fix for each."""
    from exactlink.errors import ExactlinkError

    raise ExactlinkError("doctor is not built yet")
