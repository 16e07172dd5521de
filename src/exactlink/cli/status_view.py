"""The firm-wide part of `exact status` for a person: the clients per status, the rate limits in
one line, and the clients that need attention. A firm of 1,500 clients has 1,500 rows of them:
one screen, not 1,500 lines. ``--all`` lists every client; ``--json`` keeps every rate limit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from exactlink.i18n import _, label, ngettext

if TYPE_CHECKING:
    from exactlink.cli.output import Output
    from exactlink.models import RateLimitState
    from exactlink.services.status import StatusRow

SHOWN_ROWS = 10  # a firm this small sees every client
SHOWN_PROBLEMS = 20  # beyond this, a count and `--all`


def _n(count: int) -> str:
    return f"{count:,}"


def client_counts(counts: dict[str, int]) -> str:
    """``1,123 active, 377 granted, 0 pending`` (the ``clients`` line)."""
    return ", ".join(
        [
            _("{n} active").format(n=_n(counts.get("active", 0))),
            _("{n} granted").format(n=_n(counts.get("granted", 0))),
            _("{n} pending").format(n=_n(counts.get("pending", 0))),
        ]
    )


def limits_summary(limits: list[RateLimitState]) -> str | None:
    """``1,124 administrations; fewest calls left today: 4,981 of 5,000 (5385857)``."""
    if not limits:
        return None
    head = ngettext("{n} administration", "{n} administrations", len(limits)).format(
        n=_n(len(limits))
    )
    known = [r for r in limits if r.daily_remaining is not None]
    if not known:
        return head
    fewest = min(known, key=lambda r: r.daily_remaining or 0)
    return (
        head
        + "; "
        + _("fewest calls left today: {left} of {limit} ({division})").format(
            left=_n(fewest.daily_remaining or 0),
            limit=_n(fewest.daily_limit) if fewest.daily_limit else "?",
            division=fewest.division,
        )
    )


def print_rows(out: Output, rows: list[StatusRow], *, show_all: bool) -> None:
    """Every row (``--all``, or a small firm), else the ones that need attention, the first
    ``SHOWN_PROBLEMS`` of them."""
    whole = show_all or len(rows) <= SHOWN_ROWS
    if whole:
        if rows:
            out.line()
            _table(out, rows)
        return
    needs = sorted((r for r in rows if r.attention), key=lambda r: (r.rank, r.client or ""))
    if needs:
        out.line()
        _table(out, needs[:SHOWN_PROBLEMS], limits=False)
        if len(needs) > SHOWN_PROBLEMS:
            out.info(
                ngettext(
                    "… and {n} more client that needs attention.",
                    "… and {n} more clients that need attention.",
                    len(needs) - SHOWN_PROBLEMS,
                ).format(n=_n(len(needs) - SHOWN_PROBLEMS))
            )
    out.hint(_("Every client and its rate limits: `exactlink exact status --all`."))


def _table(out: Output, rows: list[StatusRow], *, limits: bool = True) -> None:
    columns = [_("client"), _("status"), _("division")]
    if limits:
        columns += [_("today left"), _("daily limit"), _("minute left")]
    columns.append(_("needs attention"))
    out.table(columns, (_cells(r, limits) for r in rows))


def _cells(row: StatusRow, limits: bool) -> list[object]:
    cells: list[object] = [row.client or "-", label(row.status) if row.status else "", row.division]
    if limits:
        r = row.limit
        cells += [
            r.daily_remaining if r else None,
            r.daily_limit if r else None,
            r.minutely_remaining if r else None,
        ]
    cells.append("; ".join(row.attention))
    return cells


def client_hints(out: Output, counts: dict[str, int]) -> None:
    """What the person can do about the clients that are not active yet."""
    granted, pending = counts.get("granted", 0), counts.get("pending", 0)
    if granted:
        out.hint(
            ngettext(
                "{n} client has granted access but is not linked yet: `exactlink exact activate"
                " --all` links it when it matches an administration; `exactlink doctor --all`"
                " says why it does not.",
                "{n} clients have granted access but are not linked yet: `exactlink exact"
                " activate --all` links those that match an administration; `exactlink doctor"
                " --all` says why the others do not.",
                granted,
            ).format(n=_n(granted))
        )
    if pending:
        out.hint(
            ngettext(
                "{n} client has not granted the firm access yet:"
                " `exactlink client list --status pending`.",
                "{n} clients have not granted the firm access yet:"
                " `exactlink client list --status pending`.",
                pending,
            ).format(n=_n(pending))
        )
