"""Where the secrets go: the real OS keyring (CI's gnome-keyring), or the explicit insecure file;
and nowhere else: not state.db, config.toml, any output, --json, an error message or a debug log."""

from __future__ import annotations

import json

import pytest

from support.exactkit import connect_inprocess, control, make_world


def _all_secrets(world) -> list[str]:
    """Every token the sandbox ever issued, and the app's client secret."""
    engine = world.sb.engine
    with engine.lock:
        tokens = [*engine.access_tokens, *engine.refresh_tokens, *engine.codes]
    return [*tokens, world.app["client_secret"]]


def _files(home) -> dict[str, bytes]:
    found = {}
    for path in home.rglob("*"):
        if path.is_file() and path.name != "secrets-insecure.json":
            found[str(path.relative_to(home))] = path.read_bytes()
    return found


def _assert_nowhere(secrets: list[str], texts: dict[str, str | bytes]) -> None:
    for where, text in texts.items():
        blob = text if isinstance(text, bytes) else text.encode()
        for secret in secrets:
            assert secret.encode() not in blob, f"a secret leaked into {where}"
            if "!" in secret:  # also URL-encoded
                assert secret.replace("!", "%21").encode() not in blob, where


def _exercise(world, cli, monkeypatch, outputs: dict[str, str]) -> None:
    """Commands whose output must be free of secrets, errors included."""
    monkeypatch.setenv("EXACTLINK_DEBUG_HTTP", "1")
    for args in (
        ("exact", "status", "--check"),
        ("--json", "exact", "status", "--check"),
        ("exact", "api", "current/Me"),
        ("--json", "exact", "app", "show"),
        ("exact", "app", "show"),
        ("-v", "log"),
        ("--json", "log"),
    ):
        result = cli(*args)
        assert result.exit_code == 0, (args, result.stderr)
        outputs[" ".join(args)] = result.stdout + result.stderr
    # A refresh (401 path) with debug logging on, then a dead chain: its error message and
    # its --json envelope.
    control(world.sb, "POST", "/_sandbox/clock", {"advance_seconds": 601})
    refreshed = cli("exact", "api", "current/Me")
    assert refreshed.exit_code == 0, refreshed.stderr
    assert "***" in refreshed.stderr  # the debug log shows the redaction
    outputs["refresh with debug log"] = refreshed.stdout + refreshed.stderr
    username = world.sb.seed["logins"][0]["username"]
    control(world.sb, "POST", "/_sandbox/revoke", {"username": username})
    for args in (("exact", "api", "current/Me"), ("--json", "exact", "status", "--check")):
        result = cli(*args)
        assert result.exit_code == 5
        outputs["dead: " + " ".join(args)] = result.stdout + result.stderr


def test_no_secret_outside_the_secret_store(sandbox_factory, cli, monkeypatch, isolated_home):
    world = make_world(sandbox_factory, cli)
    outputs: dict[str, str] = {}
    connected = connect_inprocess(world, cli, monkeypatch)
    assert connected.exit_code == 0
    outputs["connect"] = connected.stdout + connected.stderr
    _exercise(world, cli, monkeypatch, outputs)
    secrets = _all_secrets(world)
    _assert_nowhere(secrets, {**outputs, **_files(isolated_home)})
    # ...and they are in the 0600 file of the explicit opt-in.
    stored = isolated_home / "secrets-insecure.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert world.app["client_secret"] in json.loads(stored.read_text()).values()


def test_errors_never_carry_a_token():
    """Error objects built from token-endpoint answers: messages, hints, details, repr."""
    from exactlink.adapters.exact.oauth import AppCredentials, TokenSet

    app = AppCredentials("https://x", "id", "S3CRET!", "http://127.0.0.1:1/cb")
    tokens = TokenSet("ACCESS!", "REFRESH!", 600, 0.0)
    assert "S3CRET" not in repr(app) and "ACCESS" not in repr(tokens)
    assert "REFRESH" not in repr(tokens)


@pytest.mark.real
def test_real_keyring_stores_and_reads_the_tokens(
    sandbox_factory, cli, monkeypatch, isolated_home, real_keyring
):
    from exactlink.adapters.exact.token_store import TokenPairStore
    from exactlink.adapters.secrets import SERVICE, KeyringSecretStore, home_namespace
    from exactlink.paths import Paths

    world = make_world(sandbox_factory, cli, insecure=False)
    namespace = home_namespace(Paths.resolve(isolated_home))
    try:
        assert (
            real_keyring.get_password(SERVICE, f"{namespace}/app/client_secret")
            == (world.app["client_secret"])
        )
        connected = connect_inprocess(world, cli, monkeypatch)
        assert connected.exit_code == 0, connected.stderr
        status = cli("exact", "status", "--json").json()
        assert "SecretService" in status["secret_storage"]
        assert status["insecure_storage"] is False
        chain = f"connection-{status['connection_id']}"
        # The token pair is one unit: a pointer entry naming the generation that holds both.
        assert real_keyring.get_password(SERVICE, f"{namespace}/{chain}/tokens") is not None
        pairs = TokenPairStore(KeyringSecretStore(namespace, backend=real_keyring))
        pair = pairs.read(chain)
        assert pair is not None
        assert pair.access_token in world.sb.engine.access_tokens
        assert pair.refresh_token in world.sb.engine.refresh_tokens
        # A refresh goes through the keyring too: new tokens stored, then used.
        control(world.sb, "POST", "/_sandbox/clock", {"advance_seconds": 601})
        assert cli("exact", "api", "current/Me").exit_code == 0
        again = pairs.read(chain)
        assert again is not None and again.refresh_token != pair.refresh_token
        assert not (isolated_home / "secrets-insecure.json").exists()
        _assert_nowhere(_all_secrets(world), _files(isolated_home))
        # disconnect removes the tokens from the keyring.
        assert cli("exact", "disconnect").exit_code == 0
        assert pairs.read(chain) is None
        assert pairs.names(chain) == []
    finally:
        for key in ("app/client_secret",):
            try:
                real_keyring.delete_password(SERVICE, f"{namespace}/{key}")
            except Exception:
                pass
