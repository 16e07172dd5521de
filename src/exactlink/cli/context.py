"""The composition root: one ``AppContext`` per command, building adapters only when asked.

The root callback (cli/app.py) builds it from the global options and puts it on Click's context
object (``ctx.obj``); commands get it with ``app_context(typer_ctx)`` and hand its adapters to a
service. Nothing here is built eagerly: ``exactlink
--help`` opens no database, reads no config and imports neither requests nor keyring.
"""

from __future__ import annotations

import sys
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from exactlink.cli.output import Output
from exactlink.errors import NotFound, UsageError
from exactlink.i18n import _

if TYPE_CHECKING:
    from exactlink.adapters.config import Config
    from exactlink.adapters.secrets import SecretStore
    from exactlink.adapters.store import Store
    from exactlink.models import Client, Connection, Portal
    from exactlink.paths import Paths
    from exactlink.services.exact_app import AppSettings
    from exactlink.services.ports import ExactPort


class AppContext:
    """Global options and the lazily built adapters of one command run.

    A plain class rather than a dataclass: it is built on every start-up, where a dataclass's
    generated methods cost more than they give.
    """

    def __init__(
        self,
        *,
        home: str | None = None,
        portal_name: str | None = None,
        json: bool = False,
        quiet: bool = False,
        verbose: int = 0,
        debug: bool = False,
        lang: str = "en",
        insecure_storage: bool = False,
    ) -> None:
        self.home = home
        self.portal_name = portal_name
        self.json = json
        self.quiet = quiet
        self.verbose = verbose
        self.debug = debug
        self.lang = lang
        self.insecure_storage = insecure_storage
        self.extras: dict[str, Any] = {}
        # Set by a command that only reads (``app_context(..., reads_only=True)``): a team
        # store's reads then skip psycopg's import (adapters/store/postgres_reads.py).
        self.reads_only = False

    @cached_property
    def out(self) -> Output:
        return Output(
            json_mode=self.json, quiet=self.quiet, verbose=self.verbose, portal=self.portal_name
        )

    @cached_property
    def paths(self) -> Paths:
        from exactlink.paths import Paths

        return Paths.resolve(self.home)

    @cached_property
    def config(self) -> Config:
        from exactlink.adapters.config import Config

        return Config.load(self.paths.config_file)

    @cached_property
    def store_url(self) -> str | None:
        """The team store's URL (``EXACTLINK_STORE`` or config ``store.url``); None: local."""
        import os

        from_env = os.environ.get("EXACTLINK_STORE")
        return from_env or self.config.get("store.url") or None

    @cached_property
    def store(self) -> Store:
        from exactlink.adapters.store import Store

        # An empty state.db in a home whose config names a portal was cut to nothing: refused
        # (exit 11), not started afresh as if no portal had ever been made.
        return Store(
            self.paths.db_file,
            self.store_url,
            in_use=lambda: bool(self.config.default_portal),
            quick_reads=self.reads_only,
        )

    @cached_property
    def member_secrets(self) -> SecretStore:
        """This member's own secret store: the OS keyring, or the 0600 file after an explicit
        opt-in (on a team store it holds only the store key)."""
        from exactlink.adapters.secrets import open_secret_store

        insecure = self.insecure_storage or bool(self.config.get("exact.insecure_storage", False))
        if insecure:
            from exactlink.paths import remove_dead_temps

            # A writer killed mid-write (kill -9, power loss) left its temporary copy of every
            # secret: gone before anything else happens, not only at the next write.
            remove_dead_temps(self.paths.insecure_secrets_file)
        return open_secret_store(self.paths, insecure=insecure)

    @cached_property
    def store_key(self) -> bytes:
        """The team store's key (``EXACTLINK_STORE_KEY`` or this member's secret store)."""
        import os

        from exactlink.services.team_store import KEY_ENV, load_key

        member = None if os.environ.get(KEY_ENV) else self.member_secrets
        return load_key(self.store.db, member)

    @cached_property
    def secrets(self) -> SecretStore:
        """Where the client secret and the tokens are: the member's secret store, or on a team
        store its ``secrets`` table sealed under the store key."""
        if self.store.is_team:
            from exactlink.adapters.store.team_secrets import TeamSecretStore

            return TeamSecretStore(self.store.db, self.store_key)
        return self.member_secrets

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

    def portal_choice(self, name: str | None = None) -> str | None:
        """The portal name asked for: ``name``, else ``--portal``, else the configured default."""
        return name or self.portal_name or self.config.default_portal

    def confirm(self, question: str, *, yes: bool) -> None:
        """Ask before something destructive, unless ``--yes``; no prompt without a TTY (exit 2)."""
        if yes:
            return
        self.require_tty("--yes")
        from exactlink.cli.prompts import ask_yes_no
        from exactlink.errors import Cancelled

        try:
            agreed = ask_yes_no(question, stderr=self.out.stderr)
        except EOFError:
            agreed = False
        if not agreed:
            raise Cancelled(_("Aborted."))

    def portal(self, name: str | None = None) -> Portal:
        """The portal named ``name``, ``--portal``, or the default one from config."""
        wanted = self.portal_choice(name)
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

    # -- Exact Online: the app, connections, tokens, the REST client ------------------------
    def exact_app(self, region: str | None = None) -> AppSettings:
        """The configured Exact app (``NotFound`` pointing at `exact app set` when missing);
        ``region`` overrides the configured site."""
        from exactlink.services.exact_app import load_app

        if self.store.is_team and not self.config.get("exact.client_id"):
            # A colleague who did not run `exact app set`: the team's app (shared in the store).
            from exactlink.adapters.config import Config
            from exactlink.services.team_store import shared_app

            app = shared_app(self.store.db)
            if app:
                return load_app(
                    Config(self.paths.config_file, {**self.config.data, "exact": app}), region
                )
        return load_app(self.config, region)

    def share_app_settings(self) -> None:
        """On a team store, keep this home's Exact app settings (never the secret, which is in
        the store's sealed secrets) where colleagues find them."""
        if self.store.is_team:
            from exactlink.services.team_store import share_app

            share_app(self.store.db, dict(self.config.get("exact", {}) or {}))

    def exact_session(self) -> Any:
        """One ``requests.Session`` per command (keep-alive to one site)."""
        if "exact_session" not in self.extras:
            from exactlink.adapters.exact.http import new_session

            self.extras["exact_session"] = new_session()
        return self.extras["exact_session"]

    @cached_property
    def exact_client_secret(self) -> str:
        """The app's client secret, read from the secret store once per command; a missing
        secret raises ``NotFound`` (and is not cached, so every attempt fails the same way)."""
        from exactlink.services.exact_app import client_secret

        return client_secret(self.secrets)

    def exact_credentials(self, site: str | None = None, client_id: str | None = None) -> Any:
        """The app's credentials (``AppCredentials``) with the secret from the secret store;
        ``site``/``client_id`` of an existing connection win over config (tokens belong to
        the site and app that issued them)."""
        from exactlink.adapters.exact.oauth import AppCredentials

        app = self.exact_app()
        return AppCredentials(
            site=(site or app.site).rstrip("/"),
            client_id=client_id or app.client_id,
            client_secret=self.exact_client_secret,
            redirect_uri=app.redirect_uri,
        )

    def exact_tokens(self, connection: Connection, client_name: str | None = None) -> Any:
        """The ``TokenManager`` of one connection (single-flight refresh across processes)."""
        from exactlink.adapters.exact.token_rescue import TokenRescue
        from exactlink.adapters.exact.tokens import TokenManager

        return TokenManager(
            connection,
            app=self.exact_credentials(connection.base_url, connection.app_client_id),
            secrets=self.secrets,
            connections=self.store.connections,
            session=self.exact_session(),
            locks_dir=self.paths.locks_dir,
            client_name=client_name,
            lock=self._team_token_lock(connection.id) if self.store.is_team else None,
            rescue=TokenRescue.for_paths(self.paths),
            on_wait=self.token_wait,
        )

    def token_wait(self, seconds: float) -> None:
        """``on_wait`` of the token manager: Exact's 570 s rule makes it wait (one line)."""
        self.out.info(
            _(
                "Exact Online gives a new token only 570 s after the previous one, and the stored"
                " access token has expired: waiting {s:.0f} s (Ctrl-C stops; nothing is lost)."
            ).format(s=seconds)
        )

    def connected_by(self, connection: Connection) -> str:
        """Who made a chain and when, from the audit log: ``anna on laptop-3 at 2026-...``."""
        from exactlink.i18n import local_time

        event = self.store.events.last_connect(connection.id)
        if event is None:
            return _("someone, at {at}").format(at=local_time(connection.updated_at))
        return _("{user} on {host} at {at}").format(
            user=event.os_user, host=event.host or "?", at=local_time(event.at)
        )

    def _team_token_lock(self, connection_id: int) -> Any:
        """On a team store: the connection's PostgreSQL advisory lock, so one process on one
        computer of the whole firm refreshes the chain (DESIGN, "Tokens")."""
        from functools import partial

        from exactlink.adapters.exact.tokens import LOCK_TIMEOUT
        from exactlink.adapters.store.postgres import TOKEN_LOCK_NAMESPACE

        db: Any = self.store.db
        return partial(db.advisory_lock, TOKEN_LOCK_NAMESPACE, connection_id, LOCK_TIMEOUT)

    def exact_client(self, connection: Connection, client_name: str | None = None) -> Any:
        """The ``ExactClient`` of one connection, with the countdown on stderr; one per
        connection per command, so its token manager and rate-limit state are shared."""
        key = f"exact_client:{connection.id}"
        if key not in self.extras:
            from exactlink.adapters.exact.client import ExactClient

            self.extras[key] = ExactClient(
                connection,
                self.exact_tokens(connection, client_name),
                self.exact_session(),
                recorder=self.store.connections,
                on_wait=self.exact_countdown,
            )
        return self.extras[key]

    def exact(self, portal: Portal, client: Client | None = None) -> ExactPort:
        """The live Exact connection of a portal (``client`` None) or of a client's own login.

        Raises ``NotConnected``/``ReconnectNeeded`` (exit 5) with the `exactlink exact connect`
        hint when there is no usable connection.
        """
        from exactlink.services.status import ensure_live, require_connection

        connection = require_connection(self.store.connections, portal, client)
        connection = self.recover_kept_tokens(connection, client.name if client else None)
        ensure_live(connection, client)
        return cast("ExactPort", self.exact_client(connection, client.name if client else None))

    def recover_kept_tokens(self, connection: Connection, client_name: str | None = None) -> Any:
        """Store a token pair an earlier run kept sealed because the secret store failed right
        after a refresh, before anything judges the connection by its row (a colleague's run
        may have marked it ``needs-reconnect`` meanwhile); the row after. One ``stat`` per
        folder when there is none."""
        from exactlink.adapters.exact.token_rescue import TokenRescue
        from exactlink.models import CONNECTION_DISCONNECTED

        kept = TokenRescue.for_paths(self.paths).find(connection.secret_key)
        if not kept or connection.status == CONNECTION_DISCONNECTED:
            return connection
        tokens = self.exact_tokens(connection, client_name)
        tokens.recover_kept()
        return tokens.connection

    def exact_countdown(self, remaining: float, label: str) -> None:
        """``on_wait`` of the Exact client: a countdown on a terminal, one line otherwise."""
        kind, _sep, where = label.partition(":")
        if kind != "minutely" or self.quiet:
            return
        stream = self.out.stderr
        if where.isdigit():
            where = _("administration {code}").format(code=where)
        elif not where:
            where = _("this app")
        if self.out.stderr_is_tty:
            if remaining > 0:
                stream.write(
                    "\r"
                    + _("Exact's minute limit for {where} reached; retrying in {s:2.0f} s").format(
                        where=where, s=remaining
                    )
                )
            else:
                stream.write("\r\x1b[2K")
            stream.flush()
            return
        key = f"countdown:{label}"
        if remaining > 0 and not self.extras.get(key):
            self.extras[key] = True
            self.out.info(
                _("Exact's minute limit for {where} reached; waiting {s:.0f} s.").format(
                    where=where, s=remaining
                )
            )
        elif remaining <= 0:
            self.extras.pop(key, None)

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()


def app_context(typer_ctx: Any, *, reads_only: bool = False) -> AppContext:
    """The ``AppContext`` the root callback put on Click's context (``ctx.obj``).

    Commands take ``typer_ctx: typer.Context`` and call this: the context travels with the
    command invocation instead of living in a module global, so two invocations in one process
    (tests, CliRunner) never share adapters. A command that only reads the store says so
    (``reads_only``): on a team store it then starts faster. Should it write after all, it
    still works (the store turns to psycopg), only without that gain.
    """
    found = typer_ctx.find_object(AppContext)
    ctx = found if found is not None else AppContext()
    ctx.reads_only = ctx.reads_only or reads_only
    return ctx
