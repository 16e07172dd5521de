"""REST rules of the sandbox (reference §3, §4, §6), over real HTTP."""

from __future__ import annotations

import re

import requests

from support.sandbox import advance, api_get, connect, control

NOT_IN_SCOPE = {
    "error": {
        "code": "",
        "message": {"lang": "", "value": "Forbidden - User division is not within division scope"},
    }
}


def _company(sb, **want):
    for company in sb.seed["companies"]:
        if all(company.get(k) == v for k, v in want.items()):
            return company
    raise LookupError(want)


def _practice(sb) -> int:
    return sb.seed["firm"]["division"]


def _all_pages(sb, token, path, params):
    reply = api_get(sb, token, path, params)
    pages = [reply]
    rows = list(reply.json()["d"]["results"])
    while "__next" in reply.json()["d"]:
        reply = requests.get(
            reply.json()["d"]["__next"],
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=10,
        )
        assert reply.status_code == 200, reply.text
        pages.append(reply)
        rows += reply.json()["d"]["results"]
    return rows, pages


# ---------------------------------------------------------------------------- current/Me
def test_me_is_a_collection_of_one(sandbox):
    token = connect(sandbox)["access_token"]
    reply = api_get(sandbox, token, "current/Me")
    assert reply.status_code == 200
    results = reply.json()["d"]["results"]
    assert len(results) == 1
    me = results[0]
    firm_login = sandbox.seed["logins"][0]
    assert me["UserID"] == firm_login["user_id"]
    assert me["UserName"] == firm_login["username"]
    assert me["CurrentDivision"] == _practice(sandbox)
    assert me["__metadata"]["type"] == "Exact.Web.Api.System.Me"
    assert me["__metadata"]["uri"].endswith(f"/api/v1/current/Me(guid'{me['UserID']}')")
    assert re.fullmatch(r"/Date\(\d{13}\)/", me["ServerTime"])
    assert me["IsClientUser"] is False


def test_me_select_and_changeable_current_division(sandbox):
    token = connect(sandbox)["access_token"]
    other = _company(sandbox, kind="client", login_has_access=True, granted_to_app=True)["division"]
    assert control(sandbox, "POST", "current-division", {"division": other}).status_code == 200
    me = api_get(sandbox, token, "current/Me", {"$select": "CurrentDivision"}).json()["d"][
        "results"
    ][0]
    assert set(me) == {"__metadata", "CurrentDivision"}
    assert me["CurrentDivision"] == other


def test_client_login_me(sandbox):
    token = connect(sandbox, role="client")["access_token"]
    me = api_get(sandbox, token, "current/Me").json()["d"]["results"][0]
    assert me["IsClientUser"] is True
    assert me["CurrentDivision"] == sandbox.seed["logins"][1]["company"]


# ---------------------------------------------------------------------------- 401
def test_unknown_token_is_401_odata(sandbox):
    reply = api_get(sandbox, "nope", "current/Me")
    assert reply.status_code == 401
    assert reply.json() == {
        "error": {"code": "", "message": {"lang": "", "value": "Authentication Required"}}
    }


def test_access_token_expires_after_600_seconds(sandbox):
    token = connect(sandbox)["access_token"]
    advance(sandbox, 599)
    assert api_get(sandbox, token, "current/Me").status_code == 200
    advance(sandbox, 1)
    assert api_get(sandbox, token, "current/Me").status_code == 401


def test_html_401_switch(sandbox_factory):
    sb = sandbox_factory(clients=3, html_401=True)
    reply = api_get(sb, "nope", "current/Me")
    assert reply.status_code == 401
    assert reply.headers["Content-Type"].startswith("text/html")
    assert "Object moved" in reply.text
    assert "/docs/Login.aspx?ReturnUrl=" in reply.text


# ---------------------------------------------------------------------------- system/Divisions
def test_system_divisions_is_accessible_and_granted(sandbox):
    token = connect(sandbox)["access_token"]
    reply = api_get(sandbox, token, f"{_practice(sandbox)}/system/Divisions")
    assert reply.status_code == 200
    rows = reply.json()["d"]["results"]
    assert [r["Code"] for r in rows] == sandbox.seed["visible_divisions"]
    hq = _company(sandbox, hq=True)
    assert hq["division"] > 10_000_000
    assert hq["division"] not in {r["Code"] for r in rows}
    row = next(r for r in rows if r["Code"] == _practice(sandbox))
    for field in (
        "Code",
        "Description",
        "Hid",
        "Customer",
        "CustomerName",
        "VATNumber",
        "ChamberOfCommerceNumber",
        "Status",
        "BlockingStatus",
        "IsMainDivision",
    ):
        assert field in row
    assert row["IsPracticeDivision"] is True and row["Current"] is True
    assert "Blocked" not in row and "Main" not in row
    assert re.fullmatch(r"/Date\(-?\d+\)/", row["StartDate"])


