"""Every command's --help says what it does in one line, then the details: the line is the
whole of the command's entry in its group's listing (nothing cut off at 80 columns), and the
details come after a blank line."""

from __future__ import annotations

import inspect

import click
import pytest
import typer.main

from exactlink.cli.app import app


def commands():
    """(path, command, listing width) for every command and group below the root."""
    root = typer.main.get_command(app)
    found = []

    def walk(path, group, ctx):
        names = group.list_commands(ctx)
        # click's listing: 80 columns, minus 2 of margin, 6 of indent and gap, the longest name
        width = 78 - 6 - max(len(name) for name in names)
        for name in names:
            command = group.get_command(ctx, name)
            found.append((f"{path} {name}", command, width))
            if isinstance(command, click.Group):
                walk(f"{path} {name}", command, click.Context(command, parent=ctx, info_name=name))

    walk("exactlink", root, click.Context(root, info_name="exactlink"))
    return found


COMMANDS = commands()


def test_the_walk_finds_every_command():
    paths = {path for path, _command, _width in COMMANDS}
    assert {"exactlink exact activate", "exactlink client add", "exactlink exact app set"} <= paths
    assert len(paths) > 30


@pytest.mark.parametrize(("path", "command", "width"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_help_starts_with_one_line_saying_what_it_does(path, command, width):
    text = inspect.cleandoc(command.help or "")
    assert text, f"{path} has no help"
    summary, _, details = text.partition("\n\n")
    assert "\n" not in summary, f"{path}: the first line runs on into the details:\n{summary}"
    assert summary.endswith("."), f"{path}: {summary!r} is not a sentence"
    assert command.get_short_help_str(width) == summary, (
        f"{path}: the listing cuts {summary!r} ({len(summary)} characters, {width} fit)"
    )
    assert not details.startswith("\n"), f"{path}: more than one blank line after the summary"


def test_activate_help_says_what_activating_is(run_exactlink):
    result = run_exactlink("exact", "activate", "--help")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    summary = next(line.strip() for line in lines[1:] if line.strip())
    assert summary == "Link a client (or --all) to its Exact administration."
    assert "portal's one connection" in result.stdout


def test_the_root_listing_is_each_commands_own_first_line():
    """`exactlink --help` lists the commands from cli.app.SUMMARIES without building them; each
    summary must be the command's own first line, and every command must have one."""
    from exactlink.cli.app import COMMANDS, SUMMARIES

    assert set(SUMMARIES) == set(COMMANDS), "add the new command's first line to SUMMARIES"
    for path, command, _width in COMMANDS_FOUND_AT_THE_ROOT:
        name = path.split()[-1]
        summary = inspect.cleandoc(command.help or "").partition("\n\n")[0]
        assert SUMMARIES[name] == summary, f"cli.app.SUMMARIES[{name!r}] is not {summary!r}"


COMMANDS_FOUND_AT_THE_ROOT = [c for c in COMMANDS if len(c[0].split()) == 2]
