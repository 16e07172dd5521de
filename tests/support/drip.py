"""A real HTTP server on 127.0.0.1 that answers slowly on purpose: the hostile or broken server
of issue 15 ("a server that drips bytes holds a call for minutes").

``DripServer(mode=...)``, a context manager; ``mode`` may change while it runs:

* ``"body"``: the status line and headers at once (``Content-Length: 4096``), then the body one
  byte every ``interval`` seconds;
* ``"headers"``: the status line, then the headers one byte every ``interval`` (never ending);
* ``"handshake"`` (with ``tls``): a TLS record header announcing 16 KiB, then one byte every
  ``interval`` (the client never finishes its handshake);
* ``"pass"``: a plain reverse proxy to ``upstream`` (the sandbox), so a connection can be made
  through it before the drip starts.

Each connection serves one request and closes. Every drip stops when the client goes away or
the server stops, so nothing outlives the test.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from urllib.parse import urlsplit

BODY_LENGTH = 4096


class DripServer:
    def __init__(
        self,
        mode: str = "body",
        *,
        interval: float = 0.4,
        upstream: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.mode = mode
        self.interval = interval
        self.upstream = upstream
        self.tls = tls
        self.requests: list[str] = []  # "METHOD /path" of each request read
        self.dripped = 0  # bytes sent slowly, all connections together
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def __enter__(self) -> DripServer:
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()
        for thread in list(self._threads):
            thread.join(timeout=5)

    # -- serving ---------------------------------------------------------------------------------
    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            if self.tls and self.mode == "handshake":
                self._drip(conn, b"\x16\x03\x03\x40\x00", b"\x00" * 16384)
                return
            if self.tls:
                conn = self.tls.wrap_socket(conn, server_side=True)
            request = _read_request(conn)
            if request is None:
                return
            method, target, headers, body = request
            self.requests.append(f"{method} {target}")
            if self.mode == "pass":
                conn.sendall(self._forward(method, target, headers, body))
            elif self.mode == "body":
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {BODY_LENGTH}\r\nConnection: close\r\n\r\n"
                ).encode()
                self._drip(conn, head, b" " * BODY_LENGTH)
            elif self.mode == "headers":
                self._drip(conn, b"HTTP/1.1 200 OK\r\n", b"X-Drip: " + b"a" * 100000)
        except (OSError, ssl.SSLError):
            pass  # the client gave up: that is the point
        finally:
            conn.close()

    def _drip(self, conn: socket.socket, head: bytes, slow: bytes) -> None:
        conn.sendall(head)
        for index in range(len(slow)):
            if self._stop.wait(self.interval):
                return
            conn.sendall(slow[index : index + 1])
            self.dripped += 1

    def _forward(self, method: str, target: str, headers: dict, body: bytes) -> bytes:
        parts = urlsplit(self.upstream or "")
        upstream = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        headers = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
        upstream.request(method, target, body=body or None, headers=headers)
        reply = upstream.getresponse()
        data = reply.read()
        upstream.close()
        lines = [f"HTTP/1.1 {reply.status} {reply.reason}"]
        for name, value in reply.getheaders():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                lines.append(f"{name}: {value}")
        lines += [f"Content-Length: {len(data)}", "Connection: close", "", ""]
        return "\r\n".join(lines).encode("latin-1") + data


def _read_request(conn: socket.socket) -> tuple[str, str, dict, bytes] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _sep, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _colon, value = line.partition(":")
        headers[name.strip()] = value.strip()
    length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), "0"))
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return method, target, headers, rest[:length]
