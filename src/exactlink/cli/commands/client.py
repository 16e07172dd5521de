"""`exactlink client`: a portal's client accounts (add, import, list, show, update, access,
remove)."""

import shlex
from enum import StrEnum
from typing import Annotated

import typer

from exactlink.i18n import N_
from exactlink.services.clients import EXPORT_FORMATS, IMPORT_FORMATS, STATUSES

app = typer.Typer(no_args_is_help=True, help=N_("Manage the portal's clients."))

# Enums, because typer turns them into choices; their values are the service's.
Status = StrEnum("Status", {status: status for status in STATUSES})  # type: ignore[misc]
Format = StrEnum("Format", {fmt: fmt for fmt in IMPORT_FORMATS})  # type: ignore[misc]
ExportFormat = StrEnum("ExportFormat", {fmt: fmt for fmt in EXPORT_FORMATS})  # type: ignore[misc]
Delimiter = StrEnum("Delimiter", {",": ",", ";": ";", "tab": "tab"})  # type: ignore[misc]


_EMAIL = typer.Option("--email", help=N_("The client's e-mail address."))
_VAT = typer.Option("--vat", help=N_("VAT number with country code, e.g. BE0403170701."))
_COC = typer.Option("--coc", help=N_("KBO/BCE enterprise number (BE) or KvK number (NL)."))
_MANAGED = typer.Option(
    "--managed/--not-managed",
    help=N_(
        "An account under the firm's own management, billed via the firm (needs billing details)."
    ),
    show_default=False,
)


def _report_change(out, change) -> None:  # type: ignore[no-untyped-def]
    """Say "updated (fields)" or "nothing to change" after a client update."""
    from exactlink.i18n import _, label

    if change.changed:
        out.success(
            _("Client '{name}' updated ({fields}).").format(
                name=change.client.name, fields=", ".join(label(f) for f in change.fields)
            )
        )
    else:
        out.success(_("Client '{name}': nothing to change.").format(name=change.client.name))


def _read_input(path: str) -> tuple[bytes, str]:
    """The bytes of ``path`` (``-``: stdin) and a name for messages."""
    import sys
    from pathlib import Path

    from exactlink.errors import UsageError
    from exactlink.i18n import _

    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is not None:
            return stream.read(), "<stdin>"
        return sys.stdin.read().encode("utf-8"), "<stdin>"
    try:
        return Path(path).read_bytes(), path
    except OSError as exc:
        raise UsageError(
            _("Cannot read {path}: {error}").format(path=path, error=exc.strerror or exc),
            hint=_("Check the path, or pass - to read the clients from stdin."),
        ) from None


def _client_fields(client) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    from exactlink.i18n import _, label, local_time

    return [
        (_("name"), client.name),
        (_("status"), label(client.status)),
        (_("e-mail"), client.email),
        (_("VAT"), client.vat),
        (_("KBO/KvK"), client.coc),
        (_("managed"), _("yes") if client.managed else _("no")),
        (_("access granted"), local_time(client.access_granted_at)),
        (_("administration"), client.division),
        (_("created"), local_time(client.created_at)),
        (_("updated"), local_time(client.updated_at)),
    ]


@app.command("add")
def client_add(
    typer_ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=N_("The client's name, e.g. 'Bakkerij Peeters BV'."))],
    email: Annotated[str | None, _EMAIL] = None,
    vat: Annotated[str | None, _VAT] = None,
    coc: Annotated[str | None, _COC] = None,
    managed: Annotated[bool | None, _MANAGED] = None,
    access_granted: Annotated[
        bool,
        typer.Option(
            "--access-granted",
            help=N_("The client added the portal's e-mail in Toegangsbeheer already."),
        ),
    ] = False,
    update: Annotated[
        bool, typer.Option("--update", help=N_("Change the client if it exists with other data."))
    ] = False,
) -> None:
    """Add a client account to the portal.

    It stays pending until the client grants the firm access in Toegangsbeheer (record that
    with `client access NAME --granted`).

    Adding the same client with the same data again changes nothing; other data is refused
    (exit 4) unless --update.
    """
    from exactlink.cli.context import app_context
    from exactlink.i18n import _, label
    from exactlink.services.clients import add_client, pending_hint

    ctx = app_context(typer_ctx)
    portal = ctx.portal()
    change = add_client(
        ctx.store,
        portal,
        name,
        email=email,
        vat=vat,
        coc=coc,
        managed=managed,
        access_granted=True if access_granted else None,
        update=update,
    )
    client, out = change.client, ctx.out
    if change.action == "added":
        out.success(
            _("Client '{name}' added ({status}).").format(
                name=client.name, status=label(client.status)
            )
        )
    elif change.action == "updated":
        _report_change(ctx.out, change)
    else:
        out.success(
            _("Client '{name}' exists already with this data; nothing changed.").format(
                name=client.name
            )
        )
    if client.status == "pending":
        out.hint(pending_hint(portal, client))
    out.result("success", change.to_dict())


