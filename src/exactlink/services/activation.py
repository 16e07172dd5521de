"""Activate clients on the portal's one connection: the division list, matching, the probe.

The portal connects to Exact Online once, with the firm's login; each client account is then
*activated* on one administration (division) that this login and the app can reach
(DESIGN.md "Activation and matching"). The rules, each from the reference:

- the list comes from ``system/Divisions`` (all pages, §4.2), cached with its fetch time (§5.3:
  do not poll it); ``hrm/Divisions`` is single-license and never used;
- archived, inactive and blocked divisions (``Status``/``BlockingStatus``, §4.3) and HQ codes
  above 10,000,000 (§4.2, never listed) are refused with the reason, before any call;
- one probe in the division (``users/UserHasRights``, §4.5) proves the chain reaches it before
  anything is stored: an empty list would prove nothing; a failed probe is never retried (§5.3:
  more than 10 errors an hour on one endpoint in one division blocks the app there);
- a client with its own link (``exact connect --client``), or active on another division, needs
  ``--overwrite`` (the portal's *Overschrijven*); the replaced chain's secrets leave the keyring;
- the same activation again is a success that changes nothing.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from exactlink.errors import (
    REASON_APP_SCOPE,
    REASON_NOT_IN_SCOPE,
    Cancelled,
    Conflict,
    ExactlinkError,
    ExactRefused,
    ExactUnreachable,
    NotConnected,
    NotFound,
    RateLimited,
    UsageError,
)
from exactlink.i18n import _
from exactlink.models import (
    CLIENT_PENDING,
    Activation,
    Client,
    Connection,
    Division,
    Portal,
)
from exactlink.services import matching
from exactlink.services.clients import get_client, pending_hint
from exactlink.services.connect import require_connection
from exactlink.services.ports import ExactPort

if TYPE_CHECKING:
    from exactlink.adapters.secrets import SecretStore
    from exactlink.adapters.store import Store

HQ_CODE_FLOOR = 10_000_000  # reference §4.2 [R]: Premium HQ divisions, never in system/Divisions

# Per-client outcomes of `exact activate` (the --json envelope's ``outcome``).
ACTIVATED = "activated"
ALREADY_ACTIVE = "already_active"
WOULD_ACTIVATE = "would_activate"  # --dry-run: matched and allowed, nothing probed or stored
AMBIGUOUS = "ambiguous"
MISSING = "missing"
REFUSED = "refused"
FAILED_OUTCOMES = (AMBIGUOUS, MISSING, REFUSED)

# Causes (stable keys in --json) of a refused or failed activation, shared with `doctor`.
CAUSE_PENDING = "access_pending"
CAUSE_ARCHIVED = "archived"
CAUSE_INACTIVE = "inactive"
CAUSE_BLOCKED = "blocked"
CAUSE_LICENSE = "license_blocked"
CAUSE_USER = "user_blocked"
CAUSE_HQ = "hq_division"
CAUSE_NOT_GRANTED = "not_granted_to_app"
CAUSE_NO_ACCESS = "login_has_no_access"
CAUSE_NO_RIGHTS = "no_rights"
CAUSE_APP_SCOPE = "app_scope"
CAUSE_TAKEN = "division_taken"
CAUSE_OWN_LINK = "needs_overwrite"
CAUSE_RATE_LIMITED = "rate_limited"
CAUSE_UNREACHABLE = "unreachable"
CAUSE_REFUSED = "refused"


# -- the fixes, with Exact's menu paths in Dutch and English (reference §6.2, §6.3) --------------
def fix_not_granted() -> str:
    return _(
        "Grant the app this administration: Mijn Exact Online > Beveiligingscentrum > Machtigingen"
        " voor mijn apps > (the app) > Administraties beheren (My Exact Online > Security Center >"
        " Permissions for my apps > Manage administrations), move it to Geselecteerde"
        " administraties (Selected administrations) and save; then `exactlink exact divisions"
        " --refresh`."
    )


def fix_no_access() -> str:
    return _(
        "Give the firm's Exact login access to the client's company: on the user card,"
        " Administraties: Toegangsrechten (Companies: Access rights), or have the client link the"
        " firm through Accountant koppelen (Link to my accountant); then `exactlink exact"
        " divisions --refresh`."
    )


def fix_blocked() -> str:
    return _(
        "Exact has blocked this administration (backup/restore or a conversion in progress, or"
        " the license expired). Wait until it is finished, or ask the license holder to renew"
        " the subscription in Exact Online; then try again."
    )


def fix_archived() -> str:
    return _(
        "The administration is archived in Exact Online. Choose the client's current"
        " administration with --division CODE, or have it restored in Exact Online."
    )


def fix_inactive() -> str:
    return _(
        "The administration is inactive in Exact Online. Choose the client's active"
        " administration with --division CODE (see `exactlink exact divisions`)."
    )


def fix_hq() -> str:
    return _(
        "Codes above 10,000,000 are Exact Online Premium HQ (virtual) administrations: Exact never"
        " lists them and they cannot be linked. Use the client's own administration code."
    )


def fix_app_scope() -> str:
    return _(
        "The app's scopes do not cover this data: complete the app's Data & Security Review in"
        " the Exact Online App Store (or use an app registered under a developer license)."
    )


def fix_reconnect() -> str:
    return _("Connect again: `exactlink exact connect`.")


def explain_refusal(exc: ExactRefused) -> tuple[str, str]:
    """``(cause, fix)`` for a 403 from Exact, read from its ``Reason`` header or message (§3.8)."""
    reason = (exc.reason or "").split(":")[0].strip()
    if reason == REASON_NOT_IN_SCOPE:
        return CAUSE_NOT_GRANTED, fix_not_granted()
    if reason == "NoDivisionAccess":
        return CAUSE_NO_ACCESS, fix_no_access()
    if reason == "DivisionBlocked":
        return CAUSE_BLOCKED, fix_blocked()
    if reason in ("LicenseExpired", "BlockedCustomer"):
        return CAUSE_LICENSE, fix_blocked()
    if reason in ("BlockedUser", "InactiveUser"):
        return CAUSE_USER, _(
            "The firm's Exact login is blocked or no longer active: ask the firm's Exact"
            " administrator to reactivate it, or connect with another login."
        )
    if reason == REASON_APP_SCOPE:
        return CAUSE_APP_SCOPE, fix_app_scope()
    return CAUSE_REFUSED, exc.hint or _("Run `exactlink doctor` for the cause.")


def division_refusal(division: Division | None, code: int) -> tuple[str, str, str] | None:
    """``(cause, message, fix)`` when a division may not be activated by what is known locally."""
    if code >= HQ_CODE_FLOOR:
        return (
            CAUSE_HQ,
            _("Division {code} is an HQ administration (code above 10,000,000).").format(code=code),
            fix_hq(),
        )
    if division is None:
        return None
    if division.status == 2:
        return (
            CAUSE_ARCHIVED,
            _("Administration {code} ({name}) is archived.").format(
                code=code, name=division.description
            ),
            fix_archived(),
        )
    if division.status == 0:
        return (
            CAUSE_INACTIVE,
            _("Administration {code} ({name}) is inactive.").format(
                code=code, name=division.description
            ),
            fix_inactive(),
        )
    if division.blocking_status != 0:
        return (
            CAUSE_BLOCKED,
            _("Administration {code} ({name}) is blocked by Exact (BlockingStatus {n}).").format(
                code=code, name=division.description, n=division.blocking_status
            ),
            fix_blocked(),
        )
    return None


# -- results ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DivisionRow:
    """One line of `exact divisions`: the division and the client it is activated for."""

    division: Division
    client: str | None

    def to_dict(self) -> dict[str, Any]:
        d = self.division
        return {
            "code": d.code,
            "name": d.description,
            "customer_name": d.customer_name,
            "vat": d.vat_number,
            "coc": d.coc_number,
            "status": d.status_name,
            "blocking_status": d.blocking_status,
            "is_main": d.is_main,
            "country": d.country,
            "activated_for": self.client,
        }


@dataclass(frozen=True)
class DivisionList:
    """The cached list of one connection, with its fetch time."""

    connection_id: int
    fetched_at: str | None
    refreshed: bool
    rows: list[DivisionRow]

    def to_dict(self) -> dict[str, Any]:
        return {
            "connection_id": self.connection_id,
            "fetched_at": self.fetched_at,
            "refreshed": self.refreshed,
            "divisions": [row.to_dict() for row in self.rows],
        }


@dataclass
class Outcome:
    """What happened to one client."""

    client: str
    outcome: str
    division: int | None = None
    division_name: str | None = None
    matched_by: str | None = None
    score: float | None = None
    cause: str | None = None
    message: str | None = None
    fix: str | None = None
    candidates: list[matching.Candidate] = field(default_factory=list)
    replaced: dict[str, Any] | None = None
    changed: bool = False

    @property
    def failed(self) -> bool:
        return self.outcome in FAILED_OUTCOMES

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "client": self.client,
            "outcome": self.outcome,
            "changed": self.changed,
            "division": self.division,
            "division_name": self.division_name,
            "matched_by": self.matched_by,
            "score": self.score,
        }
        if self.cause:
            data["cause"] = self.cause
        if self.message:
            data["message"] = self.message
        if self.fix:
            data["fix"] = self.fix
        if self.candidates:
            data["candidates"] = [c.to_dict() for c in self.candidates]
        if self.replaced:
            data["replaced"] = self.replaced
        return data


@dataclass
class BulkResult:
    """`exact activate --all`: one outcome per client, and how many of each."""

    outcomes: list[Outcome]
    dry_run: bool
    division_count: int
    probes: int
    aborted: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.outcomes:
            counts[item.outcome] = counts.get(item.outcome, 0) + 1
        return counts

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.failed]

    @property
    def status(self) -> str:
        """``success`` when no client failed, ``error`` when none succeeded, else ``partial``."""
        failed = len(self.failed)
        if not failed and not self.aborted:
            return "success"
        return "error" if failed == len(self.outcomes) else "partial"

    @property
    def exit_code(self) -> int:
        """0 on success, else the exit code of the gravest kind of failure: unreachable or
        stopped early (8), rate limited (7), refused (6), no unique match (3)."""
        if self.status == "success":
            return 0
        causes = {o.cause for o in self.failed}
        if self.aborted or CAUSE_UNREACHABLE in causes:
            return ExactUnreachable.exit_code
        if CAUSE_RATE_LIMITED in causes:
            return RateLimited.exit_code
        if any(o.outcome == REFUSED for o in self.failed):
            return ExactRefused.exit_code
        return NotFound.exit_code

    def errors(self) -> list[dict[str, Any]]:
        """The result envelope's ``errors``: one per failed client."""
        return [
            {
                "code": o.cause or o.outcome,
                "client": o.client,
                "message": o.message or o.outcome,
                **({"hint": o.fix} if o.fix else {}),
            }
            for o in self.failed
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "counts": self.counts,
            "divisions": self.division_count,
            "probes": self.probes,
            "aborted": self.aborted,
            "clients": [o.to_dict() for o in self.outcomes],
        }


