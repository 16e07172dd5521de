"""`exactlink exact`: the Exact Online app, the connection, divisions and activation.

This module holds the app settings and the connection commands (`app set|show`, `connect`,
`status`, `disconnect`, `keepalive`, `api`); `divisions`, `activate` and `deactivate` are added
to the same group by cli/commands/activation.py. Heavy modules (requests, keyring, cryptography)
are imported inside the commands that need them: `exact status` needs none of them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from exactlink.cli.context import AppContext
    from exactlink.models import Client, Portal


class _InOrderOfUse(TyperGroup):
    """`exact --help` lists the app settings first, as a firm meets them: app, connect, ..."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(super().list_commands(ctx), key=lambda name: name != "app")


app = typer.Typer(
    cls=_InOrderOfUse,
    no_args_is_help=True,
    help="Exact Online: app settings, connect, divisions, activate.",
)

# ============================================================================ exact app set|show
app_settings = typer.Typer(
    no_args_is_help=True, help="The Exact Online app registration (client ID, redirect URI)."
)
app.add_typer(app_settings, name="app")

_INSECURE = typer.Option(
    "--insecure-storage",
    help="No OS keyring here (a headless server): keep secrets in a 0600 file instead. "
    "Remembered in config and shown by `exact status` and `doctor`.",
)
_CLIENT = typer.Option("--client", help="A client's own Exact login instead of the portal's.")


def _read_secret(ctx: AppContext) -> str:
    """The client secret from a hidden prompt (terminal) or stdin (pipelines): never argv."""
    if ctx.stdin_is_tty:
        import getpass

        from exactlink.i18n import _

        return getpass.getpass(_("Client secret (input hidden): "), stream=sys.stderr)
    return sys.stdin.readline().strip()


@app_settings.command("set")
def exact_app_set(
    typer_ctx: typer.Context,
    client_id: Annotated[
        str, typer.Option("--client-id", help="The app's Client ID from the Exact App Store.")
    ],
    redirect_uri: Annotated[
        str,
        typer.Option(
            "--redirect-uri",
            help="The redirect URI registered for the app, byte for byte. "
            "http://127.0.0.1:PORT/... listens on loopback; https://localhost:PORT/... the same "
            "over TLS; anything else: paste the address.",
        ),
    ],
    region: Annotated[
        str | None,
        typer.Option("--region", help="Exact Online site: nl be de uk us es fr (default nl)."),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="Use this site instead of the region's (a sandbox)."),
    ] = None,
    insecure_storage: Annotated[bool, _INSECURE] = False,
) -> None:
    """Set the Exact app: client ID, redirect URI, site. The client secret is read from stdin
    (or a hidden prompt on a terminal) and kept in the OS keyring, never in argv or config."""
    from exactlink.cli.context import app_context
    from exactlink.i18n import _
    from exactlink.services.exact_app import set_app

    ctx = app_context(typer_ctx)
    if insecure_storage:
        ctx.insecure_storage = True
    secret = _read_secret(ctx)
    settings = set_app(
        ctx.config,
        ctx.secrets,
        ctx.store.events,
        client_id=client_id,
        redirect_uri=redirect_uri,
        client_secret=secret,
        region=region,
        base_url=base_url,
        insecure_storage=insecure_storage,
    )
    ctx.share_app_settings()  # a team store: colleagues use the same app
    ctx.out.success(
        _("Exact app {client_id} set: {site}, {mode} redirect.").format(
            client_id=settings.client_id, site=settings.site, mode=settings.mode
        )
    )
    if insecure_storage:
        ctx.out.warn(
            _("Secrets are kept in a plain 0600 file ({path}), not in a keyring.").format(
                path=ctx.paths.insecure_secrets_file
            )
        )
    ctx.out.hint(_("Next: `exactlink exact connect`."))
    ctx.out.result("success", {**settings.to_dict(), "secret_storage": ctx.secrets.backend_name})


