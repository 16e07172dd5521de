"""pytest fixtures for the local Exact Online (``exactlink.sandbox``).

* ``sandbox``: a fresh ``Sandbox(clients=12, seed=1)``, started before and stopped after the test.
* ``sandbox_factory(**kwargs)``: start sandboxes with any arguments; all stopped at teardown.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def sandbox_factory():
    """Start sandboxes on demand: ``sb = sandbox_factory(clients=3, list_archived=False)``."""
    from exactlink.sandbox import Sandbox

    started: list[Sandbox] = []

    def make(**kwargs) -> Sandbox:
        sb = Sandbox(**kwargs).start()
        started.append(sb)
        return sb

    yield make
    for sb in started:
        sb.stop()


@pytest.fixture
def sandbox(sandbox_factory):
    """A running ``Sandbox(clients=12, seed=1)`` for one test."""
    return sandbox_factory(clients=12, seed=1)
