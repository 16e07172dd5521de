"""HTTP plumbing shared by OAuth and the REST client: sessions, timeouts, redacted debug logs.

Every call has a connect and a read timeout and a total deadline (``deadline.py``: a server that
drips bytes cannot hold a call past it), so a hung Exact never hangs a cron job. ``requests``
exceptions become ``ExactUnreachable`` (``ExactTooSlow`` past the deadline) here and nowhere
else, and ``EXACTLINK_DEBUG_HTTP=1`` logs each exchange to stderr with the Authorization header,
the client secret, codes and tokens replaced by ``***``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from exactlink import __version__
from exactlink.adapters.limits import env_seconds
from exactlink.errors import ExactTooSlow, ExactUnreachable
from exactlink.i18n import _

if TYPE_CHECKING:
    import requests

# (connect, read) seconds. Exact answers within seconds; a minute-long read is a dead server.
TIMEOUT = (10.0, 60.0)
# The whole exchange (connect, send, headers, body), whatever the server drips. A token refresh
# is one exchange and another process waits for it under the token lock (tokens.LOCK_TIMEOUT,
# 120 s): the default stays well below that.
DEADLINE_ENV = "EXACTLINK_HTTP_DEADLINE"
DEFAULT_DEADLINE = 60.0
DEADLINE_RANGE = (1.0, 600.0)
USER_AGENT = f"exactlink/{__version__}"

# Field names whose values never reach a log, in forms, JSON bodies or query strings.
SECRET_FIELDS = frozenset(
    {"access_token", "refresh_token", "client_secret", "code", "password", "id_token"}
)
REDACTED = "***"


def debug_enabled() -> bool:
    return os.environ.get("EXACTLINK_DEBUG_HTTP", "").strip().lower() in {"1", "true", "yes", "on"}


def _debug(text: str, *args: Any) -> None:
    """One line of the HTTP debug log on stderr (read at call time: the CLI may swap it)."""
    sys.stderr.write("http: " + (text % args) + "\n")
    sys.stderr.flush()


POOL_SIZE = 20


def new_session() -> requests.Session:
    """One session per connection: keep-alive, ``Accept: application/json`` (else Exact sends
    Atom/XML, reference §3.1). Proxy and CA-bundle variables of the environment apply as usual;
    a sandbox on loopback behind a proxy needs ``NO_PROXY=127.0.0.1,localhost`` (the demo and
    the tests set it)."""
    import requests

    from exactlink.adapters.exact.deadline import DeadlineAdapter

    session = requests.Session()
    # Connections a Deadline can stop (adapters.exact.deadline), with room for every probe
    # worker of `activate --all` (exact.probe_workers, at most 16) to keep its connection:
    # urllib3's default of 10 would drop and reopen them, with a warning.
    adapter = DeadlineAdapter(pool_maxsize=POOL_SIZE)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
    return session


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(k, REDACTED if k in SECRET_FIELDS else v) for k, v in parse_qsl(parts.query, True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="'$,()")))


def redact_form(data: dict[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    return {k: (REDACTED if k in SECRET_FIELDS else v) for k, v in data.items()}


_TOKEN_IN_TEXT = re.compile(
    r'("(?:' + "|".join(sorted(SECRET_FIELDS)) + r')"\s*:\s*)"[^"]*"', re.IGNORECASE
)


def redact_text(text: str) -> str:
    """Token fields inside a JSON text (a token response) become ``***``."""
    return _TOKEN_IN_TEXT.sub(lambda m: m.group(1) + f'"{REDACTED}"', text)


def redact_headers(headers: Any) -> dict[str, str]:
    shown = {}
    for name, value in dict(headers or {}).items():
        if name.lower() in ("authorization", "cookie", "set-cookie", "proxy-authorization"):
            value = value.split(" ", 1)[0] + " " + REDACTED if " " in value else REDACTED
        shown[name] = value
    return shown


def request_deadline() -> float:
    """Seconds one exchange may take in total: ``EXACTLINK_HTTP_DEADLINE`` (1 to 600), else 60."""
    return env_seconds(DEADLINE_ENV, DEFAULT_DEADLINE, *DEADLINE_RANGE)


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    params: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    json_body: Any = None,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    timeout: tuple[float, float] = TIMEOUT,
    deadline: float | None = None,
) -> requests.Response:
    """One HTTP exchange, body read, within ``deadline`` seconds in all (default:
    ``request_deadline()``); network failures become ``ExactUnreachable`` (exit 8), a passed
    deadline ``ExactTooSlow`` (exit 8)."""
    import requests

    from exactlink.adapters.exact.deadline import Deadline

    total = request_deadline() if deadline is None else deadline
    debug = debug_enabled()
    if debug:
        shown = url + ("?" + urlencode(params, safe="'$,()") if params else "")
        _debug("> %s %s", method, redact_url(shown))
        _debug("> headers %s", redact_headers({**session.headers, **(headers or {})}))
        if data:
            _debug("> form %s", redact_form(data))
        if json_body is not None:
            _debug("> json %s", redact_text(json.dumps(json_body)))
    host = _host(url)
    with Deadline(total) as clock:
        try:
            response = session.request(
                method,
                url,
                params=params,
                data=data,
                json=json_body,
                headers=headers,
                auth=auth,
                timeout=(min(timeout[0], total), min(timeout[1], total)),
                allow_redirects=False,
                stream=True,
            )
            with response:
                response.content  # noqa: B018 (the property reads the whole body, in time)
        except requests.RequestException as exc:
            if debug:
                _debug("< %s", "deadline" if clock.expired else type(exc).__name__)
            if clock.expired:
                raise too_slow(host, total) from None
            raise ExactUnreachable(
                _("Exact Online ({host}) did not answer: {kind}.").format(
                    host=host, kind=type(exc).__name__
                ),
                hint=_("Check the network (or the sandbox), then try again."),
            ) from None
        if clock.expired:
            # The socket was shut down mid-answer: what arrived may look complete, it is not.
            if debug:
                _debug("< deadline")
            raise too_slow(host, total)
    if debug:
        _debug("< %s %s", response.status_code, response.reason)
        _debug("< headers %s", redact_headers(response.headers))
        _debug("< body %s", redact_text(response.text[:2000]))
    return response


def _host(url: str) -> str:
    """``host[:port]`` of ``url``, never its user info (a token must not reach a message)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def too_slow(host: str, seconds: float) -> ExactTooSlow:
    return ExactTooSlow(
        _("Exact Online ({host}) did not finish answering within {seconds:g} s.").format(
            host=host, seconds=seconds
        ),
        hint=_(
            "The network or the server is very slow; try again later. {variable} sets the "
            "limit per request (now {seconds:g} s, at most {high:g})."
        ).format(variable=DEADLINE_ENV, seconds=seconds, high=DEADLINE_RANGE[1]),
        details={"host": host, "deadline_seconds": seconds},
    )
