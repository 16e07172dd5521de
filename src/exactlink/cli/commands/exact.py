"""`exactlink exact`: the Exact Online app, the connection, divisions and activation.

This module holds the group and the commands on an existing connection (`status`,
`disconnect`, `keepalive`, `api`); cli/commands/exact_connect.py adds the app settings and the
connecting (`app set|show`, `connect`, `relay-page`), cli/commands/activation.py adds
`divisions`, `activate` and `deactivate`, all to the same group; cli/commands/exact_group.py
imports the three, and is what cli.app loads for `exactlink exact`. Heavy modules (requests, keyring, cryptography)
are imported inside the commands that need them: `exact status` needs none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from exactlink.i18n import N_, _

if TYPE_CHECKING:
    from exactlink.cli.context import AppContext
    from exactlink.models import Client, Portal, RateLimitState


class _InOrderOfUse(TyperGroup):
    """`exact --help` lists the app settings first, as a firm meets them: app, connect, ..."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(super().list_commands(ctx), key=lambda name: name != "app")


app = typer.Typer(
    cls=_InOrderOfUse,
    no_args_is_help=True,
    help=N_("Exact Online: app settings, connect, divisions, activate."),
)

_INSECURE = typer.Option(
    "--insecure-storage",
    help=N_(
        "No OS keyring here (a headless server): keep secrets in a 0600 file instead. "
        "Remembered in config and shown by `exact status` and `doctor`."
    ),
)
_CLIENT = typer.Option("--client", help=N_("A client's own Exact login instead of the portal's."))


# ============================================================================ shared helpers
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


# ============================================================================ exact status
@app.command("status")
def exact_status(
    typer_ctx: typer.Context,
    client_name: Annotated[str | None, _CLIENT] = None,
    check: Annotated[
        bool, typer.Option("--check", help=N_("Also make one live call (current/Me)."))
    ] = False,
    show_all: Annotated[
        bool,
        typer.Option("--all", help=N_("List every administration's rate limits, not a summary.")),
    ] = False,
) -> None:
    """Show the connection: its state, tokens and rate limits.

    Site, Exact user, state, token expiry, refresh-token age and days left before the 30-day
    idle expiry, where secrets are kept, the clients per status, and the rate-limit budget:
    for a big firm a summary and the administrations that need attention (--all: every one;
    --json: always every one). No network unless --check.
    """
    import time

    from exactlink.cli.context import app_context
    from exactlink.services.status import describe, ensure_live, owner_label, require_connection

    ctx = app_context(typer_ctx, reads_only=not check)
    portal, client = _owner(ctx, client_name)
    connections = ctx.store.connections
    connection = require_connection(connections, portal, client)
    connection = ctx.recover_kept_tokens(connection, client.name if client else None)
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
        counts = ctx.store.clients.count_by_status(portal.id) if client is None else {}
        _print_status(ctx, data, owner_label(portal, client), _firm_fields(counts, rate_limits))
        _print_firm(ctx, portal, client, connection.id, rate_limits, counts, show_all=show_all)
        _reconnect_hint(ctx, data)
    if failure is not None:
        raise failure


def _print_firm(
    ctx: AppContext,
    portal: Portal,
    client: Client | None,
    connection_id: int,
    rate_limits: list[RateLimitState],
    counts: dict[str, int],
    *,
    show_all: bool,
) -> None:
    """The clients that need attention (or every client), and what to do about them."""
    from exactlink.cli import status_view
    from exactlink.services.status import recent_errors, status_rows

    clients = ctx.store.clients.list(portal.id) if client is None else [client]
    rows = status_rows(
        clients, rate_limits, recent_errors=recent_errors(ctx.store.connections, connection_id)
    )
    status_view.print_rows(ctx.out, rows, show_all=show_all)
    status_view.client_hints(ctx.out, counts)


def _print_status(
    ctx: AppContext, data: dict[str, Any], owner: str, extra: list[tuple[str, str]]
) -> None:
    from exactlink.i18n import label, local_time, number

    def left(seconds: Any) -> str:
        if seconds is None:
            return "-"
        if seconds > 0:
            return _("in {seconds} s").format(seconds=seconds)
        return _("expired (refreshed on next use)")

    storage = label(data["secret_storage"])
    if data["insecure_storage"]:
        storage += "  " + _("(INSECURE: plain file)")
    ctx.out.fields(
        [
            (_("owner"), owner),
            (_("status"), label(data["status"])),
            (_("site"), data["site"]),
            (
                _("exact user"),
                f"{data['exact_username'] or '-'} ({data['exact_full_name'] or '-'})",
            ),
            (_("current division"), data["current_division"]),
            (
                _("access token expires"),
                f"{local_time(data['access_token_expires_at']) or '-'} "
                f"({left(data['access_token_seconds_left'])})",
            ),
            (
                _("refresh token"),
                _("{age} days old, {left} days left before the 30-day idle expiry").format(
                    age=number(data["refresh_token_age_days"]),
                    left=number(data["refresh_token_days_left"]),
                ),
            ),
            (_("secrets in"), storage),
            (_("last error"), label(data["last_error"])),
            *extra,
        ]
    )
    if "check" in data:
        check = data["check"]
        result = (
            _("ok") if check["ok"] else _("FAILED: {error}").format(error=check["error"]["message"])
        )
        ctx.out.line(_("live check") + "  " + result)


