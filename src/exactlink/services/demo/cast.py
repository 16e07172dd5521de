"""Who plays which part in the demo, and the client file it imports.

The parts are chosen by the sandbox's demo world (``exactlink_sandbox.demo_world.cast``), which the
``demo`` command hands over as plain data; this module only gives that data its types.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Company:
    name: str
    email: str
    vat: str
    coc: str
    division: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Company:
        return cls(data["name"], data["email"], data["vat"], data["coc"], int(data["division"]))


@dataclass(frozen=True)
class Login:
    username: str
    password: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Login:
        return cls(data["username"], data["password"])


@dataclass(frozen=True)
class Cast:
    """Who plays which part (deterministic for a client count)."""

    firm_name: str
    firm_email: str
    firm_vat: str
    firm_login: Login
    clients: tuple[Company, ...]
    own_link: Company  # linked earlier with its own Exact login: the Overschrijven case
    own_login: Login
    not_granted: Company  # its administration is not granted to the app: doctor's ✗
    pending: tuple[Company, ...]  # have not added the firm in Toegangsbeheer yet
    grants_now: Company  # one of the pending: grants access during the demo

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cast:
        """The cast from the demo world's plain data."""
        return cls(
            firm_name=data["firm_name"],
            firm_email=data["firm_email"],
            firm_vat=data["firm_vat"],
            firm_login=Login.from_dict(data["firm_login"]),
            clients=tuple(Company.from_dict(c) for c in data["clients"]),
            own_link=Company.from_dict(data["own_link"]),
            own_login=Login.from_dict(data["own_login"]),
            not_granted=Company.from_dict(data["not_granted"]),
            pending=tuple(Company.from_dict(c) for c in data["pending"]),
            grants_now=Company.from_dict(data["grants_now"]),
        )


def clients_csv(cast: Cast) -> str:
    """The import file, as a Belgian or Dutch Excel writes it: semicolons, UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(["name", "email", "vat", "coc", "access_granted"])
    pending = {c.name for c in cast.pending}
    for c in cast.clients:
        writer.writerow([c.name, c.email, c.vat, c.coc, "no" if c.name in pending else "yes"])
    return buffer.getvalue()
