"""Scripted consent for when no person is there (``exactlink demo``, tests, rehearsal scripts).

:func:`authorize` does with :mod:`urllib` exactly what a person does in the browser: open the
authorize URL, fill in the login form, tick administrations on the consent page and press
*Allow* (or *Decline*). It reads the real HTML forms, so it only works against the sandbox's
pages; it never talks to the real Exact Online.

When the redirect URI is exactlink's relay page (a public HTTPS page, as the real Exact Online
requires), ``authorize(..., relay=True, follow=True)`` does what that page's script does in a
browser: :func:`relay_target` reads the port from ``state`` (``<nonce>.<port>``, 1024-65535)
and the browser goes to ``http://127.0.0.1:<port>/callback`` with the same query, never
anywhere else; without a port there is only :func:`relay_line`, the line the page shows.
This mirrors ``exactlink/relay/page.html`` in Python (this package imports nothing of
exactlink).
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

__all__ = ["AutoConsentError", "authorize", "relay_line", "relay_target"]

# The relay page's rule, character for character: a nonce, a dot, a port without leading zero.
_RELAY_STATE = re.compile(r"[A-Za-z0-9_-]{8,128}\.([1-9][0-9]{3,4})")


class AutoConsentError(RuntimeError):
    """The pages did not behave like the sandbox's login and consent pages."""


class _Form(HTMLParser):
    """Collects the first form's action, hidden fields and checkboxes."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.hidden: dict[str, str] = {}
        self.checkboxes: list[tuple[str, str, bool]] = []  # (name, value, checked)
        self.error: str | None = None
        self._in_form = False
        self._in_error = False

    def handle_starttag(self, tag: str, attrs) -> None:
        attr = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = attr.get("action", "")
            self._in_form = True
        elif tag == "input" and self._in_form:
            kind = attr.get("type", "text")
            if kind == "hidden":
                self.hidden[attr.get("name", "")] = attr.get("value", "")
            elif kind == "checkbox":
                self.checkboxes.append(
                    (attr.get("name", ""), attr.get("value", "on"), "checked" in attr)
                )
        elif tag == "p" and attr.get("id") == "error":
            self._in_error = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        if tag == "p":
            self._in_error = False

    def handle_data(self, data: str) -> None:
        if self._in_error:
            self.error = (self.error or "") + data


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _parse(html: str) -> _Form:
    form = _Form()
    form.feed(html)
    return form


def relay_line(location: str) -> str:
    """The line the relay page shows to copy: the query as the browser holds it."""
    query = urlsplit(location).query
    return "?" + query if query else ""


def relay_target(location: str) -> str | None:
    """Where the relay page forwards a browser that arrives at ``location``, or None (it then
    shows :func:`relay_line`). Only ``http://127.0.0.1:<port>/callback``, the query unchanged."""
    query = urlsplit(location).query
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, value)  # URLSearchParams.get: the first value
    if "code" not in params and "error" not in params:
        return None
    match = _RELAY_STATE.fullmatch(params.get("state", ""))
    if match is None or not 1024 <= int(match.group(1)) <= 65535:
        return None
    return f"http://127.0.0.1:{int(match.group(1))}/callback?{query}"


def authorize(
    auth_url: str,
    username: str,
    password: str,
    select: str | list[int] | None = None,
    decline: bool = False,
    follow: bool = False,
    timeout: float = 10.0,
    relay: bool = False,
) -> str:
    """Log in and answer the consent page; return the final redirect URL.

    ``select``: None keeps the page as it is (the pre-ticked administrations), ``"all"`` ticks
    "all current and future administrations", a list of division codes ticks exactly those.
    ``decline=True`` presses *Decline* (the redirect then carries ``error=access_denied``).
    ``follow=True`` also GETs the redirect URL, so a loopback listener receives it; with
    ``relay=True`` (the redirect URI is the relay page) it GETs :func:`relay_target` instead,
    when there is one.
    """
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)

    def fetch(url: str, data: dict | list | None = None) -> tuple[int, str, str | None]:
        body = urlencode(data, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(url, data=body)
        try:
            with opener.open(request, timeout=timeout) as response:
                return response.status, response.read().decode("utf-8"), None
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            return exc.code, text, exc.headers.get("Location")

    status, html, location = fetch(auth_url)
    if location:  # e.g. unsupported response_type: Exact redirects straight away
        return location
    page = _parse(html)
    if status != 200 or page.action is None:
        raise AutoConsentError(page.error or f"authorize page answered HTTP {status}")
    if page.hidden.get("step") == "login":
        fields = dict(page.hidden, username=username, password=password)
        status, html, location = fetch(urljoin(auth_url, page.action), fields)
        page = _parse(html)
        if page.hidden.get("step") != "consent":
            raise AutoConsentError(page.error or f"login failed (HTTP {status})")
    consent: list[tuple[str, str]] = list(page.hidden.items())
    consent.append(("action", "decline" if decline else "allow"))
    if select == "all":
        consent.append(("all", "1"))
        consent += [(n, v) for n, v, checked in page.checkboxes if n == "division" and checked]
    elif select is None:
        consent += [(n, v) for n, v, checked in page.checkboxes if checked]
    else:
        wanted = {str(int(code)) for code in select}
        offered = {v for n, v, _ in page.checkboxes if n == "division"}
        missing = wanted - offered
        if missing:
            raise AutoConsentError(
                "not on the consent page (the login has no access): " + ", ".join(sorted(missing))
            )
        consent += [("division", v) for v in sorted(wanted)]
    status, html, location = fetch(urljoin(auth_url, page.action), consent)
    if status != 302 or not location:
        raise AutoConsentError(_parse(html).error or f"consent answered HTTP {status}")
    target = relay_target(location) if relay else location
    if follow and target:
        try:
            with urllib.request.urlopen(target, timeout=timeout) as response:
                response.read()
        except urllib.error.HTTPError:
            pass  # the listener answered; what it said is its own business
    return location
