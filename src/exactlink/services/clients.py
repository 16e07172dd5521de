"""Client accounts of a portal: add, list, show, update, remove, record the access grant.

A client is *pending* until it has given the firm access: the portal's e-mail address added in
*Toegangsbeheer* (access management), the portal's own access step (not a screen of Exact), and
in Exact Online the firm linked as its accountant (*Koppel mijn accountant*); *granted* once the
firm recorded that (``client access``), and *active* once linked to an administration
(``exact activate``). One company, one client: a VAT or KvK/KBO number another client of the
portal has is refused.

Adding is idempotent: the same data again is a success that writes nothing; other data for an
existing name is a Conflict unless ``update``. Fields not given (None) are left out of the
comparison, so re-running an onboarding script with fewer options never conflicts.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from exactlink.errors import Conflict, ExactlinkError, NotFound, UsageError
from exactlink.i18n import _
from exactlink.models import CLIENT_ACTIVE, CLIENT_GRANTED, CLIENT_PENDING, Client, Portal
from exactlink.services.hints import arguments
from exactlink.services.identifiers import (
    clean_name,
    normalize_coc,
    normalize_email,
    normalize_vat,
)

if TYPE_CHECKING:
    from exactlink.adapters.store import Store

STATUSES = (CLIENT_PENDING, CLIENT_GRANTED, CLIENT_ACTIVE)
# What `client import` reads (services/importing.py); here, so that the CLI builds its --format
# choices without importing the importer (csv, json) on every client command.
IMPORT_FORMATS = ("csv", "json", "xlsx")
EXPORT_FORMATS = ("csv", "json")


class ClientChange(NamedTuple):
    """What a mutating client operation did. ``changed`` is False when nothing was written."""

    client: Client
    action: str  # added | updated | unchanged | removed | granted | revoked
    changed: bool
    fields: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "client": self.client.to_dict(),
            "action": self.action,
            "changed": self.changed,
            "fields": list(self.fields),
        }


def client_label() -> str:
    return _("client")


def validate_fields(raw: Mapping[str, Any], *, blank_clears: bool) -> dict[str, Any]:
    """Validate and normalise the given client fields (email, vat, coc, managed,
    access_granted; ``access_granted`` maps to the column ``access_granted_at``).

    Returns only the fields given: a value None there means "clear it". A blank string is "not
    given" for adding and importing (``blank_clears=False``: an empty CSV cell), and "clear it"
    for ``client update`` (``--vat ""``).
    """
    fields: dict[str, Any] = {}
    for key in ("email", "vat", "coc"):
        value = raw.get(key)
        if value is None:
            continue
        text = str(value).strip()
        if not text:
            if blank_clears:
                fields[key] = None
            continue
        if key == "email":
            fields[key] = normalize_email(text)
        elif key == "vat":
            fields[key] = normalize_vat(text)
        else:
            # A Belgian VAT number's body is the enterprise number: it settles the country.
            vat = fields.get("vat") or ""
            fields[key] = normalize_coc(text, vat[:2] if vat[:2] in ("BE", "NL") else None)
    for key in ("managed", "access_granted"):
        value = raw.get(key)
        if value is not None:
            fields[key] = bool(value)
    return fields


def current_value(client: Client, key: str) -> Any:
    """The stored value of a validated field (``access_granted`` as a bool)."""
    if key == "access_granted":
        return client.access_granted_at is not None
    return getattr(client, key)


def diff(client: Client, fields: Mapping[str, Any]) -> list[str]:
    """The given fields whose value differs from the stored client's."""
    return [key for key, value in fields.items() if current_value(client, key) != value]


def columns(fields: Mapping[str, Any], now: str) -> dict[str, Any]:
    """Fields → the ``clients`` columns to write (``access_granted`` becomes a timestamp)."""
    out = {k: v for k, v in fields.items() if k != "access_granted"}
    if "access_granted" in fields:
        out["access_granted_at"] = now if fields["access_granted"] else None
    return out


