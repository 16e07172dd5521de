"""Writing an output file into a folder other people may share (``support bundle -o``).

The folder may be ``/tmp`` or any 1777 folder where another local user can plant a file or a
symlink. So the data goes to a temporary file with a random name, opened with ``O_EXCL`` (it must
be new) and ``O_NOFOLLOW`` (a planted symlink is an error, never followed), mode 0600 from its
first byte; it is fsynced and renamed over the target with ``os.replace``, which replaces a
symlink at the target itself instead of writing through it. A folder that exists is used as it
is: its permissions are never changed (a shared folder stays shared). A folder that does not
exist is created, 0700.

``OSError``s leave this module as ``EnvironmentProblem`` (exit 11) naming the path and the fix.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from exactlink.errors import EnvironmentProblem
from exactlink.i18n import _
from exactlink.paths import replace_file


def write_file(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, mode 0600, safe in a shared folder."""
    path = Path(path)
    folder = path.parent
    try:
        if not folder.is_dir():
            folder.mkdir(parents=True, mode=0o700)
        replace_file(path, data)
    except OSError as exc:
        raise environment_problem(exc, path) from None
    return path


# What the machine refused, by errno: (message, hint). Permission, space and read-only are the
# person's to fix, not a bug in exactlink.
_PERMISSION = (errno.EACCES, errno.EPERM)
_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
ENVIRONMENT_ERRNOS = frozenset((*_PERMISSION, *_FULL, errno.EROFS))


def environment_problem(
    exc: OSError, path: str | os.PathLike[str] | None = None
) -> EnvironmentProblem:
    """``exc`` as the error a person can act on: what happened to which path, and the fix."""
    where = str(path if path is not None else (exc.filename or "?"))
    reason = errno.errorcode.get(exc.errno or 0, "EIO")
    if exc.errno in _PERMISSION:
        message = _("Permission denied: {path}.").format(path=where)
        hint = _(
            "Check that the folder of {path} is yours and writable (ls -ld), or choose another"
            " path."
        ).format(path=where)
    elif exc.errno in _FULL:
        message = _("The disk is full: {path} cannot be written.").format(path=where)
        hint = _("Free some space on that disk (or raise your quota), then run the command again.")
    elif exc.errno == errno.EROFS:
        message = _("{path} is on a read-only file system.").format(path=where)
        hint = _("Choose a path on a writable disk, or remount that disk read-write.")
    else:
        message = _("{path} cannot be written: {error}").format(
            path=where, error=exc.strerror or exc
        )
        hint = _("Check the path: its folder must exist and be a folder you can write to.")
    return EnvironmentProblem(message, hint=hint, details={"path": where, "errno": reason})