@app.command("import")
def client_import(
    typer_ctx: typer.Context,
    file: Annotated[str, typer.Argument(help=N_("CSV, JSON or .xlsx file, or - for stdin."))],
    format: Annotated[
        Format | None,
        typer.Option(
            "--format", help=N_("csv, json or xlsx (default: from the extension or content).")
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help=N_("Read the file in this encoding (default: UTF-8, else Windows-1252)."),
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help=N_("Refuse columns exactlink does not use (default: ignore).")
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help=N_("Check and show what would change; write nothing."))
    ] = False,
    update: Annotated[
        bool, typer.Option("--update", help=N_("Change existing clients whose data differs."))
    ] = False,
    skip_invalid: Annotated[
        bool,
        typer.Option("--skip-invalid", help=N_("Import the valid rows; report the invalid ones.")),
    ] = False,
) -> None:
    """Import clients from a CSV, JSON or .xlsx file (or - for stdin).

    All in one transaction. Columns (header row, any order): name,email,vat,coc,managed,access_granted, or their Dutch,
    Flemish, French names (Naam, Bedrijfsnaam, BTW-nummer, Ondernemingsnummer, KvK-nummer,
    E-mail, Raison sociale, TVA, ...); only the name is required; other columns are ignored.
    CSV in UTF-8 or Windows-1252, delimited by , ; or tab. Rows repeating an earlier row are
    imported once. A bad row aborts the import and nothing is written, unless --skip-invalid.
    """
    from exactlink.cli.context import app_context
    from exactlink.i18n import _
    from exactlink.services.importing import describe_row_errors, import_clients

    ctx = app_context(typer_ctx)
    portal = ctx.portal()
    data, source = _read_input(file)
    report = import_clients(
        ctx.store,
        portal,
        data,
        source=source,
        fmt=format.value if format else None,
        dry_run=dry_run,
        update=update,
        skip_invalid=skip_invalid,
        encoding=encoding,
        strict=strict,
    )
    out = ctx.out
    for notice in report.notices:
        out.info(_("Note:") + " " + notice.message)
    counts = {a: report.count(a) for a in ("added", "updated", "unchanged")}
    if dry_run:
        out.success(
            _(
                "Dry run: {added} would be added, {updated} updated, {unchanged} unchanged;"
                " nothing was written."
            ).format(**counts)
        )
    else:
        out.success(
            _(
                "Imported into '{portal}': {added} added, {updated} updated, {unchanged} unchanged."
            ).format(portal=portal.name, **counts)
        )
    if report.errors:
        out.warn(
            _("{count} invalid row(s) skipped:").format(count=len(report.errors))
            + "\n"
            + describe_row_errors(report.errors)
        )
    if report.empty:
        out.warn(_("The file has a header but no clients."))
    out.result(report.status, report.to_dict(), [e.to_dict() for e in report.errors])


@app.command("export")
def client_export(
    typer_ctx: typer.Context,
    format: Annotated[
        ExportFormat, typer.Option("--format", help=N_("csv (for Excel) or json."))
    ] = ExportFormat.csv,  # type: ignore[attr-defined]
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help=N_("Write to this file (0600) instead of stdout.")),
    ] = None,
    delimiter: Annotated[
        Delimiter | None,
        typer.Option(
            "--delimiter",
            help=N_(
                "CSV delimiter (default: ; where the language or locale writes decimal"
                " commas, else ,)."
            ),
        ),
    ] = None,
) -> None:
    """Export the portal's clients to CSV or JSON.

    `client import` reads the file back. CSV opens in Excel as it is: UTF-8 with BOM, ; as delimiter in Dutch and in locales with a
    decimal comma (nl_BE, fr_BE, de_DE, ...), values that would run as a formula (=, +, -, @)
    prefixed with '.
    """
    from pathlib import Path

    from exactlink.cli.context import app_context
    from exactlink.i18n import _
    from exactlink.services import exporting

    ctx = app_context(typer_ctx, reads_only=True)
    portal = ctx.portal()
    if delimiter is not None:
        separator = exporting.DELIMITERS[delimiter.value]
    else:
        separator = exporting.delimiter_for(ctx.lang, exporting.system_locale())
    data = exporting.export_clients(ctx.store, portal, format.value, delimiter=separator)
    if output is None or output == "-":
        _write_stdout(ctx.out.stdout, data)
        return
    exporting.write_export(Path(output), data)
    ctx.out.success(
        _("Clients of '{portal}' written to {path}.").format(portal=portal.name, path=output)
    )
    ctx.out.result("success", {"path": output, "format": format.value, "bytes": len(data)})


def _write_stdout(stream, data: bytes) -> None:  # type: ignore[no-untyped-def]
    """The exported bytes as they are (the BOM included), through the text stream if needed."""
    stream.flush()
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:
        stream.write(data.decode("utf-8"))
        stream.flush()


