"""REST endpoints under ``/api/v1/`` (reference §3, §4, §5).

:func:`handle` runs the checks in the order a client observes them: token (401), error block
and rate limit (429), division rights (403), query validation (400), then the resource.
"""

from __future__ import annotations

import bisect
import random
import uuid
import zoneinfo
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

from . import odata
from .engine import AccessRecord, Engine, Reply
from .odata import ODataError
from .seed import Company, _company_name, be_enterprise_number, nl_kvk, nl_vat

NOT_IN_SCOPE = "Forbidden - User division is not within division scope"

SYSTEM_DIVISION_FIELDS = [
    "Code",
    "Description",
    "Hid",
    "Customer",
    "CustomerCode",
    "CustomerName",
    "Current",
    "IsMainDivision",
    "IsPracticeDivision",
    "IsDossierDivision",
    "IsHRDivision",
    "Status",
    "BlockingStatus",
    "ArchiveDate",
    "StartDate",
    "Country",
    "Currency",
    "Legislation",
    "State",
    "VATNumber",
    "OBNumber",
    "ChamberOfCommerceNumber",
    "ChamberOfCommerceEstablishment",
    "AddressLine1",
    "City",
    "Postcode",
    "Email",
    "Phone",
    "Website",
    "TemplateCode",
    "DivisionMoveDate",
    "Created",
    "Modified",
]
HRM_DIVISION_FIELDS = [
    "Code",
    "Description",
    "HID",
    "Main",
    "Customer",
    "CustomerCode",
    "CustomerName",
    "Country",
    "CountryDescription",
    "Currency",
    "CurrencyDescription",
    "VATNumber",
    "OBNumber",
    "TemplateCode",
    "StartDate",
    "ArchiveDate",
    "BlockingStatus",
    "Status",
    "Website",
    "Created",
    "Modified",
]
ME_FIELDS = [
    "UserID",
    "CurrentDivision",
    "AccountingDivision",
    "DossierDivision",
    "DivisionCustomer",
    "DivisionCustomerCode",
    "DivisionCustomerName",
    "DivisionCustomerVatNumber",
    "DivisionCustomerSiretNumber",
    "CustomerCode",
    "UserName",
    "FullName",
    "FirstName",
    "MiddleName",
    "LastName",
    "Initials",
    "Title",
    "Gender",
    "Email",
    "Phone",
    "PhoneExtension",
    "Mobile",
    "Nationality",
    "Language",
    "LanguageCode",
    "Legislation",
    "PackageCode",
    "EmployeeID",
    "IsClientUser",
    "IsMyFirmPortalUser",
    "IsMyFirmLiteUser",
    "IsStarterUser",
    "IsEmployeeSelfServiceUser",
    "IsOEIMigrationMandatory",
    "PictureUrl",
    "ThumbnailPicture",
    "ThumbnailPictureFormat",
    "ServerTime",
    "ServerUtcOffset",
]
ACCOUNT_FIELDS = [
    "ID",
    "Code",
    "Name",
    "City",
    "Country",
    "VATNumber",
    "ChamberOfCommerce",
    "Email",
    "Status",
    "IsSupplier",
    "IsSales",
    "Blocked",
    "Created",
    "Modified",
]
DIVISION_FILTER = {
    "Code": "int",
    "Hid": "int",
    "Description": "string",
    "Status": "int",
    "BlockingStatus": "int",
    "VATNumber": "string",
    "ChamberOfCommerceNumber": "string",
    "Customer": "guid",
    "CustomerName": "string",
    "IsMainDivision": "bool",
    "Country": "string",
}
HRM_FILTER = {
    "Code": "int",
    "HID": "int",
    "Description": "string",
    "Status": "int",
    "Main": "bool",
    "VATNumber": "string",
    "Customer": "guid",
}
ACCOUNT_FILTER = {
    "ID": "guid",
    "Code": "string",
    "Name": "string",
    "VATNumber": "string",
    "ChamberOfCommerce": "string",
    "Status": "string",
    "IsSupplier": "bool",
    "City": "string",
    "Country": "string",
}
# users/UserHasRights answers for these; everything else is "no rights".
KNOWN_ENDPOINTS = {
    "crm/Accounts": {"GET", "POST", "PUT", "DELETE"},
    "crm/Contacts": {"GET", "POST", "PUT", "DELETE"},
    "financial/GLAccounts": {"GET", "POST", "PUT", "DELETE"},
    "salesinvoice/SalesInvoices": {"GET", "POST", "PUT", "DELETE"},
    "system/Divisions": {"GET"},
    "system/AllDivisions": {"GET"},
    "hrm/Divisions": {"GET"},
    "current/Me": {"GET"},
}


