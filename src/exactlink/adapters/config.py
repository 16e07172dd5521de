"""``config.toml``: defaults, never a secret.

Read with tomllib, written with tomli-w through a temp file and ``os.replace`` (0600), so a crash
mid-write never leaves a truncated file. Keys (see docs/configuration.md):

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
        if not path.exists():
            return cls(path)
        import tomllib

        try:
            with path.open("rb") as handle:
                return cls(path, tomllib.load(handle))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(
                _("Cannot read {path}: {error}").format(path=path, error=exc),
                hint=_("Fix or remove the file; `exactlink doctor` checks it."),
            ) from exc

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
