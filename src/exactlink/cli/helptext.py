"""``--help`` and usage errors in the person's language.

Three kinds of text make up a help page, and each is translated where it is shown:

- exactlink's own: the ``help=`` of commands, groups, options and arguments and the docstrings
  Typer uses as a command's help. They are fixed when a module is imported (``N_()`` marks them
  for the catalogue), so ``localize`` passes each built click command through the catalogue once,
  when the language is known: cli.app builds every command lazily, after ``prepare`` read the
  language from the command line, so a command is translated as it is built.
- Click's and Typer's words (``Usage:``, ``Options``, ``Show this message and exit.``, ``No such
  option``, ``Missing argument``...): both call ``gettext.gettext`` through a module-level ``_``
  (and ``ngettext``), looked up at call time. ``install_framework_translation`` rebinds those
  names in their modules to exactlink's ``_``/``ngettext``, which fall back to the English text;
  the msgids live in our catalogue (cli/framework_messages.py lists them). We do not touch the
  process-wide gettext domain, so nothing else in the process changes language.
- Typer's Rich help (on a terminal) reads its words from constants of ``typer.rich_utils``, set
  when that module is imported: they are set again from their English originals whenever the
  language is applied, or right after the module is imported (cli/richhelp.py).

English pays nothing: ``prepare`` returns before importing anything when no other language is
asked for and none was installed before.
"""

from __future__ import annotations

import copy
import inspect
import re
import sys
from typing import TYPE_CHECKING, TypeVar

from exactlink.i18n import N_, _, current_language, detect_language, ngettext, set_language

if TYPE_CHECKING:
    import types

    import click

Command = TypeVar("Command", bound="click.Command")

# typer.rich_utils' words (their English originals are kept to switch back).
RICH_CONSTANTS = (
    "DEPRECATED_STRING",
    "DEFAULT_STRING",
    "ENVVAR_STRING",
    "REQUIRED_LONG_STRING",
    "ARGUMENTS_PANEL_TITLE",
    "OPTIONS_PANEL_TITLE",
    "COMMANDS_PANEL_TITLE",
    "ERRORS_PANEL_TITLE",
    "ABORTED_TEXT",
    "RICH_HELP",
)
_rich_originals: dict[str, str] = {}
_installed = False

# Click's names of the value types, shown as metavars (``--limit INTEGER``, upper-cased) and in
# its errors ("'x' is not a valid integer."). A choice's ``[csv|json]`` is codes and stays;
# "boolean" stays too, because Typer's Rich help recognises flags by that very word.
TYPE_NAMES = {
    "text": N_("text"),
    "integer": N_("integer"),
    "integer range": N_("integer range"),
    "float": N_("float"),
    "float range": N_("float range"),
    "filename": N_("filename"),
    "seconds": N_("seconds"),  # cli.params.Seconds
}
OPTIONS_METAVAR = N_("[OPTIONS]")
SUBCOMMAND_METAVAR = N_("COMMAND [ARGS]...")


def language_in(args: list[str]) -> str:
    """The language of a run, from its (hoisted) arguments: English for ``--json``, else
    ``--lang``, ``EXACTLINK_LANG`` or the locale, as the root callback decides it."""
    front = args[: args.index("--")] if "--" in args else args
    if "--json" in front:
        return "en"
    explicit = None
    for i, arg in enumerate(front):
        if arg == "--lang" and i + 1 < len(front):
            explicit = front[i + 1]
        elif arg.startswith("--lang="):
            explicit = arg.split("=", 1)[1]
    return detect_language(explicit)


def prepare(args: list[str]) -> None:
    """Set the run's language before anything is parsed, so that ``--help`` (handled while
    parsing) and usage errors already speak it."""
    language = language_in(args)
    if language == "en" and not _installed:
        return  # English start-up pays nothing
    set_language(language)
    install_framework_translation()


def install_framework_translation() -> None:
    """Route Click's and Typer's messages through exactlink's catalogue (once), and set the
    Rich help's words for the current language."""
    global _installed
    if not _installed:
        import gettext

        for name, module in list(sys.modules.items()):
            if name.partition(".")[0] not in ("click", "typer") or module is None:
                continue
            if getattr(module, "_", None) is gettext.gettext:
                module._ = _  # type: ignore[attr-defined]
            if getattr(module, "ngettext", None) is gettext.ngettext:
                module.ngettext = ngettext  # type: ignore[attr-defined]
        _installed = True
    from exactlink.cli.richhelp import when_imported

    # now if Typer's Rich help is loaded, else right after it is (without loading it)
    when_imported(translate_rich_words)


def translate_rich_words(module: types.ModuleType) -> None:
    """Set typer.rich_utils' words in the current language."""
    if not _rich_originals:
        _rich_originals.update({name: getattr(module, name) for name in RICH_CONSTANTS})
    for name, english in _rich_originals.items():
        setattr(module, name, _(english))
    # the usage line's "Usage: " is coloured by a pattern; add the translated word's
    usage = _("Usage:")
    highlights = module.OptionHighlighter.highlights
    pattern = rf"(?P<usage>{re.escape(usage)} )"
    if usage != "Usage:" and pattern not in highlights:
        highlights.append(pattern)


def localize(command: Command) -> Command:
    """``command`` with its help, its options' and arguments' help and its metavars in the
    current language (in place; English: unchanged). Subcommands already built are included;
    those built later are translated by their builder (cli.lazy, cli.app)."""
    if current_language() == "en" or getattr(command, "_exactlink_language", "en") != "en":
        return command
    import click  # loaded already: the command is one

    command._exactlink_language = current_language()  # type: ignore[attr-defined]
    command.help = _translated(command.help)
    command.short_help = _translated(command.short_help)
    command.epilog = _translated(command.epilog)
    if command.options_metavar == "[OPTIONS]":
        command.options_metavar = _(OPTIONS_METAVAR)
    for param in command.params:
        if param.type.name in TYPE_NAMES:
            # a copy: click.STRING and click.INT are shared by every command
            param.type = copy.copy(param.type)
            param.type.name = _(TYPE_NAMES[param.type.name])
        if param.metavar:  # given in the code, marked with N_()
            param.metavar = _(param.metavar)
        param_help = getattr(param, "help", None)
        if param_help:
            param.help = _translated(param_help)  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        if command.subcommand_metavar == "COMMAND [ARGS]...":
            command.subcommand_metavar = _(SUBCOMMAND_METAVAR)
        commands = command.commands
        if isinstance(commands, dict):  # built eagerly, not a cli.lazy.LazyCommands
            for sub in commands.values():
                localize(sub)
    return command


def _translated(text: str | None) -> str | None:
    """``text`` through the catalogue; a docstring is looked up as Typer shows it (cleaned)."""
    if not text:
        return text
    return _(inspect.cleandoc(text))
