"""`exactlink docs [TOPIC]`: the guides shipped in the package, readable offline."""

from typing import Annotated

import typer

from exactlink.i18n import N_


def docs(
    typer_ctx: typer.Context,
    topic: Annotated[
        str | None,
        typer.Argument(help=N_("The guide to print, e.g. install; leave out to list them.")),
    ] = None,
) -> None:
    """Print a guide from the installed package (no network).

    Without TOPIC, list the guides.
    """
    from exactlink.cli.context import app_context
    from exactlink.services.guides import list_guides, read_guide

    ctx = app_context(typer_ctx)
    if topic is None:
        guides = list_guides()
        if ctx.json:
            ctx.out.json([guide.to_dict() for guide in guides])
            return
        from exactlink.i18n import _

        ctx.out.table([_("topic"), _("title")], [(g.topic, g.title) for g in guides])
        ctx.out.hint(_("Read one with `exactlink docs TOPIC`, e.g. `exactlink docs install`."))
        return
    guide, text = read_guide(topic)
    if ctx.json:
        ctx.out.json({**guide.to_dict(), "text": text})
        return
    ctx.out.stdout.write(text if text.endswith("\n") else text + "\n")
