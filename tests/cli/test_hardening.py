"""Hardening through the CLI: a --base-url with credentials or plain HTTP to another machine is
refused; the audit log's user is the OS account, whatever LOGNAME says; a usage error with
--json still prints one JSON document; a hint for a name starting with `-` runs as printed."""

from __future__ import annotations

import json
import os
import re
import shlex

import pytest


@pytest.mark.parametrize(
    ("base_url", "words"),
    [
        ("https://anna:hunter22@start.exactonline.nl", "user name or password"),
        ("http://start.exactonline.nl", "plain HTTP"),
    ],
)
def test_app_set_refuses_a_dangerous_base_url(cli, isolated_home, base_url, words):
    result = cli(
        "--json",
        "exact",
        "app",
        "set",
        "--client-id",
        "0b3b7a6e-0000-4000-8000-000000000001",
        "--redirect-uri",
        "http://127.0.0.1:8765/callback",
        "--base-url",
        base_url,
        "--insecure-storage",
        input="sb-secret-value\n",
    )
    assert result.exit_code == 2, result.stderr
    error = result.json()["errors"][0]
    assert words in error["message"]
    assert "hunter22" not in result.stdout + result.stderr
    config = isolated_home / "config.toml"
    assert not config.exists() or "exactonline" not in config.read_text()


@pytest.mark.skipif(os.name != "posix", reason="the password database")
def test_the_audit_user_comes_from_the_os_not_logname(run_exactlink):
    import pwd

    real = pwd.getpwuid(os.getuid()).pw_name
    spoof = {"LOGNAME": "mallory", "USER": "mallory", "LNAME": "mallory", "USERNAME": "mallory"}
    assert run_exactlink("portal", "create", "K", "--email", "k@k.be", env=spoof).exit_code == 0
    events = run_exactlink("log", "--json", env=spoof).json()
    assert events and {e["os_user"] for e in events} == {real}


@pytest.mark.parametrize(
    "args",
    [
        ("--json", "client", "list", "--bogus"),
        ("client", "list", "--json", "--bogus"),
        ("--json", "--bogus", "client", "list"),
        ("--json", "--lang", "xx", "client", "list"),
        ("--json", "client", "show"),
    ],
    ids=" ".join,
)
def test_a_usage_error_with_json_prints_exactly_one_json_document(run_exactlink, args):
    result = run_exactlink(*args)
    assert result.exit_code == 2, result.stderr
    assert result.stdout.count("\n") == 1, result.stdout
    body = json.loads(result.stdout)
    assert body["status"] == "error"
    assert [e["code"] for e in body["errors"]] == ["usage"]


def test_the_hint_for_a_name_starting_with_a_dash_runs_as_printed(cli):
    assert cli("portal", "create", "K", "--email", "k@k.be").exit_code == 0
    added = cli("client", "add", "--", "-foo")
    assert added.exit_code == 0, added.stderr
    hinted = re.search(r"`(exactlink client access [^`]*)`", added.stderr)
    assert hinted, added.stderr
    argv = shlex.split(hinted.group(1))
    assert argv[:3] == ["exactlink", "client", "access"]
    ran = cli(*argv[1:])
    assert ran.exit_code == 0, ran.stderr
    assert cli("--json", "client", "show", "--", "-foo").json()["status"] == "granted"


def test_hints_for_ordinary_names_keep_their_usual_form(cli):
    assert cli("portal", "create", "K", "--email", "k@k.be").exit_code == 0
    added = cli("client", "add", "Bakkerij Peeters")
    assert "`exactlink client access 'Bakkerij Peeters' --granted`" in added.stderr
