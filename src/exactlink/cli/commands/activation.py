"""`exactlink exact divisions | activate | deactivate`: link each client to its administration.

These commands live on the `exact` group (cli/commands/exact.py) but in their own module, so the
connection commands and the activation commands stay readable apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from exactlink.cli.commands.exact import app
from exactlink.i18n import N_

if TYPE_CHECKING:
    from rich.progress import TaskID

    from exactlink.cli.context import AppContext
    from exactlink.models import Client, Division
    from exactlink.services.activation import BulkResult, Outcome
    from exactlink.services.matching import Candidate

__all__ = ["app"]


def divisions_max_age(ctx: AppContext) -> float:
    """Seconds the cached division list stays fresh (config exact.divisions_max_age_minutes)."""
    from exactlink.services.exact_app import divisions_max_age as configured

    return configured(ctx.config)


def probe_workers(config: Any) -> int:
    from exactlink.services.exact_app import probe_workers as configured

    return configured(config)


def _port_factory(ctx: AppContext, portal: Any) -> Any:
    """Builds the portal's Exact client on first use, and only once."""
    from functools import cache

    return cache(lambda: ctx.exact(portal))


@app.command("divisions")
def exact_divisions(
    typer_ctx: typer.Context,
    refresh: Annotated[
        bool, typer.Option("--refresh", help=N_("Fetch the list from Exact again (all pages)."))
    ] = False,
    unmapped: Annotated[
        bool,
        typer.Option("--unmapped", help=N_("Only administrations not activated for a client.")),
    ] = False,
    all_licenses: Annotated[
        bool,
        typer.Option(
            "--all-licenses",
            help=N_(
                "Also list the administrations of each license that the login cannot access "
                "(system/AllDivisions; needs the app scope 'Organization administration')."
            ),
        ),
    ] = False,
) -> None:
    """List the administrations the portal's connection can reach.

    Exact calls them divisions. From Exact's system/Divisions (every page), cached with the time it was fetched; --refresh
    fetches again. Columns: code, name, VAT, KvK/KBO, status (active/archived/inactive), blocking
    status, and the client account it is activated for.
    """
    from exactlink.cli.context import app_context
    from exactlink.i18n import _, label, local_time
    from exactlink.services.activation import list_divisions

    # The cached list only reads; --refresh writes it (a team store then takes psycopg).
    ctx = app_context(typer_ctx, reads_only=not refresh)
    portal = ctx.portal()
    port = _port_factory(ctx, portal)
    listing = list_divisions(ctx.store, portal, port, refresh=refresh, unmapped=unmapped)
    extra: list[dict[str, Any]] = []
    if all_licenses:
        from exactlink.services.activation import other_license_divisions

        extra = other_license_divisions(port(), listing)
    if ctx.json:
        data = listing.to_dict()
        if all_licenses:
            data["not_accessible"] = extra
        ctx.out.json(data)
        return
    ctx.out.table(
        [_("code"), _("name"), _("vat"), _("kvk/kbo"), _("status"), _("blocking"), _("client")],
        [
            (
                row.division.code,
                row.division.description,
                row.division.vat_number,
                row.division.coc_number,
                label(row.division.status_name),
                label(row.division.blocking_name),
                row.client,
            )
            for row in listing.rows
        ],
    )
    if all_licenses:
        ctx.out.info(
            _("Not accessible to the firm's login or not granted to the app ({n}):").format(
                n=len(extra)
            )
        )
        ctx.out.table(
            [_("code"), _("name"), _("vat"), _("status")],
            [(d["code"], d["name"], d["vat"], label(d["status"])) for d in extra],
        )
    source = _("fetched now") if listing.refreshed else _("cached")
    ctx.out.info(
        _("{n} administrations, {source} at {at}.").format(
            n=len(listing.rows), source=source, at=local_time(listing.fetched_at) or "-"
        )
    )


