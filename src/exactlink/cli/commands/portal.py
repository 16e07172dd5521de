"""`exactlink portal`: the firm's portals (create, list, show, use, update, delete)."""

from typing import Annotated

import typer

from exactlink.i18n import N_

app = typer.Typer(no_args_is_help=True, help=N_("Manage the firm's portals."))

_BILLING_NAME = typer.Option("--billing-name", help=N_("Name on the firm's invoices."))
_BILLING_EMAIL = typer.Option("--billing-email", help=N_("Where the firm's invoices go."))
_VAT = typer.Option("--vat", help=N_("The firm's VAT number, e.g. BE0403170701."))
_ADDRESS = typer.Option("--address", help=N_("The firm's billing address (one line)."))


@app.command("create")
def portal_create(
    typer_ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=N_("Name of the portal (usually the firm's name)."))],
    email: Annotated[
        str,
        typer.Option(
            "--email",
            help=N_("The firm's e-mail address, which clients add in the portal's Toegangsbeheer."),
        ),
    ],
    billing_name: Annotated[str | None, _BILLING_NAME] = None,
    billing_email: Annotated[str | None, _BILLING_EMAIL] = None,
    vat: Annotated[str | None, _VAT] = None,
    address: Annotated[str | None, _ADDRESS] = None,
) -> None:
    """Create a portal for the firm.

    The first one becomes the default; the same data again changes nothing.

    Billing details (name, e-mail and address) are needed before clients can be added under the
    firm's own management (`client add --managed`).
    """
    from exactlink.cli.context import app_context
    from exactlink.i18n import _
    from exactlink.services.portals import create_portal

    ctx = app_context(typer_ctx)
    change = create_portal(
        ctx.store,
        ctx.config,
        name=name,
        email=email,
        billing_name=billing_name,
        billing_email=billing_email,
        vat=vat,
        address=address,
    )
    out = ctx.out
    if change.changed:
        out.success(_("Portal '{name}' created.").format(name=change.portal.name))
        if change.is_default:
            out.info(_("It is the default portal now."))
    else:
        out.success(
            _("Portal '{name}' exists already with this data; nothing changed.").format(
                name=change.portal.name
            )
        )
    if not change.portal.has_billing:
        out.hint(
            _(
                "Add billing details (--billing-name, --billing-email, --address) with"
                " `exactlink portal update` before adding managed clients."
            )
        )
    out.result("success", change.to_dict())


@app.command("list")
def portal_list(typer_ctx: typer.Context) -> None:
    """List the portals; the default one is marked with *."""
    from exactlink.cli.context import app_context
    from exactlink.i18n import _
    from exactlink.services.portals import list_portals

    ctx = app_context(typer_ctx, reads_only=True)
    portals = list_portals(ctx.store, ctx.config)
    if ctx.json:
        ctx.out.json([p.to_dict() for p in portals])
        return

    if not portals:
        ctx.out.info(_("No portals yet. Create one with `exactlink portal create NAME --email E`."))
        return
    yes, no = _("yes"), _("no")
    ctx.out.table(
        [_("default"), _("name"), _("email"), _("clients"), _("billing")],
        [
            (
                "*" if p.is_default else "",
                p.portal.name,
                p.portal.email,
                p.client_count,
                yes if p.portal.has_billing else no,
            )
            for p in portals
        ],
    )


@app.command("show")
def portal_show(
    typer_ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(help=N_("Portal to show (default: --portal or the default)."))
    ] = None,
) -> None:
    """Show a portal: details, clients by status, connection.

    The clients are counted by status; the connection is the portal's own Exact login."""
    from exactlink.cli.context import app_context
    from exactlink.i18n import _, label, local_time
    from exactlink.services.portals import show_portal

    ctx = app_context(typer_ctx, reads_only=True)
    overview = show_portal(ctx.store, ctx.config, ctx.portal(name))
    if ctx.json:
        ctx.out.json(overview.to_dict())
        return
    portal, counts = overview.portal, overview.clients or {}
    ctx.out.fields(
        [
            (_("name"), portal.name + (" (" + _("default") + ")" if overview.is_default else "")),
            (_("e-mail"), portal.email),
            (_("billing name"), portal.billing_name),
            (_("billing e-mail"), portal.billing_email),
            (_("VAT"), portal.vat),
            (_("address"), portal.address),
            (
                _("clients"),
                _("{total} ({pending} pending, {granted} granted, {active} active)").format(
                    total=overview.client_count, **counts
                ),
            ),
            (_("connection"), label(overview.connection) or _("not connected")),
            (_("created"), local_time(portal.created_at)),
            (_("updated"), local_time(portal.updated_at)),
        ]
    )


@app.command("use")
def portal_use(
    typer_ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=N_("Portal to make the default."))],
) -> None:
    """Make a portal the default for the commands that follow.

    Kept in config.toml as `default_portal`; --portal NAME still picks another one."""
    from exactlink.cli.context import app_context
    from exactlink.i18n import _
    from exactlink.services.portals import use_portal

    ctx = app_context(typer_ctx)
    change = use_portal(ctx.store, ctx.config, name)
    ctx.out.success(_("Portal '{name}' is the default portal.").format(name=change.portal.name))
    ctx.out.result("success", change.to_dict())


@app.command("update")
def portal_update(
    typer_ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=N_("Portal to change."))],
    email: Annotated[str | None, typer.Option("--email", help=N_("New e-mail address."))] = None,
    billing_name: Annotated[str | None, _BILLING_NAME] = None,
    billing_email: Annotated[str | None, _BILLING_EMAIL] = None,
    vat: Annotated[str | None, _VAT] = None,
    address: Annotated[str | None, _ADDRESS] = None,
    rename: Annotated[str | None, typer.Option("--rename", help=N_("New name."))] = None,
) -> None:
    """Change a portal's details.

    Options left out stay as they are; "" clears an optional one."""
    from exactlink.cli.context import app_context
    from exactlink.i18n import _, label
    from exactlink.services.portals import update_portal

    ctx = app_context(typer_ctx)
    change = update_portal(
        ctx.store,
        ctx.config,
        name,
        new_name=rename,
        email=email,
        billing_name=billing_name,
        billing_email=billing_email,
        vat=vat,
        address=address,
    )
    if change.changed:
        ctx.out.success(
            _("Portal '{name}' updated ({fields}).").format(
                name=change.portal.name, fields=", ".join(label(f) for f in change.fields)
            )
        )
    else:
        ctx.out.success(_("Portal '{name}': nothing to change.").format(name=change.portal.name))
    ctx.out.result("success", change.to_dict())


@app.command("delete")
def portal_delete(
    typer_ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=N_("Portal to delete."))],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help=N_("Do not ask for confirmation."))
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help=N_("Delete the portal's clients with it."))
    ] = False,
) -> None:
    """Delete a portal.

    Refused while it has clients, unless --force (which removes them too)."""
    from exactlink.cli.context import app_context
    from exactlink.i18n import _
    from exactlink.services.portals import delete_portal

    ctx = app_context(typer_ctx)
    ctx.confirm(_("Delete portal '{name}'?").format(name=name), yes=yes)
    change = delete_portal(ctx.store, ctx.config, name, force=force)
    message = _("Portal '{name}' deleted.").format(name=change.portal.name)
    if change.clients_removed:
        message += " " + _("{count} client(s) removed with it.").format(
            count=change.clients_removed
        )
    ctx.out.success(message)
    if change.is_default:
        ctx.out.info(_("There is no default portal now; choose one with `exactlink portal use`."))
    ctx.out.result("success", change.to_dict())
