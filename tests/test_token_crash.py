"""Token writes that cannot lose the chain (issue 15): real processes killed with SIGKILL during a
refresh against the strict sandbox, on the file store and on the real keyring.

What a kill may cost, and what it may not: Exact rotates the refresh token when it answers
(reference §2.6), so a process killed after Exact answered and before its first write finishes
takes the only working refresh token with it; that is Exact's own rule (dotnet#152) and the next
run rightly reports the chain dead. Once the new pair is written, no kill may lose it or let the
next run mark the live chain ``needs-reconnect``.
"""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from support.crashkit import (
    Zygote,
    current_refresh_token,
    env_for,
    files_with,
    make_stale,
    sandbox_settled,
    secret_store,
    token_successes,
    wait_until,
)
from support.exactkit import advance, connect_inprocess, control, make_world

pytestmark = pytest.mark.skipif(
    not hasattr(os, "fork") or not os.path.exists("/proc/self/stat"), reason="fork, SIGKILL"
)

BACKENDS = ["file", pytest.param("keyring", marks=pytest.mark.real)]


@pytest.fixture
def backend(request):
    """``file``: the insecure-storage file; ``keyring``: a real Secret Service (gnome-keyring)
    of this test alone: fifty clients killed mid-call are not for the keyring the rest of the
    suite shares (gnome-keyring has been seen to go away under that beside the 64-process
    test, taking every other keyring test with it)."""
    if request.param == "keyring":
        request.getfixturevalue("private_keyring")
    return request.param


def _world(backend, sandbox_factory, cli, monkeypatch, **limits):
    world = make_world(sandbox_factory, cli, insecure=backend == "file")
    if limits:
        control(world.sb, "POST", "/_sandbox/limits", limits)
    connected = connect_inprocess(world, cli, monkeypatch)
    assert connected.exit_code == 0, connected.stderr
    return world


def _all_tokens(sb) -> list[str]:
    with sb.engine.lock:
        return [*sb.engine.refresh_tokens, *sb.engine.access_tokens]


def _status(cli) -> str:
    return cli("exact", "status", "--json").json()["status"]


