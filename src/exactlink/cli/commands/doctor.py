"""`exactlink doctor`: the checklist that says why a client's administration is missing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from exactlink.i18n import N_

if TYPE_CHECKING:
    from exactlink.cli.context import AppContext
    from exactlink.services.doctor import Inputs, Report


def doctor_inputs(ctx: AppContext) -> Inputs:
    """Each adapter is built only when its check runs, so one broken part never hides the rest."""
    from exactlink.services.doctor import Inputs
    from exactlink.services.exact_app import client_secret

    return Inputs(
        store=lambda: ctx.store,
        config=lambda: ctx.config,
        secrets=lambda: ctx.secrets,
        portal_name=ctx.portal_choice,
        portal=ctx.portal,
        app=ctx.exact_app,
        client_secret=lambda: client_secret(ctx.secrets),
        port=lambda portal: ctx.exact(portal),
        max_age=_max_age(ctx),
    )


def _max_age(ctx: AppContext) -> float:
    from exactlink.services.exact_app import DIVISIONS_MAX_AGE_MINUTES, divisions_max_age

    try:
        return divisions_max_age(ctx.config)
    except Exception:  # an unreadable config is the config check's ✗, not a crash here
        return DIVISIONS_MAX_AGE_MINUTES * 60.0


def run_doctor(ctx: AppContext, client: str | None, division: int | None) -> Report:
    from exactlink.services.doctor import diagnose

    return diagnose(doctor_inputs(ctx), client=client, division=division)


def render(ctx: AppContext, report: Report) -> None:
    """One line per check on stdout (✓ / ! / ✗), the fix indented below it."""
    from exactlink.services.doctor import OK

    width = _id_width(report.checks)
    for check in report.checks:
        _check_line(ctx, check, width)
        if check.fix and check.status != OK:
            ctx.out.line(f"  {'':<{width}} → {check.fix}")


def _id_width(checks: Any) -> int:
    """The column of check names: as wide as the longest (in the person's language)."""
    from exactlink.i18n import label

    return max([16, *(len(label(check.id)) for check in checks)])


def _check_line(ctx: AppContext, check: Any, width: int) -> None:
    """``✓ name  message``: the symbol painted (on a colour terminal), the check's name in the
    person's language (--json keeps its id)."""
    from exactlink.i18n import label
    from exactlink.services.doctor import FAIL, OK, SYMBOLS

    style = {OK: "ok", FAIL: "error"}.get(check.status, "warn")
    text = f"{label(check.id):<{width}} {check.message}"
    ctx.out.check_line(SYMBOLS[check.status], style, text)


def doctor(
    typer_ctx: typer.Context,
    client: Annotated[
        str | None, typer.Option("--client", help=N_("Diagnose this client's link."))
    ] = None,
    division: Annotated[
        str | None,
        typer.Option("--division", help=N_("Diagnose this administration (division code).")),
    ] = None,
    all_clients: Annotated[
        bool,
        typer.Option(
            "--all",
            help=N_("Diagnose every client of the portal: one line per client with a problem."),
        ),
    ] = False,
) -> None:
    """Diagnose the set-up, with the fix for each problem.

    Checks the store, the keyring, the portal, the client, the connection and the division.
    Each line is ✓ (fine), ! (warning) or ✗ (broken) with what to do, including the Exact
    Online menu path in Dutch and English. At most one current/Me, one division list and one
    probe are made, so doctor never pushes Exact's error limit. Exit 0 when nothing is ✗,
    10 otherwise; --json prints the whole checklist either way.

    --all checks the whole firm in one run: one current/Me, the division list (cached while
    fresh), and at most one probe per administration in doubt. It prints one line per client with
    a problem, grouped by cause with the fix, and the totals; --json gives every client.
    """
    from exactlink.cli.context import app_context
    from exactlink.errors import DoctorProblems
    from exactlink.i18n import _, label, ngettext
    from exactlink.services.activation import parse_division

    ctx = app_context(typer_ctx)
    code = parse_division(division)
    if all_clients:
        if client or code is not None:
            from exactlink.errors import UsageError

            raise UsageError(
                _("--all cannot be combined with --client or --division."),
                hint=_("Diagnose one client with `exactlink doctor --client NAME`."),
            )
        _doctor_all(ctx)
        return
    report = run_doctor(ctx, client, code)
    if ctx.json:
        ctx.out.json(report.to_dict())
        if not report.ok:
            raise typer.Exit(DoctorProblems.exit_code)
        return
    render(ctx, report)
    if not report.ok:
        n = len(report.failures)
        first = report.failures[0]
        raise DoctorProblems(
            ngettext("Doctor found {n} problem.", "Doctor found {n} problems.", n).format(n=n),
            # The checklist above already shows every fix; the hint only says where to begin.
            hint=_("Start with the first ✗ above: '{id}'.").format(id=label(first.id)),
        )
    ctx.out.success(_("All checks passed."))


def doctor_dict(ctx: AppContext, client: str | None, division: int | None) -> dict[str, Any]:
    """The report as the support bundle embeds it."""
    return run_doctor(ctx, client, division).to_dict()


def _doctor_all(ctx: AppContext) -> None:
    from exactlink.errors import DoctorProblems
    from exactlink.i18n import _, ngettext
    from exactlink.services.doctor.firm import diagnose_all

    firm = diagnose_all(doctor_inputs(ctx))
    if ctx.json:
        ctx.out.json(firm.to_dict())
        if not firm.ok:
            raise typer.Exit(DoctorProblems.exit_code)
        return
    render_firm(ctx, firm)
    if not firm.ok:
        n = firm.totals["fail"]
        raise DoctorProblems(
            ngettext(
                "Doctor found a problem with {n} client.",
                "Doctor found problems with {n} clients.",
                n,
            ).format(n=n)
            if n
            else _("Doctor found a problem with the firm's set-up."),
            hint=_("Each group above names its fix; `exactlink doctor --client NAME` for one."),
        )


def render_firm(ctx: AppContext, firm: Any) -> None:
    """The firm-wide lines that are not ✓, then one group per cause (its fix once, one line per
    client), then the totals: a screen when all is well, the problems in full when not."""
    from exactlink.i18n import _, label
    from exactlink.services.doctor import FAIL, OK, SYMBOLS

    styles = {OK: "ok", FAIL: "error"}
    width = _id_width(firm.report.checks)
    for check in firm.report.checks:
        if check.status != OK:
            _check_line(ctx, check, width)
            if check.fix:
                ctx.out.line(f"  {'':<{width}} → {check.fix}")
    for cause, group in firm.by_cause.items():
        ctx.out.line(f"{label(cause)} ({len(group)})")
        fixes = {c.fix for c in group if c.fix}
        if len(fixes) == 1:
            ctx.out.line(f"  → {fixes.pop()}")
        for c in group:
            where = f" [{c.division}]" if c.division is not None else ""
            line = f"  {c.client}{where}: {c.message or label(cause)}"
            ctx.out.check_line(SYMBOLS[c.status], styles.get(c.status, "warn"), line)
    totals = firm.totals
    ctx.out.line(
        _(
            "{n} clients: {ok} fine, {warn} with a warning, {fail} with a problem; {p} probes."
        ).format(
            n=len(firm.clients),
            ok=totals[OK],
            warn=totals["warn"],
            fail=totals[FAIL],
            p=firm.probes,
        )
    )
    if firm.ok and not firm.problems:
        ctx.out.success(_("All clients are linked and reachable."))