class Plan(NamedTuple):
    """What adding (or importing) a client would do: ``action`` is added, unchanged or updated;
    ``changes`` the fields to write (all given ones for added)."""

    action: str
    changes: Mapping[str, Any]


def plan_change(
    portal: Portal,
    existing: Client | None,
    fields: Mapping[str, Any],
    *,
    update: bool,
    conflict: Callable[[Client, list[str]], ExactlinkError],
) -> Plan:
    """The rules of adding a client, shared by `client add` and `client import`: a new one is
    added; the same data again is unchanged; other data is ``conflict(existing, differing)``
    unless ``update``. A client that becomes managed needs the portal's billing details."""
    if existing is None:
        if fields.get("managed"):
            require_billing(portal)
        return Plan("added", fields)
    differing = diff(existing, fields)
    if not differing:
        return Plan("unchanged", {})
    if not update:
        raise conflict(existing, differing)
    changes = {k: fields[k] for k in differing}
    if changes.get("managed"):
        require_billing(portal)
    return Plan("updated", changes)


def require_billing(portal: Portal) -> None:
    """``--managed`` needs the portal's billing details: the firm is invoiced for the account."""
    if not portal.has_billing:
        raise UsageError(
            _(
                "Portal '{portal}' has no billing details, which a client account under the"
                " firm's own management (--managed) needs."
            ).format(portal=portal.name),
            hint=_("Add them: `exactlink portal update {arguments}`.").format(
                arguments=arguments(
                    portal.name, "--billing-name NAME --billing-email E --address ADDRESS"
                )
            ),
        )


def pending_hint(portal: Portal, client: Client) -> str:
    """What to ask a pending client, and the command that records its answer."""
    return _(
        "Ask the client to give the firm access: in the portal's Toegangsbeheer (access"
        " management) add {email}, and in Exact Online link the firm as its accountant (Koppel"
        " mijn accountant / Link my accountant). Then record it: `exactlink client access"
        " {arguments}`."
    ).format(email=portal.email, arguments=arguments(client.name, "--granted"))


def _numbers(vat: str | None, coc: str | None) -> dict[str, str]:
    """A client's company numbers as comparable keys (a Belgian VAT number is ``BE`` + KBO)."""
    keys = {}
    if vat:
        keys[f"vat:{vat}"] = vat
        if vat.startswith("BE") and vat[2:].isdigit():
            keys[f"coc:{vat[2:]}"] = vat
    if coc:
        keys[f"coc:{coc}"] = coc
    return keys


def refuse_taken_numbers(
    store: Store, portal: Portal, client_id: int | None, vat: str | None, coc: str | None
) -> None:
    """Inside the transaction: a VAT or KvK/KBO number another client of the portal has is a
    Conflict (exit 4): one company is one client, or matching could never tell them apart."""
    wanted = _numbers(vat, coc)
    if not wanted:
        return
    for other in store.clients.list(portal.id):
        shared = wanted.keys() & _numbers(other.vat, other.coc).keys()
        if other.id == client_id or not shared:
            continue
        number = wanted[min(shared)]
        raise Conflict(
            _("Client '{other}' of this portal already has the number {number}.").format(
                other=other.name, number=number
            ),
            hint=_(
                "One company is one client: check the number, or change or remove '{other}'"
                " first (`exactlink client update` / `exactlink client remove`)."
            ).format(other=other.name),
            details={"client": other.name, "number": number},
        )


def now() -> str:
    """The store's timestamp form, for ``access_granted_at``."""
    from exactlink.adapters.store.db import utc_now

    return utc_now()


def check_portal(store: Store, portal: Portal) -> None:
    """Inside the transaction: the portal may have been deleted since the command resolved it."""
    if store.portals.get_by_id(portal.id) is None:
        raise NotFound(
            _("Portal '{name}' does not exist.").format(name=portal.name),
            hint=_("See `exactlink portal list`."),
        )


