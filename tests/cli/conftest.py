"""Helpers for the portal and client command tests."""

from __future__ import annotations

import pytest

BILLING = [
    "--billing-name",
    "Kantoor Peeters BV",
    "--billing-email",
    "facturen@kantoor.be",
    "--address",
    "Veldstraat 1, 9000 Gent",
]


@pytest.fixture
def billing():
    """The options that give a portal its billing details."""
    return list(BILLING)


@pytest.fixture
def portal(cli):
    """A default portal 'Kantoor Peeters' (e-mail info@kantoor.be, no billing details)."""
    result = cli("portal", "create", "Kantoor Peeters", "--email", "info@kantoor.be")
    assert result.exit_code == 0, result.stderr
    return "Kantoor Peeters"


@pytest.fixture
def billed_portal(cli, portal):
    """The default portal with billing details, so managed clients may be added."""
    result = cli("portal", "update", portal, *BILLING)
    assert result.exit_code == 0, result.stderr
    return portal


@pytest.fixture
def db(isolated_home):
    """Read the state database directly (to check what a failed command left behind), whichever
    store the test runs on (``store_backend``)."""
    from support.postgres import query_store

    def query(sql: str, *args):
        return query_store(isolated_home, sql, *args)

    return query
