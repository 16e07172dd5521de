"""Where exactlink keeps its files.

With ``--home DIR`` or ``EXACTLINK_HOME`` everything lives under that one folder (tests, the demo,
several firms on one machine). Otherwise the platform's folders from platformdirs: config in the
user config dir, the database, locks and certificates in the user data dir. Folders are created
0700 and files 0600, because the store names a firm's clients.

A folder that exists already is checked, never chmodded: one that is a symlink, writable by the
group or the world, or owned by another user could be swapped or read by someone else, so it is
refused (``UnsafeFolder``) with the command that fixes it. Tightening it silently would change a
folder exactlink did not create (``--home /tmp`` would make /tmp private).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import stat
from pathlib import Path
from typing import NamedTuple

from exactlink.errors import UnsafeFolder
from exactlink.i18n import _

APP_NAME = "exactlink"


class Paths(NamedTuple):
    """The folders and files of one exactlink home."""

    config_dir: Path
    data_dir: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None) -> Paths:
        """``home`` (from ``--home``), else ``EXACTLINK_HOME``, else the platform folders."""
        home = home or os.environ.get("EXACTLINK_HOME") or None
        if home:
            root = Path(home).expanduser().absolute()
            return cls(config_dir=root, data_dir=root)
        import platformdirs

        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        )

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def db_file(self) -> Path:
        return self.data_dir / "state.db"

    @property
    def locks_dir(self) -> Path:
        return self.data_dir / "locks"

    @property
    def tls_dir(self) -> Path:
        """The self-signed certificate for the `loopback-tls` redirect mode."""
        return self.data_dir / "tls"

    @property
    def insecure_secrets_file(self) -> Path:
        """The 0600 secrets file, used only after an explicit `--insecure-storage` opt-in."""
        return self.data_dir / "secrets-insecure.json"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` as 0700 (missing parents as usual) or check the existing one; either way
    refuse a folder someone else could change (``UnsafeFolder``)."""
    missing: list[Path] = []
    probe = path
    while not os.path.lexists(probe) and probe.parent != probe:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700 if folder == path else 0o777)
        except FileExistsError:
            pass  # made meanwhile by someone else: checked below like any existing folder
    check_private_dir(path)
    return path


def check_private_dir(path: Path) -> None:
    """Refuse ``path`` when it is a symlink, not a folder, writable by others or not ours."""
    info = os.lstat(path)
    shown = shlex.quote(str(path))
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeFolder(
            _(
                "The folder {path} is a symbolic link; whoever can change the link would choose"
                " where exactlink keeps the firm's data."
            ).format(path=path),
            hint=_("Use the real folder instead: --home {target} (or EXACTLINK_HOME).").format(
                target=shlex.quote(os.path.realpath(path))
            ),
            details={"path": str(path), "problem": "symlink"},
        )
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeFolder(
            _("{path} is not a folder.").format(path=path),
            hint=_("Move it away, or choose another folder with --home DIR."),
            details={"path": str(path), "problem": "not_a_folder"},
        )
    if os.name != "posix":
        return
    if info.st_uid != os.geteuid():
        raise UnsafeFolder(
            _("The folder {path} belongs to another user (uid {uid}).").format(
                path=path, uid=info.st_uid
            ),
            hint=_(
                "Use a folder of your own with --home DIR (or EXACTLINK_HOME), or have it handed"
                " over to you: sudo chown -R $(id -u) {path}"
            ).format(path=shown),
            details={"path": str(path), "problem": "owner", "uid": info.st_uid},
        )
    if info.st_mode & 0o022:
        raise UnsafeFolder(
            _("The folder {path} can be changed by other users (mode {mode:o}).").format(
                path=path, mode=stat.S_IMODE(info.st_mode)
            ),
            hint=_("Make it private: chmod 700 {path}").format(path=shown),
            details={"path": str(path), "problem": "mode", "mode": oct(stat.S_IMODE(info.st_mode))},
        )


