"""Real components: skip locally when missing, fail in CI (EXACTLINK_REQUIRE_REAL=1)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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
def real_keyring(tmp_path, monkeypatch):
    """The machine's Secret Service keyring (gnome-keyring under dbus-run-session in CI).

    Tests share the keyring's one collection (a new one needs a person at a prompt), so what
    keeps them apart is the entry's name: exactlink namespaces every entry by its home folder
    (``home_namespace``), and every home of a test lies under the test's own ``tmp_path``. Two
    tests, two workers or two runs never read or write the same entry, and whatever a test left
    under its homes (it failed half-way, say) is removed afterwards, so a developer's own
    keyring keeps nothing of the suite.
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
    # The suite's one gnome-keyring serves every worker, and some tests hammer it with dozens of
    # processes: a call may wait its turn longer than the 10 s a person gets before "did not
    # answer". That bound is tested on a keyring made to hang (tests/cli/test_keyring_hang.py).
    monkeypatch.setenv("EXACTLINK_KEYRING_TIMEOUT", "60")
    yield backend
    _remove_entries_under(backend, tmp_path)


def namespaces_under(root: Path) -> set[str]:
    """The keyring namespace of ``root``, of the test's home (``root/home``, made or not) and of
    every folder below ``root`` (each a possible home)."""
    from exactlink.adapters.secrets import home_namespace
    from exactlink.paths import Paths

    below = (p for p in root.rglob("*") if p.is_dir() and not p.is_symlink())
    folders = [root, root / "home", *below]
    return {home_namespace(Paths.resolve(folder)) for folder in folders}


def _remove_entries_under(backend, root: Path) -> None:
    from secretstorage.exceptions import ItemNotFoundException

    from exactlink.adapters.secrets import SERVICE

    ours = namespaces_under(root)
    collection = backend.get_preferred_collection()
    # The search lists every worker's entries; another worker may delete one of them before it
    # is read here (secretstorage then raises from inside the search). What went is gone: list
    # again. Each pass deletes what it reached, so a few passes always end.
    for _pass in range(20):
        try:
            for item in collection.search_items({"service": SERVICE}):
                username = item.get_attributes().get("username", "")
                if username.split("/", 1)[0] in ours:
                    item.delete()
        except ItemNotFoundException:
            continue
        return
    raise AssertionError(f"the keyring entries under {root} could not be listed to the end")
