"""The composition root: one ``AppContext`` per command, building adapters only when asked.

The root callback (cli/app.py) fills it from the global options; commands get it with
``current()`` and hand its adapters to a service. Nothing here is built eagerly: ``exactlink
--help`` opens no database, reads no config and imports neither requests nor keyring.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from exactlink.cli.output import Output
from exactlink.errors import NotFound, UsageError
from exactlink.i18n import _

if TYPE_CHECKING:
    from exactlink.adapters.config import Config
    from exactlink.adapters.secrets import SecretStore
    from exactlink.adapters.store import Store
    from exactlink.models import Portal
    from exactlink.paths import Paths


@dataclass
class AppContext:
    """Global options and the lazily built adapters of one command run."""

    home: str | None = None
    portal_name: str | None = None
    json: bool = False
    quiet: bool = False
    verbose: int = 0
    debug: bool = False
    lang: str = "en"
    insecure_storage: bool = False
    extras: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def out(self) -> Output:
        return Output(json_mode=self.json, quiet=self.quiet, verbose=self.verbose)

    @cached_property
    def paths(self) -> Paths:
        from exactlink.paths import Paths

        return Paths.resolve(self.home)

    @cached_property
    def config(self) -> Config:
        from exactlink.adapters.config import Config

        return Config.load(self.paths.config_file)

    @cached_property
    def store(self) -> Store:
        from exactlink.adapters.store import Store

        return Store(self.paths.db_file)

    @cached_property
    def secrets(self) -> SecretStore:
        """The secret store: the OS keyring, or the 0600 file after an explicit opt-in."""
        from exactlink.adapters.secrets import open_secret_store

        insecure = self.insecure_storage or bool(self.config.get("exact.insecure_storage", False))
        return open_secret_store(self.paths, insecure=insecure)

    @property
    def stdin_is_tty(self) -> bool:
        try:
            return sys.stdin.isatty()
        except (AttributeError, ValueError):
            return False

    def require_tty(self, instead: str) -> None:
        """Refuse to prompt when stdin is not a terminal (scripts): exit 2 naming the flag."""
        if not self.stdin_is_tty:
            raise UsageError(
                _("This needs an answer, but stdin is not a terminal."),
                hint=_("Pass {flag} instead.").format(flag=instead),
            )

    def portal(self, name: str | None = None) -> Portal:
        """The portal named ``name``, ``--portal``, or the default one from config."""
        wanted = name or self.portal_name or self.config.get("default_portal")
        if not wanted:
            raise NotFound(
                _("No portal chosen and no default portal set."),
                hint=_(
                    "Create one with `exactlink portal create NAME --email E`, or pass --portal."
                ),
            )
        found = self.store.portals.get(wanted)
        if found is None:
            raise NotFound(
                _("Portal '{name}' does not exist.").format(name=wanted),
                hint=_("See `exactlink portal list`."),
            )
        return found

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()


_current: AppContext | None = None


def current() -> AppContext:
    """The context of the running command (a default one outside a command, e.g. in tests)."""
    global _current
    if _current is None:
        _current = AppContext()
    return _current


def set_current(ctx: AppContext | None) -> None:
    global _current
    if _current is not None and _current is not ctx:
        _current.close()
    _current = ctx


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
