"""A connection's token pair, committed to the secret store as one unit.

Why: Exact rotates the refresh token on every token call (reference §2.6), so the access token,
the refresh token and their expiry belong together. Written as two entries, a crash between
them left the new refresh token beside the old access token and its old expiry; the next run
then refreshed too early, got Exact's 570 s refusal, used the dead access token and marked a
live chain ``needs-reconnect``.

So a pair is one JSON value, written as a **generation** under a new name
(``connection-N/tokens.G``), and then one small **pointer** entry (``connection-N/tokens``)
is flipped to it: that single write is the commit. A crash before the flip leaves the old pair
in force (the half-written generation is never read, and the next commit writes over it); a
crash after it, the new one. The pointer also names the previous generation, kept until the
next commit, so a reader that finds the current generation unreadable falls back to it.

Nothing here depends on how a backend stores a value: it uses only ``get``, ``set`` and
``delete`` of the secret store (the OS keyring, the insecure file, the team store's sealed
table); a value longer than one keyring entry is split by the secret store itself. Generations
are numbered, so a crash never leaves an entry that no later commit cleans up.

Installations from before this scheme have ``connection-N/access`` and ``connection-N/refresh``;
they are read when there is no pointer, and removed by the first commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from exactlink.errors import ExactlinkError


class Entries(Protocol):
    """The part of a secret store this module uses (``adapters.secrets.SecretStore``)."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...

    def delete(self, key: str) -> None: ...


FORMAT = 1
# Generations below the previous one that a commit removes: one crash between the flip and the
# clean-up leaves one behind, and the next commit takes it.
_CLEANUP_DEPTH = 2


def pointer_name(chain: str) -> str:
    """The entry whose value names the current generation (``chain`` is ``connection-N``)."""
    return f"{chain}/tokens"


def generation_name(chain: str, generation: int) -> str:
    return f"{chain}/tokens.{generation}"


def legacy_names(chain: str) -> tuple[str, str]:
    """The two entries of the scheme before generations: access, refresh."""
    return (f"{chain}/access", f"{chain}/refresh")


@dataclass(frozen=True)
class TokenPair:
    """An access and a refresh token with the access token's expiry and when they were issued
    (our clock when Exact's answer arrived). ``generation`` is 0 for a pair of the old scheme,
    whose times are then unknown here (the connection's row has them)."""

    access_token: str
    refresh_token: str
    access_expires_at: float | None
    obtained_at: float | None
    generation: int = 0

    def __repr__(self) -> str:  # never print a token, not even in a traceback
        return (
            f"TokenPair(generation={self.generation}, access_expires_at={self.access_expires_at},"
            f" obtained_at={self.obtained_at})"
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": FORMAT,
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "access_expires_at": self.access_expires_at,
                "obtained_at": self.obtained_at,
            }
        )

    @classmethod
    def from_json(cls, text: str, generation: int = 0) -> TokenPair | None:
        """The pair in ``text``, or None when it is not a complete pair of a known format."""
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("v") != FORMAT:
            return None
        access, refresh = data.get("access_token"), data.get("refresh_token")
        if not isinstance(access, str) or not isinstance(refresh, str) or not refresh:
            return None
        return cls(
            access,
            refresh,
            _number(data.get("access_expires_at")),
            _number(data.get("obtained_at")),
            generation,
        )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _pointer(text: str | None) -> tuple[int, int | None] | None:
    """(current, previous) generation from the pointer's value; None when absent or unreadable."""
    if text is None:
        return None
    try:
        data = json.loads(text)
        current = data["current"]
        previous = data.get("previous")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(current, int) or isinstance(current, bool) or current < 1:
        return None
    if not isinstance(previous, int) or isinstance(previous, bool) or previous < 1:
        previous = None
    return current, previous