# The temporary file of an atomic write: new (``O_EXCL``), never through a symlink
# (``O_NOFOLLOW``), not inherited by child processes.
_TEMP_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def replace_file(path: Path, data: bytes) -> None:
    """Put ``data`` at ``path`` atomically: the old file or the new one, never half of either.

    The data goes to a temporary file with a random name in the same folder, opened exclusively
    without following symlinks, mode 0600 from its first byte (a planted file or symlink at a
    guessable name is an error, never written through); it is fsynced and renamed over
    ``path`` (``os.replace`` replaces a symlink at ``path`` itself). On any failure the
    temporary file is removed, and the temporary file a killed writer left behind (kill -9,
    power loss) is removed by the next write: no copy of ``data`` (a secret, often) stays
    around. The folder is used as it is; ``OSError`` goes to the caller.
    """
    remove_dead_temps(path)
    try:
        _replace_once(path, data)
    except FileNotFoundError:
        # Our temporary file was taken for a dead writer's in the microsecond between its
        # creation and its lock (see remove_dead_temps): once more.
        _replace_once(path, data)


def _replace_once(path: Path, data: bytes) -> None:
    import secrets

    folder = path.parent
    tmp = folder / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, _TEMP_FLAGS, 0o600)
    try:
        _hold(fd)  # while it is held, nobody takes this file for a dead writer's
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(folder)


def _can_lock() -> bool:
    """``flock`` is there (POSIX). Windows has none: there a file still open by its writer
    cannot be removed, which is the test of a live writer instead."""
    try:
        import fcntl  # noqa: F401
    except ImportError:
        return False
    return True


def _hold(fd: int, *, wait: bool = True) -> bool:
    """An exclusive ``flock`` on ``fd`` (POSIX; released when the process dies). False when
    another process holds it (only with ``wait`` False)."""
    try:
        import fcntl
    except ImportError:  # Windows: an open file cannot be removed there (remove_dead_temps)
        return wait
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError:
        return False
    return True


def remove_dead_temps(path: Path) -> None:
    """Remove ``.<name>.*.tmp`` files of ``path`` whose writer is gone (killed mid-write): a
    live writer holds its temporary file's lock (POSIX) or keeps it open, which makes it
    impossible to remove (Windows). Only our own regular files, never through a symlink;
    anything unexpected is left alone."""
    prefix = f".{path.name}."
    try:
        names = [n for n in os.listdir(path.parent) if n.startswith(prefix) and n.endswith(".tmp")]
    except OSError:
        return
    lockable = _can_lock()
    for name in names:
        leftover = path.parent / name
        if lockable:
            _remove_unlocked(leftover)
        elif _regular_file_of_ours(leftover):
            with contextlib.suppress(OSError):  # still open by its writer: in use, not dead
                os.unlink(leftover)


def _regular_file_of_ours(leftover: Path, info: os.stat_result | None = None) -> bool:
    """``leftover`` (or the file ``info`` describes) is a regular file of this user; owners
    are a POSIX idea, on Windows the data folder's ACL says whose files are in it."""
    if info is None:
        try:
            info = os.lstat(leftover)
        except OSError:
            return False
    return stat.S_ISREG(info.st_mode) and (
        not hasattr(os, "geteuid") or info.st_uid == os.geteuid()
    )


def _remove_unlocked(leftover: Path) -> None:
    """POSIX: unlink ``leftover`` while holding its lock, if nobody else holds it."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(leftover, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return
    try:
        info = os.fstat(fd)
        if (
            _regular_file_of_ours(leftover, info)
            and _hold(fd, wait=False)
            and os.lstat(leftover).st_ino == info.st_ino
        ):
            os.unlink(leftover)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); best effort, the file is already complete."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` atomically with mode 0600 into a private (0700) folder
    (:func:`replace_file`)."""
    ensure_private_dir(path.parent)
    replace_file(path, data)