@app_settings.command("show")
def exact_app_show(typer_ctx: typer.Context) -> None:
    """Show the Exact app settings and where the client secret is kept (never the secret)."""
    from exactlink.cli.context import app_context
    from exactlink.services.exact_app import SECRET_KEY

    ctx = app_context(typer_ctx)
    settings = ctx.exact_app()
    stored = ctx.secrets.get(SECRET_KEY) is not None
    data = {
        **settings.to_dict(),
        "secret_storage": ctx.secrets.backend_name,
        "secret_stored": stored,
    }
    if ctx.json:
        ctx.out.json(data)
        return
    ctx.out.fields(
        [
            ("client id", settings.client_id),
            ("redirect uri", settings.redirect_uri),
            ("mode", settings.mode),
            ("region", settings.region),
            ("site", settings.site),
            (
                "client secret",
                ("stored in " if stored else "MISSING from ") + data["secret_storage"],
            ),
            ("insecure storage", "yes" if settings.insecure_storage else "no"),
        ]
    )


# ============================================================================ exact connect
def _owner(ctx: AppContext, client_name: str | None) -> tuple[Portal, Client | None]:
    portal = ctx.portal()
    if client_name is None:
        return portal, None
    from exactlink.services.clients import get_client

    return portal, get_client(ctx.store, portal, client_name)


def _portal_names(ctx: AppContext) -> Any:
    def name(portal_id: int) -> str:
        found = ctx.store.portals.get_by_id(portal_id)
        return found.name if found else f"#{portal_id}"

    return name


def _can_open_browser() -> bool:
    """A graphical browser can be opened: never start a console browser inside the terminal."""
    import os

    if os.environ.get("BROWSER"):
        return True
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _receiver(ctx: AppContext, mode: str, redirect_uri: str, timeout: float) -> Any:
    """``receive(auth_url, state)`` for the mode: a loopback listener, or the paste prompt."""
    from exactlink.i18n import _
    from exactlink.services.exact_app import MODE_PASTE

    out = ctx.out

    def show(url: str) -> None:
        # Always printed, even when a browser opens: over SSH the person copies it.
        out.info(_("Open this address in a browser and sign in to Exact Online:"))
        out.stderr.write(url + "\n")
        out.stderr.flush()

    if mode == MODE_PASTE:

        def paste(url: str, state: str) -> str:
            show(url)
            out.info(
                _("After you press Allow (Toestaan), paste the address the browser landed on:")
            )
            return _read_line(ctx, timeout)

        return paste

    def listen(url: str, state: str) -> str:
        from exactlink.adapters.exact.loopback import LoopbackListener

        with LoopbackListener(redirect_uri, ctx.paths.tls_dir) as listener:
            show(url)
            if _can_open_browser():
                import webbrowser

                try:
                    webbrowser.open(url)
                except Exception:
                    pass  # the URL is printed; opening is a convenience
            out.info(
                _("Waiting for the browser on {uri} (up to {s:.0f} s)...").format(
                    uri=redirect_uri, s=timeout
                )
            )
            return listener.wait(timeout)

    return listen


def _read_line(ctx: AppContext, timeout: float) -> str:
    """One line from stdin within ``timeout`` seconds (a pasted address)."""
    from exactlink.errors import ExactUnreachable, UsageError
    from exactlink.i18n import _

    stream = sys.stdin
    try:
        fileno = stream.fileno()
    except (AttributeError, ValueError, OSError):
        fileno = None
    if fileno is not None and sys.platform != "win32":
        import select

        ready, _w, _x = select.select([stream], [], [], timeout)
        if not ready:
            raise ExactUnreachable(
                _("No address was pasted within {s:.0f} s.").format(s=timeout),
                hint=_("Run `exactlink exact connect` again (--timeout S for more time)."),
            )
    line = stream.readline()
    if not line.strip():
        raise UsageError(
            _("No address was pasted."),
            hint=_("Paste the address the browser landed on after you pressed Allow."),
        )
    return line.strip()