def test_archived_listed_with_status_2_and_switch(sandbox, sandbox_factory):
    token = connect(sandbox)["access_token"]
    archived = _company(sandbox, status=2)
    rows = api_get(sandbox, token, f"{_practice(sandbox)}/system/Divisions").json()["d"]["results"]
    assert next(r for r in rows if r["Code"] == archived["division"])["Status"] == 2
    sb = sandbox_factory(clients=12, list_archived=False)
    token = connect(sb)["access_token"]
    rows = api_get(sb, token, f"{_practice(sb)}/system/Divisions").json()["d"]["results"]
    assert archived["division"] not in {r["Code"] for r in rows}


def test_system_divisions_pages_by_60_with_skiptoken(sandbox_factory):
    sb = sandbox_factory(clients=150, seed=3)
    token = connect(sb, select="all")["access_token"]
    rows, pages = _all_pages(
        sb, token, f"{_practice(sb)}/system/Divisions", {"$select": "Code,Description"}
    )
    assert [len(p.json()["d"]["results"]) for p in pages][:2] == [60, 60]
    nxt = pages[0].json()["d"]["__next"]
    assert "$skiptoken=" in nxt and "$select=Code,Description" in nxt
    expected = sorted(
        c["division"] for c in sb.seed["companies"] if c["login_has_access"] and not c["hq"]
    )
    assert [r["Code"] for r in rows] == expected
    assert set(rows[0]) == {"__metadata", "Code", "Description"}


def test_url_division_not_validated_when_lenient(sandbox_factory):
    sb = sandbox_factory(clients=12, profile="lenient")  # lenient by name: strict validates it
    token = connect(sb)["access_token"]
    assert api_get(sb, token, "123456/system/Divisions").status_code == 200


def test_strict_divisions_url_switch(sandbox_factory):
    sb = sandbox_factory(clients=12, strict_divisions_url=True)
    token = connect(sb)["access_token"]
    not_granted = _company(sb, kind="client", granted_to_app=False, login_has_access=True)[
        "division"
    ]
    reply = api_get(sb, token, f"{not_granted}/system/Divisions")
    assert reply.status_code == 403
    assert reply.json() == NOT_IN_SCOPE


def test_select_unknown_property_is_400(sandbox):
    token = connect(sandbox)["access_token"]
    reply = api_get(
        sandbox, token, f"{_practice(sandbox)}/system/Divisions", {"$select": "Code,Main"}
    )
    assert reply.status_code == 400
    assert "'Main'" in reply.json()["error"]["message"]["value"]


def test_filter_on_divisions(sandbox):
    token = connect(sandbox)["access_token"]
    target = next(
        c
        for c in sandbox.seed["companies"]
        if c["division"] in sandbox.seed["visible_divisions"] and c["kind"] == "client"
    )
    reply = api_get(
        sandbox,
        token,
        f"{_practice(sandbox)}/system/Divisions",
        {"$filter": f"VATNumber eq '{target['vat_number']}'", "$select": "Code"},
    )
    assert [r["Code"] for r in reply.json()["d"]["results"]] == [target["division"]]


def test_top_gives_a_bare_array_unless_inlinecount(sandbox):
    token = connect(sandbox)["access_token"]
    path = f"{_practice(sandbox)}/system/Divisions"
    bare = api_get(sandbox, token, path, {"$top": "2", "$select": "Code"}).json()
    assert isinstance(bare["d"], list) and len(bare["d"]) == 2
    wrapped = api_get(sandbox, token, path, {"$top": "2", "$inlinecount": "allpages"}).json()
    assert len(wrapped["d"]["results"]) == 2
    assert wrapped["d"]["__count"] == str(len(sandbox.seed["visible_divisions"]))


