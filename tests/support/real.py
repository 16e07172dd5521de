"""Real components: skip locally when missing, fail in CI (EXACTLINK_REQUIRE_REAL=1)."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_real() -> bool:
    return os.environ.get("EXACTLINK_REQUIRE_REAL", "") in {"1", "true", "yes"}


def missing(what: str) -> None:
    """Skip (laptop) or fail (CI) because a real component is not there."""
    if require_real():
        pytest.fail(f"{what} is required in CI (EXACTLINK_REQUIRE_REAL=1) but missing")
    pytest.skip(f"{what} not available")


@pytest.fixture
def chromium():
    """A launched headless Debian Chromium (Playwright driving /usr/bin/chromium)."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        missing("Debian chromium (/usr/bin/chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright Python package")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def real_keyring(monkeypatch):
    """The machine's Secret Service keyring (gnome-keyring under dbus-run-session in CI).

    Entries go under a per-test service name and are removed afterwards.
    """
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        missing("a D-Bus session with an unlocked Secret Service keyring")
    from keyring.backends import SecretService

    # The backend itself, not keyring.get_keyring(): a test module that defines its own
    # in-memory KeyringBackend subclass registers it with keyring, and discovery in that worker
    # would then return a ChainerBackend.
    backend = SecretService.Keyring()
    try:
        viable = backend.priority > 0
    except Exception as exc:
        viable, why = False, exc
    else:
        why = "priority 0"
    if not viable:
        missing(f"a Secret Service keyring ({why})")
    return backend
