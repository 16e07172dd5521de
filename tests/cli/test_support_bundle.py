"""`exactlink support bundle`: a redacted JSON file, 0600, with no token or secret in it."""

from __future__ import annotations

import json
import os
import sys

import pytest

from support.exactkit import connected, seed_clients
from support.postgres import secret_values

# Every test here runs on the local SQLite store and on a team store (PostgreSQL).
pytestmark = pytest.mark.usefixtures("store_backend")


def test_bundle_holds_the_diagnosis_and_no_secret(
    sandbox_factory, cli, monkeypatch, isolated_home, tmp_path, store_backend
):
    world = connected(sandbox_factory, cli, monkeypatch)
    sb = world.sb
    healthy = next(
        c
        for c in seed_clients(sb)
        if c["granted_to_app"]
        and c["login_has_access"]
        and c["status"] == 1
        and not c["blocking_status"]
        and not c["own_login"]
    )
    not_granted = next(
        c for c in seed_clients(sb) if not c["granted_to_app"] and c["login_has_access"]
    )
    assert (
        cli(
            "client", "add", healthy["name"], "--vat", healthy["vat_number"], "--access-granted"
        ).exit_code
        == 0
    )
    assert cli("exact", "activate", "--client", healthy["name"]).exit_code == 0
    # an Exact error with its Reason, recorded by the client adapter
    cli("exact", "api", "--division", str(not_granted["division"]), "crm/Accounts", "-f", "$top=1")

    out = tmp_path / "bundle.json"
    result = cli("support", "bundle", "--client", healthy["name"], "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    text = out.read_text("utf-8")
    bundle = json.loads(text)

    assert bundle["versions"]["exactlink"]
    assert bundle["config"]["exact"]["client_id"] == world.app["client_id"]
    assert bundle["store"]["clients"] == 1
    assert bundle["mapping"]["activation"]["division"] == healthy["division"]
    assert bundle["connection"]["status"] == "connected"
    assert bundle["connection"]["rate_limits"]
    assert any(
        e["division"] == not_granted["division"] and e["status"] == 403
        for e in bundle["exact_errors"]
    )
    assert bundle["doctor"]["status"] in ("ok", "warn")
    assert {c["id"] for c in bundle["doctor"]["checks"]} >= {"store", "connection", "probe"}
    # where the secrets are is named (support's first question), not blanked
    assert bundle["secret_storage"] == (
        "team store (AES-256-GCM)"
        if store_backend == "postgresql"
        else "file (insecure): insecure-file"
    )

    # every secret there is, read from the (insecure) secret store, is absent from the file
    stored = secret_values(isolated_home)
    assert len(stored) >= 3  # the app secret and the tokens
    for key, value in stored.items():
        assert value not in text, key
    assert world.app["client_secret"] not in text


def test_bundle_without_connection_or_keyring_secrets(cli, tmp_path):
    assert cli("portal", "create", "Kantoor", "--email", "k@example.nl").exit_code == 0
    out = tmp_path / "b.json"
    result = cli("support", "bundle", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    bundle = json.loads(out.read_text())
    assert bundle["connection"] is None
    assert bundle["doctor"]["status"] == "fail"


@pytest.mark.real
def test_bundle_names_the_keyring_and_holds_no_secret_from_it(
    sandbox_factory, cli, monkeypatch, isolated_home, tmp_path, real_keyring, store_backend
):
    from support.exactkit import connect_inprocess, make_world

    world = make_world(sandbox_factory, cli, insecure=False)
    assert connect_inprocess(world, cli, monkeypatch).exit_code == 0
    out = tmp_path / "bundle.json"

    result = cli("support", "bundle", "--no-doctor", "-o", str(out))

    assert result.exit_code == 0, result.stderr
    text = out.read_text("utf-8")
    named = json.loads(text)["secret_storage"]
    if store_backend == "postgresql":
        assert named == "team store (AES-256-GCM)"
    else:
        assert named.startswith("keyring: SecretService (keyring.backends.SecretService.")
    assert world.app["client_secret"] not in text
    engine = world.sb.engine  # every token the sandbox ever issued to this home
    for token in [*engine.access_tokens, *engine.refresh_tokens]:
        assert token not in text


def test_describe_backend_in_words():
    from exactlink.services.support import describe_backend

    assert describe_backend("keyring.backends.macOS.Keyring").startswith("keyring: macOS (")
    assert describe_backend("keyring.backends.Windows.WinVaultKeyring").startswith(
        "keyring: Windows ("
    )
    assert describe_backend("insecure-file") == "file (insecure): insecure-file"
    assert describe_backend("team-store (AES-256-GCM)") == "team store (AES-256-GCM)"
    refused = describe_backend(None, RuntimeError("no D-Bus"))
    assert refused == "unavailable: RuntimeError"


def test_redact_scrubs_known_values_and_secret_keys():
    from exactlink.services.support import REDACTED, redact

    data = {
        "message": "GET ...?code=XTzM!abc&state=1 failed with Bearer AAEAAopaque",
        "nested": [{"client_secret": "sb-topsecret", "note": "token sb-topsecret leaked"}],
        "access_token": "x",
    }
    clean = redact(data, ["sb-topsecret"])
    text = json.dumps(clean)
    assert "sb-topsecret" not in text and "AAEAAopaque" not in text and "XTzM" not in text
    assert clean["nested"][0]["client_secret"] == REDACTED


posix_only = pytest.mark.skipif(os.name != "posix", reason="modes and symlinks")


@posix_only
def test_bundle_into_a_shared_1777_folder_leaves_its_mode(cli, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    out = shared / "bundle.json"
    result = cli("support", "bundle", "--no-doctor", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert shared.stat().st_mode & 0o7777 == 0o1777
    assert out.stat().st_mode & 0o777 == 0o600
    assert json.loads(out.read_text())["bundle_version"] == 1


@posix_only
def test_bundle_through_planted_symlinks_overwrites_no_other_file(cli, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    # the temp name exactlink used to pick (the same process: CliRunner runs in this one)...
    (shared / f".bundle.json.{os.getpid()}.tmp").symlink_to(victim)
    result = cli("support", "bundle", "--no-doctor", "-o", str(shared / "bundle.json"))
    assert result.exit_code == 0, result.stderr
    assert victim.read_text() == "precious"
    # ...and the target itself
    (shared / "other.json").symlink_to(victim)
    result = cli("support", "bundle", "--no-doctor", "-o", str(shared / "other.json"))
    assert result.exit_code == 0, result.stderr
    assert victim.read_text() == "precious"
    assert not (shared / "other.json").is_symlink()
    assert json.loads((shared / "other.json").read_text())["bundle_version"] == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/sys refuses new files")
def test_an_unwritable_bundle_path_is_a_clear_error(cli):
    result = cli("--json", "support", "bundle", "--no-doctor", "-o", "/sys/exactlink-bundle.json")
    assert result.exit_code == 11, result.stderr
    error = result.json()["errors"][0]
    assert error["code"] == "environment"
    assert error["details"]["path"] == "/sys/exactlink-bundle.json"
    human = cli("support", "bundle", "--no-doctor", "-o", "/sys/exactlink-bundle.json")
    assert human.exit_code == 11
    assert "Permission denied: /sys/exactlink-bundle.json" in human.stderr
    assert "Unexpected error" not in human.stderr
