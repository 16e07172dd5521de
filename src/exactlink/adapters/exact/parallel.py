"""Bounded concurrency for one connection: worker threads wait for Exact, one thread writes.

Exact answers in hundreds of milliseconds; ``activate --all`` makes one probe per client, each in
its own division. Exact's limits are per app *per division* (reference §5.1: 60 calls a minute and
5,000 a day in each division; the error budget per division and endpoint), so probes of different
divisions may overlap without drawing on each other's budget. A few workers therefore wait for
Exact at once.

Everything else stays on the thread that opened the store (the *owner*): the store (SQLite, or a
team's PostgreSQL), the keyring and the token chain are never touched from a worker. A worker
hands such work to the owner through one queue: records of Exact's answers (rate-limit headers,
errors) are posted and written in order; a token refresh is a call the worker waits for. The
owner runs that queue while it waits for the workers' results, so there is exactly one writer.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from exactlink.errors import Cancelled
from exactlink.i18n import _

T = TypeVar("T")
# How often the owner looks up from the queue when nothing arrives (Ctrl-C stays prompt).
POLL_SECONDS = 0.5


class Owner:
    """The one thread that may write; workers hand it work through :meth:`call`/:meth:`post`."""

    def __init__(self) -> None:
        self.ident = threading.get_ident()
        self._inbox: queue.SimpleQueue[tuple[str, Any, Any, Any]] = queue.SimpleQueue()
        self._closed = threading.Event()

    def here(self) -> bool:
        return threading.get_ident() == self.ident

    @property
    def closed(self) -> bool:
        """The run is over (or interrupted): a worker stops waiting, e.g. for a minute reset."""
        return self._closed.is_set()

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the owner thread; a worker waits for its answer (or its error)."""
        if self.here():
            return fn(*args)
        answer: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
        self._put(("call", fn, args, answer))
        while True:
            try:
                ok, value = answer.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if self._closed.is_set():
                    raise Cancelled(_("Interrupted.")) from None
                continue
            if ok:
                return value  # type: ignore[no-any-return]
            raise value

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """``fn(*args)`` on the owner thread, in order, without waiting (records)."""
        if self.here():
            fn(*args)
        else:
            self._put(("post", fn, args, None))

    def _put(self, item: tuple[str, Any, Any, Any]) -> None:
        if self._closed.is_set():
            raise Cancelled(_("Interrupted."))
        self._inbox.put(item)

    def _serve(self, item: tuple[str, Any, Any, Any]) -> tuple[int, Any] | None:
        kind, fn, args, answer = item
        if kind == "done":
            return fn, args  # (index, result)
        try:
            value = fn(*args)
        except BaseException as exc:  # handed back to the worker that asked
            if answer is None:
                raise
            answer.put((False, exc))
            return None
        if answer is not None:
            answer.put((True, value))
        return None

    def drain(self) -> None:
        """Write what workers posted and have not been written yet."""
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            if item[0] != "done":
                self._serve(item)

    def close(self) -> None:
        """No more work for the owner: a worker still waiting gets ``Cancelled``."""
        self._closed.set()
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            if item[0] == "call":
                item[3].put((False, Cancelled(_("Interrupted."))))

    def run(
        self,
        jobs: Sequence[Callable[[], T]],
        workers: int,
        on_done: Callable[[int], None] | None = None,
    ) -> list[T | BaseException]:
        """Run ``jobs`` on at most ``workers`` threads; their results (or the exception each
        raised) in the jobs' order. ``on_done(i)`` runs on the owner as each finishes. Ctrl-C
        (or any error of the owner's own) stops it: jobs not started never start, and a worker
        waiting for the owner is cancelled."""
        results: list[Any] = [None] * len(jobs)
        left = len(jobs)

        def work(index: int) -> None:
            try:
                value: Any = jobs[index]()
            except BaseException as exc:  # carried to the owner, raised nowhere here
                value = exc
            self._inbox.put(("done", index, value, None))

        pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="exactlink")
        try:
            for index in range(len(jobs)):
                pool.submit(work, index)
            while left:
                try:
                    item = self._inbox.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    continue
                finished = self._serve(item)
                if finished is None:
                    continue
                index, value = finished
                results[index] = value
                left -= 1
                if on_done is not None:
                    on_done(index)
            self.drain()
        finally:
            self.close()
            pool.shutdown(wait=True, cancel_futures=True)
        return results
