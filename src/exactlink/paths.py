"""Where exactlink keeps its files.

With ``--home DIR`` or ``EXACTLINK_HOME`` everything lives under that one folder (tests, the demo,
several firms on one machine). Otherwise the platform's folders from platformdirs: config in the
user config dir, the database, locks and certificates in the user data dir. Folders are created
0700 and files 0600, because the store names a firm's clients.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

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
    """Create ``path`` (and parents) as 0700, and tighten it if it already exists."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name == "posix":
        os.chmod(path, 0o700)
    return path


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` atomically (temp file + ``os.replace``) with mode 0600."""
    ensure_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
