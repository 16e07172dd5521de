"""adapters/exact/token_store.py: the token pair is one unit, whatever point a crash stops at."""

from __future__ import annotations

import pytest

from exactlink.adapters.exact.token_store import TokenPair, TokenPairStore
from exactlink.errors import SecureStorageUnavailable

CHAIN = "connection-7"


class Entries:
    """A secret store in a dict; ``crash_at`` stops the n-th write (set or delete) dead."""

    def __init__(self, crash_at: int | None = None) -> None:
        self.data: dict[str, str] = {}
        self.writes = 0
        self.crash_at = crash_at
        self.damaged: set[str] = set()

    def _write(self) -> None:
        self.writes += 1
        if self.writes == self.crash_at:
            raise SystemExit("killed")

    def get(self, key: str) -> str | None:
        if key in self.damaged:
            raise SecureStorageUnavailable("parts are missing")
        return self.data.get(key)

    def set(self, key: str, value: str) -> None:
        self._write()
        self.data[key] = value

    def delete(self, key: str) -> None:
        self._write()
        self.data.pop(key, None)


def pair(n: int) -> TokenPair:
    return TokenPair(f"A{n}", f"R{n}", 1000.0 + n * 600, 400.0 + n * 600)


def test_commit_and_read_the_pair_with_its_expiry():
    store = TokenPairStore(Entries())
    assert store.read(CHAIN) is None
    store.commit(CHAIN, pair(1))
    got = store.read(CHAIN)
    assert got is not None
    assert (got.access_token, got.refresh_token, got.access_expires_at) == ("A1", "R1", 1600.0)
    assert "A1" not in repr(got) and "R1" not in repr(got)


def test_generations_are_cleaned_up_and_the_previous_one_kept():
    entries = Entries()
    store = TokenPairStore(entries)
    for n in range(1, 6):
        store.commit(CHAIN, pair(n))
    assert sorted(entries.data) == [f"{CHAIN}/tokens", f"{CHAIN}/tokens.4", f"{CHAIN}/tokens.5"]


def _writes_of_one_commit() -> int:
    entries = Entries()
    store = TokenPairStore(entries)
    store.commit(CHAIN, pair(1))
    store.commit(CHAIN, pair(2))
    before = entries.writes
    store.commit(CHAIN, pair(3))
    return entries.writes - before


@pytest.mark.parametrize("crash_at", range(1, _writes_of_one_commit() + 1))
def test_a_crash_at_any_write_leaves_the_old_pair_or_the_new_one(crash_at):
    entries = Entries()
    store = TokenPairStore(entries)
    store.commit(CHAIN, pair(1))
    store.commit(CHAIN, pair(2))
    entries.crash_at = entries.writes + crash_at
    with pytest.raises(SystemExit):
        store.commit(CHAIN, pair(3))
    got = store.read(CHAIN)
    assert got is not None
    assert (got.access_token, got.refresh_token) in {("A2", "R2"), ("A3", "R3")}
    # Once the new generation is written it is the one in force (it holds Exact's last pair).
    expected = ("A2", "R2") if crash_at == 1 else ("A3", "R3")
    assert (got.access_token, got.refresh_token) == expected
    # ...and the next commit goes on from there without leaving anything behind.
    entries.crash_at = None
    store.commit(CHAIN, pair(4))
    again = store.read(CHAIN)
    assert again is not None and again.refresh_token == "R4"
    assert len(entries.data) == 3


def test_a_damaged_generation_falls_back_to_the_previous_one():
    entries = Entries()
    store = TokenPairStore(entries)
    store.commit(CHAIN, pair(1))
    store.commit(CHAIN, pair(2))
    entries.damaged.add(f"{CHAIN}/tokens.2")
    got = store.read(CHAIN)
    assert got is not None and got.refresh_token == "R1"
    entries.damaged.add(f"{CHAIN}/tokens.1")
    with pytest.raises(SecureStorageUnavailable):
        store.read(CHAIN)


def test_the_old_two_entry_scheme_is_read_and_replaced_by_the_first_commit():
    entries = Entries()
    entries.data = {f"{CHAIN}/access": "OLD-A", f"{CHAIN}/refresh": "OLD-R"}
    store = TokenPairStore(entries)
    got = store.read(CHAIN)
    assert got is not None
    assert (got.access_token, got.refresh_token, got.access_expires_at) == ("OLD-A", "OLD-R", None)
    assert sorted(store.values(CHAIN)) == ["OLD-A", "OLD-R"]
    store.commit(CHAIN, pair(1))
    assert sorted(entries.data) == [f"{CHAIN}/tokens", f"{CHAIN}/tokens.1"]


def test_delete_removes_every_entry_even_a_crashed_commits():
    entries = Entries()
    store = TokenPairStore(entries)
    store.commit(CHAIN, pair(1))
    store.commit(CHAIN, pair(2))
    entries.crash_at = entries.writes + 2  # the next commit dies before its pointer flip
    with pytest.raises(SystemExit):
        store.commit(CHAIN, pair(3))
    entries.crash_at = None
    assert sorted(store.values(CHAIN)) == ["A1", "A2", "A3", "R1", "R2", "R3"]
    store.delete(CHAIN)
    assert entries.data == {}
    assert store.read(CHAIN) is None
