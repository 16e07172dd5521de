"""Portals: create, list, show, choose the default, update, delete.

A portal is the accounting firm's one place at the integration: its e-mail address is the one each
client adds in *Toegangsbeheer*, its billing details let it create client accounts under the firm's
own management, and it holds the firm's one Exact Online connection.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any, NamedTuple

from exactlink.adapters.config import DEFAULT_PORTAL_KEY
from exactlink.errors import Conflict, InvalidInput, NotFound
from exactlink.i18n import _
from exactlink.models import Portal
from exactlink.services.hints import arguments
from exactlink.services.identifiers import clean_name, normalize_email, normalize_vat

if TYPE_CHECKING:
    from exactlink.adapters.config import Config
    from exactlink.adapters.store import Store


class PortalChange(NamedTuple):
    """What a mutating portal operation did. ``changed`` is False when nothing was written."""

    portal: Portal
    action: str  # created | updated | unchanged | deleted | used
    changed: bool
    fields: tuple[str, ...] = ()
    is_default: bool = False
    clients_removed: int = 0
    connections_removed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "portal": self.portal.to_dict(),
            "action": self.action,
            "changed": self.changed,
            "fields": list(self.fields),
            "is_default": self.is_default,
            "clients_removed": self.clients_removed,
            "connections_removed": self.connections_removed,
        }


class PortalOverview(NamedTuple):
    """A portal with what `portal list` tells about it; `portal show` adds the clients counted
    by status and the connection (``clients`` is None in a list)."""

    portal: Portal
    is_default: bool
    client_count: int
    clients: dict[str, int] | None = None
    connection: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = self.portal.to_dict()
        data["is_default"] = self.is_default
        data["has_billing"] = self.portal.has_billing
        data["client_count"] = self.client_count
        if self.clients is not None:
            data["clients"] = dict(self.clients, total=self.client_count)
            data["connection"] = self.connection
        return data


def default_portal_name(config: Config) -> str | None:
    """The name of the default portal from config.toml, or None."""
    return config.default_portal


def _same_name(a: str | None, b: str | None) -> bool:
    from exactlink.adapters.store.clients import nocase_key

    return a is not None and b is not None and nocase_key(a) == nocase_key(b)


def _optional_text(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = " ".join(value.split())
    return cleaned or None


def _clean_fields(
    *,
    email: str | None,
    billing_name: str | None,
    billing_email: str | None,
    vat: str | None,
    address: str | None,
) -> dict[str, str | None]:
    """Validate and normalise the fields given (None = not given; "" = clear an optional one)."""
    fields: dict[str, str | None] = {}
    if email is not None:
        fields["email"] = normalize_email(email)
    if billing_name is not None:
        fields["billing_name"] = _optional_text(billing_name)
    if billing_email is not None:
        fields["billing_email"] = normalize_email(billing_email) if billing_email.strip() else None
    if vat is not None:
        fields["vat"] = normalize_vat(vat) if vat.strip() else None
    if address is not None:
        fields["address"] = _optional_text(address)
    return fields


def _get(store: Store, name: str) -> Portal:
    portal = store.portals.get(name)
    if portal is None:
        raise NotFound(
            _("Portal '{name}' does not exist.").format(name=name),
            hint=_("See `exactlink portal list`, or create it with `exactlink portal create`."),
        )
    return portal


def create_portal(
    store: Store,
    config: Config,
    *,
    name: str,
    email: str,
    billing_name: str | None = None,
    billing_email: str | None = None,
    vat: str | None = None,
    address: str | None = None,
) -> PortalChange:
    """Create a portal; the first one becomes the default.

    Idempotent: the same data again changes nothing; other data for an existing name is a
    Conflict (use `portal update`).
    """
    name = clean_name(name, what=_("portal"))
    fields = _clean_fields(
        email=email,
        billing_name=billing_name,
        billing_email=billing_email,
        vat=vat,
        address=address,
    )
    with store.transaction():
        existing = store.portals.get(name)
        if existing is not None:
            differing = [k for k, v in fields.items() if getattr(existing, k) != v]
            if differing:
                raise Conflict(
                    _("Portal '{name}' exists already with other {fields}.").format(
                        name=existing.name, fields=", ".join(differing)
                    ),
                    hint=_("Change it with `exactlink portal update {arguments}`.").format(
                        arguments=arguments(existing.name, "...")
                    ),
                    details={"fields": differing},
                )
            return PortalChange(
                existing,
                "unchanged",
                False,
                is_default=_same_name(default_portal_name(config), existing.name),
            )
        portal = store.portals.insert(name=name, **fields)  # type: ignore[arg-type]
        store.events.record(
            "portal.create",
            portal.name,
            portal=portal.name,
            details={k: v for k, v in fields.items() if v is not None},
        )
    is_default = False
    current_default = default_portal_name(config)
    if current_default is None or store.portals.get(current_default) is None:
        config.set(DEFAULT_PORTAL_KEY, portal.name)
        config.save()
        is_default = True
    return PortalChange(portal, "created", True, tuple(fields), is_default=is_default)


def list_portals(store: Store, config: Config) -> list[PortalOverview]:
    """Every portal with its client count, the default one marked."""
    default = default_portal_name(config)
    counts = store.clients.count_by_portal()
    return [
        PortalOverview(portal, _same_name(default, portal.name), counts.get(portal.id, 0))
        for portal in store.portals.list()
    ]


def show_portal(store: Store, config: Config, portal: Portal) -> PortalOverview:
    """A portal with its clients counted by status and the state of its Exact connection."""
    counts = store.clients.count_by_status(portal.id)
    return PortalOverview(
        portal,
        _same_name(default_portal_name(config), portal.name),
        sum(counts.values()),
        counts,
        store.portals.connection_status(portal.id),
    )


def use_portal(store: Store, config: Config, name: str) -> PortalChange:
    """Make ``name`` the default portal (config.toml ``default_portal``)."""
    portal = _get(store, name)
    if _same_name(default_portal_name(config), portal.name):
        return PortalChange(portal, "unchanged", False, is_default=True)
    config.set(DEFAULT_PORTAL_KEY, portal.name)
    config.save()
    with store.transaction():
        store.events.record("portal.use", portal.name, portal=portal.name)
    return PortalChange(portal, "used", True, (DEFAULT_PORTAL_KEY,), is_default=True)


def update_portal(
    store: Store,
    config: Config,
    name: str,
    *,
    new_name: str | None = None,
    email: str | None = None,
    billing_name: str | None = None,
    billing_email: str | None = None,
    vat: str | None = None,
    address: str | None = None,
) -> PortalChange:
    """Change a portal's details; None leaves a field as it is, "" clears an optional one."""
    if email is not None and not email.strip():
        raise InvalidInput(
            _("A portal's e-mail address cannot be removed."),
            hint=_("Give the new address: `exactlink portal update NAME --email E`."),
        )
    fields: dict[str, Any] = _clean_fields(
        email=email,
        billing_name=billing_name,
        billing_email=billing_email,
        vat=vat,
        address=address,
    )
    if new_name is not None:
        fields["name"] = clean_name(new_name, what=_("portal"))
    with store.transaction():
        portal = _get(store, name)
        changes = {k: v for k, v in fields.items() if getattr(portal, k) != v}
        if not changes:
            return PortalChange(portal, "unchanged", False)
        if "name" in changes and not _same_name(changes["name"], portal.name):
            other = store.portals.get(changes["name"])
            if other is not None:
                raise Conflict(
                    _("Another portal is called '{name}' already.").format(name=other.name),
                    hint=_("Choose another name, or delete that portal first."),
                )
        updated = store.portals.update(portal.id, changes)
        store.events.record(
            "portal.update",
            updated.name,
            portal=updated.name,
            details={
                "changed": sorted(changes),
                **({"renamed_from": portal.name} if "name" in changes else {}),
            },
        )
    was_default = _same_name(default_portal_name(config), portal.name)
    if was_default and "name" in changes:
        config.set(DEFAULT_PORTAL_KEY, updated.name)
        config.save()
    return PortalChange(updated, "updated", True, tuple(sorted(changes)), is_default=was_default)