# The writes of one refresh: the new generation, the pointer (the commit), two clean-ups; then
# the connection's row.
KILL_POINTS = ["write:1", "write:2", "write:3", "write:4", "db"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_kill_at_each_write_of_a_refresh(backend, sandbox_factory, cli, monkeypatch, tmp_path):
    home = tmp_path / "home"
    insecure = backend == "file"
    world = _world(backend, sandbox_factory, cli, monkeypatch)
    with Zygote(env_for(home), tmp_path) as zygote:
        for point in KILL_POINTS:
            advance(world.sb, 601)  # Exact allows a refresh again, and the access token expired
            make_stale(home, insecure=insecure)
            killed = zygote.run("exact", "api", "current/Me", kill_at=point)
            assert killed.signal == signal.SIGKILL, (point, killed)
            after = cli("exact", "api", "current/Me")
            if point == "write:1":
                # Killed after Exact answered, before anything was written: the new pair died
                # with the process. Reported as what it is, with the fix.
                assert after.exit_code == 5, after.stderr
                assert "Old refresh token used" in after.stderr
                advance(world.sb, 571)  # the 570 s rule counts the code exchange too
                assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
                continue
            # Anything later: the next run goes on with the new pair, without a token call
            # (Exact would refuse one now: 570 s rule) and without marking the chain dead.
            assert after.exit_code == 0, (point, after.stderr)
            assert _status(cli) == "connected", point
            stored = secret_store(home, insecure=insecure)
            from exactlink.adapters.exact.token_store import TokenPairStore

            pair = TokenPairStore(stored).read("connection-1")
            assert pair is not None and pair.refresh_token == current_refresh_token(world.sb)
    skip = ("secrets-insecure.json",) if insecure else ()
    assert files_with(home, _all_tokens(world.sb), skip=skip) == []


ROUNDS = 50


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_kill_9_at_random_points_of_fifty_refreshes(
    backend, sandbox_factory, cli, monkeypatch, tmp_path
):
    """Fifty runs that each refresh (Exact's access token lives 30 s here, so every run is
    within the last 30 s), each killed at a random moment: half anywhere in the run, half in the
    few milliseconds after the sandbox answered the token call, where the writes are. After
    every kill the chain is the one Exact accepts, or (only when the kill took Exact's answer
    with it) rightly reported dead; the next run works; nothing secret is left in a file."""
    home = tmp_path / "home"
    insecure = backend == "file"
    world = _world(backend, sandbox_factory, cli, monkeypatch, access_token_seconds=30)
    seed = int(os.environ.get("EXACTLINK_CRASH_SEED", random.SystemRandom().randrange(10**6)))
    rng = random.Random(seed)
    from exactlink.adapters.exact.token_store import TokenPairStore

    pairs = TokenPairStore(secret_store(home, insecure=insecure))
    outcomes: dict[str, int] = {}
    started = time.monotonic()
    with Zygote(env_for(home), tmp_path) as zygote:
        # One run to the end: how long a whole run takes, and its part after Exact's answer
        # (storing the pair, the API call), to aim the kills.
        advance(world.sb, 571)
        answered = token_successes(world.sb)
        begun = time.monotonic()
        zygote.start("exact", "api", "current/Me")
        wait_until(lambda: token_successes(world.sb) > answered, timeout=10)
        tail_from = time.monotonic()
        whole = zygote.finish()
        assert whole.code == 0, whole.stderr
        span, tail = time.monotonic() - begun, time.monotonic() - tail_from
        for round_ in range(ROUNDS):
            advance(world.sb, 571)  # the 570 s rule allows this round's token call
            answered = token_successes(world.sb)
            zygote.start("exact", "api", "current/Me")
            if round_ % 2:
                time.sleep(rng.uniform(0, span))
            else:
                wait_until(lambda n=answered: token_successes(world.sb) > n, timeout=10)
                time.sleep(rng.uniform(0, tail / 2))  # the writes come first in the tail
            zygote.kill()
            ended = zygote.finish()
            # A token call the killed process had sent is carried out all the same: what Exact
            # accepts is known once it is (test_exact_answers_a_client_that_died_waiting).
            assert wait_until(lambda: sandbox_settled(world.sb), timeout=10), (seed, round_)
            kind = _classify(world, pairs, ended, seed, round_)
            outcomes[kind] = outcomes.get(kind, 0) + 1
            if kind == "answer lost with the process":
                # Exact rotated and its answer died with the process: rightly reported.
                dead = cli("exact", "api", "current/Me")
                assert dead.exit_code == 5 and "Old refresh token used" in dead.stderr
                advance(world.sb, 571)
                assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
                continue
            # The pair in force is the one Exact accepts (_classify) and the row is not marked
            # dead: the next run works. Proved by a run every few rounds (it costs time).
            assert _row_status() == "connected", (seed, round_, outcomes)
            if round_ % 5 == 4:
                after = cli("exact", "api", "current/Me")
                assert after.exit_code == 0, (seed, round_, _ours(after.stderr))
        final = cli("exact", "api", "current/Me")
        assert final.exit_code == 0, (seed, final.stderr)
    elapsed = time.monotonic() - started
    print(f"seed {seed}: {outcomes} in {elapsed:.1f} s (run {span:.3f} s, tail {tail:.3f} s)")
    assert sum(outcomes.values()) == ROUNDS
    # The kills did land while the refresh was being stored, not only before or after it.
    assert outcomes.get("killed mid-write", 0) >= 1, (seed, outcomes)
    # A lost answer takes a kill between Exact's answer and the end of the first write (a few
    # milliseconds, where half the kills are aimed): never nearly every round.
    assert outcomes.get("answer lost with the process", 0) <= ROUNDS * 0.8, (seed, outcomes)
    skip = ("secrets-insecure.json",) if insecure else ()
    assert files_with(home, _all_tokens(world.sb), skip=skip) == []


def _classify(world, pairs, ended, seed: int, round_: int) -> str:
    """What the kill hit, from what is stored and what Exact (the sandbox) accepts."""
    stored = pairs.read("connection-1")
    assert stored is not None, (seed, round_)
    current = current_refresh_token(world.sb)
    if stored.refresh_token != current:
        with world.sb.engine.lock:
            record = world.sb.engine.refresh_tokens[stored.refresh_token]
            successor = world.sb.engine.refresh_tokens.get(record.successor or "")
        # The one case a kill may cost the chain: Exact rotated, its answer died with us.
        assert record.successor == current and successor is not None, (seed, round_)
        assert not successor.used, (seed, round_)
        return "answer lost with the process"
    if ended.signal is None:
        assert ended.code == 0, (seed, round_, ended)  # a run the kill came too late for
        return "ended before the kill"
    pointer = pairs.secrets.get("connection-1/tokens")
    mid = f'"current": {stored.generation}' not in (pointer or "") or _row_behind(world, stored)
    return "killed mid-write" if mid else "killed before or after the writes"


def _ours(stderr: str) -> str:
    """exactlink's lines of a captured stderr (the in-process sandbox's threads write there too:
    a killed client's reset connection)."""
    skip = ("Exception occurred", "Traceback", "  ", "ConnectionResetError", "BrokenPipe", "---")
    return "\n".join(line for line in stderr.splitlines() if not line.startswith(skip))


def _row_status() -> str:
    import sqlite3

    db = sqlite3.connect(os.environ["EXACTLINK_HOME"] + "/state.db")
    try:
        return db.execute("SELECT status FROM connections WHERE id = 1").fetchone()[0]
    finally:
        db.close()


def _row_behind(world, stored) -> bool:
    """The pair is committed but the connection's row does not know it yet."""
    import sqlite3

    db = sqlite3.connect(os.environ["EXACTLINK_HOME"] + "/state.db")
    try:
        (last,) = db.execute("SELECT last_token_call_at FROM connections WHERE id = 1").fetchone()
    finally:
        db.close()
    return last is None or (stored.obtained_at or 0) > last + 0.001


def test_exact_answers_a_client_that_died_waiting(sandbox_factory, cli, monkeypatch):
    """A token call whose sender died while Exact worked on it still rotates the chain, a moment
    after the death; ``sandbox_settled`` waits for that. (The fifty-kill test judged a round too
    early once, in a loaded full run: its next run then met "Old refresh token used".)"""
    from http.client import HTTPConnection
    from urllib.parse import urlencode

    world = _world("file", sandbox_factory, cli, monkeypatch)
    # Exact takes a second to answer: ample for the checks below on a loaded machine.
    control(world.sb, "POST", "/_sandbox/switches", {"latency_ms": 1000})
    advance(world.sb, 571)
    before = current_refresh_token(world.sb)
    app = world.sb.seed["app"]
    form = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    client = HTTPConnection("127.0.0.1", world.sb.port, timeout=10)
    client.request(
        "POST",
        "/api/oauth2/token",
        urlencode({**form, "grant_type": "refresh_token", "refresh_token": before}),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    client.close()  # without reading the answer
    # The client is gone (its socket closed, as a killed process's is) before Exact answered.
    assert not sandbox_settled(world.sb)
    assert current_refresh_token(world.sb) == before
    assert wait_until(lambda: sandbox_settled(world.sb), timeout=10)
    assert current_refresh_token(world.sb) != before  # rotated for a client that is gone
