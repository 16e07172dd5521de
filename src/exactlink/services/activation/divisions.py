"""The division list of the portal's connection: fetched, cached, listed; ``--division`` parsed.

The list comes from ``system/Divisions`` (all pages, reference §4.2), cached with its fetch time
(§5.3: do not poll it); ``hrm/Divisions`` is single-license and never used.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from exactlink.errors import ExactRefused, NotFound, UsageError
from exactlink.i18n import _
from exactlink.models import Connection, Division, Portal
from exactlink.services.activation.causes import CAUSE_REFUSED, explain_refusal, fix_app_scope
from exactlink.services.activation.results import DivisionList, DivisionRow, PortFactory
from exactlink.services.connect import require_connection
from exactlink.services.ports import ExactPort

if TYPE_CHECKING:
    from exactlink.adapters.store import Store


def portal_connection(store: Store, portal: Portal) -> Connection:
    """The portal's own chain, alive; NotConnected/ReconnectNeeded (exit 5) otherwise."""
    return require_connection(store.connections, portal, live=True)


def _known_division(store: Store, conn: Connection) -> int | None:
    """A division already proven to work, for fetching the list when ``Me.CurrentDivision`` is
    refused (the 2021 chicken-and-egg, reference §4.2)."""
    active = store.activations.by_connection(conn.id)
    return active[0].division if active else conn.current_division


def fetch_divisions(
    store: Store, portal: Portal, conn: Connection, port: ExactPort
) -> list[Division]:
    """Fetch ``system/Divisions`` (all pages) and replace the connection's cached list."""
    from exactlink.adapters.store.db import utc_now
    from exactlink.adapters.store.divisions import from_exact

    now = utc_now()
    divisions: list[Division] = []
    for record in port.divisions(via=_known_division(store, conn)):
        try:
            divisions.append(from_exact(record, now))
        except ValueError:
            continue  # a record without a Code cannot be linked; skip rather than fail
    with store.transaction():
        store.divisions.replace(conn.id, divisions)
        store.events.record(
            "exact.divisions.refresh",
            str(conn.id),
            portal=portal.name,
            details={"count": len(divisions)},
            exact_user=conn.exact_username,
        )
    return sorted(divisions, key=lambda d: d.code)


DEFAULT_MAX_AGE = 15 * 60.0  # seconds; config exact.divisions_max_age_minutes


def is_fresh(divisions: list[Division], max_age: float, now: float | None = None) -> bool:
    """A cached list younger than ``max_age`` seconds (its fetch time is in every row)."""
    import time
    from datetime import datetime

    if not divisions or max_age <= 0:
        return False
    try:
        at = datetime.fromisoformat(min(d.fetched_at for d in divisions).replace("Z", "+00:00"))
    except ValueError:
        return False
    age = (time.time() if now is None else now) - at.timestamp()
    return 0 <= age <= max_age


def current_divisions(
    store: Store,
    portal: Portal,
    conn: Connection,
    port_factory: PortFactory,
    *,
    max_age: float = DEFAULT_MAX_AGE,
) -> tuple[list[Division], bool]:
    """The cached list while it is fresh, else fetched (all pages); and whether it was fetched.

    Exact allows 60 calls a minute per division (§5.1) and the list is paged by 60: at 5,000
    administrations its pages alone exceed that, so runs within ``max_age`` share one fetch.
    """
    cached = store.divisions.list(conn.id)
    if is_fresh(cached, max_age):
        return cached, False
    return fetch_divisions(store, portal, conn, port_factory()), True


def client_names(store: Store, portal: Portal) -> dict[int, str]:
    return {c.id: c.name for c in store.clients.list(portal.id)}