def _firm_fields(
    counts: dict[str, int], rate_limits: list[RateLimitState]
) -> list[tuple[str, str]]:
    """The portal's clients per status (none for a client's own connection) and its rate
    limits in one line."""
    from exactlink.cli.status_view import client_counts, limits_summary

    fields = [(_("clients"), client_counts(counts))] if counts else []
    summary = limits_summary(rate_limits)
    if summary:
        fields.append((_("rate limits"), summary))
    return fields


def _reconnect_hint(ctx: AppContext, data: dict[str, Any]) -> None:
    if data["status"] != "connected":
        from exactlink.adapters.exact.tokens import reconnect_command

        ctx.out.hint(f"`{reconnect_command(data['client'])}`")


# ============================================================================ exact disconnect
@app.command("disconnect")
def exact_disconnect(
    typer_ctx: typer.Context, client_name: Annotated[str | None, _CLIENT] = None
) -> None:
    """Disconnect: remove the connection's tokens from the keyring.

    The connection is then marked disconnected here.
    To withdraw the app's access at Exact too: Mijn Exact Online > Beveiligingscentrum >
    Machtigingen voor mijn apps > the app > Intrekken.
    """
    from exactlink.cli.context import app_context
    from exactlink.i18n import label
    from exactlink.services.connect import connection_dict, disconnect
    from exactlink.services.status import require_connection

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
            backend=label(ctx.secrets.backend_name)
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
            help=N_("Refresh chains whose last token call is older than this many days."),
        ),
    ] = 7,
) -> None:
    """Refresh idle token chains so they outlive the 30-day expiry.

    Every connection of every portal in this store whose last token call is older than
    --older-than days (Exact drops a refresh token unused for 30 days). Meant for cron or a
    systemd timer (docs/connecting.md).
    """
    from exactlink.cli.context import app_context
    from exactlink.i18n import label
    from exactlink.services.keepalive import keepalive

    ctx = app_context(typer_ctx)

    def refresh(connection: Any, client_name: str | None, idle_seconds: float) -> bool:
        tokens = ctx.exact_tokens(connection, client_name)
        return bool(tokens.force_refresh(idle_seconds=idle_seconds))

    def client_names(client_id: int) -> str | None:
        found = ctx.store.clients.get_by_id(client_id)
        return found.name if found else None

    result = keepalive(
        [ctx.recover_kept_tokens(c) for c in ctx.store.connections.list()],
        older_than_days=older_than,
        refresh=refresh,
        portal_names=_portal_names(ctx),
        client_names=client_names,
    )
    for outcome in result.outcomes:
        line = f"{outcome.portal}" + (
            " " + _("(client #{id})").format(id=outcome.client_id) if outcome.client_id else ""
        )
        if outcome.result == "failed" and outcome.error:
            ctx.out.error(f"{line}: {outcome.error['message']}", outcome.error.get("hint"))
        else:
            ctx.out.info(f"{line}: {label(outcome.result)}")
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
            help=N_(
                "Relative to /api/v1/ (current/Me), or with --client/--division to the "
                "division (crm/Accounts)."
            )
        ),
    ],
    client_name: Annotated[
        str | None,
        typer.Option("--client", help=N_("Use this client's division (and its own login if any).")),
    ] = None,
    division: Annotated[
        int | None, typer.Option("--division", help=N_("Put this division code in the URL."))
    ] = None,
    method: Annotated[str, typer.Option("-X", "--method", help=N_("HTTP method."))] = "GET",
    paginate: Annotated[
        bool, typer.Option("--paginate", help=N_("Follow __next and return every record."))
    ] = False,
    fields: Annotated[
        list[str] | None,
        typer.Option(
            "-f", "--field", help=N_("key=value: a query parameter (GET) or a JSON body field.")
        ),
    ] = None,
) -> None:
    """Call the Exact Online REST API, like `gh api`.

    Through this connection (or a client's, with --client); Exact's JSON on stdout.
    Examples: `exactlink exact api current/Me`; `exactlink exact api --client "Bakkerij"
    crm/Accounts -f '$select=ID,Name' --paginate`.
    """
    from exactlink.cli.context import app_context
    from exactlink.errors import InvalidInput, UsageError
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
