"""Commands quoted in hints, so a person can copy them as they are.

A name is quoted for the shell (``shlex.quote``). A name that starts with ``-`` would be read as
an option, so it goes last, after ``--`` (everything after ``--`` is an argument, so the options
come first): ``exactlink client access --granted -- -foo``. An option's value needs no ``--``:
``--client -foo`` is read as the value.
"""

from __future__ import annotations

import shlex


def arguments(name: str, options: str = "") -> str:
    """The arguments after a command that takes ``name`` as its argument: ``'Name' --granted``,
    or ``--granted -- -foo`` when the name starts with ``-``."""
    quoted = shlex.quote(name)
    if name.startswith("-"):
        return f"{options} -- {quoted}".strip()
    return f"{quoted} {options}".strip()