# ---------------------------------------------------------------------------- other lists
def test_all_divisions_is_the_whole_license(sandbox):
    token = connect(sandbox, select="all")["access_token"]
    hq = _company(sandbox, hq=True)
    owner = _company(sandbox, kind="client", license=hq["license"])
    rows = api_get(sandbox, token, f"{owner['division']}/system/AllDivisions").json()["d"][
        "results"
    ]
    assert sorted(r["Code"] for r in rows) == sorted([owner["division"], hq["division"]])
    assert rows[0]["__metadata"]["type"] == "Exact.Web.Api.System.AllDivision"


def test_hrm_divisions_single_license_own_fields(sandbox):
    token = connect(sandbox, select="all")["access_token"]
    archived = _company(sandbox, status=2)
    rows = api_get(sandbox, token, f"{archived['division']}/hrm/Divisions").json()["d"]["results"]
    assert [r["Code"] for r in rows] == [archived["division"]]
    assert rows[0]["Status"] == 1  # hrm: 1 = archived
    assert "HID" in rows[0] and "Main" in rows[0]
    assert "Hid" not in rows[0] and "ChamberOfCommerceNumber" not in rows[0]


def test_user_has_rights(sandbox):
    token = connect(sandbox)["access_token"]
    path = f"{_practice(sandbox)}/users/UserHasRights"
    reply = api_get(sandbox, token, path, {"endpoint": "'crm/Accounts'", "action": "'GET'"})
    assert reply.status_code == 200
    assert reply.json() == {"d": {"UserHasRights": True}}
    reply = api_get(sandbox, token, path, {"endpoint": "'system/Divisions'", "action": "'POST'"})
    assert reply.json() == {"d": {"UserHasRights": False}}
    assert (
        api_get(sandbox, token, path, {"endpoint": "crm/Accounts", "action": "'GET'"}).status_code
        == 400
    )


# ---------------------------------------------------------------------------- crm/Accounts
def test_accounts_require_select(sandbox):
    token = connect(sandbox)["access_token"]
    path = f"{_practice(sandbox)}/crm/Accounts"
    reply = api_get(sandbox, token, path)
    assert reply.status_code == 400
    assert reply.json()["error"]["message"]["value"] == (
        "Please add a $select or a $top=1 statement to the query string."
    )
    assert api_get(sandbox, token, path, {"$top": "1"}).status_code == 200


def test_accounts_paging_filter_and_key(sandbox):
    token = connect(sandbox)["access_token"]
    path = f"{_practice(sandbox)}/crm/Accounts"
    rows, pages = _all_pages(sandbox, token, path, {"$select": "ID,Code,Name"})
    assert len(rows) == 130 and len(pages) == 3
    assert "$skiptoken=guid'" in pages[0].json()["d"]["__next"]
    assert len(rows[0]["Code"]) == 18 and rows[0]["Code"].startswith(" ")
    code = rows[5]["Code"].strip()
    padded = api_get(sandbox, token, path, {"$select": "ID", "$filter": f"trim(Code) eq '{code}'"})
    assert [r["ID"] for r in padded.json()["d"]["results"]] == [rows[5]["ID"]]
    unpadded = api_get(sandbox, token, path, {"$select": "ID", "$filter": f"Code eq '{code}'"})
    assert unpadded.json()["d"]["results"] == []
    one = api_get(sandbox, token, f"{path}(guid'{rows[5]['ID']}')", {"$select": "Name"})
    assert one.json() == {"d": {"__metadata": rows[5]["__metadata"], "Name": rows[5]["Name"]}}
    bad = api_get(sandbox, token, path, {"$select": "ID", "$filter": "ID eq guid'nope'"})
    assert bad.status_code == 400
    assert "Unrecognized 'Edm.Guid' literal" in bad.json()["error"]["message"]["value"]


# ---------------------------------------------------------------------------- 403 and 404
def test_not_granted_division_is_out_of_scope(sandbox):
    token = connect(sandbox)["access_token"]
    division = _company(sandbox, kind="client", granted_to_app=False, login_has_access=True)[
        "division"
    ]
    reply = api_get(sandbox, token, f"{division}/crm/Accounts", {"$select": "ID"})
    assert reply.status_code == 403
    assert reply.json() == NOT_IN_SCOPE
    assert "Reason" not in reply.headers


def test_no_access_gives_reason_header(sandbox):
    token = connect(sandbox)["access_token"]
    division = _company(sandbox, login_has_access=False)["division"]
    reply = api_get(sandbox, token, f"{division}/crm/Accounts", {"$select": "ID"})
    assert reply.status_code == 403
    assert reply.headers["Reason"] == "NoDivisionAccess"
    assert reply.json()["error"]["message"]["value"] == "Forbidden"


