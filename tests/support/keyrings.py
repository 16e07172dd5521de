"""Keyring backends for real processes of exactlink, chosen the way a person would choose one:
``PYTHON_KEYRING_BACKEND=support.keyrings.FileKeyring`` or keyring's ``keyringrc.cfg``.

``FileKeyring`` keeps entries in the JSON file named by ``EXACTLINK_TEST_KEYRING_FILE`` and,
once the file ``<that>.hang`` exists, never answers again (a locked Secret Service waiting on a
prompt nobody sees, a D-Bus peer that never replies). ``HangingOnLoad`` never even finishes
loading. Both note when the first call that never returns began (``waiting_since``), so a test
can time the wait itself, apart from the start-up of a process on a busy machine. Duck-typed on purpose, not subclasses of keyring's ``KeyringBackend``: a subclass
registers itself with keyring, and every later ``keyring.get_keyring()`` in the importing
process (a test worker) would chain it with the machine's own backend.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path


def _never() -> None:
    """Block for ever, after noting when the first such wait began."""
    started = Path(f"{_file()}.waiting")
    try:
        with open(started, "x", encoding="utf-8") as note:
            note.write(repr(time.time()))
    except FileExistsError:
        pass
    threading.Event().wait()


def waiting_since() -> float:
    """When (``time.time()``) a process first began waiting on a keyring that never answers."""
    return float(Path(f"{_file()}.waiting").read_text("utf-8"))


def _file() -> Path:
    return Path(os.environ["EXACTLINK_TEST_KEYRING_FILE"])


def hang_from_now() -> None:
    """Every later call of FileKeyring (in any process) hangs."""
    Path(f"{_file()}.hang").touch()


class FileKeyring:
    """A keyring that answers from a file until told to hang (the file ``<file>.hang``)."""

    priority = 1

    def _entries(self) -> dict[str, str]:
        if Path(f"{_file()}.hang").exists():
            _never()
        try:
            return json.loads(_file().read_text("utf-8"))
        except FileNotFoundError:
            return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._entries().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        entries = self._entries()
        entries[f"{service}/{username}"] = password
        _file().write_text(json.dumps(entries), "utf-8")

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        entries = self._entries()
        if entries.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("no such entry")
        _file().write_text(json.dumps(entries), "utf-8")


class HangingOnLoad:
    """A backend whose construction never returns (a D-Bus connection that never opens)."""

    priority = 1

    def __init__(self) -> None:
        _never()
