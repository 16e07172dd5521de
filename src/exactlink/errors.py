"""The one error tree of exactlink.

Every failure a user can meet is one of these. Each carries the process exit code (the table in
docs/exit-codes.md), a stable machine-readable ``code`` for ``--json`` envelopes, a message and a
hint that names the command or the Exact Online menu path that fixes it. Adapters translate library
exceptions (sqlite3, requests, keyring) into these at their boundary; nothing else leaks upward.
Two live next to the adapter whose library they translate, so this leaf imports nothing of ours;
they keep the generic exit code 1 (``code`` "error" in docs/exit-codes.md).

    ExactlinkError                      1  unexpected / generic
    ├── StoreError                      1  adapters/store/db.py: the SQLite store cannot be opened
    │                                      or written (locked past the busy timeout, disk full,
    │                                      read-only, newer schema); damaged: StoreDamaged (11)
    ├── ConfigError                     1  adapters/config.py: config.toml cannot be read
    ├── UsageError                      2  bad flags, bad input, a prompt needed without a TTY
    │   └── InvalidInput                2  a value that does not validate (VAT, e-mail, CSV row, ...)
    ├── NotFound                        3  unknown portal, client, division, connection
    ├── Conflict                        4  exists already; needs --overwrite / --force / --update
    ├── NotConnected                    5  no connection, or the token chain is dead
    │   └── ReconnectNeeded             5  the chain died (old refresh token used, expired, revoked)
    ├── ExactRefused                    6  Exact said no: rights, scope, blocked, bad request
    ├── RateLimited                     7  Exact's daily (or error-block) limit reached
    ├── ExactUnreachable                8  network down, timeout, 5xx, port in use
    │   └── ExactTooSlow                8  one request passed its total deadline
    ├── SecureStorageUnavailable        9  no secure keyring (and no --insecure-storage opt-in)
    ├── DoctorProblems                 10  doctor found at least one ✗
    ├── EnvironmentProblem             11  the machine refused: permission denied, disk full,
    │   │                                  read-only file system (names the path and the fix)
    │   ├── UnsafeFolder               11  the home or data folder is a symlink, writable by
    │   │                                  others or owned by another user
    │   ├── StoreDamaged               11  the local store file is corrupt, cut short, empty
    │   │                                  where a store was, or unreadable
    │   └── UnsafeFile                 11  the insecure secrets file is a symlink, open to the
    │                                      group or the world, or owned by another user
    └── Cancelled                     130  Ctrl-C
"""

from __future__ import annotations

from typing import Any, ClassVar


class ExactlinkError(Exception):
    """Base of every error exactlink raises on purpose."""

    exit_code: ClassVar[int] = 1
    code: ClassVar[str] = "error"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        """The error as it appears in a ``--json`` result envelope (never a secret in it)."""
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.hint:
            data["hint"] = self.hint
        if self.details:
            data["details"] = self.details
        return data


class UsageError(ExactlinkError):
    """The command was called wrongly, or needs a prompt while stdin is not a terminal."""

    exit_code = 2
    code = "usage"


class InvalidInput(UsageError):
    """A value failed validation: VAT or KvK/KBO number, e-mail, an import row."""

    code = "invalid_input"


class NotFound(ExactlinkError):
    """A portal, client, connection or division that does not exist."""

    exit_code = 3
    code = "not_found"


class Conflict(ExactlinkError):
    """Something exists already with other data, or would be overwritten."""

    exit_code = 4
    code = "conflict"


class NotConnected(ExactlinkError):
    """No usable Exact Online connection for this portal or client."""

    exit_code = 5
    code = "not_connected"


class ReconnectNeeded(NotConnected):
    """The token chain is dead; only a new `exact connect` brings it back."""

    code = "reconnect_needed"


# ``ExactRefused.reason``: Exact's ``Reason`` header when it sent one (NoDivisionAccess,
# DivisionBlocked, LicenseExpired, BlockedCustomer, BlockedUser, InactiveUser; reference §3.8),
# else one of these, read from the OData message.
# "Forbidden - User division is not within division scope":
REASON_NOT_IN_SCOPE = "NotInDivisionScope"
REASON_APP_SCOPE = "ApplicationScopeViolated"  # "Forbidden - Application Scope Violated"


class ExactRefused(ExactlinkError):
    """Exact Online refused the request: rights, division scope, blocked, bad request."""

    exit_code = 6
    code = "exact_refused"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, details=details)
        self.status = status
        self.reason = reason
        if status is not None:
            self.details.setdefault("status", status)
        if reason:
            self.details.setdefault("reason", reason)


class RateLimited(ExactlinkError):
    """Exact's rate limit (daily, or the hourly error block) is reached."""

    exit_code = 7
    code = "rate_limited"


class ExactUnreachable(ExactlinkError):
    """Exact Online (or the network, or a local port) could not be used."""

    exit_code = 8
    code = "unreachable"


class ExactTooSlow(ExactUnreachable):
    """One request to Exact Online passed its total deadline (a server that drips bytes, a
    stalled link). Never retried: another try would wait as long again."""


class SecureStorageUnavailable(ExactlinkError):
    """No secure OS keyring, and no explicit `--insecure-storage` opt-in."""

    exit_code = 9
    code = "secure_storage_unavailable"


class DoctorProblems(ExactlinkError):
    """`exactlink doctor` found at least one failing check."""

    exit_code = 10
    code = "doctor_problems"


class EnvironmentProblem(ExactlinkError):
    """The machine refused a file operation: permission denied, disk full, read-only disk.

    Not a bug in exactlink: the message names the path, the hint what to change.
    """

    exit_code = 11
    code = "environment"


class UnsafeFolder(EnvironmentProblem):
    """exactlink's home or data folder could be changed by someone else: a symlink, writable by
    the group or the world, or owned by another user. It is refused, never silently tightened."""

    code = "unsafe_folder"


class StoreDamaged(EnvironmentProblem):
    """The local store (state.db) cannot be read: not an SQLite file, cut short, empty where a
    store was in use, malformed, or no permission to read it. Never started afresh silently:
    that would look like "no portal" and lose the firm's clients from view."""

    code = "store_damaged"


class UnsafeFile(EnvironmentProblem):
    """A file that holds secrets (the ``--insecure-storage`` file) could be read or replaced by
    someone else: a symlink, open to the group or the world, or owned by another user. It is
    refused, never silently tightened (whoever could read it may have read it)."""

    code = "unsafe_file"


class Cancelled(ExactlinkError):
    """The person pressed Ctrl-C."""

    exit_code = 130
    code = "cancelled"
