"""adapters.exact.parallel.Owner: workers wait for Exact, the owner thread does every write."""

from __future__ import annotations

import threading
import time

from exactlink.adapters.exact.parallel import Owner
from exactlink.errors import Cancelled


def test_results_in_order_writes_on_the_owner_thread():
    owner = Owner()
    me = threading.get_ident()
    written: list[tuple[int, int]] = []
    finished: list[int] = []

    def job(i: int):
        def run():
            time.sleep(0.001 * (20 - i))  # later jobs finish first
            owner.post(lambda: written.append((i, threading.get_ident())))
            if i == 7:
                raise ValueError("seven")
            return owner.call(lambda: (i * 10, threading.get_ident() == me))

        return run

    results = owner.run([job(i) for i in range(20)], 4, finished.append)
    assert [r for i, r in enumerate(results) if i != 7] == [
        (i * 10, True) for i in range(20) if i != 7
    ]
    assert isinstance(results[7], ValueError)
    assert sorted(finished) == list(range(20))
    assert sorted(i for i, _t in written) == list(range(20))
    assert {t for _i, t in written} == {me}  # every write on the owner's thread


def test_a_worker_waiting_for_a_closed_owner_is_cancelled():
    owner = Owner()
    caught: list[BaseException] = []

    def worker():
        try:
            owner.call(lambda: None)  # nobody serves it
        except Cancelled as exc:
            caught.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    time.sleep(0.2)
    owner.close()
    thread.join(timeout=5)
    assert not thread.is_alive() and caught
    assert owner.closed
    late: list[BaseException] = []

    def post_late():
        try:
            owner.post(print)
        except Cancelled as exc:
            late.append(exc)

    thread = threading.Thread(target=post_late)
    thread.start()
    thread.join(timeout=5)
    assert late  # nothing is queued for an owner that is gone
