"""`exactlink support bundle`: a redacted JSON file, 0600, with no token or secret in it."""

from __future__ import annotations

import json

import pytest

from support.exactkit import connected, seed_clients
from support.postgres import secret_values

# Every test here runs on the local SQLite store and on a team store (PostgreSQL).
pytestmark = pytest.mark.usefixtures("store_backend")


def test_bundle_holds_the_diagnosis_and_no_secret(
    sandbox_factory, cli, monkeypatch, isolated_home, tmp_path
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