def _error(status: int, message: str, headers: list | None = None) -> Reply:
    return Reply.json(status, odata.error_body(message), headers)


def _unauthorized(engine: Engine, path: str) -> Reply:
    """401 for a missing, unknown, expired or revoked token (§3.8 "Authentication Required")."""
    if engine.settings.html_401:
        # §3.7 [R]: sometimes an HTML redirect page to the login instead of JSON.
        target = "/docs/Login.aspx?ReturnUrl=" + path.replace("&", "%26")
        body = (
            "<html><head><title>Object moved</title></head><body>\r\n"
            f'<h2>Object moved to <a href="{target}">here</a>.</h2>\r\n</body></html>\r\n'
        )
        return Reply(401, body.encode(), "text/html; charset=utf-8", [("Location", target)])
    return _error(401, "Authentication Required", [("WWW-Authenticate", 'Bearer realm="api"')])


def handle(engine: Engine, method: str, path: str, query: str, headers) -> Reply:
    """Serve one ``/api/v1/...`` request (the engine lock is held for its whole duration)."""
    with engine.lock:
        parts = [p for p in path.split("/") if p][2:]  # strip "api", "v1"
        if len(parts) >= 2 and parts[0] == "current":
            division_key, endpoint, division = "current", "/".join(parts), None
        elif len(parts) >= 3 and parts[0].isdigit():
            division_key, endpoint, division = parts[0], "/".join(parts[1:]), int(parts[0])
        else:
            division_key, endpoint, division = "none", "/".join(parts), None
        engine.api_calls[division_key] += 1
        engine.api_calls_by_endpoint[endpoint] += 1
        reply = _handle(engine, method, path, query, headers, division_key, endpoint, division)
        if reply.status >= 400:
            engine.api_errors[division_key] += 1
        return reply


