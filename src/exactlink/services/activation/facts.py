"""Read from the store what the rules look at: the one place activation gathers its facts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from exactlink.models import Activation, Client, Connection, Division, Portal
from exactlink.services.activation.divisions import client_names
from exactlink.services.activation.rules import Case, Holder

if TYPE_CHECKING:
    from exactlink.adapters.store import Store


@dataclass(frozen=True)
class Facts:
    """The portal's activations, own links and division list; a `Case` for any of its clients."""

    base: Case
    activations: dict[int, Activation]  # by client id, on whichever connection
    own_links: dict[int, Connection]  # by client id

    def case(self, client: Client, **asked: Any) -> Case:
        """The client's case; ``asked``: division, match, overwrite, keep_active."""
        return replace(
            self.base,
            client=client,
            current=self.activations.get(client.id),
            own_link=self.own_links.get(client.id),
            **asked,
        )


def by_code(divisions: Iterable[Division]) -> dict[int, Division]:
    return {d.code: d for d in divisions}


def practice_divisions(
    portal: Portal, conn: Connection, divisions: Iterable[Division]
) -> frozenset[int]:
    """The firm's own administration: where the firm's login starts (``Me.CurrentDivision`` at
    connect; Exact opens an accountant's login in its practice) and any division carrying the
    portal's own VAT number."""
    from exactlink.services.matching import vat_key

    own = {conn.current_division} if conn.current_division is not None else set()
    firm_vat = vat_key(portal.vat)
    if firm_vat:
        own |= {d.code for d in divisions if vat_key(d.vat_number, d.country) == firm_vat}
    return frozenset(own)


def read_facts(
    store: Store, portal: Portal, conn: Connection, divisions: Iterable[Division]
) -> Facts:
    """Three reads: the portal's activations, its clients' names, its connections."""
    names = client_names(store, portal)
    activations = {a.client_id: a for a in store.activations.for_portal(portal.id)}
    holders = {
        a.division: Holder(a.client_id, names.get(a.client_id, str(a.client_id)))
        for a in activations.values()
        if a.connection_id == conn.id
    }
    own_links = {
        c.client_id: c for c in store.connections.list(portal.id) if c.client_id is not None
    }
    listed = by_code(divisions)
    base = Case(
        portal=portal,
        connection_id=conn.id,
        divisions=listed,
        holders=holders,
        practice=practice_divisions(portal, conn, listed.values()),
    )
    return Facts(base, activations, own_links)
