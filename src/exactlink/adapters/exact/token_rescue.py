"""Where a rotated token pair waits when the secret store fails right after Exact answered.

Why: Exact rotates the refresh token on every token call (reference §2.6); once it answered, the
new pair in this process's memory is the only working one. If the keyring is gone, the disk is
full or the team store's server went away at that moment, dropping the pair would make the firm
reconnect in a browser. So the token manager retries, and then keeps the pair here until the
next exactlink command stores it where it belongs.

What "safe" means here, honestly: the pair is sealed with AES-256-GCM (``adapters/crypto.py``)
under a key derived (HMAC-SHA256, a random salt per file) from the Exact app's **client secret**,
which lives only in the chosen secret store (keyring, insecure file, or the team store). The
file (0600, in a 0700 folder, written through an exclusive temporary file) is therefore no more
useful than the secret store itself: whoever can open it already holds the client secret, and a
refresh token is worthless without the client secret anyway. A copy of the file in a backup,
or read by someone who cannot read the keyring, reveals nothing. The row and the app are the
associated data, so a file cannot be replayed onto another connection.

The first folder is ``rescue/`` in the data folder; when it cannot be written (a full disk),
the user's runtime folder (``$XDG_RUNTIME_DIR``: memory, private to the user, emptied at
logout) is tried. If neither works the pair is lost, and the error says so.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from exactlink.adapters.exact.token_store import TokenPair
from exactlink.errors import ExactlinkError
from exactlink.paths import write_private_file

if TYPE_CHECKING:
    from exactlink.adapters.exact.oauth import AppCredentials
    from exactlink.paths import Paths

FORMAT = 1
SUFFIX = ".sealed"
_KEY_LABEL = b"exactlink token rescue v1\0"


def _key(app: AppCredentials, salt: bytes) -> bytes:
    return hmac.new(app.client_secret.encode("utf-8"), _KEY_LABEL + salt, hashlib.sha256).digest()


def _aad(chain: str, app: AppCredentials) -> str:
    return f"exactlink-rescue/{chain}/{app.site}/{app.client_id}"


def runtime_folder(paths: Paths) -> Path | None:
    """``$XDG_RUNTIME_DIR/exactlink-<home>``: a memory-backed folder of this user, if any."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if not base or os.name != "posix":
        return None
    try:
        info = os.lstat(base)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        return None  # not a private folder of ours: not a place for a secret
    digest = hashlib.sha256(str(paths.data_dir.resolve()).encode()).hexdigest()[:16]
    return Path(base) / f"exactlink-{digest}"


class TokenRescue:
    """Sealed token pairs, one file per chain, in the first folder that takes it."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = list(folders)

    @classmethod
    def for_paths(cls, paths: Paths) -> TokenRescue:
        runtime = runtime_folder(paths)
        return cls([paths.data_dir / "rescue", *([runtime] if runtime else [])])

    def _file(self, folder: Path, chain: str) -> Path:
        return folder / f"{chain}{SUFFIX}"

    def keep(self, chain: str, app: AppCredentials, pair: TokenPair) -> Path:
        """Seal ``pair`` into the first folder that takes it; the path, or the last error when
        no folder could be written."""
        from exactlink.adapters import crypto

        salt = secrets.token_bytes(16)
        sealed = crypto.seal(_key(app, salt), pair.to_json().encode("utf-8"), _aad(chain, app))
        document = {
            "v": FORMAT,
            "chain": chain,
            "site": app.site,
            "client_id": app.client_id,
            "obtained_at": pair.obtained_at,
            "salt": base64.b64encode(salt).decode("ascii"),
            "sealed": base64.b64encode(sealed).decode("ascii"),
        }
        data = json.dumps(document).encode("utf-8")
        failure: Exception | None = None
        for folder in self.folders:
            path = self._file(folder, chain)
            try:
                write_private_file(path, data)
            except (OSError, ExactlinkError) as exc:  # full, read-only, unsafe: the next one
                failure = exc
                continue
            return path
        raise failure or OSError("no folder to keep the tokens in")

    def find(self, chain: str) -> list[Path]:
        """The kept files of ``chain`` (usually none: one ``stat`` per folder)."""
        return [p for p in (self._file(f, chain) for f in self.folders) if os.path.isfile(p)]

    def open(self, path: Path, chain: str, app: AppCredentials) -> TokenPair | None:
        """The pair kept in ``path``, or None when it cannot be opened (another app or client
        secret, another chain, a damaged file)."""
        from exactlink.adapters import crypto

        try:
            document = json.loads(path.read_text("utf-8"))
            salt = base64.b64decode(document["salt"])
            sealed = base64.b64decode(document["sealed"])
            if document.get("v") != FORMAT or document.get("chain") != chain:
                return None
            plain = crypto.open_sealed(_key(app, salt), sealed, _aad(chain, app))
        except (OSError, ValueError, KeyError, TypeError, crypto.WrongStoreKey):
            return None
        return TokenPair.from_json(plain.decode("utf-8"))

    def discard(self, path: Path) -> None:
        path.unlink(missing_ok=True)
