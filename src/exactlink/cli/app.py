"""The root of the command line: global options, the command groups, and the one place that
turns an exception into a message and an exit code (docs/exit-codes.md)."""

import os
import sys
from typing import Annotated, Any

# Typer's Rich help and error panels only on a terminal: in a pipe (scripts, `| less`, the docs
# generator) plain click text is easier to read, and it spares every start-up the Rich import.
# Typer reads this once, when it is imported.
if not sys.stdout.isatty():
    os.environ.setdefault("TYPER_USE_RICH", "0")
else:
    from exactlink.cli.richhelp import defer_unused_rich_modules

    defer_unused_rich_modules()  # Rich's help without markdown-it and pygments

import click
import typer
from typer.core import TyperGroup

from exactlink import __version__
from exactlink.cli import context as _context
from exactlink.errors import Cancelled, ExactlinkError
from exactlink.i18n import N_, _

# Global options may also be written after the command (`exactlink client list --json`); they
# are moved in front before parsing. Those that take a value are listed with True.
GLOBAL_OPTIONS = {
    "--json": False,
    "-q": False,
    "--quiet": False,
    "-v": False,
    "--verbose": False,
    "--debug": False,
    "--portal": True,
    "--home": True,
    "--lang": True,
}


def hoist_global_options(args: list[str]) -> list[str]:
    """Move global options written after a subcommand to the front; stop at ``--``."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            front.append(arg)
            if GLOBAL_OPTIONS[name] and "=" not in arg and i + 1 < len(args):
                front.append(args[i + 1])
                i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


# The command groups, loaded only when used: `exactlink portal list` builds the portal group
# alone, so start-up does not pay for every command's options (`--help` loads them all).
# name → (module, attribute): a Typer app (a group) or a function (a single command).
COMMANDS: dict[str, tuple[str, str]] = {
    "portal": ("exactlink.cli.commands.portal", "app"),
    "client": ("exactlink.cli.commands.client", "app"),
    # exact.py's group, with the commands exact_connect.py and activation.py add to it
    "exact": ("exactlink.cli.commands.exact_group", "app"),
    "doctor": ("exactlink.cli.commands.doctor", "doctor"),
    "log": ("exactlink.cli.commands.log", "log"),
    "store": ("exactlink.cli.commands.store", "app"),
    "support": ("exactlink.cli.commands.support", "app"),
    "sandbox": ("exactlink.cli.commands.sandbox", "app"),
    "demo": ("exactlink.cli.commands.demo", "demo"),
    "docs": ("exactlink.cli.commands.docs", "docs"),
}


# What the root --help lists for each command: the first line of its help, so that listing them
# does not import and build every command (tests/cli/test_help.py checks they are the same).
# A command missing here is loaded for the listing, as before.
SUMMARIES: dict[str, str] = {
    "portal": N_("Manage the firm's portals."),
    "client": N_("Manage the portal's clients."),
    "exact": N_("Exact Online: app settings, connect, divisions, activate."),
    "doctor": N_("Diagnose the set-up, with the fix for each problem."),
    "log": N_("Show the audit trail of every change."),
    "support": N_("Material for a support ticket."),
    "sandbox": N_("A local Exact Online for tests, demos and rehearsals."),
    "demo": N_("Run the whole job against a local Exact Online."),
    "docs": N_("Print a guide from the installed package (no network)."),
    "store": N_("The store: local, or a team store on PostgreSQL."),
}


def load_command(name: str) -> click.Command:
    """Import and build the command (or group) registered as ``name``."""
    import importlib

    import typer.main

    from exactlink.cli.lazy import lazy_group

    module_name, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module_name), attribute)
    if isinstance(target, typer.Typer):
        command: click.Command = lazy_group(target)  # a group even with one subcommand
    else:
        from exactlink.cli.helptext import localize

        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = localize(typer.main.get_command(single))
    command.name = name
    return command


class ExactlinkGroup(TyperGroup):
    """The root group: loads command groups lazily, hoists global options and maps every error
    to its exit code."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(n for n in super().list_commands(ctx) if n not in COMMANDS)]

    listing = False  # True while the root's own help is written

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            if self.listing and cmd_name in SUMMARIES:
                # the help lists names and first lines only: no need to build the command
                return click.Command(cmd_name, help=_(SUMMARIES[cmd_name]))
            self.commands[cmd_name] = load_command(cmd_name)
        return super().get_command(ctx, cmd_name)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        args = hoist_global_options(list(args))
        # The language first: --help and usage errors happen while parsing, and speak it too.
        from exactlink.cli.helptext import localize, prepare

        prepare(args)
        localize(self)
        # Known before parsing, so a usage error of the root options (`--json --bogus`), which
        # happens before the root callback builds the context, still gets its JSON envelope.
        ctx.meta[_JSON_META] = "--json" in args[: args.index("--") if "--" in args else None]
        try:
            return super().parse_args(ctx, args)
        except Exception as exc:
            if hasattr(exc, "format_message"):
                _usage_envelope(ctx, exc)
            raise

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ExactlinkError as exc:
            _fail(_context.app_context(ctx), exc)
        except KeyboardInterrupt:
            _fail(_context.app_context(ctx), Cancelled(_("Interrupted.")))
        except BrokenPipeError:
            _closed_pipe()
        except OSError as exc:
            # Permission denied, disk full, read-only disk: the machine's doing, not a bug.
            from exactlink.adapters.files import ENVIRONMENT_ERRNOS, environment_problem

            if exc.errno not in ENVIRONMENT_ERRNOS:
                _bug(_context.app_context(ctx), exc)
            _fail(_context.app_context(ctx), environment_problem(exc))
        except Exception as exc:
            app_ctx = _context.app_context(ctx)
            if type(exc).__module__ == "sqlite3":
                _store_failure(app_ctx, exc)
            if not _is_framework_exception(exc):
                _bug(app_ctx, exc)
            if type(exc).__name__ == "Abort":
                _fail(app_ctx, Cancelled(_("Aborted.")))
            _suggest_once(ctx, exc)
            if hasattr(exc, "format_message"):
                # Usage errors keep the framework's message and exit 2; --json still gets an
                # envelope on stdout.
                _usage_envelope(ctx, exc)
            raise
        return None