PortFactory = Callable[[], ExactPort]
Chooser = Callable[[Client, Sequence[matching.Candidate], Sequence[Division]], int | None]
Progress = Callable[[int, int, str], None]


# -- helpers ---------------------------------------------------------------------------------
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
        )
    return sorted(divisions, key=lambda d: d.code)


def _client_names(store: Store, portal: Portal) -> dict[int, str]:
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
    names = _client_names(store, portal)
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


def _unknown_division(store: Store, portal: Portal, conn: Connection, code: int) -> ExactlinkError:
    """Why ``code`` is not in this connection's list: HQ, another portal's, or unknown."""
    refusal = division_refusal(None, code)
    if refusal:
        cause, message, fix = refusal
        return ExactRefused(message, hint=fix, details={"cause": cause, "division": code})
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


def _needs_choice(client: Client, match: matching.Match) -> NotFound:
    shown = ", ".join(f"{c.division} {c.name} ({c.score:g})" for c in match.candidates[:5])
    if match.outcome == matching.AMBIGUOUS:
        message = _("No unique administration for '{client}'; candidates: {list}.").format(
            client=client.name, list=shown
        )
    elif shown:
        message = _("No administration matches '{client}' well enough; closest: {list}.").format(
            client=client.name, list=shown
        )
    else:
        message = _("No administration matches '{client}'.").format(client=client.name)
    return NotFound(
        message,
        hint=_(
            "Pass --division CODE, or find out why it is missing: `exactlink doctor --client {name}`."
        ).format(name=shlex.quote(client.name)),
        details={
            "outcome": match.outcome,
            "candidates": [c.to_dict() for c in match.candidates],
        },
    )