def _get(store: Store, portal: Portal, name: str) -> Client:
    client = store.clients.get(portal.id, " ".join(name.split()))
    if client is None:
        raise NotFound(
            _("Client '{name}' does not exist in portal '{portal}'.").format(
                name=name, portal=portal.name
            ),
            hint=_("See `exactlink client list`, or add it with `exactlink client add`."),
        )
    return client


def audit_details(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The given fields worth an audit line (never a secret: clients hold none)."""
    return {k: v for k, v in fields.items() if v is not None}


def add_client(
    store: Store,
    portal: Portal,
    name: str,
    *,
    email: str | None = None,
    vat: str | None = None,
    coc: str | None = None,
    managed: bool | None = None,
    access_granted: bool | None = None,
    update: bool = False,
) -> ClientChange:
    """Add a client to ``portal`` (pending unless ``access_granted``).

    The same data again: unchanged. Other data: Conflict, or an update with ``update``.
    """
    name = clean_name(name, what=client_label())
    fields = validate_fields(
        {
            "email": email,
            "vat": vat,
            "coc": coc,
            "managed": managed,
            "access_granted": access_granted,
        },
        blank_clears=False,
    )

    def conflict(existing: Client, differing: list[str]) -> ExactlinkError:
        return Conflict(
            _("Client '{name}' exists already with other {fields}.").format(
                name=existing.name, fields=", ".join(differing)
            ),
            hint=_(
                "Pass --update to change it, or use `exactlink client update {arguments}`."
            ).format(arguments=arguments(existing.name, "...")),
            details={
                "fields": differing,
                "stored": {k: current_value(existing, k) for k in differing},
                "given": {k: fields[k] for k in differing},
            },
        )

    with store.transaction():
        check_portal(store, portal)
        existing = store.clients.get(portal.id, name)
        plan = plan_change(portal, existing, fields, update=update, conflict=conflict)
        if plan.action != "unchanged":
            refuse_taken_numbers(
                store,
                portal,
                existing.id if existing else None,
                fields.get("vat"),
                fields.get("coc"),
            )
        if existing is None:
            row = columns(fields, now())
            client = store.clients.insert(portal.id, name=name, **row)
            store.events.record(
                "client.add",
                client.name,
                portal=portal.name,
                client=client.name,
                details=audit_details(fields),
            )
            return ClientChange(client, "added", True, tuple(fields))
        if plan.action == "unchanged":
            return ClientChange(existing, "unchanged", False)
        return _apply(store, portal, existing, plan.changes)


def _apply(
    store: Store, portal: Portal, client: Client, changes: Mapping[str, Any]
) -> ClientChange:
    """Write ``changes`` (validated fields that differ) with their audit event."""
    if changes.get("managed"):
        require_billing(portal)
    store.clients.update(client.id, columns(changes, now()))
    updated = store.clients.get_by_id(client.id)
    if updated is None:  # pragma: no cover - removed inside our own transaction
        raise NotFound(_("Client '{name}' disappeared.").format(name=client.name))
    store.events.record(
        "client.update",
        updated.name,
        portal=portal.name,
        client=updated.name,
        details={
            "changed": sorted(changes),
            **({"renamed_from": client.name} if "name" in changes else {}),
        },
    )
    return ClientChange(updated, "updated", True, tuple(sorted(changes)))


def list_clients(store: Store, portal: Portal, *, status: str | None = None) -> list[Client]:
    """The portal's clients by name, optionally only those with ``status``."""
    _check_status(status)
    return store.clients.list(portal.id, status=status)


def iter_clients(store: Store, portal: Portal, *, status: str | None = None) -> Iterator[Client]:
    """``list_clients`` one at a time, as the store reads them (bounded memory for a table)."""
    _check_status(status)
    return store.clients.iterate(portal.id, status=status)


def _check_status(status: str | None) -> None:
    if status is not None and status not in STATUSES:
        raise UsageError(
            _("Unknown status '{status}'.").format(status=status),
            hint=_("Use one of: {choices}.").format(choices=", ".join(STATUSES)),
        )


def get_client(store: Store, portal: Portal, name: str) -> Client:
    """One client of the portal, or NotFound."""
    return _get(store, portal, name)


def update_client(
    store: Store,
    portal: Portal,
    name: str,
    *,
    new_name: str | None = None,
    email: str | None = None,
    vat: str | None = None,
    coc: str | None = None,
    managed: bool | None = None,
) -> ClientChange:
    """Change a client's details: None leaves a field, "" clears an optional one."""
    fields = validate_fields(
        {"email": email, "vat": vat, "coc": coc, "managed": managed}, blank_clears=True
    )
    renamed = clean_name(new_name, what=client_label()) if new_name is not None else None
    with store.transaction():
        client = _get(store, portal, name)
        changes: dict[str, Any] = {k: fields[k] for k in diff(client, fields)}
        if renamed is not None and renamed != client.name:
            other = store.clients.get(portal.id, renamed)
            if other is not None and other.id != client.id:
                raise Conflict(
                    _("Another client is called '{name}' already.").format(name=other.name),
                    hint=_("Choose another name, or remove that client first."),
                )
            changes["name"] = renamed
        if not changes:
            return ClientChange(client, "unchanged", False)
        refuse_taken_numbers(store, portal, client.id, changes.get("vat"), changes.get("coc"))
        return _apply(store, portal, client, changes)


def set_access(store: Store, portal: Portal, name: str, *, granted: bool) -> ClientChange:
    """Record that the client granted (or withdrew) the firm's access in Toegangsbeheer."""
    with store.transaction():
        client = _get(store, portal, name)
        if (client.access_granted_at is not None) == granted:
            return ClientChange(client, "unchanged", False)
        if not granted and client.status == CLIENT_ACTIVE:
            raise Conflict(
                _("Client '{name}' is active; its link needs the access it would lose.").format(
                    name=client.name
                ),
                hint=_("Deactivate it first: `exactlink exact deactivate --client {name}`.").format(
                    name=shlex.quote(client.name)
                ),
            )
        store.clients.update(client.id, columns({"access_granted": granted}, now()))
        updated = store.clients.get_by_id(client.id) or client
        action = "granted" if granted else "revoked"
        store.events.record(
            f"client.access.{action}", updated.name, portal=portal.name, client=updated.name
        )
    return ClientChange(updated, action, True, ("access_granted",))


def remove_client(store: Store, portal: Portal, name: str, *, force: bool = False) -> ClientChange:
    """Remove a client. An active one (linked to an administration) needs ``force``; one with a
    live link of its own login is refused (its tokens must leave the keyring first)."""
    with store.transaction():
        client = _get(store, portal, name)
        if store.clients.connection_count(client.id, live_only=True):
            raise Conflict(
                _("Client '{name}' has its own live Exact Online connection.").format(
                    name=client.name
                ),
                hint=_("Run `exactlink exact disconnect --client {name}` first.").format(
                    name=shlex.quote(client.name)
                ),
            )
        if client.status == CLIENT_ACTIVE and not force:
            raise Conflict(
                _("Client '{name}' is active (linked to administration {division}).").format(
                    name=client.name, division=client.division
                ),
                hint=_(
                    "Deactivate it first with `exactlink exact deactivate --client {name}`, or"
                    " pass --force."
                ).format(name=shlex.quote(client.name)),
            )
        store.clients.delete(client.id)
        store.events.record(
            "client.remove",
            client.name,
            portal=portal.name,
            client=client.name,
            details={"status": client.status, **({"force": True} if force else {})},
        )
    return ClientChange(client, "removed", True)
