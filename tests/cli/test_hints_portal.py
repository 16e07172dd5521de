"""Hints keep the `--portal` the person used: a command copied from a hint acts on the same
portal, not on the default one."""

from __future__ import annotations


def test_hints_name_the_portal_given_with_the_option(cli, portal):
    assert cli("portal", "create", "Kantoor Twee", "--email", "twee@kantoor.be").exit_code == 0
    added = cli("--portal", "Kantoor Twee", "client", "add", "Garage Smet")
    assert added.exit_code == 0
    assert "`exactlink --portal 'Kantoor Twee' client access 'Garage Smet' --granted`" in (
        added.stderr
    )
    # an error's hint too: the client exists with other data → `client update`
    conflict = cli(
        "client", "add", "Garage Smet", "--vat", "BE0403170701", "--portal", "Kantoor Twee"
    )
    assert conflict.exit_code == 4
    assert "`exactlink --portal 'Kantoor Twee' client update 'Garage Smet' ...`" in conflict.stderr
    granted = cli("--portal", "Kantoor Twee", "client", "access", "Garage Smet", "--granted")
    assert "`exactlink --portal 'Kantoor Twee' exact activate --client 'Garage Smet'`" in (
        granted.stderr
    )


def test_hints_stay_short_without_the_option(cli, portal):
    added = cli("client", "add", "Garage Smet")
    assert "`exactlink client access 'Garage Smet' --granted`" in added.stderr
    assert "--portal" not in added.stderr


def test_portal_commands_in_hints_are_left_alone(cli, portal):
    missing = cli("--portal", "Bestaat Niet", "client", "list")
    assert missing.exit_code == 3
    assert "`exactlink portal list`" in missing.stderr
