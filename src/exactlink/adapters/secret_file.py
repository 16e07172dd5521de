"""The explicit ``--insecure-storage`` opt-in: secrets in a 0600 JSON file in the 0700 data folder,
for servers without a keyring.

The file is checked as it is on disk every time it is read (``os.lstat``, then the opened file
itself, opened without following a symlink): one that is a symbolic link, not a regular file,
open to the group or the world, or owned by another user is refused (``UnsafeFile``, exit 11)
with the fix. It is never used, and never chmodded on the quiet: whoever could read it may have
read it already, which the person must know. Modes and owners are POSIX ideas; on Windows the
symlink and regular-file checks remain (the data folder's ACL is what protects it there).
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import stat
from pathlib import Path

from exactlink.adapters.secret_chunks import ChunkedEntries, ChunkedStore
from exactlink.errors import SecureStorageUnavailable, UnsafeFile
from exactlink.i18n import _
from exactlink.paths import write_private_file

INSECURE_BACKEND = "insecure-file"
# Any permission for the group or the world: reading the file is reading every token.
_OPEN_TO_OTHERS = 0o077


def _posix() -> bool:
    return os.name == "posix" and hasattr(os, "geteuid")


def check_secret_file(path: Path, info: os.stat_result) -> None:
    """Refuse the secrets file described by ``info`` (from ``os.lstat`` or ``os.fstat``) when
    someone else could read or replace it."""
    shown = shlex.quote(str(path))
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeFile(
            _(
                "The insecure secrets file {path} is a symbolic link; whoever can change the link"
                " would choose where exactlink reads and writes the firm's tokens."
            ).format(path=path),
            hint=_(
                "Remove the link (rm {path}), then store the secrets again: `exactlink exact app"
                " set ... --insecure-storage` and `exactlink exact connect`."
            ).format(path=shown),
            details={"path": str(path), "problem": "symlink"},
        )
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFile(
            _("The insecure secrets file {path} is not a regular file.").format(path=path),
            hint=_("Move it away, then store the secrets again with `exactlink exact connect`."),
            details={"path": str(path), "problem": "not_a_file"},
        )
    if not _posix():
        return
    if info.st_uid != os.geteuid():
        raise UnsafeFile(
            _("The insecure secrets file {path} belongs to another user (uid {uid}).").format(
                path=path, uid=info.st_uid
            ),
            hint=_(
                "Recreate it as yourself: move it away, then `exactlink exact app set ..."
                " --insecure-storage` and `exactlink exact connect`."
            ),
            details={"path": str(path), "problem": "owner", "uid": info.st_uid},
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & _OPEN_TO_OTHERS:
        raise UnsafeFile(
            _(
                "The insecure secrets file {path} can be read by other users (mode {mode:04o});"
                " it holds the firm's tokens."
            ).format(path=path, mode=mode),
            hint=_(
                "Make it private: chmod 600 {path}. Others may have read it: connect again"
                " (`exactlink exact connect`) to replace the tokens."
            ).format(path=shown),
            details={"path": str(path), "problem": "mode", "mode": f"{mode:04o}"},
        )


def read_secret_file(path: Path) -> bytes | None:
    """The file's bytes (``None`` when there is none yet), after ``check_secret_file`` on the
    path and on the file actually opened (a link swapped in between is not followed)."""
    try:
        check_secret_file(path, os.lstat(path))
    except FileNotFoundError:
        return None
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # made a symlink since the lstat
            check_secret_file(path, os.lstat(path))
        raise
    with os.fdopen(fd, "rb") as handle:
        check_secret_file(path, os.fstat(handle.fileno()))
        return handle.read()


class InsecureFileSecretStore(ChunkedStore):
    """The explicit opt-in: a 0600 JSON file in a 0700 folder, for servers without a keyring."""

    secure = False
    backend_name = INSECURE_BACKEND

    def __init__(self, path: Path) -> None:
        self.path = path
        # The same entry size as the keyrings: a file moved to a keyring store fits unchanged.
        self._entries = ChunkedEntries(self._get_entry, self._set_entry, self._delete_entry)

    def file_mode(self) -> int | None:
        """The file's permission bits as they are on disk (``os.lstat``), ``None`` when it does
        not exist yet; ``UnsafeFile`` when it must not be used."""
        try:
            info = os.lstat(self.path)
        except FileNotFoundError:
            return None
        check_secret_file(self.path, info)
        return stat.S_IMODE(info.st_mode)

    @property
    def has_modes(self) -> bool:
        """Permission bits mean something here (POSIX); on Windows the folder's ACL decides."""
        return _posix()

    def _lock(self):  # type: ignore[no-untyped-def]
        from filelock import FileLock

        return FileLock(str(self.path) + ".lock", timeout=30, mode=0o600)

    def _read(self) -> dict[str, str]:
        try:
            raw = read_secret_file(self.path)
            return {} if raw is None else dict(json.loads(raw.decode("utf-8")))
        except (OSError, ValueError, TypeError) as exc:  # unreadable, not JSON, not an object
            raise SecureStorageUnavailable(
                _("The insecure secrets file {path} cannot be read.").format(path=self.path),
                hint=_("Remove it and connect again: `exactlink exact connect`."),
            ) from exc

    def _get_entry(self, key: str) -> str | None:
        return self._read().get(key)

    def _set_entry(self, key: str, value: str) -> None:
        with self._lock():
            data = self._read()
            data[key] = value
            write_private_file(self.path, json.dumps(data).encode("utf-8"))

    def _delete_entry(self, key: str) -> None:
        with self._lock():
            data = self._read()
            if data.pop(key, None) is not None:
                write_private_file(self.path, json.dumps(data).encode("utf-8"))
