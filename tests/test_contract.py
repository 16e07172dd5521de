"""The CLI contract every command follows: global options, exit codes, streams, envelopes."""

from __future__ import annotations

import json

from exactlink import __version__


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"exactlink {__version__}"


def test_help_lists_the_command_groups(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for group in ("portal", "client", "exact", "doctor", "log", "sandbox", "support"):
        assert group in result.stdout


def test_unknown_command_is_a_usage_error(cli):
    result = cli("frobnicate")
    assert result.exit_code == 2


def test_usage_error_in_json_mode_still_prints_an_envelope(cli):
    result = cli("--json", "log", "--limit", "zero")
    assert result.exit_code == 2
    body = json.loads(result.stdout)
    assert body["status"] == "error"
    assert body["errors"][0]["code"] == "usage"


def test_global_options_may_follow_the_command(cli):
    result = cli("log", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_bad_language_is_a_usage_error(cli):
    assert cli("--lang", "fr", "log").exit_code == 2


def test_home_is_created_private(cli, isolated_home):
    assert cli("log").exit_code == 0
    assert isolated_home.stat().st_mode & 0o777 == 0o700
    assert (isolated_home / "state.db").stat().st_mode & 0o777 == 0o600
