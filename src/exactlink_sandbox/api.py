"""REST endpoints under ``/api/v1/`` (reference §3, §4, §5).

:func:`handle` runs the checks in the order a client observes them: token (401), error block
and rate limit (429), method (405), app scope and division rights (403), query validation (400),
then the resource. The records themselves are built in :mod:`.resources`.
"""

from __future__ import annotations

import bisect
from urllib.parse import parse_qsl, urlencode

from . import odata, resources
from .engine import Engine, page_start
from .fields import (
    ACCOUNT_FIELDS,
    ACCOUNT_FILTER,
    DIVISION_FILTER,
    ENDPOINT_SCOPES,
    HRM_DIVISION_FIELDS,
    HRM_FILTER,
    KNOWN_ENDPOINTS,
    ME_FIELDS,
    SYSTEM_DIVISION_FIELDS,
)
from .odata import ODataError
from .records import AccessRecord, Reply

NOT_IN_SCOPE = "Forbidden - User division is not within division scope"
SCOPE_VIOLATED = "Forbidden - Application Scope Violated. Cannot read"
SERVED = {
    "current/Me",
    "system/Divisions",
    "system/AllDivisions",
    "hrm/Divisions",
    "users/UserHasRights",
    "crm/Accounts",
}
# Query options the sandbox serves; $orderby is accepted and ignored (lists come sorted by key).
QUERY_OPTIONS = {"$select", "$filter", "$top", "$skiptoken", "$inlinecount", "$orderby"}


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


def handle(engine: Engine, method: str, path: str, query: str, headers, site: str = "nl") -> Reply:
    """Serve one ``/api/v1/...`` request (the engine lock is held for its whole duration)."""
    with engine.lock:
        engine.base_url = engine.site_urls.get(site, engine.base_url)  # links name this site
        parts = [p for p in path.split("/") if p][2:]  # strip "api", "v1"
        if len(parts) >= 2 and parts[0] == "current":
            division_key, endpoint, division = "current", "/".join(parts), None
        elif len(parts) >= 3 and parts[0].isdigit():
            division_key, endpoint, division = parts[0], "/".join(parts[1:]), int(parts[0])
        else:
            division_key, endpoint, division = "none", "/".join(parts), None
        engine.api_calls[division_key] += 1
        engine.api_calls_by_endpoint[endpoint] += 1
        request = (method, path, query, headers, site)
        reply = _handle(engine, request, division_key, endpoint, division)
        if reply.status >= 400:
            engine.api_errors[division_key] += 1
        if engine.settings.atom_without_accept and not _wants_json(headers):
            return odata.as_atom(reply, engine.base_url)  # §3.1 [C]: Atom/XML is the default
        return reply


def _wants_json(headers) -> bool:
    return "application/json" in (headers.get("Accept") or "").lower()


def _handle(engine: Engine, request: tuple, division_key: str, endpoint: str, division) -> Reply:
    method, path, query, headers, site = request
    auth = engine.bearer(headers.get("Authorization"), site)
    if not isinstance(auth, AccessRecord):
        if auth == "expired":
            # A known (expired) token identifies app and user, so it counts as an error (§5.1).
            record = engine.access_tokens.get((headers.get("Authorization") or "")[7:].strip())
            if record is not None:
                engine.record_error(engine.error_key(*record.key, division_key, endpoint))
        return _unauthorized(engine, path + ("?" + query if query else ""))
    client_id, user_id = auth.key
    err_key = engine.error_key(client_id, user_id, division_key, endpoint)
    blocked = engine.block_reply(err_key)
    if blocked is not None:
        return blocked
    allowed, limit_headers = engine.meter(client_id, division_key)
    if not allowed:
        engine.rate_limited[division_key] += 1
        return Reply(429, b"", "text/plain; charset=utf-8", limit_headers)
    reply = _route(engine, method, query, auth, division, endpoint)
    reply.headers.extend(limit_headers)
    if reply.status in (400, 401, 403, 404):
        engine.record_error(err_key)
    return reply


