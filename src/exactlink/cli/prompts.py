"""Yes/no questions to a person at a terminal, the same in every command and language.

The choice is shown as the language writes it (``[y/N]``, Dutch ``[j/N]``) and either language's
answer is understood whatever the language: y/yes/j/ja and n/no/nee, in any case. An empty answer
takes the default; anything else asks again. The question goes to stderr, so stdout keeps only
data. Whether to ask at all (``--yes``, no prompt when stdin is not a terminal) is the caller's
rule (``AppContext.confirm``).
"""

from __future__ import annotations

import sys
from typing import TextIO

from exactlink.i18n import _

YES = frozenset({"y", "yes", "j", "ja"})
NO = frozenset({"n", "no", "nee"})


def parse_answer(answer: str, default: bool | None = None) -> bool | None:
    """True for yes, False for no, ``default`` for an empty answer, None when not understood."""
    word = answer.strip().casefold()
    if not word:
        return default
    if word in YES:
        return True
    if word in NO:
        return False
    return None


def choices(default: bool) -> str:
    """The choice as shown after the question: ``[y/N]`` (default no) or ``[Y/n]``."""
    return _("[Y/n]") if default else _("[y/N]")


def ask_yes_no(
    question: str,
    *,
    default: bool = False,
    stdin: TextIO | None = None,
    stderr: TextIO | None = None,
) -> bool:
    """Ask ``question`` until the answer is understood. End of input (Ctrl-D) raises EOFError;
    Ctrl-C raises KeyboardInterrupt, which the CLI turns into "Interrupted." (exit 130)."""
    from exactlink.cli.output import visible

    stdin = stdin or sys.stdin
    stderr = stderr or sys.stderr
    while True:
        stderr.write(f"{visible(question, multiline=True)} {choices(default)}: ")
        stderr.flush()
        line = stdin.readline()
        if not line:
            stderr.write("\n")
            raise EOFError
        answer = parse_answer(line, default)
        if answer is not None:
            return answer
        stderr.write(_("Please answer y (yes) or n (no).") + "\n")
