"""``config.toml``: defaults, never a secret.

Read with tomllib, written with tomli-w through a temp file and ``os.replace`` (0600), so a crash
mid-write never leaves a truncated file. The plain form tomli-w writes (tables, strings without
escapes, booleans, integers) is read by ``read_plain`` without importing tomllib, whose import
and regexes cost a few milliseconds on every command; anything else goes to tomllib.

Keys (see docs/configuration.md):

    default_portal = "Kantoor Peeters"
    language = "nl"
    [exact]
    region = "be"                     # nl be de uk us es fr
    base_url = "http://127.0.0.1:..." # overrides the region's site (a sandbox)
    client_id = "{...}"
    redirect_uri = "http://127.0.0.1:8765/callback"
    insecure_storage = false          # the explicit --insecure-storage opt-in
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exactlink.errors import ExactlinkError
from exactlink.i18n import _
from exactlink.paths import write_private_file

DEFAULT_PORTAL_KEY = "default_portal"


class ConfigError(ExactlinkError):
    """config.toml could not be read."""


class Config:
    """The parsed ``config.toml`` of one home; ``save`` writes it back atomically."""

    def __init__(self, path: Path, data: dict[str, Any] | None = None) -> None:
        self.path = path
        self.data: dict[str, Any] = data if data is not None else {}

    @classmethod
    def load(cls, path: Path) -> Config:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls(path)
        except OSError as exc:
            raise _unreadable(path, exc) from exc
        plain = read_plain(raw)
        if plain is not None:
            return cls(path, plain)
        import tomllib

        try:
            return cls(path, tomllib.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise _unreadable(path, exc) from exc

    @property
    def default_portal(self) -> str | None:
        """The portal commands act on when no ``--portal`` is given."""
        value = self.get(DEFAULT_PORTAL_KEY)
        return str(value) if value else None

    def get(self, dotted: str, default: Any = None) -> Any:
        """``get("exact.client_id")``."""
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def set(self, dotted: str, value: Any) -> None:
        """Set a key (``None`` removes it); call ``save`` to persist."""
        *parents, last = dotted.split(".")
        node = self.data
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value

    def save(self) -> None:
        import tomli_w

        write_private_file(self.path, tomli_w.dumps(self.data).encode("utf-8"))


def _unreadable(path: Path, exc: Exception) -> ConfigError:
    return ConfigError(
        _("Cannot read {path}: {error}").format(path=path, error=exc),
        hint=_("Fix or remove the file; `exactlink doctor` checks it."),
    )


def read_plain(raw: bytes) -> dict[str, Any] | None:
    """``raw`` parsed as tomllib would, when it is in the plain form tomli-w writes: ``[table]``
    headers of bare keys, ``key = value`` with a bare key and a string without escapes or
    control characters, ``true``/``false`` or a decimal integer; blank lines. None for anything
    else (comments, escapes, floats, arrays, dates, a repeated key or table...): the caller then
    asks tomllib, which also gives the error message of a broken file."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\r" in text:
        return None
    data: dict[str, Any] = {}
    table = data
    headers: set[tuple[str, ...]] = set()
    for line in text.split("\n"):
        if not line:
            continue
        if line[0] == "[":
            found = _open_table(data, line, headers)
            if found is None:
                return None
            table = found
            continue
        key, sep, value = line.partition(" = ")
        parsed = _plain_value(value)
        if not sep or not _bare(key) or key in table or parsed is None:
            return None
        table[key] = parsed
    return data


def _bare(key: str) -> bool:
    """A bare TOML key made of ASCII letters, digits, ``_`` and ``-`` (not only ``_``/``-``)."""
    return key.isascii() and key.replace("-", "").replace("_", "").isalnum()


def _open_table(
    data: dict[str, Any], line: str, headers: set[tuple[str, ...]]
) -> dict[str, Any] | None:
    """The table a ``[a.b]`` header opens (created as needed); None when the header is not
    plain or the table was opened before or is a value."""
    if line[-1] != "]" or line.startswith("[["):
        return None
    path = tuple(line[1:-1].split("."))
    if path in headers or not all(_bare(part) for part in path):
        return None
    headers.add(path)
    node = data
    for part in path:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return None
    return node


_NOT_PLAIN = frozenset('"\\\x7f').union(chr(code) for code in range(0x20))


def _plain_value(value: str) -> str | bool | int | None:
    """A string without escapes or control characters, a boolean or a decimal integer; None
    for any other TOML value."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        inner = value[1:-1]
        return None if _NOT_PLAIN.intersection(inner) else inner
    if value in ("true", "false"):
        return value == "true"
    digits = value[1:] if value[:1] == "-" else value
    if digits.isascii() and digits.isdigit() and (digits[0] != "0" or value == "0"):
        return int(value)
    return None
