"""Write docs/cli.md from the commands' own definitions, so the reference never drifts from
``--help`` (tests/test_docs.py fails when the file is stale).

    python tests/tools/cli_docs.py > docs/cli.md
"""

from __future__ import annotations

import sys
from typing import Any

HEADER = """# CLI reference

Generated from the commands' own help by `python tests/tools/cli_docs.py > docs/cli.md`;
`tests/test_docs.py` fails when this file and `exactlink --help` disagree.

Global options may be written before or after the command (`exactlink --json client list` and
`exactlink client list --json` are the same). Exit codes: [exit-codes.md](exit-codes.md).
"""


def _option_row(param: Any) -> str:
    names = ", ".join(f"`{name}`" for name in [*param.opts, *param.secondary_opts])
    if param.param_type_name == "argument":
        names = f"`{param.name.upper()}`"
    text = (getattr(param, "help", None) or "").replace("\n", " ").replace("|", "\\|")
    extras = []
    if getattr(param, "required", False):
        extras.append("required")
    default = getattr(param, "default", None)
    show_default = not getattr(param, "is_flag", False) and default not in (None, (), [], False)
    if show_default and param.param_type_name != "argument":
        extras.append(f"default: `{default}`")
    minimum = getattr(param.type, "min", None)
    if minimum is not None and not getattr(param, "count", False):
        extras.append(f"at least `{minimum}`")
    if extras:
        text = f"{text} ({', '.join(extras)})" if text else ", ".join(extras)
    return f"| {names} | {text} |"


def _usage(path: list[str], command: Any) -> str:
    pieces = ["exactlink", *path]
    if subcommands(command):
        pieces.append("COMMAND [ARGS]...")
    else:
        for param in command.params:
            if param.param_type_name == "argument":
                name = param.name.upper()
                pieces.append(name if param.required else f"[{name}]")
        if any(p.param_type_name == "option" for p in command.params):
            pieces.append("[OPTIONS]")
    return " ".join(pieces)


def subcommands(command: Any) -> list[tuple[str, Any]]:
    """A group's commands by name, loading lazily registered ones (cli/app.py COMMANDS)."""
    if not hasattr(command, "list_commands"):
        return []
    return sorted((name, command.get_command(None, name)) for name in command.list_commands(None))


def _render(path: list[str], command: Any, out: list[str]) -> None:
    if getattr(command, "hidden", False):
        return
    title = "exactlink " + " ".join(path) if path else "exactlink"
    out.append(f"\n{'#' * min(2 + len(path), 4)} `{title}`\n")
    help_text = (command.help or "").strip()
    if help_text:
        out.append(help_text + "\n")
    out.append(f"```\n{_usage(path, command)}\n```\n")
    params = [
        p for p in command.params if p.name not in ("help",) and not getattr(p, "hidden", False)
    ]
    if params:
        out.append("| option | meaning |\n| --- | --- |")
        out.extend(_option_row(p) for p in params)
        out.append("")
    for name, sub in subcommands(command):
        _render([*path, name], sub, out)


def render() -> str:
    import typer.main

    from exactlink.cli.app import app

    out = [HEADER]
    _render([], typer.main.get_command(app), out)
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
