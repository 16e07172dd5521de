"""Two streams: data on stdout, everything a person reads on stderr.

- ``--json``: stdout holds exactly one JSON document. Read commands print plain data with stable
  snake_case keys; mutating and bulk commands print one result envelope
  ``{"schema_version": 1, "status": "success|partial|error", "data": ..., "errors": [...]}``.
- Human output: a Rich table when stdout is a terminal, aligned plain text otherwise (so
  ``grep``/``awk`` work and start-up stays free of Rich). The data console has markup off: a client
  named ``[Acme] B.V.`` prints as is.
- Messages, progress and hints go to stderr; ``-q`` silences everything but errors; colour only on a
  terminal and never with ``NO_COLOR``.
- Text from outside (Exact, a CSV, the person) may hold control characters: an escape sequence in
  a client or administration name could recolour, rewrite or hide what the terminal shows. Every
  table cell, field and message is shown through ``visible()`` here, so they appear as ``^[`` or
  ``\u009b`` instead of acting (like GitHub CLI's ``pkg/text``). ``--json`` keeps the exact value
  (JSON escapes them, ``\u001b``).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any, TextIO

from exactlink.i18n import _

ENVELOPE_SCHEMA_VERSION = 1
RICH_ROWS = 100  # a table this short is drawn by Rich (it wraps at words); longer ones stream

_STYLES = {"error": "31;1", "warn": "33", "ok": "32", "hint": "36", "dim": "2"}

# C0 controls (ESC, CR, BEL, backspace...), DEL, C1 controls (the 8-bit CSI \x9b among them) and
# the bidirectional overrides that reorder what is shown ("Trojan Source"). Messages keep their
# newlines and tabs; a table cell or field keeps none (a newline would break the rows).
# The patterns are compiled on first use, not at import: a --json command
# whose output is plain ASCII never needs one.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_UNSAFE_INLINE = f"[\x00-\x1f\x7f-\x9f{_BIDI}]"
_UNSAFE_MESSAGE = f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]"
# In JSON text: what json.dumps(ensure_ascii=False) leaves raw (it escapes only C0 and quotes):
# DEL, and characters beyond ASCII.
_UNSAFE_JSON = f"[\x7f-\x9f{_BIDI}]"


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _show(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code < 0x20:
        return "^" + chr(code + 0x40)  # caret notation: ESC → ^[, CR → ^M
    if code == 0x7F:
        return "^?"
    return f"\\u{code:04x}"


def visible(value: Any, *, multiline: bool = False) -> str:
    """``value`` as text that cannot act on a terminal: control and escape characters shown as
    ``^[``, ``^M`` or ``\\u009b``. ``multiline`` keeps newlines and tabs (messages)."""
    text = "" if value is None else str(value)
    if text.isprintable():  # no control, format (bidi) or line-separator character: as it is
        return text
    return _pattern(_UNSAFE_MESSAGE if multiline else _UNSAFE_INLINE).sub(_show, text)


def _visible_row(row: Sequence[Any]) -> list[str]:
    """A row's cells as ``visible()`` text; one search for the whole row when it is clean (the
    common case: a 100,000-row table would otherwise run 700,000 substitutions)."""
    cells = ["" if value is None else str(value) for value in row]
    if "".join(cells).isprintable():  # as in visible(): nothing to show differently
        return cells
    return [visible(cell) for cell in cells]


def envelope(
    status: str, data: Any = None, errors: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """The result envelope of a mutating or bulk command."""
    return {
        "schema_version": ENVELOPE_SCHEMA_VERSION,
        "status": status,
        "data": data,
        "errors": list(errors),
    }


def _jsonable(value: Any) -> Any:
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


class Output:
    """Where a command writes; built once per command by the context."""

    def __init__(
        self,
        *,
        json_mode: bool = False,
        quiet: bool = False,
        verbose: int = 0,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        portal: str | None = None,
    ) -> None:
        self.portal = portal  # the --portal the person gave; hints keep it
        self.json_mode = json_mode
        self.quiet = quiet
        self.verbose = verbose
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr

    # -- terminals ---------------------------------------------------------------------------
    @property
    def stdout_is_tty(self) -> bool:
        return _isatty(self.stdout)

    @property
    def stderr_is_tty(self) -> bool:
        return _isatty(self.stderr)

    def _color(self, stream: TextIO) -> bool:
        return _isatty(stream) and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"

    def _paint(self, text: str, style: str, stream: TextIO) -> str:
        if not self._color(stream):
            return text
        return f"\x1b[{_STYLES[style]}m{text}\x1b[0m"

    # -- data (stdout) -----------------------------------------------------------------------
    def json(self, value: Any) -> None:
        """Write one JSON document to stdout: indented on a terminal, one compact line in a pipe
        (like `gh api`; it also keeps Python's fast C encoder, which ``indent`` turns off)."""
        import json

        if self.stdout_is_tty:
            text = json.dumps(value, indent=2, ensure_ascii=False, default=_jsonable)
        else:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_jsonable)
        # Same value, escaped: a C1 control or bidi override inside a string never reaches a
        # terminal raw (json.dumps escapes C0 controls itself).
        if not text.isascii() or "\x7f" in text:
            text = _pattern(_UNSAFE_JSON).sub(lambda m: f"\\u{ord(m.group()):04x}", text)
        self.stdout.write(text)
        self.stdout.write("\n")
        self.stdout.flush()

    def result(self, status: str, data: Any = None, errors: Sequence[dict[str, Any]] = ()) -> None:
        """The result envelope, printed only in ``--json`` mode (humans get messages instead)."""
        if self.json_mode:
            self.json(envelope(status, data, errors))

    def line(self, text: str = "") -> None:
        """A line of human data on stdout (not in ``--json`` mode)."""
        if not self.json_mode:
            self.stdout.write(visible(text, multiline=True) + "\n")

    def check_line(self, symbol: str, style: str, text: str) -> None:
        """A checklist line on stdout: ``symbol`` painted with ``style`` (on a colour terminal),
        then ``text`` (made visible)."""
        self.line(self._paint(symbol, style, self.stdout) + " " + visible(text, multiline=True))

    def table(
        self,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        title: str | None = None,
    ) -> None:
        """Rows of data for a person: on a terminal a Rich table for a short list and a table
        streamed row by row for a long one (Rich lays out the whole table first: 89 s for
        100,000 rows); aligned plain text otherwise."""
        shown = (_visible_row(row) for row in rows)
        if not self.stdout_is_tty:
            self._plain_table(columns, list(shown))
            return
        from itertools import chain, islice

        from exactlink.cli.tables import SAMPLE_ROWS

        head = list(islice(shown, RICH_ROWS + 1))
        if len(head) <= RICH_ROWS:
            self._rich_table(columns, head, title)
            return
        head += islice(shown, SAMPLE_ROWS - len(head))
        self._streamed_table(columns, head, chain(head, shown), title)

    def _rich_table(
        self, columns: Sequence[str], cells: list[list[str]], title: str | None
    ) -> None:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, show_edge=False, header_style="bold")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in cells:
            table.add_row(*row)
        Console(file=self.stdout, markup=False, emoji=False, highlight=False).print(table)

    def _streamed_table(
        self,
        columns: Sequence[str],
        sample: list[list[str]],
        rows: Iterable[list[str]],
        title: str | None,
    ) -> None:
        from exactlink.cli.tables import StreamedTable

        encoding = (getattr(self.stdout, "encoding", None) or "").lower().replace("-", "")
        table = StreamedTable(
            columns,
            sample,
            terminal_width=_terminal_width(self.stdout),
            unicode=encoding.startswith("utf"),
            bold=self._color(self.stdout),
        )
        if title:
            self.stdout.write(visible(title) + "\n")
        table.write(self.stdout, rows)

    def _plain_table(self, columns: Sequence[str], cells: list[list[str]]) -> None:
        widths = [len(c) for c in columns]
        for row in cells:
            widths = [max(w, len(v)) for w, v in zip(widths, row, strict=False)]
        header = "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=False))
        out = [header.rstrip()]
        out += [
            "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)).rstrip()
            for row in cells
        ]
        self.stdout.write("\n".join(out) + "\n")

    def fields(self, pairs: Sequence[tuple[str, Any]]) -> None:
        """A record for a person: ``label: value`` lines on stdout."""
        width = max((len(label) for label, _v in pairs), default=0)
        for label, value in pairs:
            shown = "-" if value is None or value == "" else visible(value)
            self.stdout.write(f"{label.ljust(width)}  {shown}\n")

    # -- messages (stderr) ---------------------------------------------------------------------
    def _emit(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def info(self, text: str) -> None:
        if not self.quiet:
            self._emit(visible(text, multiline=True))

    def success(self, text: str) -> None:
        if not self.quiet:
            self._emit(self._paint("✓ ", "ok", self.stderr) + visible(text, multiline=True))

    def warn(self, text: str) -> None:
        if not self.quiet:
            self._emit(
                self._paint(_("Warning:"), "warn", self.stderr)
                + " "
                + visible(text, multiline=True)
            )

    def hint(self, text: str) -> None:
        if not self.quiet:
            self._emit(self._hint_line(text))

    def _hint_line(self, text: str) -> str:
        return (
            self._paint(_("Hint:"), "hint", self.stderr)
            + " "
            + visible(self._keep_portal(text), multiline=True)
        )

    def _keep_portal(self, text: str) -> str:
        """A command in a hint keeps the ``--portal`` the person gave: `exactlink client access
        A --granted` becomes `exactlink --portal P client access A --granted`, so copying it
        acts on the same portal (not the default one)."""
        if not self.portal or "`exactlink " not in text:
            return text
        import re
        import shlex

        flag = f"`exactlink --portal {shlex.quote(self.portal)} "
        return re.sub(r"`exactlink (?!--portal\b|portal\b)", lambda _match: flag, text)

    def debug(self, text: str) -> None:
        if self.verbose:
            self._emit(self._paint(visible(text, multiline=True), "dim", self.stderr))

    def error(self, message: str, hint: str | None = None) -> None:
        """An error for a person; always shown, even with ``-q``."""
        self._emit(
            self._paint(_("Error:"), "error", self.stderr) + " " + visible(message, multiline=True)
        )
        if hint:
            self._emit(self._hint_line(hint))


def _terminal_width(stream: TextIO) -> int:
    """The terminal's width in columns (``COLUMNS`` first, as Rich reads it; else 80)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
