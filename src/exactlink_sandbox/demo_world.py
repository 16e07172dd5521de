"""The demo's world: which of the seed's companies and logins play which part in ``exactlink demo``.

A pure function of the seed (``Sandbox.seed`` or ``GET /_sandbox/seed``), so the story is the same
for a given client count. The answer is plain JSON data; exactlink's demo service reads it.
"""

from __future__ import annotations

from typing import Any


def _company(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": data["name"],
        "email": data.get("email") or "",
        "vat": data.get("vat_number") or "",
        "coc": data.get("coc_number") or "",
        "division": int(data["division"]),
    }


def _usable(company: dict[str, Any]) -> bool:
    return company["login_has_access"] and company["status"] == 1 and not company["blocking_status"]


def cast(seed: dict[str, Any]) -> dict[str, Any]:
    """Pick the parts from the world (docs/sandbox.md, "The seed"); needs 7 or more clients.

    ``own_link``: linked earlier with its own Exact login (the *Overschrijven* case);
    ``not_granted``: its administration is not granted to the app (doctor's ✗); ``pending``: two
    clients that have not added the firm in Toegangsbeheer yet, of which ``grants_now`` does so
    during the demo (the other one is an inactive company when the seed has one, as in real life).
    """
    logins = {login["username"]: login for login in seed["logins"]}
    firm = logins[seed["firm_login"]]
    clients = [c for c in seed["companies"] if c["kind"] == "client"]
    own = next(c for c in clients if c.get("own_login") in logins)
    ordinary = [c for c in clients if c["granted_to_app"] and _usable(c) and c is not own]
    not_granted = next(c for c in clients if not c["granted_to_app"] and _usable(c))
    grants_now = ordinary[-1]
    others = [c for c in clients if c is not own and c is not not_granted and c is not grants_now]
    stays = next((c for c in others if c["status"] == 0), others[-1])
    return {
        "firm_name": seed["firm"]["name"],
        "firm_email": seed["firm"]["email"],
        "firm_vat": seed["firm"].get("vat_number") or "",
        "firm_login": {"username": firm["username"], "password": firm["password"]},
        "clients": [_company(c) for c in clients],
        "own_link": _company(own),
        "own_login": {
            "username": own["own_login"],
            "password": logins[own["own_login"]]["password"],
        },
        "not_granted": _company(not_granted),
        "pending": [_company(grants_now), _company(stays)],
        "grants_now": _company(grants_now),
    }
