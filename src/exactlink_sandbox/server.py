"""The HTTP side: a threading server on 127.0.0.1 and the :class:`Sandbox` facade.

Routes (one "site", reference §1.1):

* ``/api/oauth2/auth`` (GET, POST; also with a trailing slash, §1.1 [R]): login and consent pages.
* ``/api/oauth2/token`` (POST, form-encoded only, §2.4).
* ``/api/v1/...``: the REST resources in :mod:`.api`.
* ``/_sandbox/...``: test controls in :mod:`.control` (not part of Exact Online).

With several country sites (``sites=("nl", "be")``) each site listens on its own port and
shares the world; a token belongs to the site that issued it (§1.1).
"""

from __future__ import annotations

import errno
import json
import socket
import threading
import time
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from . import api, control, oauth, pages
from .engine import Engine, Reply
from .odata import error_body
from .seed import DEFAULT_REDIRECT_URI, LENIENT_REDIRECT_URI, generate
from .settings import Settings

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
SITES = ("nl", "be", "de", "uk", "us", "es", "fr")  # §1.1: one site per country
SESSION_COOKIE = "ExactOnlineSandboxSession"
MAX_BODY = 10 * 1024 * 1024  # requests are limited to about 10 MB (§3.1 [R])


class PortInUseError(OSError):
    """The requested port is taken; the CLI maps it to its "unreachable" exit code (8)."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False  # a second sandbox on the same port must fail, not share it
    request_queue_size = 128  # sixteen processes refreshing at once must not be refused


class _Server6(_Server):
    """The same on IPv6 loopback (``--host ::1``)."""

    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server_version = "ExactOnlineSandbox/1.0"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, keep-alive clients wait for
    # the delayed ACK (~40 ms a response).
    disable_nagle_algorithm = True
    sandbox: Sandbox  # set on the per-instance subclass
    site: str = "nl"  # the country site this listener serves

    def log_message(self, format: str, *args) -> None:
        """Silent: a test run must not drown in access logs."""

    def setup(self) -> None:
        # A client that sends half a request (or nothing) is cut off, not waited for forever:
        # the socket timeout makes the read fail and the server closes the connection.
        self.request.settimeout(self.sandbox.settings.request_timeout_seconds)
        super().setup()

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header in the sandbox's clock, as Exact's own servers date an answer by
        theirs: a client measures a rate limit's Reset against it (§5.2)."""
        from email.utils import formatdate

        return formatdate(
            self.sandbox.engine.now() if timestamp is None else timestamp, usegmt=True
        )

    # ------------------------------------------------------------------ plumbing
    def _body(self) -> bytes:
        raw = self.headers.get("Content-Length") or "0"
        if not raw.strip().isdigit():
            raise _BadRequest(400, "invalid Content-Length")
        length = int(raw)
        if length > MAX_BODY:
            raise _BadRequest(413, "request too large")
        return self.rfile.read(length) if length else b""

    def _send(self, reply: Reply) -> None:
        if reply.drop:
            # The classic lost response (§2.6 [R], dotnet#152): the work is done, the client
            # never hears about it.
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def _redirect(self, location: str, cookie: str | None = None) -> None:
        headers = [("Location", location), ("Cache-Control", "no-store")]
        if cookie:
            headers.append(("Set-Cookie", cookie))
        self._send(Reply(302, b"", "text/html; charset=utf-8", headers))

    def _html(self, status: int, body: bytes, cookie: str | None = None) -> None:
        headers = [("Cache-Control", "no-store"), ("X-Frame-Options", "DENY")]
        if cookie:
            headers.append(("Set-Cookie", cookie))
        self._send(Reply(status, body, "text/html; charset=utf-8", headers))

    def _dispatch(self) -> None:
        sb = self.sandbox
        engine = sb.engine
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        try:
            body = self._body() if self.command in ("POST", "PUT", "DELETE") else b""
        except _BadRequest as exc:
            self.close_connection = True
            self._send(Reply.json(exc.status, {"error": str(exc)}))
            return
        if path.startswith("/_sandbox"):
            self._control(path, parts.query, body)
            return
        latency = engine.settings.latency_ms
        if latency:
            time.sleep(latency / 1000)  # a real firm's round trip, outside the engine lock
        limit = engine.settings.max_url_length
        if limit and len(self.path) > limit and path.startswith("/api/"):
            # §3.1 [R]: URLs of more than about 6,000 characters are refused.
            message = f"The URL is longer than {limit} characters."
            self._send(Reply.json(414, error_body(message)))
            return
        fault = engine.take_fault(path)
        if fault and fault["kind"] in ("http500", "http503"):
            status = 500 if fault["kind"] == "http500" else 503
            if path.startswith("/api/oauth2/token"):
                with engine.lock:
                    engine.token_calls += 1
                    engine.token_errors["injected_fault"] += 1
            elif path.startswith("/api/v1/"):
                with engine.lock:
                    engine.api_calls["fault"] += 1
                    engine.api_errors["fault"] += 1
            self._send(Reply.json(status, {"error": "Internal Server Error"}))
            return
        try:
            reply = self._route(path, parts.query, body)
        except Exception:
            reply = Reply.json(500, {"error": "Internal Server Error"})
        if fault and fault["kind"] in ("drop_after_rotate", "drop"):
            reply.drop = True
        self._send(reply)

    def _route(self, path: str, query: str, body: bytes) -> Reply:
        engine = self.sandbox.engine
        if path.rstrip("/") == "/api/oauth2/auth":
            return self._authorize(query, body)
        if path.rstrip("/") == "/api/oauth2/token":
            return self._token(body)
        if path.startswith("/api/v1/"):
            return api.handle(engine, self.command, path, query, self.headers, self.site)
        if path == "/" and self.command == "GET":
            return Reply(200, pages.landing_page(self.sandbox.base_url), "text/html; charset=utf-8")
        return Reply.json(404, {"error": "not found"})

    # ------------------------------------------------------------------ OAuth
    def _token(self, body: bytes) -> Reply:
        engine = self.sandbox.engine
        with engine.lock:
            engine.token_calls += 1
            if self.command != "POST":
                engine.token_errors["method_not_allowed"] += 1
                return Reply.json(
                    405, {"error": "invalid_request", "error_description": "Use POST."}
                )
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype != "application/x-www-form-urlencoded":
                # §2.4 [C]: form-encoded, never JSON.
                engine.token_errors["invalid_request"] += 1
                return Reply.json(
                    400,
                    {
                        "error": "invalid_request",
                        "error_description": "The request body must be form-encoded.",
                    },
                )
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            basic = engine.basic_credentials(self.headers.get("Authorization"))
            return oauth.token(engine, form, basic, self.site)

    def _session_login(self):
        engine = self.sandbox.engine
        cookie = SimpleCookie(self.headers.get("Cookie") or "")
        morsel = cookie.get(SESSION_COOKIE)
        if morsel is None:
            return None
        user_id = engine.sessions.get(morsel.value)
        return engine.logins_by_id.get(user_id) if user_id else None

    def _consent(self, txn: str, login, client_id: str, error: str | None = None) -> bytes:
        engine = self.sandbox.engine
        grant = engine.grant(client_id, login.user_id)
        companies = engine.accessible(login.user_id)
        ticked = {c.division for c in companies if grant.covers(c.division) and not grant.all}
        if grant.all:
            ticked = {c.division for c in companies if c.division in grant.divisions}
        return pages.consent_page(
            txn,
            engine.app["name"],
            login.full_name,
            companies,
            ticked,
            grant.all,
            engine.settings.division_scoping,
            error,
        )

    def _authorize(self, query: str, body: bytes) -> Reply:
        engine = self.sandbox.engine
        html = "text/html; charset=utf-8"
        if self.command == "GET":
            params = dict(parse_qsl(query, keep_blank_values=True))
            problem = oauth.check_client(
                engine, params.get("client_id"), params.get("redirect_uri")
            )
            if problem:
                return Reply(400, pages.error_page(problem), html)
            redirect_uri = params["redirect_uri"]
            if params.get("response_type") != "code":
                # Only the authorization-code flow is simulated (§2.2: implicit is no use to a CLI).
                sep = "&" if "?" in redirect_uri else "?"
                extra = "&state=" + _q(params["state"]) if "state" in params else ""
                return Reply(
                    302,
                    b"",
                    html,
                    [("Location", f"{redirect_uri}{sep}error=unsupported_response_type{extra}")],
                )
            login = self._session_login()
            if login is not None and params.get("force_login") != "1":
                txn = oauth.start_consent(
                    engine, params["client_id"], redirect_uri, params.get("state"), login
                )
                return Reply(
                    200,
                    self._consent(txn, login, params["client_id"]),
                    html,
                    [("Cache-Control", "no-store")],
                )
            return Reply(
                200,
                pages.login_page(params, engine.app["name"]),
                html,
                [("Cache-Control", "no-store")],
            )
        if self.command != "POST":
            return Reply(405, pages.error_page("Method not allowed."), html)
        form: dict[str, list[str]] = {}
        for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            form.setdefault(key, []).append(value)
        one = {k: v[0] for k, v in form.items()}
        if one.get("step") == "login":
            problem = oauth.check_client(engine, one.get("client_id"), one.get("redirect_uri"))
            if problem:
                return Reply(400, pages.error_page(problem), html)
            login = oauth.authenticate(engine, one.get("username", ""), one.get("password", ""))
            if login is None:
                page = pages.login_page(
                    one,
                    engine.app["name"],
                    "Gebruikersnaam of wachtwoord onjuist / Wrong user name or password.",
                )
                return Reply(200, page, html, [("Cache-Control", "no-store")])
            txn = oauth.start_consent(
                engine, one["client_id"], one["redirect_uri"], one.get("state"), login
            )
            sid = oauth.new_session(engine, login)
            cookie = f"{SESSION_COOKIE}={sid}; Path=/api/oauth2; HttpOnly; SameSite=Lax"
            return Reply(
                200,
                self._consent(txn, login, one["client_id"]),
                html,
                [("Cache-Control", "no-store"), ("Set-Cookie", cookie)],
            )
        if one.get("step") == "consent":
            return self._decide(form, one)
        return Reply(400, pages.error_page("Bad request."), html)

    def _decide(self, form: dict[str, list[str]], one: dict[str, str]) -> Reply:
        engine = self.sandbox.engine
        html = "text/html; charset=utf-8"
        divisions = [int(d) for d in form.get("division", []) if d.isdigit() and len(d) < 12]
        txn = one.get("txn", "")
        try:
            location = oauth.decide(
                engine,
                txn,
                one.get("action") == "allow",
                one.get("all") == "1",
                divisions,
                self.site,
            )
        except oauth.ConsentRefused as refused:
            pending = oauth.pending_txn(engine, txn)
            login = engine.logins_by_id[pending.user_id] if pending else None
            if pending is None or login is None:
                return Reply(400, pages.error_page(str(refused)), html)
            page = self._consent(txn, login, pending.client_id, str(refused))
            return Reply(200, page, html, [("Cache-Control", "no-store")])
        if location is None:
            return Reply(
                400, pages.error_page("This sign-in has expired. Please start again."), html
            )
        return Reply(302, b"", html, [("Location", location), ("Cache-Control", "no-store")])

    # ------------------------------------------------------------------ controls
    def _control(self, path: str, query: str, body: bytes) -> None:
        payload: dict = {}
        if body:
            try:
                payload = json.loads(body)
            except ValueError:
                self._send(Reply.json(400, {"error": "body must be JSON"}))
                return
            if not isinstance(payload, dict):
                self._send(Reply.json(400, {"error": "body must be a JSON object"}))
                return
        for key, value in parse_qsl(query):
            payload.setdefault(key, value)
        self._send(
            control.handle(self.sandbox.engine, self.command, path, payload, self.sandbox.seed)
        )

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _dispatch