_JSON_META = "exactlink.json"


def _usage_envelope(ctx: Any, exc: Any) -> None:
    """The one JSON document of a ``--json`` run that ends in a usage error (printed once)."""
    root = ctx.find_root()
    if root.meta.get("exactlink.usage_printed") or not root.meta.get(_JSON_META):
        return
    root.meta["exactlink.usage_printed"] = True
    from exactlink.cli.output import Output

    out = ctx.obj.out if isinstance(ctx.obj, _context.AppContext) else Output(json_mode=True)
    out.json_mode = True
    out.result("error", None, [{"code": "usage", "message": exc.format_message()}])


def _suggest_once(ctx: Any, exc: Exception) -> None:
    """One "Did you mean ...?" for a mistyped command or option, wherever it stands."""
    if isinstance(exc, click.exceptions.NoSuchCommand):
        _one_suggestion(exc)
    elif isinstance(exc, click.exceptions.NoSuchOption) and not exc.possibilities:
        _global_option_suggestion(ctx, exc)


def _one_suggestion(exc: click.exceptions.NoSuchCommand) -> None:
    """A mistyped command gets one "Did you mean ...?": click adds it from the group's commands
    and Typer appended the same again; the root, which loads its groups lazily, got none."""
    # Plain attributes at run time; some click releases type them Final, hence vars().
    vars(exc)["message"] = exc.message.split(" Did you mean ", 1)[0]
    group = exc.ctx.command if exc.ctx is not None else None
    if not exc.possibilities and isinstance(group, click.Group) and exc.ctx is not None:
        from difflib import get_close_matches

        names = group.list_commands(exc.ctx)
        vars(exc)["possibilities"] = get_close_matches(exc.command_name, names) or None


def _global_option_suggestion(ctx: Any, exc: click.exceptions.NoSuchOption) -> None:
    """`client list --jsno`: the global options may stand after the command too, so they are
    suggested there as well."""
    from difflib import get_close_matches

    names = [name for param in ctx.find_root().command.params for name in param.opts]
    vars(exc)["possibilities"] = get_close_matches(exc.option_name, names) or None