@app.command("connect")
def exact_connect(
    typer_ctx: typer.Context,
    client_name: Annotated[str | None, _CLIENT] = None,
    no_browser: Annotated[
        bool,
        typer.Option(
            "--no-browser",
            help="Do not listen or open a browser: print the address, read the redirect from "
            "stdin (over SSH, in pipelines).",
        ),
    ] = False,
    region: Annotated[
        str | None, typer.Option("--region", help="Exact site for this connection.")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds to wait for the browser.")
    ] = 300,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Connect even though another portal holds a connection of this app "
            "(connecting the same login again breaks that portal's link).",
        ),
    ] = False,
    insecure_storage: Annotated[bool, _INSECURE] = False,
) -> None:
    """Connect to Exact Online with the firm's login (or, with --client, a client's own login).

    The redirect URI decides the mode: loopback (http on 127.0.0.1), loopback-tls (https on
    localhost, self-signed certificate) or paste (any other URI, or --no-browser).
    """
    from exactlink.adapters.exact.oauth import OAuthClient
    from exactlink.cli.context import app_context
    from exactlink.i18n import _
    from exactlink.services.connect import connect, owner_label
    from exactlink.services.exact_app import redirect_mode, remember_insecure_storage

    ctx = app_context(typer_ctx)
    if insecure_storage:
        ctx.insecure_storage = True
        remember_insecure_storage(ctx.config)
    portal, client = _owner(ctx, client_name)
    settings = ctx.exact_app(region)
    mode = redirect_mode(settings.redirect_uri, no_browser)
    credentials = ctx.exact_credentials(settings.site)
    result = connect(
        portal=portal,
        client=client,
        app=settings,
        mode=mode,
        gateway=OAuthClient(credentials, ctx.exact_session()),
        receive=_receiver(ctx, mode, settings.redirect_uri, timeout),
        connections=ctx.store.connections,
        secrets=ctx.secrets,
        events=ctx.store.events,
        portal_names=_portal_names(ctx),
        force=force,
        connected_by=ctx.connected_by if ctx.store.is_team else None,
    )
    connection = result.connection
    for warning in result.warnings:
        ctx.out.warn(warning)
    ctx.out.success(
        _("Connected {owner} to Exact Online as {user} ({site}).").format(
            owner=owner_label(portal, client),
            user=connection.exact_username or connection.exact_user_id or "?",
            site=connection.base_url,
        )
    )
    if not ctx.secrets.secure:
        ctx.out.warn(_("Tokens are kept in a plain 0600 file (--insecure-storage)."))
    ctx.out.result("success", result.to_dict())


# ============================================================================ exact status
@app.command("status")
def exact_status(
    typer_ctx: typer.Context,
    client_name: Annotated[str | None, _CLIENT] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Also make one live call (current/Me).")
    ] = False,
) -> None:
    """Show the connection: site, Exact user, state, token expiry, refresh-token age and days
    left before the 30-day idle expiry, where secrets are kept, rate-limit budget per division.

    No network unless --check.
    """
    import time

    from exactlink.cli.context import app_context
    from exactlink.services.connect import (
        describe,
        ensure_live,
        owner_label,
        require_connection,
    )

    ctx = app_context(typer_ctx)
    portal, client = _owner(ctx, client_name)
    connections = ctx.store.connections
    connection = require_connection(connections, portal, client)
    rate_limits = connections.rate_limits(connection.id)
    check_data = None
    failure = None
    if check:
        from exactlink.errors import ExactlinkError

        started = time.monotonic()
        try:
            ensure_live(connection, client)
            me = ctx.exact_client(connection, client.name if client else None).me()
        except ExactlinkError as exc:
            failure = exc
            check_data = {"ok": False, "error": exc.to_dict()}
        else:
            check_data = {
                "ok": True,
                "exact_username": me.get("UserName"),
                "current_division": me.get("CurrentDivision"),
                "seconds": round(time.monotonic() - started, 3),
            }
        # The check may have refreshed the tokens or marked the chain dead: show the row after.
        connection = connections.get(connection.id) or connection
    data = describe(
        connection,
        rate_limits=rate_limits,
        insecure_storage=bool(ctx.config.get("exact.insecure_storage", False)),
    )
    data["portal"] = portal.name
    data["client"] = client.name if client else None
    if check_data is not None:
        data["check"] = check_data
    if ctx.json:
        ctx.out.json(data)
    else:
        _print_status(ctx, data, owner_label(portal, client))
    if failure is not None:
        raise failure


