"""Scripted consent for when no person is there (``exactlink demo``, tests, rehearsal scripts).

:func:`authorize` does with :mod:`urllib` exactly what a person does in the browser: open the
authorize URL, fill in the login form, tick administrations on the consent page and press
*Allow* (or *Decline*). It reads the real HTML forms, so it only works against the sandbox's
pages; it never talks to the real Exact Online.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from urllib.parse import urlencode, urljoin

__all__ = ["AutoConsentError", "authorize"]


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


def authorize(
    auth_url: str,
    username: str,
    password: str,
    select: str | list[int] | None = None,
    decline: bool = False,
    follow: bool = False,
    timeout: float = 10.0,
) -> str:
    """Log in and answer the consent page; return the final redirect URL.

    ``select``: None keeps the page as it is (the pre-ticked administrations), ``"all"`` ticks
    "all current and future administrations", a list of division codes ticks exactly those.
    ``decline=True`` presses *Decline* (the redirect then carries ``error=access_denied``).
    ``follow=True`` also GETs the redirect URL, so a loopback listener receives it.
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
    if follow:
        try:
            with urllib.request.urlopen(location, timeout=timeout) as response:
                response.read()
        except urllib.error.HTTPError:
            pass  # the listener answered; what it said is its own business
    return location
