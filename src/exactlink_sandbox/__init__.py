"""A faithful local Exact Online: OAuth 2.0 server and REST API on 127.0.0.1.

Used by exactlink's tests, by ``exactlink demo`` and by people rehearsing an onboarding::

    from exactlink_sandbox import Sandbox

    with Sandbox(clients=5, seed=1) as sb:        # profile="strict", the default
        sb.base_url          # "http://127.0.0.1:PORT": /api/oauth2/auth, /api/oauth2/token, /api/v1/
        sb.seed              # the world as JSON (same as GET /_sandbox/seed)

    Sandbox(profile="lenient")                     # the forgiving behaviour of old clients

This package imports nothing from the rest of exactlink (a test checks it). Rules come from
``docs/exact-rules.md``; the profiles, switches and ``/_sandbox/`` controls are described in
``docs/sandbox.md``.
"""

from __future__ import annotations

from .seed import DEFAULT_REDIRECT_URI, HQ_CODE_FLOOR, LENIENT_REDIRECT_URI
from .server import PortInUseError, Sandbox
from .settings import PROFILES, Settings

__all__ = [
    "DEFAULT_REDIRECT_URI",
    "HQ_CODE_FLOOR",
    "LENIENT_REDIRECT_URI",
    "PROFILES",
    "PortInUseError",
    "Sandbox",
    "Settings",
]