def delete_portal(store: Store, config: Config, name: str, *, force: bool = False) -> PortalChange:
    """Delete a portal. Refused while it has clients or connections, unless ``force``.

    A live Exact connection is never removed here, even with ``force``: its tokens are in the
    keyring, and `exact disconnect` is what removes them (and tells Exact nothing dangles).
    """
    with store.transaction():
        portal = _get(store, name)
        held = store.portals.dependents(portal.id)
        if held.live_connections:
            raise Conflict(
                _("Portal '{name}' still has a live Exact Online connection.").format(
                    name=portal.name
                ),
                hint=_(
                    "Run `exactlink exact disconnect --portal {name}` first (it removes the"
                    " tokens from the keyring)."
                ).format(name=shlex.quote(portal.name)),
                details={"connections": held.live_connections},
            )
        if (held.clients or held.connections) and not force:
            details = {"clients": held.clients, "connections": held.connections}
            if not held.clients:
                # Only the records of connections already disconnected (no tokens left).
                raise Conflict(
                    _(
                        "Portal '{name}' still has {count} disconnected Exact Online connection(s)."
                    ).format(name=portal.name, count=held.connections),
                    hint=_("Pass --force to delete the portal with them."),
                    details=details,
                )
            raise Conflict(
                _("Portal '{name}' still has {count} client(s).").format(
                    name=portal.name, count=held.clients
                ),
                hint=_(
                    "Remove them with `exactlink client remove`, or pass --force to delete the"
                    " portal with its clients."
                ),
                details=details,
            )
        removed_connections = store.portals.delete_connections(portal.id)
        removed_clients = store.clients.delete_all(portal.id)
        store.portals.delete(portal.id)
        store.events.record(
            "portal.delete",
            portal.name,
            portal=portal.name,
            details={
                "force": force,
                "clients_removed": removed_clients,
                "connections_removed": removed_connections,
            },
        )
    was_default = _same_name(default_portal_name(config), portal.name)
    if was_default:
        config.set(DEFAULT_PORTAL_KEY, None)
        config.save()
    return PortalChange(
        portal,
        "deleted",
        True,
        is_default=was_default,
        clients_removed=removed_clients,
        connections_removed=removed_connections,
    )
