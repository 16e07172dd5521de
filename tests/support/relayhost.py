"""The firm's website in a test: the page `exact relay-page` writes, served over HTTPS on a
made-up public-looking name, and a headless Chromium that resolves that name to 127.0.0.1.

* ``relay_host``: a started :class:`RelayHost` (a throwaway self-signed certificate, a free
  port), serving the page at every path; its ``hits`` are the requests it saw.
* ``relay_browser``: Chromium launched with ``--host-resolver-rules`` for that name and the
  certificate's key pinned with ``--ignore-certificate-errors-spki-list`` (RECIPES.md). Skips on
  a laptop without Chromium, fails in CI (``EXACTLINK_REQUIRE_REAL=1``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import shutil
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from support.real import CHROMIUM, CHROMIUM_ARGS, missing

RELAY_NAME = "auth.exactlink.test"
RELAY_URI = f"https://{RELAY_NAME}/callback"
NONCE = "Zq3-_nonce-0123456789"
# Values of `state` the relay page must never forward for (nor let run as script).
HOSTILE_STATES = [
    "",  # no state: another computer, or --print-url
    NONCE,  # no port
    f"{NONCE}.80",  # below 1024
    f"{NONCE}.65536",  # above the range
    f"{NONCE}.099999",
    f"{NONCE}.08080",  # a leading zero
    f"{NONCE}.8080.evil.example",
    "evil.example",
    f"{NONCE}.8080@evil.example",
    f"{NONCE}.8080/../../x",
    f"{NONCE}.8080#x",
    f"{NONCE}.8080%0A",
    f"{NONCE}.8080 ",
    f"{NONCE}.<img src=x onerror=window.__pwned=1>",
    f'{NONCE}."><script>window.__pwned=1</script>',
    f"{NONCE}.javascript:window.__pwned=1",
    "x.8080",  # nonce too short
]


def _certificate(directory: Path, name: str) -> tuple[Path, Path, str]:
    """A self-signed certificate for ``name``; returns cert, key and the SPKI pin."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "relay.pem", directory / "relay-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return cert_path, key_path, base64.b64encode(hashlib.sha256(spki).digest()).decode()


class RelayHost:
    """An HTTPS static host for one HTML page (the firm's website, in a test)."""

    def __init__(self, html: str, directory: Path, name: str = RELAY_NAME) -> None:
        self.html = html.encode("utf-8")
        self.name = name
        self.hits: list[str] = []
        self.cert, self.key, self.spki = _certificate(directory, name)
        host = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def do_GET(self):
                host.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(host.html)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(host.html)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert), str(self.key))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path_and_query: str = "/callback") -> str:
        return f"https://{self.name}{path_and_query}"

    def chromium_args(self) -> list[str]:
        return [
            f"--host-resolver-rules=MAP {self.name} 127.0.0.1:{self.port}",
            f"--ignore-certificate-errors-spki-list={self.spki}",
            # As on the web: the page is public, the listener local (Local Network Access).
            f"--ip-address-space-overrides=127.0.0.1:{self.port}=public",
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def relay_host(tmp_path):
    """The page of `exact relay-page` on https://auth.exactlink.test (any path)."""
    from exactlink.relay import page_html

    host = RelayHost(page_html(), tmp_path)
    yield host
    host.close()


@pytest.fixture
def relay_browser(relay_host):
    """A headless Chromium that reaches ``relay_host`` by its name, over trusted HTTPS."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        missing("Debian chromium (/usr/bin/chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright Python package")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[*CHROMIUM_ARGS, *relay_host.chromium_args()],
        )
        try:
            yield browser
        finally:
            browser.close()


def wait_for_host(page, on_loopback: bool, timeout: float = 10.0) -> None:
    """Wait until the tab is (``on_loopback``) or is no longer on 127.0.0.1.

    Polled from Python with ``page.evaluate`` rather than ``page.wait_for_function``: the latter
    evaluates its predicate with ``eval`` inside the page, which the relay page's strict
    Content-Security-Policy refuses whenever a poll lands while that page is shown."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            if (page.evaluate("location.hostname") == "127.0.0.1") == on_loopback:
                return
        except Exception:  # the page is between two documents; ask again
            pass
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"the tab did not {'reach' if on_loopback else 'leave'} 127.0.0.1 in {timeout} s"
            )
        page.wait_for_timeout(100)