def _base_endpoint(endpoint: str) -> str:
    """``crm/Accounts(guid'…')`` → ``crm/Accounts``."""
    return endpoint.split("(", 1)[0]


def _route(
    engine: Engine, method: str, query: str, auth: AccessRecord, division, endpoint
) -> Reply:
    client_id, user_id = auth.key
    base = _base_endpoint(endpoint)
    # Only crm/Accounts is served by key, crm/Accounts(guid'…') (§1.2).
    served = endpoint in SERVED or (base == "crm/Accounts" and endpoint != base)
    if method != "GET" and (served or base.startswith("system/")):
        # Review item 6 [R]: system/* is read-only; the sandbox serves reads only.
        return _error(405, "Method not allowed")
    try:
        params = _params(engine, query)
        refused = _app_scope(engine, base)
        if refused is not None:
            return refused
        if not served:
            return _error(404, "Not found")
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
        return _resource(engine, endpoint, client_id, user_id, division, params)
    except ODataError as exc:
        return _error(exc.status, exc.message)


def _resource(engine, endpoint, client_id, user_id, division, params) -> Reply:
    if endpoint == "system/Divisions":
        return _system_divisions(engine, client_id, user_id, division, params)
    if endpoint == "system/AllDivisions":
        return _all_divisions(engine, user_id, division, params)
    if endpoint == "hrm/Divisions":
        return _hrm_divisions(engine, client_id, user_id, division, params)
    if endpoint == "users/UserHasRights":
        return _user_has_rights(engine, division, params)
    return _accounts(engine, division, endpoint, params)


def _params(engine: Engine, query: str) -> dict:
    """The query options; with ``refuse_unknown_options``, ``$skip`` and unknown ``$`` options
    are an OData error (§3.3 [C]: ``$skip`` is not supported since March 2017)."""
    params = dict(parse_qsl(query, keep_blank_values=True))
    if engine.settings.refuse_unknown_options:
        for name in params:
            if name == "$skip":
                raise ODataError("The query option '$skip' is not supported: use $skiptoken.")
            if name.startswith("$") and name not in QUERY_OPTIONS:
                raise ODataError(f"The query parameter '{name}' is not supported.")
    return params


def _app_scope(engine: Engine, endpoint: str) -> Reply | None:
    """§2.1 [R]: an endpoint outside the app's scopes → 403 "Application Scope Violated"."""
    scopes = engine.settings.scopes()
    if scopes is None or endpoint not in ENDPOINT_SCOPES:
        return None
    needed = ENDPOINT_SCOPES[endpoint]
    if needed is None or needed in scopes:
        return None
    return _error(403, SCOPE_VIOLATED)


def _division_rights(engine: Engine, client_id: str, user_id: str, division: int) -> Reply | None:
    """403s of §3.8 and §6: no access (Reason header), not granted (message), blocked."""
    company = engine.companies.get(division)
    if company is None or division not in engine.access[user_id]:
        return _error(403, "Forbidden", [("Reason", "NoDivisionAccess")])
    if engine.licence_out_of_reach(user_id, company):
        # Notes item 7 [R]/[U]: the answer is not known; this is Exact's answer for any division
        # the login cannot reach.
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
    keys: list | None = None,
) -> Reply:
    """Serve ``items`` (sorted by ``key``) as Exact pages a collection (§3.3).

    60 a page, ``__next`` with ``$skiptoken`` (the last key) repeating the query, ``$top`` caps
    the total, ``$inlinecount=allpages`` adds ``__count``. Records are built lazily and a page
    starts by bisecting ``keys`` (the items' keys, precomputed by the caller when it can), so a
    page of a 20,000-division list costs one page's work, not the whole list's.
    """
    select = odata.parse_select(params.get("$select"), select_fields, type_name)
    predicate = odata.parse_filter(params.get("$filter"), filter_fields)
    token = params.get("$skiptoken")
    start = 0
    if token is not None:
        after = skip_value(token)
        start = page_start(keys, after) if keys is not None else _bisect(items, key, after)
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
    for index in range(start, len(items)):
        item = items[index]
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