class TokenPairStore:
    """Read, commit and remove the token pair of a chain (``connection-N``) in a secret store."""

    def __init__(self, secrets: Entries) -> None:
        self.secrets = secrets

    # -- reading -----------------------------------------------------------------------------
    def read(self, chain: str, *, roll_forward: bool = True) -> TokenPair | None:
        """The pair in force, or None when the chain has none.

        That is the newest complete generation of: the one after the pointer's (written
        completely by a commit that died before its flip: it holds the pair Exact issued last,
        so it is the live one), the pointer's, and the previous one (when the pointer's cannot
        be read). ``roll_forward`` False skips the first (one read less): enough to find an
        access token to use, since a pair is only replaced once its access token is spent; a
        refresh, under the chain's lock, must look."""
        pointer = _pointer(self.secrets.get(pointer_name(chain)))
        current, previous = pointer if pointer is not None else (0, None)
        failure: ExactlinkError | None = None
        ahead = current + 1 if roll_forward else None
        for generation in (ahead, current, previous):
            if not generation:
                continue
            try:
                text = self.secrets.get(generation_name(chain, generation))
            except ExactlinkError as exc:  # a damaged generation: try the one before it
                failure = failure or exc
                continue
            pair = TokenPair.from_json(text, generation) if text is not None else None
            if pair is not None:
                return pair
        if pointer is None:
            return self._read_legacy(chain)
        if failure is not None:
            raise failure
        return None

    def _read_legacy(self, chain: str) -> TokenPair | None:
        access_name, refresh_name = legacy_names(chain)
        refresh = self.secrets.get(refresh_name)
        if not refresh:
            return None
        return TokenPair(self.secrets.get(access_name) or "", refresh, None, None, 0)

    def names(self, chain: str) -> list[str]:
        """The entries that hold this chain's secrets now (to copy them to another store)."""
        pointer = _pointer(self.secrets.get(pointer_name(chain)))
        current, previous = pointer if pointer is not None else (0, None)
        found = [pointer_name(chain)] if pointer is not None else []
        for generation in (current + 1, current, previous):
            if generation and self.secrets.get(generation_name(chain, generation)) is not None:
                found.append(generation_name(chain, generation))
        found += [name for name in legacy_names(chain) if self.secrets.get(name) is not None]
        return found

    def values(self, chain: str) -> list[str]:
        """Every token this chain's entries hold (a support bundle scrubs them)."""
        found: list[str] = []
        for name in self.names(chain):
            text = self.secrets.get(name)
            pair = TokenPair.from_json(text) if text else None
            if pair is not None:
                found += [pair.access_token, pair.refresh_token]
            elif text and name in legacy_names(chain):
                found.append(text)  # an entry of the old scheme: the token itself
        return [value for value in found if value]

    # -- writing -----------------------------------------------------------------------------
    def commit(self, chain: str, pair: TokenPair, *, after: TokenPair | None = None) -> TokenPair:
        """Make ``pair`` the chain's pair: a new generation, then the pointer (the commit), then
        the clean-up. The caller holds the chain's lock (one writer at a time).

        ``after``: the pair this one replaces, as the caller read it under that lock. Then
        nothing is read here, and the first write follows Exact's answer at once: until it is
        done, the new refresh token exists only in this process's memory."""
        if after is not None:
            legacy, base = after.generation == 0, after.generation
        else:
            pointer = _pointer(self.secrets.get(pointer_name(chain)))
            latest = self.read(chain)
            legacy = pointer is None
            base = max(pointer[0] if pointer else 0, latest.generation if latest else 0)
        generation = base + 1
        committed = TokenPair(
            pair.access_token,
            pair.refresh_token,
            pair.access_expires_at,
            pair.obtained_at,
            generation,
        )
        self.secrets.set(generation_name(chain, generation), committed.to_json())
        flip = {"v": FORMAT, "current": generation, "previous": base or None}
        self.secrets.set(pointer_name(chain), json.dumps(flip))
        # Committed. What follows only tidies up: a crash here loses nothing.
        if legacy:
            for name in legacy_names(chain):
                self.secrets.delete(name)
        for older in range(base - 1, base - 1 - _CLEANUP_DEPTH, -1):
            if older >= 1:
                self.secrets.delete(generation_name(chain, older))
        return committed

    def delete(self, chain: str) -> None:
        """Remove every entry of the chain (disconnect, a replaced link); the pointer last, so
        an interrupted removal is finished by the next one."""
        pointer = _pointer(self.secrets.get(pointer_name(chain)))
        current = pointer[0] if pointer is not None else 0
        for generation in range(current + 2, current - 2 - _CLEANUP_DEPTH, -1):
            if generation >= 1:
                self.secrets.delete(generation_name(chain, generation))
        for name in legacy_names(chain):
            self.secrets.delete(name)
        if pointer is not None:
            self.secrets.delete(pointer_name(chain))