def _store_failure(app_ctx: _context.AppContext, exc: Exception) -> None:
    """An SQLite error that escaped a read: a damaged store is the machine's trouble (exit 11),
    not a bug; anything else stays a bug."""
    from exactlink.adapters.store.db import translate

    translated = translate(exc, app_ctx.paths.db_file)
    if translated is None:
        _bug(app_ctx, exc)
    else:
        _fail(app_ctx, translated)


def _closed_pipe() -> None:
    """The reader went away (`exactlink client list | head -1`): stop quietly, like other Unix
    tools, with 128 + SIGPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise typer.Exit(141)


def _is_framework_exception(exc: BaseException) -> bool:
    """Typer's (and click's) own signals: usage errors, Exit, Abort. They pass through."""
    module = type(exc).__module__
    return module.startswith(("typer", "click"))


def _bug(app_ctx: _context.AppContext, exc: Exception) -> None:
    """A bug: one line, no locals; --debug prints the traceback."""
    if app_ctx.debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    app_ctx.out.error(
        _("Unexpected error: {kind}: {error}").format(kind=type(exc).__name__, error=exc),
        _("Re-run with --debug for details, and report it with `exactlink support bundle`."),
    )
    app_ctx.out.result("error", None, [{"code": "internal", "message": str(exc)}])
    raise typer.Exit(1) from None


def _fail(app_ctx: _context.AppContext, exc: ExactlinkError) -> None:
    app_ctx.out.error(exc.message, exc.hint)
    app_ctx.out.result("error", None, [exc.to_dict()])
    raise typer.Exit(exc.exit_code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"exactlink {__version__}")
        raise typer.Exit()


app = typer.Typer(
    cls=ExactlinkGroup,
    name="exactlink",
    help=N_(
        "Link an accounting firm's clients to Exact Online through the firm's own login.\n\n"
        "A portal, its client accounts, one connection to Exact Online, and an activation per "
        "client."
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    portal_name: Annotated[
        str | None,
        typer.Option(
            "--portal", help=N_("Portal to act on (default: the one set with `portal use`).")
        ),
    ] = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help=N_("Machine-readable JSON on stdout (in English, whatever --lang says)."),
        ),
    ] = False,
    home: Annotated[
        str | None,
        typer.Option(
            "--home",
            envvar="EXACTLINK_HOME",
            help=N_("Keep config and state in this folder (env EXACTLINK_HOME)."),
            show_envvar=False,
        ),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option("--lang", help=N_("Language of messages: nl or en (env EXACTLINK_LANG).")),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help=N_("Only errors on stderr."))
    ] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help=N_("More detail on stderr."))
    ] = 0,
    debug: Annotated[
        bool, typer.Option("--debug", help=N_("Show tracebacks of unexpected errors."))
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help=N_("Print the version and exit.")
        ),
    ] = False,
) -> None:
    """exactlink: connect once to Exact Online, activate per client, diagnose what is missing."""
    from exactlink.i18n import detect_language, set_language

    if lang and lang.lower() not in ("nl", "en"):
        raise typer.BadParameter(_("use nl or en"), param_hint="--lang")
    # --json output must not depend on the language (scripts compare it), and its messages are
    # built before they are rendered: so a --json run speaks English throughout.
    language = "en" if json_output else detect_language(lang)
    set_language(language)
    app_ctx = _context.AppContext(
        home=home,
        portal_name=portal_name,
        json=json_output,
        quiet=quiet,
        verbose=verbose,
        debug=debug,
        lang=language,
    )
    ctx.obj = app_ctx
    ctx.call_on_close(app_ctx.close)


def main() -> None:
    """Console-script entry point."""
    import gc

    # What start-up imported (Typer, Click, this module) lives until the process ends: out of the
    # collector's sight, so that neither the collections a command triggers nor the one at exit
    # walk those tens of thousands of objects again (benchmarks/README.md: about a tenth of
    # `import typer` on `client list --json`).
    gc.freeze()
    try:
        app(prog_name="exactlink")
    except BrokenPipeError:  # raised while flushing at exit
        _closed_pipe()
