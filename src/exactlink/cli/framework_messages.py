"""Click's and Typer's own words that a person reads, listed for exactlink's catalogue.

Never imported by the program: ``N_()`` and ``ngettext()`` here only mark the messages for
extraction (tests/tools/i18n.py). Click and Typer look them up at run time through the ``_`` and
``ngettext`` that cli.helptext routes to our catalogue. Each text is copied exactly from the
installed Click or Typer (tests/cli/test_help_dutch.py checks they are still there); developer
errors (a badly declared option) are left out: no person ever reads them.
"""

from exactlink.i18n import N_, ngettext

MESSAGES = (
    # the help page (click.formatting, click.core, click.decorators, typer.core)
    N_("Usage:"),
    N_("Options"),
    N_("Commands"),
    N_("Arguments"),
    N_("Show this message and exit."),
    N_("default: {default}"),
    N_("env var: {var}"),
    N_("required"),
    N_("(dynamic)"),
    N_("deprecated"),
    # Typer's shell completion options (typer.completion)
    N_("Install completion for the current shell."),
    N_("Show completion for the current shell, to copy it or customize the installation."),
    # Typer's Rich help on a terminal (typer.rich_utils)
    N_("(deprecated) "),
    N_("[default: {}]"),
    N_("[env var: {}]"),
    N_("[required]"),
    N_("Error"),
    N_("Aborted."),
    N_("Try [blue]'{command_path} {help_option}'[/] for help."),
    # usage errors (click.exceptions, click.core, click.parser)
    N_("Error: {message}"),
    N_("Try '{command} {option}' for help."),
    N_("Invalid value: {message}"),
    N_("Invalid value for {param_hint}: {message}"),
    N_("Missing argument"),
    N_("Missing option"),
    N_("Missing parameter"),
    N_("Missing {param_type}"),
    N_("Missing parameter: {param_name}"),
    N_("No such option {name!r}."),
    N_("No such command {name!r}."),
    N_("Missing command."),
    N_("Aborted!"),
    N_("Could not open file {filename!r}: {message}"),
    N_("Argument {name!r} takes {nargs} values."),
    N_("Option {name!r} does not take a value."),
    # values of the wrong kind (click.types)
    N_("Choose from:\n\t{choices}"),
    N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."),
    N_("{value!r} is not a valid boolean. Recognized values: {states}"),
    N_("{value!r} is not a valid UUID."),
    N_("file"),
    N_("directory"),
    N_("path"),
    N_("{name} {filename!r} does not exist."),
    N_("{name} {filename!r} is a file."),
    N_("{name} {filename!r} is a directory."),
    N_("{name} {filename!r} is not readable."),
    N_("{name} {filename!r} is not writable."),
    N_("{name} {filename!r} is not executable."),
    # prompts (click.termui)
    N_("Repeat for confirmation"),
    N_("Error: The two entered values do not match."),
    N_("Error: invalid input"),
)


def plural_messages(n: int) -> tuple[str, ...]:
    """Click's messages with a count (called only by the tests)."""
    return (
        ngettext(
            "Got unexpected extra argument ({args})",
            "Got unexpected extra arguments ({args})",
            n,
        ),
        ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", n),
        ngettext(
            "Option {name!r} requires an argument.",
            "Option {name!r} requires {nargs} arguments.",
            n,
        ),
        ngettext("{value!r} is not {choice}.", "{value!r} is not one of {choices}.", n),
        ngettext(
            "{value!r} does not match the format {format}.",
            "{value!r} does not match the formats {formats}.",
            n,
        ),
        ngettext(
            "Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given.", n
        ),
    )
