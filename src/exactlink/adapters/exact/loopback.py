"""A loopback listener for the OAuth redirect (RFC 8252 §7.3).

It binds to 127.0.0.1 only, before the browser opens (so a busy port is reported at once), and
waits for the one request on the redirect path that carries this attempt's ``state``
(``expect()``): that answer (a code, or an error such as a declined consent) gets a small page
that sends the person back to the terminal and ends the wait. Any other request, with another
or no ``state`` (an old tab, another local user, a web page that navigates the browser to
127.0.0.1, an ``error=access_denied`` nobody gave), gets a fixed error page that echoes nothing
of it, and the listener keeps waiting until its timeout. The loopback modes and the relay mode
share this rule. ``https://localhost`` URIs get TLS with a self-signed certificate
made on first use in ``paths.tls_dir`` (``cryptography`` is imported only then).

A threading server, because browsers open spare connections that never send a request; a
single-threaded one would sit on those until its timeout.
"""

from __future__ import annotations

import datetime as _dt
import errno
import html
import ipaddress
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from exactlink.errors import Cancelled, ExactUnreachable, UsageError
from exactlink.i18n import _
from exactlink.paths import ensure_private_dir, write_private_file

CERT_FILE = "localhost.pem"
KEY_FILE = "localhost-key.pem"
CERT_DAYS = 825  # browsers cap leaf certificates near this


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # POSIX SO_REUSEADDR lets a second `exact connect` bind the port while the last one's
    # socket sits in TIME_WAIT, yet still refuses a port another program listens on. On
    # Windows it would let two programs share a port, so it stays off there.
    allow_reuse_address = os.name != "nt"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Silent: a browser's spare connection or a refused TLS handshake is no news."""


def _page(title: str, text: str) -> bytes:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>"
        '<body style="font-family:system-ui,sans-serif;max-width:36em;margin:4em auto">'
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    ).encode()


class LoopbackListener:
    """Listen on the redirect URI's port; ``wait()`` returns the full redirect URL."""

    def __init__(self, redirect_uri: str, tls_dir: Path | None = None) -> None:
        parts = urlsplit(redirect_uri)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1") or not parts.port:
            raise UsageError(
                _("{uri} is not a loopback redirect URI with a port.").format(uri=redirect_uri)
            )
        self.redirect_uri = redirect_uri
        self.tls = parts.scheme == "https"
        self.host = "::1" if parts.hostname == "::1" else "127.0.0.1"
        self.port = parts.port
        self.path = parts.path or "/"
        self.tls_dir = tls_dir
        self._state: str | None = None
        self._received: str | None = None
        self._done = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> LoopbackListener:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "exactlink"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != listener.path or listener._done.is_set():
                    self._reply(404, _page(_("Not found"), ""))
                    return
                params = dict(parse_qsl(parts.query))
                if not listener.accepts(params):
                    # Not this attempt's state (an old tab, another program): keep waiting.
                    self._reply(
                        400,
                        _page(
                            _("Not this attempt"),
                            _("This answer belongs to another attempt; see the terminal."),
                        ),
                    )
                    return
                if "error" in params:
                    body = _page(
                        _("Not connected"),
                        _("Exact Online did not give access. See the terminal for what to do."),
                    )
                else:
                    body = _page(
                        _("Connected"),
                        _(
                            "exactlink received Exact Online's answer. You can close this tab "
                            "and return to the terminal."
                        ),
                    )
                self._reply(200, body)
                listener._received = listener.received_value(self.path)
                listener._done.set()

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

        server_cls: type[_Server] = _Server
        if ":" in self.host:
            import socket

            server_cls = type("_Server6", (_Server,), {"address_family": socket.AF_INET6})
        try:
            server = server_cls((self.host, self.port), Handler)
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise ExactUnreachable(
                    _(
                        "Port {port} on {host} is in use, so the redirect from Exact cannot be "
                        "received."
                    ).format(port=self.port, host=self.host),
                    hint=self.busy_hint(),
                ) from None
            raise
        if self.tls:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            cert, key = ensure_certificate(self.tls_dir or Path("."))
            context.load_cert_chain(str(cert), str(key))
            # The handshake runs in the handler thread, not in accept(): a spare
            # connection that never speaks must not block the listener.
            server.socket = context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    # -- the answer ---------------------------------------------------------------------------
    def expect(self, state: str) -> None:
        """This attempt's ``state``: only a request carrying it ends the wait."""
        self._state = state

    def accepts(self, params: dict[str, str]) -> bool:
        """Whether a request on the path is this attempt's answer (success or error alike);
        before ``expect()`` nothing is."""
        return self._state is not None and params.get("state") == self._state

    # -- what the relay listener changes --------------------------------------------------------

    def received_value(self, request_path: str) -> str:
        """What ``wait()`` returns for the accepted request: the full redirect URL."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{urlsplit(self.redirect_uri).netloc}{request_path}"

    def busy_hint(self) -> str:
        return _(
            "Stop the program that uses it, or use --no-browser to paste the "
            "address instead (or register another redirect URI and run "
            "`exactlink exact app set --redirect-uri URI`)."
        )

    @property
    def done(self) -> bool:
        """The answer arrived (``wait()`` returns at once)."""
        return self._done.is_set()

    def wait(self, timeout: float) -> str:
        """The redirect URL the browser brought, or ``ExactUnreachable`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        try:
            while not self._done.wait(0.2):
                if time.monotonic() >= deadline:
                    raise ExactUnreachable(
                        _("No answer from the browser within {seconds:.0f} s.").format(
                            seconds=timeout
                        ),
                        hint=_(
                            "Run `exactlink exact connect` again (--timeout S for more time, "
                            "--no-browser to paste the address instead)."
                        ),
                    )
        except KeyboardInterrupt:
            raise Cancelled(_("Interrupted.")) from None
        assert self._received is not None
        return self._received

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LoopbackListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def ensure_certificate(tls_dir: Path) -> tuple[Path, Path]:
    """The self-signed certificate for localhost/127.0.0.1/::1, made on first use (key 0600)."""
    cert_path, key_path = tls_dir / CERT_FILE, tls_dir / KEY_FILE
    if cert_path.exists() and key_path.exists() and _still_valid(cert_path):
        return cert_path, key_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost (exactlink)")])
    now = _dt.datetime.now(_dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=CERT_DAYS))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    ensure_private_dir(tls_dir)
    write_private_file(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    write_private_file(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def _still_valid(cert_path: Path) -> bool:
    try:
        from cryptography import x509

        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return False
    left = cert.not_valid_after_utc - _dt.datetime.now(_dt.UTC)
    return left > _dt.timedelta(days=1) and os.access(cert_path, os.R_OK)


class RelayListener(LoopbackListener):
    """The relay mode's listener: ``http://127.0.0.1:<port>/callback`` on a free port (or the
    one asked for), where exactlink's relay page forwards the browser.

    Like every listener here, only a request that carries this attempt's ``state``
    (``expect()``) is the answer. ``wait()`` returns the query (``?code=...&state=...``), still
    URL-encoded: it is decoded exactly once, by the caller."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(f"http://127.0.0.1:{port or 1}/callback")
        self.port = port

    def received_value(self, request_path: str) -> str:
        return "?" + urlsplit(request_path).query

    def busy_hint(self) -> str:
        return _(
            "Stop the program that uses it, or run `exactlink exact connect` without --port "
            "(a free port is chosen)."
        )