def test_blocked_division_gives_division_blocked(sandbox):
    token = connect(sandbox)["access_token"]
    blocked = _company(sandbox, blocking_status=1)
    assert blocked["granted_to_app"] and blocked["login_has_access"]
    listed = api_get(sandbox, token, f"{_practice(sandbox)}/system/Divisions").json()["d"][
        "results"
    ]
    assert next(r for r in listed if r["Code"] == blocked["division"])["BlockingStatus"] == 1
    reply = api_get(
        sandbox,
        token,
        f"{blocked['division']}/users/UserHasRights",
        {"endpoint": "'crm/Accounts'", "action": "'GET'"},
    )
    assert reply.status_code == 403
    assert reply.headers["Reason"] == "DivisionBlocked"


def test_all_grant_includes_future_administrations(sandbox):
    token = connect(sandbox, select="all")["access_token"]
    division = _company(sandbox, login_has_access=False)["division"]
    control(sandbox, "POST", "grant", {"remove": [division]})
    control(sandbox, "POST", "access", {"division": division, "has_access": True})
    reply = api_get(sandbox, token, f"{division}/crm/Accounts", {"$select": "ID"})
    assert reply.status_code == 200


def test_unknown_resource_is_404(sandbox):
    token = connect(sandbox)["access_token"]
    reply = api_get(sandbox, token, f"{_practice(sandbox)}/crm/Nothing")
    assert reply.status_code == 404
    assert reply.json()["error"]["message"]["value"] == "Not found"


def test_test_app_without_division_scoping(sandbox_factory):
    sb = sandbox_factory(clients=12, division_scoping=False)
    token = connect(sb)["access_token"]
    rows = api_get(sb, token, f"{_practice(sb)}/system/Divisions").json()["d"]["results"]
    expected = sorted(
        c["division"] for c in sb.seed["companies"] if c["login_has_access"] and not c["hq"]
    )
    assert [r["Code"] for r in rows] == expected


def test_only_get_is_served(sandbox):
    token = connect(sandbox)["access_token"]
    reply = requests.post(
        f"{sandbox.base_url}/api/v1/{_practice(sandbox)}/crm/Accounts",
        json={"Name": "x"},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=5,
    )
    assert reply.status_code == 405
    assert reply.json()["error"]["message"]["value"] == "Method not allowed"


def test_hrm_filter_uses_uppercase_hid(sandbox):
    token = connect(sandbox)["access_token"]
    path = f"{_practice(sandbox)}/hrm/Divisions"
    ok = api_get(sandbox, token, path, {"$filter": "HID eq 1", "$select": "Code,HID"})
    assert [r["Code"] for r in ok.json()["d"]["results"]] == [_practice(sandbox)]
    assert api_get(sandbox, token, path, {"$filter": "Hid eq 1"}).status_code == 400


def test_user_has_rights_needs_both_parameters(sandbox):
    token = connect(sandbox)["access_token"]
    reply = api_get(
        sandbox, token, f"{_practice(sandbox)}/users/UserHasRights", {"action": "'GET'"}
    )
    assert reply.status_code == 400
    assert "endpoint" in reply.json()["error"]["message"]["value"]


def test_top_over_a_page_pages_with_a_reduced_top(sandbox):
    token = connect(sandbox)["access_token"]
    path = f"{_practice(sandbox)}/crm/Accounts"
    reply = api_get(
        sandbox, token, path, {"$select": "ID", "$top": "100", "$inlinecount": "allpages"}
    )
    d = reply.json()["d"]
    assert len(d["results"]) == 60 and d["__count"] == "130"
    assert "$top=40" in d["__next"]


def test_top_bare_array_switch(sandbox_factory):
    sb = sandbox_factory(clients=3, top_bare_array=False)
    token = connect(sb)["access_token"]
    d = api_get(sb, token, f"{_practice(sb)}/system/Divisions", {"$top": "1"}).json()["d"]
    assert isinstance(d, dict) and len(d["results"]) == 1


def test_keys_only_on_accounts(sandbox):
    token = connect(sandbox)["access_token"]
    division = _practice(sandbox)
    assert api_get(sandbox, token, f"{division}/system/Divisions({division})").status_code == 404
    missing = api_get(
        sandbox, token, f"{division}/crm/Accounts(guid'00000000-0000-4000-8000-000000000000')"
    )
    assert missing.status_code == 404