@app.command("list")
def client_list(
    typer_ctx: typer.Context,
    status: Annotated[
        Status | None, typer.Option("--status", help=N_("Only clients with this status."))
    ] = None,
) -> None:
    """List the portal's clients and their status.

    Status is pending (access not granted yet), granted, or active (linked to an
    administration); --status shows one of them.
    """
    from itertools import chain

    from exactlink.cli.context import app_context
    from exactlink.services.clients import iter_clients, list_clients

    ctx = app_context(typer_ctx, reads_only=True)
    wanted = status.value if status else None
    if ctx.json:
        clients = list_clients(ctx.store, ctx.portal(), status=wanted)
        ctx.out.json([client.to_dict() for client in clients])
        return
    from exactlink.i18n import _, label

    # One client at a time from the store: a long list on a terminal is written as it is read.
    rows = iter_clients(ctx.store, ctx.portal(), status=wanted)
    first = next(rows, None)
    if first is None:
        ctx.out.info(_("No clients. Add one with `exactlink client add NAME`."))
        return
    yes = _("yes")
    ctx.out.table(
        [_("name"), _("status"), _("vat"), _("coc"), _("email"), _("managed"), _("division")],
        (
            (c.name, label(c.status), c.vat, c.coc, c.email, yes if c.managed else "", c.division)
            for c in chain([first], rows)
        ),
    )


@app.command("show")
def client_show(
    typer_ctx: typer.Context, name: Annotated[str, typer.Argument(help=N_("The client's name."))]
) -> None:
    """Show one client: its details, status and linked administration."""
    from exactlink.cli.context import app_context
    from exactlink.services.clients import get_client, pending_hint

    ctx = app_context(typer_ctx, reads_only=True)
    portal = ctx.portal()
    client = get_client(ctx.store, portal, name)
    if ctx.json:
        ctx.out.json(client.to_dict())
        return
    ctx.out.fields(_client_fields(client))
    if client.status == "pending":
        ctx.out.hint(pending_hint(portal, client))


@app.command("update")
def client_update(
    typer_ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=N_("The client's name."))],
    email: Annotated[str | None, _EMAIL] = None,
    vat: Annotated[str | None, _VAT] = None,
    coc: Annotated[str | None, _COC] = None,
    managed: Annotated[bool | None, _MANAGED] = None,
    rename: Annotated[str | None, typer.Option("--rename", help=N_("New name."))] = None,
) -> None:
    """Change a client's details.

    Options left out stay as they are; "" clears one.
    """
    from exactlink.cli.context import app_context
    from exactlink.services.clients import update_client

    ctx = app_context(typer_ctx)
    change = update_client(
        ctx.store,
        ctx.portal(),
        name,
        new_name=rename,
        email=email,
        vat=vat,
        coc=coc,
        managed=managed,
    )
    _report_change(ctx.out, change)
    ctx.out.result("success", change.to_dict())


@app.command("access")
def client_access(
    typer_ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=N_("The client's name."))],
    granted: Annotated[
        bool,
        typer.Option(
            "--granted", help=N_("The client added the portal's e-mail in Toegangsbeheer.")
        ),
    ] = False,
    revoked: Annotated[
        bool, typer.Option("--revoked", help=N_("The client withdrew the firm's access."))
    ] = False,
) -> None:
    """Record whether a client granted the firm access.

    The client grants it in Toegangsbeheer (access management) of its account in the portal
    software, by adding the firm's e-mail address; --revoked records that it withdrew it.
    """
    from exactlink.cli.context import app_context
    from exactlink.errors import UsageError
    from exactlink.i18n import _, label
    from exactlink.services.clients import set_access

    ctx = app_context(typer_ctx)
    if granted == revoked:
        raise UsageError(
            _("Say what happened: --granted or --revoked (one of them)."),
            hint=_("e.g. `exactlink client access NAME --granted`"),
        )
    change = set_access(ctx.store, ctx.portal(), name, granted=granted)
    client = change.client
    if not change.changed:
        ctx.out.success(
            _("Client '{name}' is {status} already; nothing changed.").format(
                name=client.name, status=label(client.status)
            )
        )
    elif granted:
        ctx.out.success(_("Client '{name}' granted access.").format(name=client.name))
        ctx.out.hint(
            _(
                "Activate its administration with `exactlink exact activate --client {name}`."
            ).format(name=shlex.quote(client.name))
        )
    else:
        ctx.out.success(
            _("Client '{name}' is pending again (access withdrawn).").format(name=client.name)
        )
    ctx.out.result("success", change.to_dict())


@app.command("remove")
def client_remove(
    typer_ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=N_("The client's name."))],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help=N_("Do not ask for confirmation."))
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help=N_("Remove it even when it is active (linked)."))
    ] = False,
) -> None:
    """Remove a client from the portal.

    An active (linked) client only with --force."""
    from exactlink.cli.context import app_context
    from exactlink.i18n import _
    from exactlink.services.clients import remove_client

    ctx = app_context(typer_ctx)
    ctx.confirm(_("Remove client '{name}'?").format(name=name), yes=yes)
    change = remove_client(ctx.store, ctx.portal(), name, force=force)
    ctx.out.success(_("Client '{name}' removed.").format(name=change.client.name))
    ctx.out.result("success", change.to_dict())