# -- exact divisions -------------------------------------------------------------------------
def list_divisions(
    store: Store,
    portal: Portal,
    port_factory: PortFactory,
    *,
    refresh: bool = False,
    unmapped: bool = False,
) -> DivisionList:
    """The administrations the portal's connection reaches: the cache, or fetched (all pages).

    Nothing is fetched when a cached list exists and ``refresh`` is False.
    """
    conn = portal_connection(store, portal)
    divisions = [] if refresh else store.divisions.list(conn.id)
    refreshed = False
    if refresh or not divisions:
        divisions = fetch_divisions(store, portal, conn, port_factory())
        refreshed = True
    names = client_names(store, portal)
    held = {a.division: names.get(a.client_id) for a in store.activations.by_connection(conn.id)}
    rows = [DivisionRow(d, held.get(d.code)) for d in divisions]
    if unmapped:
        rows = [row for row in rows if row.client is None]
    return DivisionList(
        connection_id=conn.id,
        fetched_at=max((d.fetched_at for d in divisions), default=None),
        refreshed=refreshed,
        rows=rows,
    )


def other_license_divisions(port: ExactPort, listing: DivisionList) -> list[dict[str, Any]]:
    """``--all-licenses``: divisions of the reachable licenses that ``system/Divisions`` leaves
    out (the login has no access, or the app was not granted them), from ``system/AllDivisions``
    once per license (reference §4.2: it lists every division of the license owning the URL's
    division and needs the app scope "Organization administration")."""
    listed = {row.division.code for row in listing.rows}
    via: dict[str, int] = {}
    for row in listing.rows:
        d = row.division
        if d.status == 1 and d.blocking_status == 0:
            via.setdefault(d.customer_name or str(d.code), d.code)
    found: dict[int, dict[str, Any]] = {}
    for code in via.values():
        try:
            records = port.collection(
                f"{code}/system/AllDivisions",
                {"$select": "Code,Description,VATNumber,ChamberOfCommerceNumber,Status"},
            )
        except ExactRefused as exc:
            cause, fix = explain_refusal(exc)
            raise ExactRefused(
                _("Exact refused system/AllDivisions: {error}").format(error=exc.message),
                hint=fix if cause != CAUSE_REFUSED else fix_app_scope(),
                status=exc.status,
                reason=exc.reason,
            ) from None
        for record in records:
            try:
                number = int(record.get("Code"))
            except (TypeError, ValueError):
                continue
            if number in listed or number in found:
                continue
            status = {0: "inactive", 1: "active", 2: "archived"}.get(record.get("Status"), "?")
            found[number] = {
                "code": number,
                "name": record.get("Description"),
                "vat": record.get("VATNumber"),
                "coc": record.get("ChamberOfCommerceNumber"),
                "status": status,
            }
    return [found[k] for k in sorted(found)]


# -- exact activate --client ---------------------------------------------------------------
def parse_division(value: str | int | None) -> int | None:
    """``--division`` as a division code: a positive whole number, else UsageError (exit 2)."""
    if value is None:
        return None
    text = str(value).strip()
    if not text.isdigit() or int(text) <= 0:
        raise UsageError(
            _("--division must be an Exact division code (a whole number), not '{value}'.").format(
                value=value
            ),
            hint=_("See the codes with `exactlink exact divisions`."),
        )
    return int(text)


def unknown_division(store: Store, portal: Portal, conn: Connection, code: int) -> NotFound:
    """Why ``code`` is not in this connection's list (the rules refused an HQ code already):
    another portal's connection holds it, or the connection cannot reach it."""
    others = []
    for connection_id in store.divisions.owners(code):
        if connection_id == conn.id:
            continue
        other = store.connections.get(connection_id)
        if other is not None and other.portal_id != portal.id:
            found = store.portals.get_by_id(other.portal_id)
            if found is not None:
                others.append(found.name)
    if others:
        # Exit 3, not 4: for this portal the division does not exist (its connection cannot
        # reach it); nothing here could be overwritten to make it work.
        return NotFound(
            _(
                "Division {code} belongs to the connection of portal '{other}', not to portal"
                " '{portal}'."
            ).format(code=code, other=others[0], portal=portal.name),
            hint=_(
                "Activate the client in that portal (--portal {other}), or grant this portal's"
                " Exact login access to the administration."
            ).format(other=shlex.quote(others[0])),
            details={"division": code, "portal": others[0]},
        )
    return NotFound(
        _("Division {code} is not among the administrations portal '{portal}' can reach.").format(
            code=code, portal=portal.name
        ),
        hint=_(
            "See `exactlink exact divisions`, and `exactlink doctor --division {code}` for why."
        ).format(code=code),
        details={"division": code},
    )
