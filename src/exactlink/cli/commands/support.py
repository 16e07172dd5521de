"""`exactlink support`: material for a support ticket."""

from pathlib import Path
from typing import Annotated

import typer

from exactlink.i18n import N_

app = typer.Typer(no_args_is_help=True, help=N_("Material for a support ticket."))


@app.command("bundle")
def support_bundle(
    typer_ctx: typer.Context,
    output: Annotated[
        Path, typer.Option("--output", "-o", help=N_("Write the bundle to this file (0600)."))
    ],
    client: Annotated[
        str | None,
        typer.Option("--client", help=N_("Include this client's mapping and diagnosis.")),
    ] = None,
    no_doctor: Annotated[
        bool,
        typer.Option("--no-doctor", help=N_("Leave out the doctor checklist (no Exact calls).")),
    ] = False,
) -> None:
    """Write a redacted JSON bundle for a support ticket.

    Versions, configuration (without secrets), a summary of the local store, the client's
    mapping, the last errors Exact returned with their Reason header, the rate-limit state and
    the doctor checklist. No token or secret is ever written; the file is created 0600.
    """
    from exactlink.cli.commands.doctor import doctor_dict
    from exactlink.cli.context import app_context
    from exactlink.i18n import _
    from exactlink.services.support import (
        build_bundle,
        describe_backend,
        secret_values,
        store_problem,
        write_bundle,
    )

    ctx = app_context(typer_ctx)
    store = ctx.store
    problem = store_problem(store)
    portal_name = ctx.portal_choice()
    portal = store.portals.get(portal_name) if portal_name and problem is None else None
    doctor = None if no_doctor else doctor_dict(ctx, client, None)
    scrub: list[str] = []
    backend = None
    try:
        secrets = ctx.secrets
        backend = describe_backend(secrets.backend_name)
        scrub = secret_values(store, secrets) if problem is None else []
    except Exception as exc:  # no keyring: nothing secret can be read, so none can leak
        ctx.out.debug(f"secret store not read: {exc}")
        backend = describe_backend(None, exc)
    bundle = build_bundle(
        store,
        config=dict(ctx.config.data),
        portal=portal,
        client=client,
        doctor=doctor,
        secret_backend=backend,
        secrets=scrub,
        store_problem=problem,
    )
    path = write_bundle(output, bundle)
    ctx.out.success(_("Support bundle written to {path} (mode 0600).").format(path=path))
    ctx.out.result("success", {"path": str(path)})
