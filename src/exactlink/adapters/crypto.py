"""The team store's encryption: AES-256-GCM under the firm's 256-bit store key.

Why: a team store is a database server that backups, replicas and administrators see; the client
secret and the tokens in it must be unreadable there (nothing readable in a ``pg_dump``). Like
Nango's OAuth credentials in PostgreSQL, each value is sealed with a fresh 96-bit nonce and the
row and field it belongs to as associated data, so a ciphertext copied to another row does not
decrypt. The key never enters the database: each member keeps it in their OS keyring (or, on a
server, ``EXACTLINK_STORE_KEY`` or the explicit insecure file).

``cryptography`` is imported only when a value is sealed or opened.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os

from exactlink.errors import ExactlinkError
from exactlink.i18n import _

KEY_BYTES = 32
NONCE_BYTES = 12
# The plaintext of the key's check value: opening it proves a member holds the right key before
# anything is saved (``store join``) or decrypted.
KEY_CHECK_PLAINTEXT = b"exactlink store key check v1"
KEY_CHECK_AAD = "store_meta/key_check"


class WrongStoreKey(ExactlinkError):
    """The store key at hand does not open the team store's secrets (exit 9)."""

    exit_code = 9
    code = "wrong_store_key"


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def encode_key(key: bytes) -> str:
    """The key as people copy it: unpadded base64url, 43 characters."""
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode("ascii")


def decode_key(text: str) -> bytes:
    """A key from its copied form; anything that is not 32 bytes of base64url is refused."""
    cleaned = "".join(text.split())
    try:
        key = base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise WrongStoreKey(
            _("That is not a store key (43 characters of base64url)."),
            hint=_("Copy the key `exactlink store init` printed, or ask a colleague who has it."),
        )
    return key


def fingerprint(key: bytes) -> str:
    """A short public name of the key (members compare it; it reveals nothing of the key)."""
    digest = hashlib.sha256(b"exactlink store key fingerprint\0" + key).hexdigest()
    return ":".join(digest[i : i + 4] for i in range(0, 16, 4))


def seal(key: bytes, plaintext: bytes, aad: str) -> bytes:
    """``nonce || ciphertext+tag`` of ``plaintext`` bound to ``aad`` (the row and field)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad.encode("utf-8"))


def open_sealed(key: bytes, sealed: bytes, aad: str) -> bytes:
    """The plaintext of ``seal``'s output; ``WrongStoreKey`` when the key or the row is wrong."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad.encode("utf-8"))
    except (InvalidTag, ValueError):
        raise WrongStoreKey(
            _(
                "This store key does not open the team store's secrets (it was rotated, or it is "
                "another store's key)."
            ),
            hint=_("Ask a colleague for the current key and run `exactlink store join URL`."),
        ) from None


def key_check(key: bytes) -> str:
    """The check value stored with the team store (base64)."""
    return base64.b64encode(seal(key, KEY_CHECK_PLAINTEXT, KEY_CHECK_AAD)).decode("ascii")


def verify_key(key: bytes, check: str) -> None:
    """Raise ``WrongStoreKey`` unless ``key`` opens the stored check value."""
    if open_sealed(key, base64.b64decode(check), KEY_CHECK_AAD) != KEY_CHECK_PLAINTEXT:
        raise WrongStoreKey(_("The store key check failed."))