def _probe(port: ExactPort, division: int) -> None:
    """One call inside the division; a refusal or a False answer explains itself."""
    try:
        ok = port.probe(division)
    except ExactRefused as exc:
        cause, fix = explain_refusal(exc)
        raise ExactRefused(
            _("Exact refused access to administration {code}: {error}").format(
                code=division, error=exc.message
            ),
            hint=fix,
            status=exc.status,
            reason=exc.reason,
            details={"cause": cause, "division": division},
        ) from None
    if not ok:
        raise ExactRefused(
            _(
                "The firm's Exact login has no rights to read accounts in administration {code}."
            ).format(code=division),
            hint=_(
                "Give the login a role with rights on the client's administration (Toegangsrechten"
                " / Access rights), then try again."
            ),
            details={"cause": CAUSE_NO_RIGHTS, "division": division},
        )


def _retire_own_link(store: Store, secrets: SecretStore, own: Connection) -> dict[str, Any]:
    """Inside the caller's transaction: the client's own chain leaves the store and the keyring."""
    store.connections.retire(own.id)
    for key in own.token_keys:
        secrets.delete(key)
    return {
        "kind": "own_link",
        "connection_id": own.id,
        "exact_user": own.exact_username,
        "status": own.status,
    }


def activate_client(
    store: Store,
    secrets: SecretStore | None,
    portal: Portal,
    name: str,
    port_factory: PortFactory,
    *,
    division: int | None = None,
    overwrite: bool = False,
    dry_run: bool = False,
    choose: Chooser | None = None,
) -> Outcome:
    """Link one client to its administration on the portal's connection.

    Raises NotFound (3: client, division, no unique match without ``choose``), Conflict (4: needs
    ``--overwrite``, or the division is another client's), ExactRefused (6: pending client,
    archived/blocked/HQ, or the probe refused), and the connection's own errors.
    """
    client = get_client(store, portal, name)
    if client.status == CLIENT_PENDING:
        raise ExactRefused(
            _("Client '{name}' has not granted the firm access yet (pending).").format(
                name=client.name
            ),
            hint=pending_hint(portal, client),
            details={"cause": CAUSE_PENDING},
        )
    conn = portal_connection(store, portal)
    port: ExactPort | None = None

    def get_port() -> ExactPort:
        nonlocal port
        if port is None:
            port = port_factory()
        return port

    divisions = store.divisions.list(conn.id)
    fetched = False
    if not divisions:
        divisions, fetched = fetch_divisions(store, portal, conn, get_port()), True
    by_code = {d.code: d for d in divisions}
    matched_by, score = matching.BY_MANUAL, None
    if division is not None:
        if division not in by_code and division < HQ_CODE_FLOOR and not fetched:
            # The cache may predate a grant made since: one list fetch, never a probe.
            divisions, fetched = fetch_divisions(store, portal, conn, get_port()), True
            by_code = {d.code: d for d in divisions}
        if division not in by_code:
            raise _unknown_division(store, portal, conn, division)
    else:
        match = matching.match_client(client, divisions)
        if match.outcome == matching.MATCHED and match.division is not None:
            division, matched_by, score = match.division, match.by or matching.BY_NAME, match.score
        elif choose is not None:
            picked = choose(client, match.candidates, divisions)
            if picked is None:
                raise Cancelled(_("No administration chosen."))
            if picked not in by_code:
                raise _unknown_division(store, portal, conn, picked)
            division = picked
        else:
            raise _needs_choice(client, match)
    target = by_code[division]
    refusal = division_refusal(target, division)
    if refusal:
        cause, message, fix = refusal
        raise ExactRefused(message, hint=fix, details={"cause": cause, "division": division})
    holder = store.activations.holder(conn.id, division)
    if holder is not None and holder.client_id != client.id:
        other = store.clients.get_by_id(holder.client_id)
        other_name = other.name if other else str(holder.client_id)
        raise Conflict(
            _("Administration {code} is already activated for client '{other}'.").format(
                code=division, other=other_name
            ),
            hint=_(
                "Deactivate that client first: `exactlink exact deactivate --client {other}`."
            ).format(other=shlex.quote(other_name)),
            details={"cause": CAUSE_TAKEN, "division": division, "client": other_name},
        )
    current = store.activations.get(client.id)
    own = store.connections.find(client.portal_id, client.id)
    same = current is not None and current.division == division and current.connection_id == conn.id
    replacing: list[str] = []
    if own is not None:
        replacing.append(
            _("its own link (Exact login {login})").format(login=own.exact_username or "?")
        )
    if current is not None and not same:
        replacing.append(_("its activation on administration {code}").format(code=current.division))
    outcome = Outcome(
        client=client.name,
        outcome=ALREADY_ACTIVE if same and own is None else ACTIVATED,
        division=division,
        division_name=target.description,
        matched_by=current.matched_by if same and current else matched_by,
        score=score,
    )
    if outcome.outcome == ALREADY_ACTIVE:
        return outcome
    if replacing and not overwrite:
        raise Conflict(
            _("Client '{name}' already has {what}.").format(
                name=client.name, what=_(" and ").join(replacing)
            ),
            hint=_(
                "Switch it to the portal's connection with --overwrite (Overschrijven); the"
                " replaced link's tokens are removed."
            ),
            details={"cause": CAUSE_OWN_LINK, "division": division},
        )
    if dry_run:
        outcome.outcome = WOULD_ACTIVATE
        return outcome
    _probe(get_port(), division)
    replaced: dict[str, Any] = {}
    with store.transaction():
        if current is not None and not same:
            replaced["activation"] = {
                "division": current.division,
                "connection_id": current.connection_id,
            }
            store.events.record(
                "exact.deactivate",
                str(current.division),
                portal=portal.name,
                client=client.name,
                details={"division": current.division, "replaced_by": division},
            )
        store.activations.put(
            client.id,
            connection_id=conn.id,
            division=division,
            division_name=target.description,
            matched_by=matched_by,
        )
        if own is not None:
            if secrets is None:
                raise ExactlinkError("a secret store is needed to remove the replaced link")
            replaced["own_link"] = _retire_own_link(store, secrets, own)
            store.events.record(
                "exact.link.replaced",
                str(own.id),
                portal=portal.name,
                client=client.name,
                details={
                    "connection_id": own.id,
                    "exact_user": own.exact_username,
                    "replaced_by_division": division,
                },
            )
        store.events.record(
            "exact.activate",
            str(division),
            portal=portal.name,
            client=client.name,
            details={
                "division": division,
                "division_name": target.description,
                "matched_by": matched_by,
                "score": score,
                "overwrite": bool(replacing),
            },
        )
    outcome.changed = True
    outcome.replaced = replaced or None
    return outcome


