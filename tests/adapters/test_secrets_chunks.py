"""Long secrets (Exact's tokens run to thousands of characters) in every secret backend: stored
and read back whole, no single stored entry over 2,560 bytes (Windows Credential Manager's
limit, counted in the backend's own encoding), every part removed on delete or overwrite."""

from __future__ import annotations

import json
import secrets
import uuid

import pytest

from exactlink.adapters.secrets import (
    CHUNK_MARKER,
    MAX_ENTRY_BYTES,
    SERVICE,
    ChunkedEntries,
    InsecureFileSecretStore,
    KeyringSecretStore,
    split_secret,
)

# stampNL001. tokens as the December 2026 notes describe them, and a value of wide characters.
LONG = "stampNL001." + secrets.token_urlsafe(6000)
WIDE = "€ü!" * 2000 + "𝄞" * 300  # 3 and 2 bytes in UTF-8; a surrogate pair in UTF-16


class MemoryKeyring:
    """An in-memory keyring backend (the shape of keyring's backends)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        from keyring.errors import PasswordDeleteError

        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


def _roundtrip(store, stored_values):
    """Set, read, overwrite long→long→short, delete; ``stored_values()`` lists raw entries."""
    for value in (LONG, WIDE, "short!"):
        store.set("connection-1/refresh", value)
        assert store.get("connection-1/refresh") == value
        raw = stored_values()
        assert raw, "nothing stored"
        biggest = max(len(v.encode("utf-8")) for v in raw)
        assert biggest <= MAX_ENTRY_BYTES, f"an entry of {biggest} bytes"
        if value != "short!":
            assert len(raw) >= 2  # split
    assert stored_values() == ["short!"]  # overwriting removed every earlier part
    store.set("connection-1/refresh", LONG)
    store.delete("connection-1/refresh")
    assert store.get("connection-1/refresh") is None
    assert stored_values() == []
    store.delete("connection-1/refresh")  # idempotent


def test_memory_keyring_backend():
    backend = MemoryKeyring()
    store = KeyringSecretStore("ns", backend=backend)
    _roundtrip(store, lambda: list(backend.entries.values()))


def test_insecure_file(tmp_path):
    path = tmp_path / "secrets-insecure.json"
    store = InsecureFileSecretStore(path)

    def raw():
        return list(json.loads(path.read_text("utf-8")).values()) if path.exists() else []

    _roundtrip(store, raw)


@pytest.mark.real
def test_real_secret_service_keyring(real_keyring):
    namespace = f"test-{uuid.uuid4().hex}"
    store = KeyringSecretStore(namespace, backend=real_keyring)
    names: set[str] = set()

    # Secret Service cannot list by prefix through keyring: watch every name written.
    original = store._set_entry

    def remember(key, value):
        names.add(key)
        original(key, value)

    store._set_entry = remember  # type: ignore[method-assign]
    store._entries._set = remember

    def raw():
        found = [real_keyring.get_password(SERVICE, f"{namespace}/{n}") for n in sorted(names)]
        return [v for v in found if v is not None]

    _roundtrip(store, raw)


def test_windows_counts_utf16_bytes():
    """The Windows backend stores UTF-16-LE: the same text needs more, smaller parts."""
    backend = type(
        "WinVaultKeyring", (MemoryKeyring,), {"__module__": "keyring.backends.Windows"}
    )()
    store = KeyringSecretStore("ns", backend=backend)
    store.set("k", LONG)
    assert store.get("k") == LONG
    for value in backend.entries.values():
        assert len(value.encode("utf-16-le")) <= MAX_ENTRY_BYTES
    utf8_parts = split_secret(LONG, "utf-8")
    assert len(backend.entries) - 1 > len(utf8_parts)


def test_split_never_breaks_a_character():
    pieces = split_secret(WIDE, "utf-8", 10)
    assert "".join(pieces) == WIDE
    assert all(len(p.encode("utf-8")) <= 10 for p in pieces)
    assert split_secret("", "utf-8") == [""]


def test_a_value_that_looks_like_a_marker_is_kept_as_is():
    entries: dict[str, str] = {}
    store = ChunkedEntries(entries.get, entries.__setitem__, lambda k: entries.pop(k, None))
    tricky = CHUNK_MARKER + "abc:1:0000"
    store.set("k", tricky)
    assert store.get("k") == tricky


def test_missing_parts_are_reported_not_truncated():
    from exactlink.errors import SecureStorageUnavailable

    entries: dict[str, str] = {}
    store = ChunkedEntries(entries.get, entries.__setitem__, lambda k: entries.pop(k, None))
    store.set("k", LONG)
    part = next(name for name in entries if name != "k")
    del entries[part]
    with pytest.raises(SecureStorageUnavailable) as info:
        store.get("k")
    assert info.value.exit_code == 9 and LONG[:40] not in str(info.value)
