"""The test controls under ``/_sandbox/`` (JSON in, JSON out; documented in docs/sandbox.md).

Nothing here exists on the real Exact Online. Each control stands for something a person or Exact
does outside the API: time passing, an administrator changing rights in the Security Center
(reference §6.2) or on the user card (§6.3), a user switching company in the web UI (§3.1), a
lost network response (§2.6 [R]).
"""

from __future__ import annotations

import math

from . import oauth
from .engine import Engine, Reply
from .settings import LIMIT_KEYS

FAULT_KINDS = ("http500", "http503", "drop_after_rotate", "drop")


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _int(body: dict, key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise ControlError(f"'{key}' must be a division code (integer)")
    if int(value) >= 2**31:
        raise ControlError(f"'{key}' must be a division code (an Int32, §4.3)")
    return int(value)


def _bool(body: dict, key: str) -> bool:
    value = body.get(key)
    if not isinstance(value, bool):
        raise ControlError(f"'{key}' must be true or false")
    return value


def handle(engine: Engine, method: str, path: str, body: dict, seed: dict) -> Reply:
    """Dispatch one control request; unknown paths are 404, bad input 400."""
    try:
        return Reply.json(200, _dispatch(engine, method, path.rstrip("/"), body, seed))
    except ControlError as exc:
        return Reply.json(exc.status, {"error": str(exc)})
    except KeyError as exc:
        return Reply.json(404, {"error": str(exc.args[0]) if exc.args else "not found"})
    except ValueError as exc:
        return Reply.json(400, {"error": str(exc)})


def _dispatch(engine: Engine, method: str, path: str, body: dict, seed: dict) -> dict:
    route = (method, path)
    if route == ("GET", "/_sandbox/seed"):
        return seed
    if route == ("GET", "/_sandbox/stats"):
        return engine.stats()
    if route == ("POST", "/_sandbox/stats/reset"):
        engine.reset_stats()
        return engine.stats()
    if route == ("GET", "/_sandbox/clock"):
        return engine.clock_json()
    if route == ("POST", "/_sandbox/clock"):
        seconds = body.get("advance_seconds")
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not math.isfinite(seconds)
            or seconds < 0
        ):
            raise ControlError("'advance_seconds' must be a non-negative number")
        return engine.advance(float(seconds))
    if route == ("GET", "/_sandbox/profile"):
        return {"profile": engine.settings.profile}
    if path in ("/_sandbox/limits", "/_sandbox/switches"):
        only = LIMIT_KEYS if path.endswith("limits") else None
        if method == "POST":
            with engine.lock:
                engine.settings.update(body, only=only)
        return engine.settings.limits() if only else engine.settings.to_json()
    with engine.lock:
        login = engine.login(body.get("username"))
        client_id = body.get("client_id") or engine.app["client_id"]
        if route == ("POST", "/_sandbox/grant"):
            return engine.set_grant(login, body)
        if route == ("GET", "/_sandbox/grant"):
            return {
                "username": login.username,
                "client_id": client_id,
                **engine.grant(client_id, login.user_id).to_json(),
            }
        if route == ("POST", "/_sandbox/access"):
            return engine.set_access(login, _int(body, "division"), _bool(body, "has_access"))
        if route == ("POST", "/_sandbox/current-division"):
            division = _int(body, "division")
            engine.current_division[login.user_id] = division
            return {"username": login.username, "current_division": division}
        if route == ("POST", "/_sandbox/revoke"):
            killed = oauth.revoke(engine, client_id, login.user_id)
            return {
                "username": login.username,
                "client_id": client_id,
                "revoked_refresh_tokens": killed,
            }
        if route == ("GET", "/_sandbox/chain"):
            return {
                "username": login.username,
                "client_id": client_id,
                **oauth.chain_json(engine, client_id, login.user_id),
            }
        if route == ("POST", "/_sandbox/company"):
            company = engine.companies.get(_int(body, "division"))
            if company is None:
                raise KeyError(f"unknown division: {body.get('division')}")
            limits = {"status": 2, "blocking_status": 6}  # the values of §4.3
            changes = {key: body[key] for key in limits if key in body}
            for key, value in changes.items():
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ControlError(f"'{key}' must be a non-negative integer")
                if value > limits[key]:
                    raise ControlError(f"'{key}' must be at most {limits[key]} (reference §4.3)")
            edition = body.get("edition")
            if edition is not None and edition not in ("standard", "premium"):
                raise ControlError('\'edition\' must be "standard" or "premium"')
            for key, value in changes.items():
                setattr(company, key, value)
            if edition is not None:  # an edition is the licence's: every division of it
                for other in engine.companies.values():
                    if other.license == company.license:
                        other.edition = edition
            engine.changed()
            return {
                "division": company.division,
                "name": company.name,
                "status": company.status,
                "blocking_status": company.blocking_status,
                "edition": company.edition,
            }
        if route == ("POST", "/_sandbox/faults"):
            kind, target, count = body.get("kind"), body.get("path", "token"), body.get("count", 1)
            if kind not in FAULT_KINDS:
                raise ControlError(f"'kind' must be one of {', '.join(FAULT_KINDS)}")
            if not isinstance(target, str) or not target:
                raise ControlError(
                    "'path' must be 'token', 'auth', 'api' or a path like /api/v1/..."
                )
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ControlError("'count' must be a positive integer")
            engine.faults.append({"kind": kind, "path": target, "count": count})
            return {"faults": [dict(f) for f in engine.faults]}
        if route == ("GET", "/_sandbox/faults"):
            return {"faults": [dict(f) for f in engine.faults]}
        if route == ("DELETE", "/_sandbox/faults"):
            engine.faults.clear()
            return {"faults": []}
    raise ControlError(f"no control {method} {path}", status=404)