# -- exact deactivate ------------------------------------------------------------------------
def deactivate_client(store: Store, portal: Portal, name: str) -> Outcome:
    """Remove the client's activation; a client that is not active is a success, unchanged."""
    client = get_client(store, portal, name)
    with store.transaction():
        current = store.activations.get(client.id)
        if current is None:
            return Outcome(client=client.name, outcome="not_active")
        store.activations.delete(client.id)
        store.events.record(
            "exact.deactivate",
            str(current.division),
            portal=portal.name,
            client=client.name,
            details={"division": current.division, "connection_id": current.connection_id},
        )
    return Outcome(
        client=client.name,
        outcome="deactivated",
        division=current.division,
        division_name=current.division_name,
        changed=True,
    )


# -- exact activate --all --------------------------------------------------------------------
def _outcome(
    client: Client,
    outcome: str,
    target: Division | None = None,
    match: matching.Match | None = None,
    **fields: Any,
) -> Outcome:
    """One client's outcome: the division it concerns and how it was matched, when given."""
    if target is not None:
        fields.setdefault("division", target.code)
        fields.setdefault("division_name", target.description)
    if match is not None:
        fields.setdefault("matched_by", match.by)
        fields.setdefault("score", match.score)
    return Outcome(client=client.name, outcome=outcome, **fields)