def _q(value: str) -> str:
    return quote(value, safe="")


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Sandbox:
    """A local Exact Online on 127.0.0.1: ``Sandbox(clients=20, seed=1).start()``.

    ``profile`` is ``"strict"`` (the default: as strict as Exact Online, docs/exact-rules.md) or
    ``"lenient"`` (the forgiving behaviour of old); every other keyword is a :class:`Settings`
    switch set on top of the profile. ``port=0`` picks a free port; ``redirect_uri`` is the app's
    registered URI (default ``https://auth.exactlink.test/callback``, or the loopback
    ``http://127.0.0.1:8765/callback`` when lenient); a URI the profile's rules refuse raises
    ValueError naming the rule. ``sites`` lists the country sites to serve (each on its own
    port; ``base_urls``). Usable as a context manager (start on enter, stop on exit).
    """

    def __init__(
        self,
        clients: int = 20,
        seed: int = 1,
        port: int = 0,
        redirect_uri: str | None = None,
        *,
        host: str = "127.0.0.1",
        profile: str = "strict",
        sites: tuple[str, ...] | list[str] = ("nl",),
        **switches,
    ) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the sandbox binds to loopback only, not {host!r}")
        self.sites = tuple(str(site).lower() for site in sites)
        unknown = [site for site in self.sites if site not in SITES]
        if not self.sites or unknown or len(set(self.sites)) != len(self.sites):
            raise ValueError(f"sites must be distinct country sites out of {', '.join(SITES)}")
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port = port
        self.settings = Settings.for_profile(profile)
        self.settings.update(switches)
        if redirect_uri is None:
            redirect_uri = LENIENT_REDIRECT_URI if profile == "lenient" else DEFAULT_REDIRECT_URI
        problem = oauth.redirect_problem(redirect_uri, self.settings)
        if problem:
            raise ValueError(problem)
        self.world = generate(clients, seed, redirect_uri)
        self.engine = Engine(self.world, self.settings)
        self._servers: list[tuple[_Server, threading.Thread]] = []
        self.base_url = ""
        self.base_urls: dict[str, str] = {}
        # Complete once started (base_url is known only then); the world itself is fixed now.
        self.seed: dict = self._seed_json()

    @property
    def profile(self) -> str:
        return self.settings.profile

    def _seed_json(self) -> dict:
        data = self.world.to_json(self.base_url)
        data["profile"] = self.settings.profile
        data["sites"] = dict(self.base_urls)
        return data

    def start(self) -> Sandbox:
        """Bind and serve in background threads; raises :class:`PortInUseError` if taken."""
        for index, site in enumerate(self.sites):
            port = self.port if index == 0 else 0
            server = self._bind(site, port)
            bound = server.server_address[1]
            host = f"[{self.host}]" if ":" in self.host else self.host
            self.base_urls[site] = f"http://{host}:{bound}"
            # A short poll interval: stop() waits for the serving loop to notice, and tests
            # start and stop hundreds of sandboxes.
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"exact-sandbox-{site}-{bound}",
                daemon=True,
            )
            self._servers.append((server, thread))
        self.port = self._servers[0][0].server_address[1]
        self.base_url = self.base_urls[self.sites[0]]
        self.engine.base_url = self.base_url
        self.engine.site_urls = dict(self.base_urls)
        self.seed = self._seed_json()
        for _server, thread in self._servers:
            thread.start()
        return self

    def _bind(self, site: str, port: int) -> _Server:
        handler = type("SandboxHandler", (_Handler,), {"sandbox": self, "site": site})
        server_cls: type[_Server] = _Server6 if ":" in self.host else _Server
        try:
            return server_cls((self.host, port), handler)
        except OSError as exc:
            self.stop()
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(exc.errno, f"port {port} on {self.host} is in use") from exc
            raise

    def stop(self) -> None:
        """Stop serving and release the ports (idempotent)."""
        servers, self._servers = self._servers, []
        for server, thread in servers:
            if thread.is_alive():
                server.shutdown()
            server.server_close()
            thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Block until :meth:`stop` is called from another thread (or KeyboardInterrupt)."""
        if not self._servers:
            self.start()
        while any(thread.is_alive() for _server, thread in self._servers):
            self._servers[0][1].join(timeout=0.5)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (
            f"Sandbox(clients={self.world.clients}, seed={self.world.seed}, "
            f"profile={self.profile!r}, base_url={self.base_url!r})"
        )