def _print_status(ctx: AppContext, data: dict[str, Any], owner: str) -> None:
    def left(seconds: Any) -> str:
        if seconds is None:
            return "-"
        return f"in {seconds} s" if seconds > 0 else "expired (refreshed on next use)"

    days = data["refresh_token_days_left"]
    ctx.out.fields(
        [
            ("owner", owner),
            ("status", data["status"]),
            ("site", data["site"]),
            ("exact user", f"{data['exact_username'] or '-'} ({data['exact_full_name'] or '-'})"),
            ("current division", data["current_division"]),
            (
                "access token expires",
                f"{data['access_token_expires_at'] or '-'} "
                f"({left(data['access_token_seconds_left'])})",
            ),
            (
                "refresh token",
                f"{data['refresh_token_age_days']} days old, "
                f"{days} days left before the 30-day idle expiry",
            ),
            (
                "secrets in",
                data["secret_storage"]
                + ("  (INSECURE: plain file)" if data["insecure_storage"] else ""),
            ),
            ("last error", data["last_error"]),
        ]
    )
    if "check" in data:
        check = data["check"]
        ctx.out.line(
            "live check  " + ("ok" if check["ok"] else "FAILED: " + check["error"]["message"])
        )
    if data["rate_limits"]:
        ctx.out.line()
        ctx.out.table(
            ["division", "today left", "daily limit", "resets", "minute left"],
            [
                (
                    r["division"],
                    r["daily_remaining"],
                    r["daily_limit"],
                    r["daily_reset_at"],
                    r["minutely_remaining"],
                )
                for r in data["rate_limits"]
            ],
        )
    if data["status"] != "connected":
        from exactlink.adapters.exact.tokens import reconnect_command

        ctx.out.hint(f"`{reconnect_command(data['client'])}`")


# ============================================================================ exact disconnect
@app.command("disconnect")
def exact_disconnect(
    typer_ctx: typer.Context, client_name: Annotated[str | None, _CLIENT] = None
) -> None:
    """Remove the connection's tokens from the keyring and mark it disconnected.

    To withdraw the app's access at Exact too: Mijn Exact Online > Beveiligingscentrum >
    Machtigingen voor mijn apps > the app > Intrekken.
    """
    from exactlink.cli.context import app_context
    from exactlink.i18n import _
    from exactlink.services.connect import connection_dict, disconnect, require_connection

    ctx = app_context(typer_ctx)
    portal, client = _owner(ctx, client_name)
    connection = require_connection(ctx.store.connections, portal, client)
    done = disconnect(
        connection,
        connections=ctx.store.connections,
        secrets=ctx.secrets,
        events=ctx.store.events,
        portal=portal,
        client=client,
    )
    ctx.out.success(
        _("Disconnected; the tokens were removed from {backend}.").format(
            backend=ctx.secrets.backend_name
        )
    )
    ctx.out.hint(
        _(
            "Exact still lists the app until you revoke it: Mijn Exact Online > "
            "Beveiligingscentrum > Machtigingen voor mijn apps > Intrekken."
        )
    )
    ctx.out.result("success", connection_dict(done))