def _chooser(ctx: AppContext):
    """The TTY picker: best candidates first, then every other administration (the portal's
    list of dossiers)."""

    def choose(
        client: Client, candidates: list[Candidate], divisions: list[Division]
    ) -> int | None:
        from exactlink.i18n import _

        shown: list[tuple[int, str, str]] = [
            (c.division, c.name, f"{c.score:g}") for c in candidates
        ]
        seen = {code for code, _n, _s in shown}
        shown += [(d.code, d.description, "") for d in divisions if d.code not in seen]
        from exactlink.cli.output import visible

        err = ctx.out.stderr
        err.write(
            _("Which administration is '{client}'s?").format(client=visible(client.name)) + "\n"
        )
        for i, (code, name, score) in enumerate(shown, start=1):
            row = f"  {i:>3}. {code:>9}  {visible(name)}" + (f"  ({score})" if score else "")
            err.write(row + "\n")
        answer = typer.prompt(
            _("Number or division code (empty to cancel)"),
            default="",
            show_default=False,
            err=True,
        ).strip()
        if not answer:
            return None
        if answer.isdigit() and 1 <= int(answer) <= len(shown):
            return shown[int(answer) - 1][0]
        from exactlink.services.activation import parse_division

        return parse_division(answer)

    return choose


def _describe(ctx: AppContext, outcome: Outcome) -> None:
    from exactlink.i18n import _, label
    from exactlink.services import activation as service
    from exactlink.services.matching import BY_MANUAL

    where = f"{outcome.division} ({outcome.division_name})"
    if outcome.check is not None:
        check = outcome.check
        ctx.out.info(
            _(
                "Check of administration {code} against the client: {result} (VAT {vat},"
                " KvK/KBO {coc}, name similarity {score:g})."
            ).format(
                code=outcome.division,
                result=label(check["result"]),
                vat=label(check["vat"]),
                coc=label(check["coc"]),
                score=check["name_score"],
            )
        )
    for warning in outcome.warnings:
        ctx.out.warn(warning)
    if outcome.outcome == service.ACTIVATED:
        how = outcome.matched_by or BY_MANUAL
        ctx.out.success(
            _("Client '{client}' activated on administration {where}, matched by {how}.").format(
                client=outcome.client, where=where, how=label(how)
            )
        )
        if outcome.replaced:
            if "own_link" in outcome.replaced:
                ctx.out.info(_("Its own link was replaced; its tokens were removed."))
            if "activation" in outcome.replaced:
                ctx.out.info(
                    _("It was active on administration {code} before.").format(
                        code=outcome.replaced["activation"]["division"]
                    )
                )
    elif outcome.outcome == service.ALREADY_ACTIVE:
        ctx.out.success(
            _("Client '{client}' is already active on administration {where}.").format(
                client=outcome.client, where=where
            )
        )
    elif outcome.outcome == service.WOULD_ACTIVATE:
        ctx.out.info(
            _(
                "Dry run: client '{client}' would be activated on administration {where} (not probed)."
            ).format(client=outcome.client, where=where)
        )


@app.command("activate")
def exact_activate(
    typer_ctx: typer.Context,
    client: Annotated[
        str | None, typer.Option("--client", help=N_("The client account to activate."))
    ] = None,
    division: Annotated[
        str | None,
        typer.Option(
            "--division", help=N_("The administration's code; without it the client is matched.")
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help=N_(
                "Replace the client's own link or its activation on another administration "
                "(the portal's Overschrijven); the replaced tokens are removed."
            ),
        ),
    ] = False,
    all_clients: Annotated[
        bool,
        typer.Option(
            "--all", help=N_("Every granted client not active yet, matched automatically.")
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help=N_(
                "Link a hand-picked administration even when it is the firm's own or its VAT, "
                "KvK/KBO number or name differs from the client's."
            ),
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help=N_("Match and check, but probe and store nothing."))
    ] = False,
) -> None:
    """Link a client (or --all) to its Exact administration.

    The link goes through the portal's one connection (the firm's Exact login), as the
    portal's Modules > Exact Online > activate does; the client's own login is not needed.

    Without --division the client is matched: VAT number, then KvK/KBO, then the name. With no
    unique match a terminal shows the candidates to pick from; a script gets them with exit 3.
    Archived, blocked and HQ administrations are refused. A code given with --division is
    checked against the client: the firm's own administration, or a VAT, KvK/KBO number or name
    that differs, is refused (exit 4) unless --force; a weak match is warned about. One call in the administration proves
    the connection reaches it before anything is stored. The same activation again changes nothing.

    --all activates every granted client at once and prints one result per client (exit 0 when
    all succeeded, otherwise the exit code of the first kind of failure, with status partial).
    """
    from exactlink.cli.context import app_context
    from exactlink.errors import UsageError
    from exactlink.i18n import _
    from exactlink.services import activation as service

    ctx = app_context(typer_ctx)
    code = service.parse_division(division)
    if all_clients:
        if client or code is not None or overwrite or force:
            raise UsageError(
                _("--all cannot be combined with --client, --division, --overwrite or --force."),
                hint=_("Activate single clients with `exactlink exact activate --client NAME`."),
            )
        _activate_all(ctx, dry_run)
        return
    if not client:
        raise UsageError(
            _("Name a client with --client NAME, or use --all."),
            hint=_("See `exactlink client list`."),
        )
    portal = ctx.portal()
    choose = _chooser(ctx) if (ctx.stdin_is_tty and not ctx.json) else None
    outcome = service.activate_client(
        ctx.store,
        ctx.secrets if overwrite else None,
        portal,
        client,
        _port_factory(ctx, portal),
        division=code,
        overwrite=overwrite,
        force=force,
        dry_run=dry_run,
        choose=choose,
        max_age=divisions_max_age(ctx),
    )
    _describe(ctx, outcome)
    ctx.out.result("success", outcome.to_dict())


