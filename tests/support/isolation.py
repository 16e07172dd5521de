"""Autouse isolation: a fresh home, no colour, no inherited exactlink or proxy settings."""

from __future__ import annotations

import os
import signal
import sys

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C reaches the exactlink processes that tests start, as it does from a shell.

    A process started with SIGINT ignored (a background job of a non-interactive shell, some CI
    runners) passes that on to its children, and Python then never raises KeyboardInterrupt:
    the tests that press Ctrl-C would hang. A handler of our own is reset to the default in
    every child.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Each test gets its own EXACTLINK_HOME and never sees the developer's config or keyring."""
    home = tmp_path / "home"
    monkeypatch.setenv("EXACTLINK_HOME", str(home))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("EXACTLINK_LANG", "en")
    for name in ("EXACTLINK_DEBUG_HTTP", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    # Never the developer's team store, nor their libpq settings (PGHOST, PGPASSWORD, a
    # service file...): a test that wants one sets it.
    for name in list(os.environ):
        if name.startswith(("EXACTLINK_STORE", "PG", "PSYCOPG_")):
            monkeypatch.delenv(name)
    # Loopback only: anything else goes nowhere, whatever proxy the machine has.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    yield home
    # An in-process `--lang nl` run leaves the process in Dutch; the next test in this worker
    # (one that calls a service directly, not the CLI) must start in English again.
    from exactlink.i18n import set_language

    set_language("en")
    # A keyring call that timed out is remembered for the rest of the process (the keyring is
    # not asked again while it hangs): a later test in this worker must meet a keyring of its
    # own, not a "did not answer" left by a test that made one hang on purpose.
    secrets = sys.modules.get("exactlink.adapters.secrets")
    if secrets is not None and secrets._stuck is not None:
        secrets._stuck.done.wait(5)
        secrets._stuck = None
