"""The records the REST resources serve, built from the seed (reference §4.1, §4.3, §4.4).

Pure functions of the engine's state; :mod:`.api` decides who may see them and pages them.
"""

from __future__ import annotations

import random
import uuid
import zoneinfo
from datetime import UTC, datetime

from . import odata
from .names import be_enterprise_number, company_name, nl_kvk, nl_vat
from .seed import Company

TYPE_SYSTEM_DIVISION = "Exact.Web.Api.System.SystemDivision"
TYPE_ALL_DIVISION = "Exact.Web.Api.System.AllDivision"
TYPE_HRM_DIVISION = "Exact.Web.Api.Models.HRM.Division"
TYPE_ACCOUNT = "Exact.Web.Api.Models.Account"
TYPE_ME = "Exact.Web.Api.System.Me"


def amsterdam_offset(now: float) -> float:
    try:
        tz = zoneinfo.ZoneInfo("Europe/Amsterdam")
    except zoneinfo.ZoneInfoNotFoundError:  # pragma: no cover - tzdata missing
        return 3600.0
    offset = datetime.fromtimestamp(now, tz).utcoffset()
    return offset.total_seconds() if offset else 0.0


def me_record(engine, user_id: str) -> dict:
    """current/Me's one record (§4.1 [C])."""
    login = engine.logins_by_id[user_id]
    current = engine.current_division[user_id]
    company = engine.companies.get(current)
    own = engine.companies.get(login.company or -1)
    first, _, last = login.full_name.partition(" ")
    now = engine.now()
    return {
        "__metadata": {
            "uri": f"{engine.base_url}/api/v1/current/Me(guid'{login.user_id}')",
            "type": TYPE_ME,
        },
        "UserID": login.user_id,
        "CurrentDivision": current,
        "AccountingDivision": login.company if login.role == "firm" else None,
        "DossierDivision": None,
        "DivisionCustomer": company.customer if company else None,
        "DivisionCustomerCode": company.customer_code if company else None,
        "DivisionCustomerName": company.name if company else None,
        "DivisionCustomerVatNumber": company.vat_number if company else None,
        "DivisionCustomerSiretNumber": None,
        "CustomerCode": own.customer_code if own else None,
        "UserName": login.username,
        "FullName": login.full_name,
        "FirstName": first,
        "MiddleName": None,
        "LastName": last,
        "Initials": first[:1] + ".",
        "Title": None,
        "Gender": "O",
        "Email": login.email,
        "Phone": None,
        "PhoneExtension": None,
        "Mobile": None,
        "Nationality": login.language[-2:],
        "Language": login.language[:2].upper(),
        "LanguageCode": login.language,
        "Legislation": 1,
        "PackageCode": "ACC" if login.role == "firm" else "ADV",
        "EmployeeID": None,
        "IsClientUser": login.role == "client",
        "IsMyFirmPortalUser": False,
        "IsMyFirmLiteUser": False,
        "IsStarterUser": False,
        "IsEmployeeSelfServiceUser": False,
        "IsOEIMigrationMandatory": False,
        "PictureUrl": None,
        "ThumbnailPicture": None,
        "ThumbnailPictureFormat": None,
        "ServerTime": odata.date(now),
        "ServerUtcOffset": amsterdam_offset(now),
    }