# ============================================================================ exact keepalive
@app.command("keepalive")
def exact_keepalive(
    typer_ctx: typer.Context,
    older_than: Annotated[
        float,
        typer.Option(
            "--older-than",
            min=0,
            help="Refresh chains whose last token call is older than this many days.",
        ),
    ] = 7,
) -> None:
    """Refresh idle token chains of every portal in this store, so they outlive Exact's 30-day
    idle expiry. Meant for cron or a systemd timer (docs/connecting.md)."""
    from exactlink.cli.context import app_context
    from exactlink.i18n import _
    from exactlink.services.connect import keepalive

    ctx = app_context(typer_ctx)

    def refresh(connection: Any, client_name: str | None, idle_seconds: float) -> bool:
        tokens = ctx.exact_tokens(connection, client_name)
        return bool(tokens.force_refresh(idle_seconds=idle_seconds))

    def client_names(client_id: int) -> str | None:
        found = ctx.store.clients.get_by_id(client_id)
        return found.name if found else None

    result = keepalive(
        ctx.store.connections.list(),
        older_than_days=older_than,
        refresh=refresh,
        portal_names=_portal_names(ctx),
        client_names=client_names,
    )
    for outcome in result.outcomes:
        line = f"{outcome.portal}" + (
            f" (client #{outcome.client_id})" if outcome.client_id else ""
        )
        if outcome.result == "failed" and outcome.error:
            ctx.out.error(f"{line}: {outcome.error['message']}", outcome.error.get("hint"))
        else:
            ctx.out.info(f"{line}: {outcome.result}")
    if not result.outcomes:
        ctx.out.info(_("No connections in this store."))
    ctx.out.result(result.status, [o.to_dict() for o in result.outcomes], result.errors)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


# ============================================================================ exact api
@app.command("api")
def exact_api(
    typer_ctx: typer.Context,
    path: Annotated[
        str,
        typer.Argument(
            help="Relative to /api/v1/ (current/Me), or with --client/--division to the "
            "division (crm/Accounts)."
        ),
    ],
    client_name: Annotated[
        str | None,
        typer.Option("--client", help="Use this client's division (and its own login if any)."),
    ] = None,
    division: Annotated[
        int | None, typer.Option("--division", help="Put this division code in the URL.")
    ] = None,
    method: Annotated[str, typer.Option("-X", "--method", help="HTTP method.")] = "GET",
    paginate: Annotated[
        bool, typer.Option("--paginate", help="Follow __next and return every record.")
    ] = False,
    fields: Annotated[
        list[str] | None,
        typer.Option(
            "-f", "--field", help="key=value: a query parameter (GET) or a JSON body field."
        ),
    ] = None,
) -> None:
    """Call the Exact Online REST API with this connection, like `gh api`; JSON on stdout.

    Examples: `exactlink exact api current/Me`; `exactlink exact api --client "Bakkerij"
    crm/Accounts -f '$select=ID,Name' --paginate`.
    """
    from exactlink.cli.context import app_context
    from exactlink.errors import InvalidInput, UsageError
    from exactlink.i18n import _
    from exactlink.services.connect import api_target

    ctx = app_context(typer_ctx)
    if client_name and division is not None:
        raise UsageError(_("Use --client or --division, not both."))
    values: dict[str, str] = {}
    for item in fields or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(_("-f expects key=value, got '{item}'.").format(item=item))
        values[key] = value
    portal, client = _owner(ctx, client_name)
    target, connection_owner = api_target(ctx.store, portal, client)
    if target is not None:
        division = target
    port = ctx.exact(portal, connection_owner)
    full = path.lstrip("/")
    if division is not None and not full.startswith(("http://", "https://")):
        full = f"{division}/{full}"
    verb = method.upper()
    if verb == "GET":
        if paginate:
            records = port.collection(full, values or None)
            ctx.out.json({"d": {"results": records}})
            return
        response = port.request("GET", full, params=values or None)
    else:
        response = port.request(verb, full, json_body=values or None)
    if response.data is not None:
        ctx.out.json(response.data)
