"""Command groups whose subcommands are built only when used.

Typer builds a group's click command by building every subcommand first: reading each function's
signature and type hints and making its options, about a millisecond a command. `exactlink exact
status` would pay for the dozen commands of the `exact` group it does not run. Here a group is
built hollow and its ``commands`` mapping builds a subcommand (or a nested group, itself lazy)
the first time click asks for it; `--help` still asks for all of them, and gets them all.
Each is put in the person's language as it is built (cli.helptext.localize).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, MutableMapping
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import click
    import typer
    from typer.core import TyperGroup
    from typer.models import CommandInfo, TyperInfo

_Settings = dict[str, Any]  # pretty_exceptions_short, rich_markup_mode, suggest_commands


class LazyCommands(MutableMapping[str, "click.Command"]):
    """A group's ``commands``: name → command, each built on first access, in the order the
    commands were registered (the order `--help` lists them in)."""

    def __init__(self, builders: dict[str, Callable[[], click.Command]]) -> None:
        self._builders = builders
        self._built: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._built:
            self._built[name] = self._builders[name]()  # KeyError: no such command
        return self._built[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._builders[name] = lambda: command
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._builders[name]
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)


def lazy_group(target: typer.Typer) -> TyperGroup:
    """The click group of ``target`` (what ``typer.main.get_group`` makes), its subcommands
    built on demand."""
    from typer.models import TyperInfo

    # What Typer hands down from the top group to every group and command below it.
    settings: _Settings = {
        "pretty_exceptions_short": target.pretty_exceptions_short,
        "rich_markup_mode": target.rich_markup_mode,
        "suggest_commands": target.suggest_commands,
    }
    return _group(TyperInfo(target), settings)


def _group(info: TyperInfo, settings: _Settings) -> TyperGroup:
    import typer.main

    from exactlink.cli.helptext import localize

    instance = info.typer_instance
    if instance is None or any(not sub.name for sub in instance.registered_groups):
        # a nameless sub-group merges its commands into this one: build it the ordinary way
        return localize(typer.main.get_group_from_info(info, **settings))
    hollow = copy.copy(info)
    hollow.typer_instance = copy.copy(instance)
    hollow.typer_instance.registered_commands = []
    hollow.typer_instance.registered_groups = []
    group = typer.main.get_group_from_info(hollow, **settings)
    builders: dict[str, Callable[[], click.Command]] = {}
    for command in instance.registered_commands:
        callback = command.callback.__name__ if command.callback else ""
        name = command.name or typer.main.get_command_name(callback)
        builders[name] = partial(_command, command, settings)
    for sub in instance.registered_groups:
        builders[str(sub.name)] = partial(_group, sub, settings)
    group.commands = LazyCommands(builders)
    return localize(group)


def _command(info: CommandInfo, settings: _Settings) -> click.Command:
    import typer.main

    from exactlink.cli.helptext import localize

    return localize(
        typer.main.get_command_from_info(
            info,
            pretty_exceptions_short=settings["pretty_exceptions_short"],
            rich_markup_mode=settings["rich_markup_mode"],
        )
    )