def activate_all(
    store: Store,
    portal: Portal,
    port_factory: PortFactory,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> BulkResult:
    """Activate every granted client that is not active yet, matched automatically.

    The division list is fetched once (its pages are the only list calls), matching is
    O(clients + divisions), each matched client costs one probe, and everything lands in one
    transaction at the end. Nothing is overwritten: a client with its own link is reported with
    the command that switches it. A dead chain or an unreachable Exact stops the run; what was
    proven before that is still stored.
    """
    conn = portal_connection(store, portal)
    port = port_factory()
    divisions = fetch_divisions(store, portal, conn, port)
    by_code = {d.code: d for d in divisions}
    clients = store.clients.list(portal.id)
    outcomes: dict[int, Outcome] = {}
    todo: list[Client] = []
    active = {a.client_id: a for a in store.activations.by_connection(conn.id)}
    owners = {a.division: a.client_id for a in active.values()}
    own_links = {c.client_id for c in store.connections.list(portal.id) if c.client_id is not None}
    for client in clients:
        current = active.get(client.id) if client.division is not None else None
        if current is not None:
            outcomes[client.id] = _outcome(
                client,
                ALREADY_ACTIVE,
                division=current.division,
                division_name=current.division_name,
                matched_by=current.matched_by,
            )
            continue
        if client.status == CLIENT_PENDING:
            outcomes[client.id] = _outcome(
                client,
                REFUSED,
                cause=CAUSE_PENDING,
                message=_("The client has not granted the firm access yet."),
                fix=pending_hint(portal, client),
            )
            continue
        todo.append(client)
    matches = matching.match_clients(todo, divisions)
    plan: list[tuple[Client, Division, matching.Match]] = []
    for client in todo:
        match = matches[client.id]
        if match.outcome != matching.MATCHED or match.division is None:
            outcomes[client.id] = _outcome(
                client,
                match.outcome,
                cause=match.outcome,
                message=match.note,
                fix=_("Pass --division CODE, or run `exactlink doctor --client {name}`.").format(
                    name=shlex.quote(client.name)
                ),
                candidates=list(match.candidates),
            )
            continue
        target = by_code[match.division]
        refusal = division_refusal(target, target.code)
        if refusal:
            cause, message, fix = refusal
            outcomes[client.id] = _outcome(
                client, REFUSED, target, cause=cause, message=message, fix=fix
            )
            continue
        holder = owners.get(target.code)
        if holder is not None and holder != client.id:
            outcomes[client.id] = _outcome(
                client,
                REFUSED,
                target,
                cause=CAUSE_TAKEN,
                message=_("The administration is already activated for another client."),
                fix=_("Deactivate that client first, or pass --division CODE."),
            )
            continue
        if client.id in own_links or client.division is not None:
            outcomes[client.id] = _outcome(
                client,
                REFUSED,
                target,
                cause=CAUSE_OWN_LINK,
                message=_("The client already has its own link or another activation."),
                fix=_(
                    "Switch it explicitly: `exactlink exact activate --client {name} --overwrite`."
                ).format(name=shlex.quote(client.name)),
            )
            continue
        plan.append((client, target, match))

    proven: list[tuple[Client, Division, matching.Match]] = []
    aborted: str | None = None
    probes = 0
    for i, (client, target, match) in enumerate(plan, start=1):
        if progress is not None:
            progress(i, len(plan), client.name)
        if aborted is not None:
            outcomes[client.id] = _outcome(
                client, REFUSED, target, match, cause=CAUSE_UNREACHABLE, message=aborted
            )
            continue
        if dry_run:
            outcomes[client.id] = _outcome(client, WOULD_ACTIVATE, target, match)
            continue
        try:
            probes += 1
            _probe(port, target.code)
        except (ExactRefused, RateLimited, NotConnected, ExactUnreachable) as exc:
            if isinstance(exc, ExactRefused):
                cause = str(exc.details.get("cause", CAUSE_REFUSED))
            elif isinstance(exc, RateLimited):
                cause = CAUSE_RATE_LIMITED
            else:  # the chain or Exact is gone: every later probe would fail the same way
                cause, aborted = CAUSE_UNREACHABLE, exc.message
            outcomes[client.id] = _outcome(
                client, REFUSED, target, match, cause=cause, message=exc.message, fix=exc.hint
            )
            continue
        outcomes[client.id] = _outcome(client, ACTIVATED, target, match, changed=True)
        proven.append((client, target, match))

    if proven:
        from exactlink.adapters.store.db import utc_now

        now = utc_now()
        with store.transaction():
            store.activations.put_many(
                Activation(c.id, conn.id, d.code, d.description, m.by or matching.BY_NAME, now)
                for c, d, m in proven
            )
            for c, d, m in proven:
                store.events.record(
                    "exact.activate",
                    str(d.code),
                    portal=portal.name,
                    client=c.name,
                    details={
                        "division": d.code,
                        "division_name": d.description,
                        "matched_by": m.by,
                        "score": m.score,
                        "bulk": True,
                    },
                )
    return BulkResult(
        outcomes=[outcomes[c.id] for c in clients],
        dry_run=dry_run,
        division_count=len(divisions),
        probes=probes,
        aborted=aborted,
    )