def _bisect(items: list, key, after) -> int:
    return bisect.bisect_right([key(i) for i in items], after)


def _skiptoken(value) -> str:
    return f"guid'{value}'" if isinstance(value, str) else str(value)


def _int_token(token: str) -> int:
    if not token.lstrip("-").isdigit() or len(token) > 19:
        raise ODataError(f"Unrecognized 'Edm.Int32' literal '{token}' in '$skiptoken'.")
    return int(token)


def _guid_token(token: str) -> str:
    if not (token.startswith("guid'") and token.endswith("'")):
        raise ODataError(f"Unrecognized 'Edm.Guid' literal '{token}' in '$skiptoken'.")
    return token[5:-1].lower()


# ---------------------------------------------------------------------------- resources
def _me(engine: Engine, user_id: str, params: dict) -> Reply:
    """current/Me: a collection of exactly one (§4.1 [C])."""
    record = resources.me_record(engine, user_id)
    select = odata.parse_select(params.get("$select"), ME_FIELDS, resources.TYPE_ME)
    return Reply.json(200, {"d": {"results": [odata.project(record, select)]}})


def _system_divisions(engine, client_id, user_id, division, params) -> Reply:
    """system/Divisions: accessible ∩ granted, across licenses, 60 a page (§4.2, §4.3)."""
    companies, codes = engine.visible_index(client_id, user_id)
    return _collection(
        engine,
        f"{engine.base_url}/api/v1/{division}/system/Divisions",
        companies,
        params,
        key=lambda c: c.division,
        build=lambda c: resources.system_record(engine, c, division, user_id, "Divisions"),
        skip_value=_int_token,
        filter_fields=DIVISION_FILTER,
        select_fields=SYSTEM_DIVISION_FIELDS,
        type_name=resources.TYPE_SYSTEM_DIVISION,
        keys=codes,
    )


def _all_divisions(engine, user_id, division, params) -> Reply:
    """system/AllDivisions: every division of the license owning {division} (§4.2)."""
    owner = engine.companies[division].license
    companies = sorted(
        (c for c in engine.companies.values() if c.license == owner), key=lambda c: c.division
    )
    return _collection(
        engine,
        f"{engine.base_url}/api/v1/{division}/system/AllDivisions",
        companies,
        params,
        key=lambda c: c.division,
        build=lambda c: resources.system_record(engine, c, division, user_id, "AllDivisions"),
        skip_value=_int_token,
        filter_fields=DIVISION_FILTER,
        select_fields=SYSTEM_DIVISION_FIELDS,
        type_name=resources.TYPE_ALL_DIVISION,
    )


def _hrm_divisions(engine, client_id, user_id, division, params) -> Reply:
    """hrm/Divisions: accessible and granted, single license, HID/Main, Status 0/1 (§4.4)."""
    owner = engine.companies[division].license
    raw = [
        resources.hrm_record(engine, c, division)
        for c in engine.accessible(user_id)
        if c.license == owner
        and engine.in_scope(client_id, user_id, c.division)
        and not (
            engine.licence_out_of_reach(user_id, c)
            and engine.settings.premium_licence == "unlisted"
        )
    ]
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
        type_name=resources.TYPE_HRM_DIVISION,
    )


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


def _accounts(engine, division, endpoint, params) -> Reply:
    """crm/Accounts: ``$select`` (or ``$top=1``) required (§3.4), ``$filter``, paging by ID."""
    rows = resources.accounts_for(engine, division)
    if endpoint != "crm/Accounts":
        key = endpoint[len("crm/Accounts") :]
        if not (key.startswith("(guid'") and key.endswith("')")):
            raise ODataError(f"Unrecognized 'Edm.Guid' literal '{key[1:-1]}' in '0'.")
        wanted = key[6:-2].lower()
        select = odata.parse_select(params.get("$select"), ACCOUNT_FIELDS, resources.TYPE_ACCOUNT)
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
        type_name=resources.TYPE_ACCOUNT,
    )