def _activate_all(ctx: AppContext, dry_run: bool) -> None:
    from exactlink.services import activation as service

    portal = ctx.portal()
    bar = _progress(ctx)
    try:
        result = service.activate_all(
            ctx.store,
            portal,
            _port_factory(ctx, portal),
            dry_run=dry_run,
            progress=bar.update if bar else None,
            max_age=divisions_max_age(ctx),
            workers=probe_workers(ctx.config),
        )
    finally:
        if bar:
            bar.close()
    if not ctx.json:
        _render_bulk(ctx, result)
    ctx.out.result(result.status, result.to_dict(), result.errors())
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _render_bulk(ctx: AppContext, result: BulkResult) -> None:
    from exactlink.i18n import _, label

    ctx.out.table(
        [_("client"), _("outcome"), _("division"), _("name"), _("by"), _("cause")],
        [
            (
                o.client,
                label(o.outcome),
                o.division,
                o.division_name,
                label(o.matched_by),
                label(o.cause),
            )
            for o in result.outcomes
        ],
    )
    counts = ", ".join(f"{label(k)}: {v}" for k, v in sorted(result.counts.items()))
    ctx.out.info(
        _("{n} clients ({counts}); {d} administrations listed, {p} probes.").format(
            n=len(result.outcomes), counts=counts or "-", d=result.division_count, p=result.probes
        )
    )
    for o in result.failed:
        if o.fix:
            ctx.out.hint(f"{o.client}: {o.fix}")
    if result.aborted:
        ctx.out.warn(_("Stopped early: {why}").format(why=result.aborted))


class _Bar:
    """A Rich progress bar on stderr (only on a terminal, never with --json or -q)."""

    def __init__(self, ctx: AppContext) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=Console(file=ctx.out.stderr),
            transient=True,
        )
        self._task: TaskID | None = None

    def update(self, done: int, total: int, name: str) -> None:
        if self._task is None:
            self._progress.start()
            self._task = self._progress.add_task("", total=total)
        from rich.markup import escape

        from exactlink.cli.output import visible
        from exactlink.i18n import _

        shown = _("Activating {client}").format(client=escape(visible(name[:30])))
        self._progress.update(self._task, completed=done, description=shown)

    def close(self) -> None:
        if self._task is not None:
            self._progress.stop()


def _progress(ctx: AppContext) -> _Bar | None:
    if ctx.json or ctx.quiet or not ctx.out.stderr_is_tty:
        return None
    return _Bar(ctx)


@app.command("deactivate")
def exact_deactivate(
    typer_ctx: typer.Context,
    client: Annotated[str, typer.Option("--client", help=N_("The client account to deactivate."))],
) -> None:
    """Remove a client's activation; the connection itself stays.

    The portal's connection and the other clients' activations are untouched. Running it
    again changes nothing."""
    from exactlink.cli.context import app_context
    from exactlink.i18n import _
    from exactlink.services.activation import deactivate_client

    ctx = app_context(typer_ctx)
    outcome = deactivate_client(ctx.store, ctx.portal(), client)
    if outcome.changed:
        ctx.out.success(
            _("Client '{client}' deactivated (was on administration {code}).").format(
                client=outcome.client, code=outcome.division
            )
        )
    else:
        ctx.out.info(_("Client '{client}' was not active.").format(client=outcome.client))
    ctx.out.result("success", outcome.to_dict())
