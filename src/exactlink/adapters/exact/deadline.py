"""A total deadline for one HTTP exchange with Exact, not only a timeout per read.

A socket timeout bounds each read, so a server that sends one byte every few seconds (in the
TLS handshake, the headers or the body) can hold a call for as long as it likes. Here a timer
shuts the exchange's socket down when the deadline passes: a blocked read or write returns at
once, whatever phase it is in, and ``http.send`` reports ``ExactTooSlow``.

How the socket is found: the session's adapter builds its connections from the classes below,
which hand each socket (a new one right after the TCP connect, so a dripping TLS handshake is
covered; a reused keep-alive one when the request starts) to the deadline of the exchange that
runs on this thread. The deadline keeps a *duplicate* of the descriptor: ``shutdown()`` acts on
the connection shared by both, and closing the duplicate afterwards leaves the pooled
connection alone. The timer thread ends with the exchange; nothing outlives it.

Not bounded here: the name lookup (``getaddrinfo`` takes no timeout; the system resolver's
own limits apply).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import urllib3.connection
import urllib3.connectionpool
from requests.adapters import HTTPAdapter

_active = threading.local()


class Deadline:
    """``with Deadline(seconds):`` around one exchange; ``expired`` says whether it passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds
        self._fired = False
        self._over = False
        self._watched: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    @property
    def expired(self) -> bool:
        return self._fired or time.monotonic() >= self._end

    def left(self) -> float:
        return max(0.0, self._end - time.monotonic())

    def watch(self, sock: socket.socket | None) -> None:
        """Shut ``sock``'s connection down when the deadline passes (at once if it has)."""
        if sock is None:
            return
        try:
            duplicate = socket.fromfd(sock.fileno(), sock.family, sock.type)
        except OSError:
            return
        with self._lock:
            if self._over:
                duplicate.close()
                return
            self._watched.append(duplicate)
            if self._fired:
                _shut(duplicate)

    def _fire(self) -> None:
        with self._lock:
            if self._over:
                return
            self._fired = True
            for sock in self._watched:
                _shut(sock)

    def __enter__(self) -> Deadline:
        self._outer = getattr(_active, "deadline", None)
        _active.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        _active.deadline = self._outer
        self._timer.cancel()
        with self._lock:
            self._over = True
            watched, self._watched = self._watched, []
        for sock in watched:
            sock.close()
        self._timer.join()


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: nothing left to stop


def _watch(sock: Any) -> None:
    deadline = getattr(_active, "deadline", None)
    if deadline is not None and isinstance(sock, socket.socket):
        deadline.watch(sock)


class _Watched:
    """Mixed into urllib3's connection classes: every socket goes to the running deadline."""

    sock: Any

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        _watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)  # a reused keep-alive connection (None when new: see _new_conn)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Watched, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_Watched, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter with connections a ``Deadline`` can stop (direct or through an HTTP
    proxy; a SOCKS proxy keeps its own classes, bounded by the check after the body)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOLS
        return manager