def system_record(engine, company: Company, url_division: int, user_id: str, type_name: str):
    """One record of system/Divisions or system/AllDivisions (§4.3)."""
    code = company.division
    kind = TYPE_SYSTEM_DIVISION if type_name == "Divisions" else TYPE_ALL_DIVISION
    return {
        "__metadata": {
            "uri": f"{engine.base_url}/api/v1/{url_division}/system/{type_name}({code})",
            "type": kind,
        },
        "Code": code,
        "Description": company.name,
        "Hid": company.hid,
        "Customer": company.customer,
        "CustomerCode": company.customer_code,
        "CustomerName": company.name if company.kind != "hq" else company.name[:-3],
        "Current": code == engine.current_division.get(user_id),
        "IsMainDivision": company.is_main,
        "IsPracticeDivision": company.kind == "practice",
        "IsDossierDivision": False,
        "IsHRDivision": False,
        "Status": company.status,
        "BlockingStatus": company.blocking_status,
        "ArchiveDate": odata.date("2024-12-31") if company.status == 2 else None,
        "StartDate": odata.date(company.start_date),
        "Country": company.country,
        "Currency": company.currency,
        "Legislation": "1" if company.country == "NL" else "2",
        "State": None,
        "VATNumber": company.vat_number,
        "OBNumber": None,
        "ChamberOfCommerceNumber": company.coc_number,
        "ChamberOfCommerceEstablishment": None,
        "AddressLine1": None,
        "City": company.city,
        "Postcode": None,
        "Email": company.email,
        "Phone": None,
        "Website": None,
        "TemplateCode": None,
        "DivisionMoveDate": None,
        "Created": odata.date(company.start_date),
        "Modified": odata.date(company.start_date),
    }


def hrm_record(engine, c: Company, division: int) -> dict:
    """One record of hrm/Divisions: ``HID``, ``Main``, ``Status`` 0 regular / 1 archived (§4.4)."""
    return {
        "__metadata": {
            "uri": f"{engine.base_url}/api/v1/{division}/hrm/Divisions({c.division})",
            "type": TYPE_HRM_DIVISION,
        },
        "Code": c.division,
        "Description": c.name,
        "HID": c.hid,
        "Main": c.is_main,
        "Customer": c.customer,
        "CustomerCode": c.customer_code,
        "CustomerName": c.name,
        "Country": c.country,
        "CountryDescription": {"NL": "Nederland", "BE": "België"}.get(c.country),
        "Currency": c.currency,
        "CurrencyDescription": "Euro",
        "VATNumber": c.vat_number,
        "OBNumber": None,
        "TemplateCode": None,
        "StartDate": odata.date(c.start_date),
        "ArchiveDate": odata.date("2024-12-31") if c.status == 2 else None,
        "BlockingStatus": c.blocking_status,
        "Status": 1 if c.status == 2 else 0,
        "Website": None,
        "Created": odata.date(c.start_date),
        "Modified": odata.date(c.start_date),
    }


def accounts_for(engine, division: int) -> list[dict]:
    """Deterministic customer accounts of one division, generated on first use."""
    cached = engine._accounts.get(division)
    if cached is not None:
        return cached
    company = engine.companies[division]
    rng = random.Random(f"accounts:{engine.world.seed}:{division}")
    count = 130 if company.kind == "practice" else rng.randint(4, 25)
    rows = [_account(engine, rng, division, n) for n in range(count)]
    rows.sort(key=lambda r: str(r["ID"]))
    engine._accounts[division] = rows
    return rows


def _account(engine, rng: random.Random, division: int, n: int) -> dict:
    country = "NL" if rng.random() < 0.6 else "BE"
    name, city = company_name(rng, country)
    if country == "NL":
        vat, coc = nl_vat(rng), nl_kvk(rng)
    else:
        kbo = be_enterprise_number(rng)
        vat, coc = "BE" + kbo, kbo
    created = datetime(2015 + rng.randrange(10), rng.randint(1, 12), rng.randint(1, 28), tzinfo=UTC)
    guid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return {
        "__metadata": {
            "uri": f"{engine.base_url}/api/v1/{division}/crm/Accounts(guid'{guid}')",
            "type": TYPE_ACCOUNT,
        },
        "ID": guid,
        "Code": str(1000 + n).rjust(18),  # 18 characters, right-aligned (§3.5)
        "Name": name,
        "City": city,
        "Country": country,
        "VATNumber": vat,
        "ChamberOfCommerce": coc,
        "Email": f"info{n}@example.com",
        "Status": rng.choice(["C", "C", "C", "P", "S"]),
        "IsSupplier": rng.random() < 0.2,
        "IsSales": True,
        "Blocked": False,
        "Created": odata.date(created),
        "Modified": odata.date(created),
    }
