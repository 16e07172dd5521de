"""`exactlink log`: the audit trail."""

from typing import Annotated

import typer

from exactlink.i18n import N_, _


def log(
    typer_ctx: typer.Context,
    client: Annotated[
        str | None, typer.Option("--client", help=N_("Only the events of this client."))
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help=N_("Only the last N events."))
    ] = None,
) -> None:
    """Show the audit trail of every change.

    When, which OS user on which computer, what changed, on which portal and client.
    """
    from exactlink.cli.context import app_context

    ctx = app_context(typer_ctx, reads_only=True)
    portal = ctx.portal_name
    events = ctx.store.events.list(portal=portal, client=client, limit=limit)
    if ctx.json:
        ctx.out.json([event.to_dict() for event in events])
        return
    from exactlink.i18n import label, local_time

    ctx.out.table(
        [_("when"), _("user"), _("host"), _("action"), _("portal"), _("client"), _("subject")],
        [
            (local_time(e.at), e.os_user, e.host, label(e.action), e.portal, e.client, e.subject)
            for e in events
        ],
    )
