"""Exact Online's answers, as exactlink reads them: the fields of ``current/Me`` and of a
``system/Divisions`` record that the code uses, with Exact's names and documented types
(reference §4.1, §4.3).

A leaf: the Exact adapter returns these and the services' ports name them, so neither needs
the other. Server data is not trusted to be complete: every field may be missing (``$select``,
older answers) or null, so readers use ``.get`` and check what they convert.
"""

from __future__ import annotations

from typing import TypedDict


class MeRecord(TypedDict, total=False):
    """The one record of ``current/Me`` (§4.1), its ``/Date()/`` values as epoch seconds."""

    UserID: str  # a GUID: the Exact login, the key of "one connection per login"
    UserName: str | None
    FullName: str | None
    Email: str | None
    CurrentDivision: int | None  # the division the login last used in the web UI
    ServerTime: float | None  # Exact's clock, for doctor's clock check
    # The login's home company, and whether it is a client's user (not the firm's): doctor's check
    # that the portal's connection was not consented as another Exact user.
    IsClientUser: bool | None
    DivisionCustomerName: str | None
    DivisionCustomerVatNumber: str | None


class DivisionRecord(TypedDict, total=False):
    """One record of ``system/Divisions`` or ``system/AllDivisions`` (§4.3), the fields of
    ``adapters.exact.client.DIVISION_SELECT``."""

    Code: int  # the division number used in URLs
    Description: str | None
    Hid: int | None  # the company number the customer assigned
    Customer: str | None  # GUID of the owning license
    CustomerName: str | None
    VATNumber: str | None
    ChamberOfCommerceNumber: str | None
    Status: int | None  # 0 inactive, 1 active, 2 archived
    BlockingStatus: int | None  # 0 not blocked
    IsMainDivision: bool | None
    Country: str | None
