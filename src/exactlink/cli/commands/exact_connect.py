"""`exactlink exact app set|show`, `exact connect` and `exact relay-page`: from the app
registration to a connection, on the `exact` group of cli/commands/exact.py.

Exact Online accepts only a public HTTPS redirect URI (reference, December 2026 notes item 1).
So `connect` has four ways to receive the answer (docs/connecting.md): ``relay`` (the firm's
copy of exactlink's relay page forwards the browser to a listener on 127.0.0.1, and a pasted
line works too), ``paste`` (any other HTTPS page: the person pastes the address or its query),
and ``loopback``/``loopback-tls`` for servers that allow a local redirect (the sandbox's lenient
profile).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from exactlink.adapters.limits import DAY
from exactlink.cli.commands.exact import _CLIENT, _INSECURE, _owner, _portal_names, app
from exactlink.cli.params import Seconds
from exactlink.i18n import N_, _

if TYPE_CHECKING:
    from exactlink.cli.context import AppContext

PRINT_URL_TIMEOUT = 900.0  # 15 minutes: a colleague on another computer consents
BROWSER_TIMEOUT = 300.0

# ============================================================================ exact app set|show
app_settings = typer.Typer(
    no_args_is_help=True, help=N_("The Exact Online app registration (client ID, redirect URI).")
)
app.add_typer(app_settings, name="app")


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
        str, typer.Option("--client-id", help=N_("The app's Client ID from the Exact App Store."))
    ],
    redirect_uri: Annotated[
        str,
        typer.Option(
            "--redirect-uri",
            help=N_(
                "The redirect URI registered for the app, byte for byte: a public HTTPS page "
                "(Exact refuses http://, localhost and private addresses)."
            ),
        ),
    ],
    relay: Annotated[
        bool,
        typer.Option(
            "--relay",
            help=N_(
                "The redirect URI serves exactlink's relay page (`exact relay-page`): the "
                "browser comes back to exactlink by itself."
            ),
        ),
    ] = False,
    region: Annotated[
        str | None,
        typer.Option("--region", help=N_("Exact Online site: nl be de uk us es fr (default nl).")),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help=N_(
                "Use this site instead of the region's (a sandbox); its own redirect rules apply."
            ),
        ),
    ] = None,
    insecure_storage: Annotated[bool, _INSECURE] = False,
) -> None:
    """Set the Exact app: client ID, redirect URI, site.

    The client secret is read from stdin (or a hidden prompt on a terminal) and kept in the OS
    keyring, never in argv or config.
    """
    from exactlink.cli.context import app_context
    from exactlink.services.exact_app import check_redirect_for_site, set_app, site_override

    ctx = app_context(typer_ctx)
    # Refuse a URI Exact would refuse before asking for the secret.
    check_redirect_for_site(redirect_uri, site_override(ctx.config, base_url, region))
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
        relay=relay,
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
    if relay:
        ctx.out.hint(
            _(
                "Publish the relay page at {uri} (`exactlink exact relay-page --output FILE`), "
                "then run `exactlink exact connect`."
            ).format(uri=settings.redirect_uri)
        )
    else:
        ctx.out.hint(_("Next: `exactlink exact connect`."))
    ctx.out.result("success", {**settings.to_dict(), "secret_storage": ctx.secrets.backend_name})


@app_settings.command("show")
def exact_app_show(typer_ctx: typer.Context) -> None:
    """Show the Exact app settings (never the client secret).

    Also where the client secret is kept: the OS keyring, or the file of --insecure-storage.
    """
    from exactlink.cli.context import app_context
    from exactlink.services.exact_app import SECRET_KEY, exact_redirect_problem

    ctx = app_context(typer_ctx, reads_only=True)
    settings = ctx.exact_app()
    stored = ctx.secrets.get(SECRET_KEY) is not None
    problem = exact_redirect_problem(settings.redirect_uri) if settings.real_site else None
    data = {
        **settings.to_dict(),
        "redirect_uri_problem": problem,
        "secret_storage": ctx.secrets.backend_name,
        "secret_stored": stored,
    }
    if ctx.json:
        ctx.out.json(data)
        return
    from exactlink.i18n import label

    backend = label(data["secret_storage"])
    refused = "  " + _("(REFUSED BY EXACT: {problem})").format(problem=problem) if problem else ""
    ctx.out.fields(
        [
            (_("client id"), settings.client_id),
            (_("redirect uri"), settings.redirect_uri + refused),
            (_("mode"), label(settings.mode)),
            (_("region"), settings.region),
            (_("site"), settings.site),
            (
                _("client secret"),
                (_("stored in {backend}") if stored else _("MISSING from {backend}")).format(
                    backend=backend
                ),
            ),
            (_("insecure storage"), _("yes") if settings.insecure_storage else _("no")),
        ]
    )


# ============================================================================ exact relay-page
@app.command("relay-page")
def exact_relay_page(
    typer_ctx: typer.Context,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help=N_("Write the page to this file (default: stdout).")),
    ] = None,
) -> None:
    """Write the relay page to publish at the app's redirect URI.

    One static HTML file. It forwards the browser to `exact connect` on the same computer (the port travels in
    `state`) and otherwise shows the line to paste. No external resources, a strict
    Content-Security-Policy, no referrer. See docs/connecting.md for where to publish it.
    """
    from pathlib import Path

    from exactlink.cli.context import app_context
    from exactlink.relay import page_html

    ctx = app_context(typer_ctx)
    html = page_html()
    if output is None or output == "-":
        ctx.out.stdout.write(html)
        ctx.out.stdout.flush()
        return
    target = Path(output)
    target.write_text(html, "utf-8")
    ctx.out.success(_("Relay page written to {path}.").format(path=target))
    ctx.out.hint(
        _(
            "Publish it at your redirect URI (an https:// page of your own site), register that "
            "URI in the Exact App Store, then `exactlink exact app set --relay --redirect-uri "
            "URI`."
        )
    )
    ctx.out.result("success", {"path": str(target), "bytes": len(html.encode("utf-8"))})


# ============================================================================ exact connect
@app.command("connect")
def exact_connect(
    typer_ctx: typer.Context,
    client_name: Annotated[str | None, _CLIENT] = None,
    no_browser: Annotated[
        bool,
        typer.Option(
            "--no-browser",
            help=N_(
                "Print the address instead of opening a browser (over SSH). The relay "
                "listener still runs; the loopback modes read the pasted address instead."
            ),
        ),
    ] = False,
    print_url: Annotated[
        bool,
        typer.Option(
            "--print-url",
            help=N_(
                "Print only the authorization address (for a colleague on another computer) "
                "and wait for the pasted line."
            ),
        ),
    ] = False,
    reuse_session: Annotated[
        bool,
        typer.Option(
            "--reuse-session",
            help=N_(
                "Leave out force_login=1: accept the Exact login the browser is already "
                "signed in with."
            ),
        ),
    ] = False,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            min=1024,
            max=65535,
            help=N_("Relay mode: listen on this port (default: free)."),
        ),
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help=N_("Exact site for this connection."))
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            click_type=Seconds(1, DAY),
            help=N_("Seconds to wait, 1 to 86400 (default 300; 900 with --print-url)."),
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help=N_(
                "Connect even though another portal holds a connection of this app "
                "(connecting the same login again breaks that portal's link)."
            ),
        ),
    ] = False,
    insecure_storage: Annotated[bool, _INSECURE] = False,
) -> None:
    """Connect to Exact Online with the firm's Exact login.

    With --client, a client's own login instead. The app settings decide the mode: relay (`exact app set --relay`: the published relay page
    forwards the browser here; a pasted line works too), paste (any other HTTPS page), or
    loopback/loopback-tls (servers that allow a local redirect, like the lenient sandbox).
    """
    from exactlink.adapters.exact.loopback import RelayListener
    from exactlink.adapters.exact.oauth import OAuthClient
    from exactlink.cli.context import app_context
    from exactlink.cli.receive import receiver
    from exactlink.errors import InvalidInput, UsageError
    from exactlink.services.connect import connect
    from exactlink.services.exact_app import (
        MODE_RELAY,
        exact_redirect_problem,
        redirect_mode,
        redirect_rule_hint,
        remember_insecure_storage,
    )
    from exactlink.services.status import owner_label

    ctx = app_context(typer_ctx)
    if insecure_storage:
        ctx.insecure_storage = True
        remember_insecure_storage(ctx.config)
    portal, client = _owner(ctx, client_name)
    settings = ctx.exact_app(region)
    problem = exact_redirect_problem(settings.redirect_uri) if settings.real_site else None
    if problem:
        raise InvalidInput(
            _("The stored redirect URI {uri} will be refused by Exact Online: {problem}").format(
                uri=settings.redirect_uri, problem=problem
            ),
            hint=redirect_rule_hint(),
        )
    mode = redirect_mode(settings.redirect_uri, no_browser or print_url, relay=settings.relay)
    if port is not None and mode != MODE_RELAY:
        raise UsageError(_("--port applies to the relay mode only (`exact app set --relay`)."))
    wait = timeout or (PRINT_URL_TIMEOUT if print_url else BROWSER_TIMEOUT)
    credentials = ctx.exact_credentials(settings.site)
    # The colleague of --print-url is on another computer: nothing to forward to there.
    listener = RelayListener(port or 0) if mode == MODE_RELAY and not print_url else None
    if listener is not None:
        listener.start()
    try:
        result = connect(
            portal=portal,
            client=client,
            app=settings,
            mode=mode,
            gateway=OAuthClient(
                credentials,
                ctx.exact_session(),
                force_login=not reuse_session,
                relay=mode == MODE_RELAY,
                relay_port=listener.port if listener is not None else None,
            ),
            receive=receiver(
                ctx,
                mode,
                settings.redirect_uri,
                wait,
                listener=listener,
                print_url=print_url,
                browser=not no_browser,
            ),
            connections=ctx.store.connections,
            secrets=ctx.secrets,
            events=ctx.store.events,
            portal_names=_portal_names(ctx),
            force=force,
            connected_by=ctx.connected_by if ctx.store.is_team else None,
        )
    finally:
        if listener is not None:
            listener.close()
    connection = result.connection
    for warning in result.warnings:
        ctx.out.warn(warning)
    who = connection.exact_username or connection.exact_user_id or "?"
    if connection.exact_full_name:
        who = f"{who} ({connection.exact_full_name})"
    ctx.out.success(
        _("Connected {owner} to Exact Online as {user} ({site}).").format(
            owner=owner_label(portal, client), user=who, site=connection.base_url
        )
    )
    if not ctx.secrets.secure:
        ctx.out.warn(_("Tokens are kept in a plain 0600 file (--insecure-storage)."))
    ctx.out.result("success", result.to_dict())
