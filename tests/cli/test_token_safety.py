"""The new token pair survives a secret store that fails after Exact answered, and Exact's "too
early" with a stale access token is waited out, never taken for a dead chain (issue 15)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from support.crashkit import files_with, make_stale, secret_store, wait_until
from support.exactkit import advance, connect_inprocess, control, make_world, stats


def _lock_held(path) -> bool:
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _all_tokens(sb) -> list[str]:
    with sb.engine.lock:
        return [*sb.engine.refresh_tokens, *sb.engine.access_tokens]


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="flock")
def test_the_store_failing_after_a_refresh_keeps_the_new_pair(
    sandbox_factory, cli, monkeypatch, isolated_home
):
    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    advance(world.sb, 601)
    make_stale(isolated_home, insecure=True)
    # Exact takes 1.5 s to answer the token call: time to pull the store away meanwhile.
    control(world.sb, "POST", "/_sandbox/limits", {"latency_ms": 1500})
    proc = subprocess.Popen(
        [sys.executable, "-m", "exactlink", "exact", "api", "current/Me"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert wait_until(lambda: _lock_held(isolated_home / "locks" / "connection-1.lock"), 30)
    time.sleep(0.4)  # the pair is read under the lock; now the token call is under way
    store = isolated_home / "secrets-insecure.json"
    aside = isolated_home / "secrets-aside.json"
    store.rename(aside)
    store.mkdir()  # the secrets file cannot be read or written any more
    _out, err = proc.communicate(timeout=60)
    store.rmdir()
    aside.rename(store)
    control(world.sb, "POST", "/_sandbox/limits", {"latency_ms": 0})

    # The secret store's own exit code (docs/exit-codes.md): a folder where the file was is an
    # unsafe file (11, `unsafe_file`), as the insecure store's checks call it.
    assert proc.returncode == 11, err
    assert "Exact Online issued new tokens, but they could not be stored" in err
    assert "kept encrypted in" in err and "do not reconnect" in err.lower()
    kept = isolated_home / "rescue" / "connection-1.sealed"
    assert str(kept) in err
    assert kept.stat().st_mode & 0o777 == 0o600
    assert (isolated_home / "rescue").stat().st_mode & 0o777 == 0o700
    # Nothing readable anywhere but the chosen store: not in the sealed file, no temp file.
    assert files_with(isolated_home, _all_tokens(world.sb), skip=(store.name,)) == []
    assert not [p for p in isolated_home.rglob("*.tmp")]

    before = stats(world.sb)
    after = cli("exact", "api", "current/Me")
    assert after.exit_code == 0, after.stderr
    assert cli("exact", "status", "--json").json()["status"] == "connected"
    assert not kept.exists()
    done = stats(world.sb)
    assert done["token_calls"] == before["token_calls"]  # the kept pair itself was used
    assert done["token_errors"].get("old_refresh_token", 0) == 0
    assert files_with(isolated_home, _all_tokens(world.sb), skip=(store.name,)) == []


def test_a_sealed_pair_opens_only_with_the_apps_client_secret(tmp_path):
    from exactlink.adapters.exact.oauth import AppCredentials
    from exactlink.adapters.exact.token_rescue import TokenRescue
    from exactlink.adapters.exact.token_store import TokenPair

    app = AppCredentials("https://start.exactonline.nl", "id", "S3CRET", "https://x/cb")
    rescue = TokenRescue([tmp_path / "full", tmp_path / "second"])
    (tmp_path / "full").write_text("a file where the folder should be")  # cannot be written
    pair = TokenPair("ACCESS-1", "REFRESH-1", 1600.0, 1000.0)
    where = rescue.keep("connection-3", app, pair)
    assert where == tmp_path / "second" / "connection-3.sealed"  # the next folder took it
    text = where.read_text()
    assert "ACCESS-1" not in text and "REFRESH-1" not in text
    assert rescue.find("connection-3") == [where]
    opened = rescue.open(where, "connection-3", app)
    assert opened is not None and opened.refresh_token == "REFRESH-1"
    assert rescue.open(where, "connection-3", replace(app, client_secret="other")) is None
    assert rescue.open(where, "connection-4", app) is None  # bound to its chain


@pytest.mark.slow
def test_too_early_with_a_stale_access_token_waits_then_refreshes(
    sandbox_factory, cli, monkeypatch, isolated_home
):
    """Exact's access token ended before the 570 s since the last token call were over (it
    lives 560 s here): the refresh gets "too early"; exactlink waits out the rest of the 570 s
    and refreshes, instead of retrying the dead access token and marking the chain dead."""
    world = make_world(sandbox_factory, cli)
    control(world.sb, "POST", "/_sandbox/limits", {"access_token_seconds": 560})
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    advance(world.sb, 567)  # Exact: the access token expired, 3 s of the 570 s are left
    now = time.time()
    make_stale(isolated_home, insecure=True)  # our side: the token expired too
    store = secret_store(isolated_home, insecure=True)
    if store.get("connection-1/tokens") is not None:  # the pair carries its own times
        from exactlink.adapters.exact.token_store import TokenPairStore

        pairs = TokenPairStore(store)
        pair = pairs.read("connection-1")
        assert pair is not None
        stale = replace(pair, obtained_at=now - 567, access_expires_at=now - 7)
        pairs.commit("connection-1", stale)
    before = stats(world.sb)
    started = time.monotonic()
    result = cli("exact", "api", "current/Me")
    waited = time.monotonic() - started
    assert result.exit_code == 0, result.stderr
    assert "570 s after the previous one" in result.stderr and "waiting" in result.stderr
    assert 2 <= waited < 30
    after = stats(world.sb)
    assert (
        after["token_errors"].get("TooEarlyToRefreshTokens", 0)
        - before["token_errors"].get("TooEarlyToRefreshTokens", 0)
        == 1
    )
    assert cli("exact", "status", "--json").json()["status"] == "connected"


def test_too_early_that_never_ends_is_a_rate_limit_not_a_dead_chain(
    sandbox_factory, cli, monkeypatch, isolated_home
):
    """Our clock says the 570 s are over, Exact keeps saying "too early" (the clocks differ):
    a few bounded waits (the sandbox's clock moves with them), then exit 7 with the fix; the
    connection stays connected."""
    from exactlink.adapters.exact import tokens as tokens_module
    from exactlink.cli.context import AppContext

    world = make_world(sandbox_factory, cli)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    make_stale(isolated_home, insecure=True)  # we think 605 s passed; Exact: a few seconds
    ctx = AppContext(home=str(isolated_home))
    connection = ctx.store.connections.list()[0]
    waits: list[float] = []
    manager = ctx.exact_tokens(connection)
    manager.on_wait = waits.append
    manager.sleep = lambda seconds: None  # Exact's clock does not move: it stays too early
    from exactlink.errors import RateLimited

    with pytest.raises(RateLimited) as limited:
        manager.access_token()
    assert limited.value.exit_code == 7
    assert len(waits) == tokens_module.TOO_EARLY_ATTEMPTS - 1
    assert waits[-1] >= tokens_module.CLOCK_SKEW_WAIT
    ctx.close()
    assert cli("exact", "status", "--json").json()["status"] == "connected"


@pytest.mark.slow
@pytest.mark.real
@pytest.mark.skipif(os.name != "posix", reason="flock, D-Bus")
def test_the_keyring_gone_after_a_refresh_keeps_the_new_pair(
    private_keyring, sandbox_factory, cli, monkeypatch, isolated_home
):
    world = make_world(sandbox_factory, cli, insecure=False)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    assert "SecretService" in cli("exact", "status", "--json").json()["secret_storage"]
    advance(world.sb, 601)
    make_stale(isolated_home, insecure=False)
    control(world.sb, "POST", "/_sandbox/limits", {"latency_ms": 1500})
    proc = subprocess.Popen(
        [sys.executable, "-m", "exactlink", "exact", "api", "current/Me"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert wait_until(lambda: _lock_held(isolated_home / "locks" / "connection-1.lock"), 30)
    time.sleep(0.4)  # the pair is read under the lock; now the token call is under way
    private_keyring.stop()  # the keyring goes away while Exact answers
    _out, err = proc.communicate(timeout=90)
    control(world.sb, "POST", "/_sandbox/limits", {"latency_ms": 0})
    assert proc.returncode == 9, err
    assert "kept encrypted in" in err and "do not reconnect" in err.lower()
    kept = isolated_home / "rescue" / "connection-1.sealed"
    assert kept.exists()
    assert files_with(isolated_home, _all_tokens(world.sb)) == []

    private_keyring.start()  # the keyring is back (unlocked, with what it held)
    before = stats(world.sb)
    after = cli("exact", "api", "current/Me")
    assert after.exit_code == 0, after.stderr
    assert not kept.exists()
    assert cli("exact", "status", "--json").json()["status"] == "connected"
    assert stats(world.sb)["token_errors"].get("old_refresh_token", 0) == before[
        "token_errors"
    ].get("old_refresh_token", 0)
    assert files_with(isolated_home, _all_tokens(world.sb)) == []