def _handle(engine, method, path, query, headers, division_key, endpoint, division) -> Reply:
    auth = engine.bearer(headers.get("Authorization"))
    if not isinstance(auth, AccessRecord):
        if auth == "expired":
            # A known (expired) token identifies app and user, so it counts as an error (§5.1).
            record = _record_for(engine, headers.get("Authorization"))
            if record is not None:
                engine.record_error(engine.error_key(*record.key, division_key, endpoint))
        return _unauthorized(engine, path + ("?" + query if query else ""))
    client_id, user_id = auth.key
    err_key = engine.error_key(client_id, user_id, division_key, endpoint)
    until = engine.blocked(err_key)
    if until is not None:
        blocked_at = datetime.fromtimestamp(until, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return _error(
            engine.settings.blocked_status,
            "Too many errors: more than "
            f"{engine.settings.error_limit} errors in an hour on this endpoint in this division. "
            f"The app is blocked here until {blocked_at}.",
            [("Reason", "ErrorLimitExceeded")],
        )
    allowed, limit_headers = engine.meter(client_id, division_key)
    if not allowed:
        engine.rate_limited[division_key] += 1
        return Reply(429, b"", "text/plain; charset=utf-8", limit_headers)
    reply = _route(engine, method, query, auth, division, endpoint, headers)
    reply.headers.extend(limit_headers)
    if reply.status in (400, 401, 403, 404):
        engine.record_error(err_key)
    return reply


def _record_for(engine: Engine, header: str | None) -> AccessRecord | None:
    return engine.access_tokens.get((header or "")[7:].strip())


def _route(engine, method, query, auth, division, endpoint, headers) -> Reply:
    client_id, user_id = auth.key
    params = dict(parse_qsl(query, keep_blank_values=True))
    known = {
        "current/Me",
        "system/Divisions",
        "system/AllDivisions",
        "hrm/Divisions",
        "users/UserHasRights",
        "crm/Accounts",
    }
    # Only crm/Accounts is served by key, crm/Accounts(guid'…') (§1.2).
    if endpoint not in known and not endpoint.startswith("crm/Accounts("):
        return _error(404, "Not found")
    if method != "GET":
        return _error(405, "Method not allowed")
    try:
        if endpoint == "current/Me":
            return _me(engine, user_id, params)
        if division is None:
            return _error(404, "Not found")
        if endpoint == "system/Divisions" and not engine.settings.strict_divisions_url:
            # §4.2 [R]: Exact support said the {division} here is not validated.
            return _system_divisions(engine, client_id, user_id, division, params)
        refused = _division_rights(engine, client_id, user_id, division)
        if refused is not None:
            return refused
        if endpoint == "system/Divisions":
            return _system_divisions(engine, client_id, user_id, division, params)
        if endpoint == "system/AllDivisions":
            return _all_divisions(engine, user_id, division, params)
        if endpoint == "hrm/Divisions":
            return _hrm_divisions(engine, client_id, user_id, division, params)
        if endpoint == "users/UserHasRights":
            return _user_has_rights(engine, division, params)
        return _accounts(engine, division, endpoint, params)
    except ODataError as exc:
        return _error(exc.status, exc.message)


def _division_rights(engine: Engine, client_id: str, user_id: str, division: int) -> Reply | None:
    """403s of §3.8 and §6: no access (Reason header), not granted (message), blocked."""
    company = engine.companies.get(division)
    if company is None or division not in engine.access[user_id]:
        return _error(403, "Forbidden", [("Reason", "NoDivisionAccess")])
    if not engine.in_scope(client_id, user_id, division):
        return _error(403, NOT_IN_SCOPE)
    if company.blocking_status != 0:
        return _error(403, "Forbidden", [("Reason", "DivisionBlocked")])
    return None


# ---------------------------------------------------------------------------- collections
def _collection(
    engine: Engine,
    url: str,
    items: list,
    params: dict,
    *,
    key,
    build,
    skip_value,
    filter_fields: dict,
    select_fields: list[str],
    type_name: str,
) -> Reply:
    """Serve ``items`` (sorted by ``key``) as Exact pages a collection (§3.3).

    60 a page, ``__next`` with ``$skiptoken`` (the last key) repeating the query, ``$top`` caps
    the total, ``$inlinecount=allpages`` adds ``__count``. Records are built lazily, so a page
    of a 5,000-division list costs one page's work, not the whole list's.
    """
    select = odata.parse_select(params.get("$select"), select_fields, type_name)
    predicate = odata.parse_filter(params.get("$filter"), filter_fields)
    token = params.get("$skiptoken")
    if token is not None:
        items = items[bisect.bisect_right([key(i) for i in items], skip_value(token)) :]
    top_raw = params.get("$top")
    top = None
    if top_raw is not None:
        if not top_raw.isdigit():
            raise ODataError(f"Invalid $top value '{top_raw}'.")
        top = int(top_raw)
    limit = engine.settings.page_size if top is None else min(top, engine.settings.page_size)
    inline = params.get("$inlinecount") == "allpages"
    page: list[dict] = []
    last_key = None
    total = 0
    for item in items:
        record = build(item)
        if predicate is not None and not predicate(record):
            continue
        total += 1
        if len(page) < limit:
            page.append(odata.project(record, select))
            last_key = key(item)
        elif not inline:
            break  # one more than the page is enough to know there is a next page
    more = total > len(page) and (top is None or top > len(page))
    if top is not None and not inline and engine.settings.top_bare_array:
        return Reply.json(200, {"d": page})  # §3.3 [R]: the bare-array quirk
    d: dict = {"results": page}
    if inline:
        d["__count"] = str(total)
    if more:
        nxt = {k: v for k, v in params.items() if k != "$skiptoken"}
        if top is not None:
            nxt["$top"] = str(top - len(page))
        nxt["$skiptoken"] = _skiptoken(last_key)
        d["__next"] = url + "?" + urlencode(nxt, safe="$,'()")
    return Reply.json(200, {"d": d})


def _skiptoken(value) -> str:
    return f"guid'{value}'" if isinstance(value, str) else str(value)


def _int_token(token: str) -> int:
    if not token.lstrip("-").isdigit():
        raise ODataError(f"Unrecognized 'Edm.Int32' literal '{token}' in '$skiptoken'.")
    return int(token)


def _guid_token(token: str) -> str:
    if not (token.startswith("guid'") and token.endswith("'")):
        raise ODataError(f"Unrecognized 'Edm.Guid' literal '{token}' in '$skiptoken'.")
    return token[5:-1].lower()


# ---------------------------------------------------------------------------- current/Me
def _amsterdam_offset(now: float) -> float:
    try:
        tz = zoneinfo.ZoneInfo("Europe/Amsterdam")
    except zoneinfo.ZoneInfoNotFoundError:  # pragma: no cover - tzdata missing
        return 3600.0
    offset = datetime.fromtimestamp(now, tz).utcoffset()
    return offset.total_seconds() if offset else 0.0


def _me(engine: Engine, user_id: str, params: dict) -> Reply:
    """current/Me: a collection of exactly one (§4.1 [C])."""
    login = engine.logins_by_id[user_id]
    current = engine.current_division[user_id]
    company = engine.companies.get(current)
    own = engine.companies.get(login.company or -1)
    first, _, last = login.full_name.partition(" ")
    now = engine.now()
    record = {
        "__metadata": {
            "uri": f"{engine.base_url}/api/v1/current/Me(guid'{login.user_id}')",
            "type": "Exact.Web.Api.System.Me",
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
        "ServerUtcOffset": _amsterdam_offset(now),
    }
    select = odata.parse_select(params.get("$select"), ME_FIELDS, "Exact.Web.Api.System.Me")
    return Reply.json(200, {"d": {"results": [odata.project(record, select)]}})


# ---------------------------------------------------------------------------- divisions
def _system_record(engine: Engine, company: Company, url_division: int, user_id: str, type_name):
    code = company.division
    return {
        "__metadata": {
            "uri": f"{engine.base_url}/api/v1/{url_division}/system/{type_name}({code})",
            "type": f"Exact.Web.Api.System.{'SystemDivision' if type_name == 'Divisions' else 'AllDivision'}",
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


def _divisions_reply(engine, path, companies, build, params, type_name) -> Reply:
    return _collection(
        engine,
        engine.base_url + path,
        companies,
        params,
        key=lambda c: c.division,
        build=build,
        skip_value=_int_token,
        filter_fields=DIVISION_FILTER,
        select_fields=SYSTEM_DIVISION_FIELDS,
        type_name=type_name,
    )


def _system_divisions(engine, client_id, user_id, division, params) -> Reply:
    """system/Divisions: accessible ∩ granted, across licenses, 60 a page (§4.2, §4.3)."""
    return _divisions_reply(
        engine,
        f"/api/v1/{division}/system/Divisions",
        engine.visible_divisions(client_id, user_id),
        lambda c: _system_record(engine, c, division, user_id, "Divisions"),
        params,
        "Exact.Web.Api.System.SystemDivision",
    )


def _all_divisions(engine, user_id, division, params) -> Reply:
    """system/AllDivisions: every division of the license owning {division} (§4.2)."""
    owner = engine.companies[division].license
    companies = sorted(
        (c for c in engine.companies.values() if c.license == owner), key=lambda c: c.division
    )
    return _divisions_reply(
        engine,
        f"/api/v1/{division}/system/AllDivisions",
        companies,
        lambda c: _system_record(engine, c, division, user_id, "AllDivisions"),
        params,
        "Exact.Web.Api.System.AllDivision",
    )


def _hrm_divisions(engine, client_id, user_id, division, params) -> Reply:
    """hrm/Divisions: accessible and granted, single license, HID/Main, Status 0/1 (§4.4)."""
    owner = engine.companies[division].license
    raw = []
    for c in engine.accessible(user_id):
        if c.license != owner or not engine.in_scope(client_id, user_id, c.division):
            continue
        raw.append(
            {
                "__metadata": {
                    "uri": f"{engine.base_url}/api/v1/{division}/hrm/Divisions({c.division})",
                    "type": "Exact.Web.Api.Models.HRM.Division",
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
                "Status": 1 if c.status == 2 else 0,  # hrm: 0 regular, 1 archived (§4.4)
                "Website": None,
                "Created": odata.date(c.start_date),
                "Modified": odata.date(c.start_date),
            }
        )
    return _collection(
        engine,
        f"{engine.base_url}/api/v1/{division}/hrm/Divisions",
        raw,
        params,
        key=lambda r: r["Code"],
        build=lambda r: r,
        skip_value=_int_token,
        filter_fields=HRM_FILTER,
        select_fields=HRM_DIVISION_FIELDS,
        type_name="Exact.Web.Api.Models.HRM.Division",
    )


# ---------------------------------------------------------------------------- rights
def _quoted(params: dict, name: str) -> str:
    value = params.get(name)
    if value is None:
        raise ODataError(f"The parameter '{name}' is required.")
    if len(value) < 2 or value[0] != "'" or value[-1] != "'":
        # §4.5: the values are quoted OData string literals.
        raise ODataError(f"Unrecognized 'Edm.String' literal '{value}' for parameter '{name}'.")
    return value[1:-1]


def _user_has_rights(engine, division, params) -> Reply:
    """users/UserHasRights → ``{"d": {"UserHasRights": bool}}`` (§4.5)."""
    endpoint = _quoted(params, "endpoint").strip("/")
    action = _quoted(params, "action").upper()
    if action not in ("GET", "POST", "PUT", "DELETE"):
        raise ODataError(f"Invalid action '{action}'.")
    archived = engine.companies[division].status == 2
    allowed = action in KNOWN_ENDPOINTS.get(endpoint, set()) and not (archived and action != "GET")
    return Reply.json(200, {"d": {"UserHasRights": allowed}})


# ---------------------------------------------------------------------------- crm/Accounts
def _accounts_for(engine: Engine, division: int) -> list[dict]:
    """Deterministic customer accounts of one division, generated on first use."""
    cached = engine._accounts.get(division)
    if cached is not None:
        return cached
    company = engine.companies[division]
    rng = random.Random(f"accounts:{engine.world.seed}:{division}")
    count = 130 if company.kind == "practice" else rng.randint(4, 25)
    rows = []
    for n in range(count):
        country = "NL" if rng.random() < 0.6 else "BE"
        name, city = _company_name(rng, country)
        if country == "NL":
            vat, coc = nl_vat(rng), nl_kvk(rng)
        else:
            kbo = be_enterprise_number(rng)
            vat, coc = "BE" + kbo, kbo
        created = datetime(
            2015 + rng.randrange(10), rng.randint(1, 12), rng.randint(1, 28), tzinfo=UTC
        )
        guid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        rows.append(
            {
                "__metadata": {
                    "uri": f"{engine.base_url}/api/v1/{division}/crm/Accounts(guid'{guid}')",
                    "type": "Exact.Web.Api.Models.Account",
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
        )
    rows.sort(key=lambda r: str(r["ID"]))
    engine._accounts[division] = rows
    return rows


def _accounts(engine, division, endpoint, params) -> Reply:
    """crm/Accounts: ``$select`` (or ``$top=1``) required (§3.4), ``$filter``, paging by ID."""
    rows = _accounts_for(engine, division)
    if endpoint != "crm/Accounts":
        key = endpoint[len("crm/Accounts") :]
        if not (key.startswith("(guid'") and key.endswith("')")):
            raise ODataError(f"Unrecognized 'Edm.Guid' literal '{key[1:-1]}' in '0'.")
        wanted = key[6:-2].lower()
        select = odata.parse_select(
            params.get("$select"), ACCOUNT_FIELDS, "Exact.Web.Api.Models.Account"
        )
        for row in rows:
            if row["ID"] == wanted:
                return Reply.json(200, {"d": odata.project(row, select)})
        return _error(404, "Not found")
    if params.get("$select") is None and params.get("$top") != "1":
        raise ODataError("Please add a $select or a $top=1 statement to the query string.")
    return _collection(
        engine,
        f"{engine.base_url}/api/v1/{division}/crm/Accounts",
        rows,
        params,
        key=lambda r: r["ID"],
        build=lambda r: r,
        skip_value=_guid_token,
        filter_fields=ACCOUNT_FILTER,
        select_fields=ACCOUNT_FIELDS,
        type_name="Exact.Web.Api.Models.Account",
    )
