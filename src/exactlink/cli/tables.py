"""A table for a terminal that is written row by row: big lists at the speed of a pipe.

Rich lays a table out whole before it prints a line (about 0.8 ms and 7 KiB a row: 89 s and
747 MiB for 100,000 clients). Here the column widths come from the header and the first rows (a
bounded sample), fitted to the terminal's width; every row after that is written as it comes, in
the same look as Rich's table (``│`` between columns, a heavy rule under the header). A value
wider than its column folds onto the next line inside the column, as in Rich with
``overflow="fold"``: nothing is cut off. Memory stays that of the sample and one batch of lines.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import TextIO

SAMPLE_ROWS = 500  # rows that size the columns
BATCH_ROWS = 256  # rows per write: one system call for many lines, still seen as they come
_MIN_WIDTH = 4


def cell_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: wide (East Asian) characters two, combining marks
    none."""
    if text.isascii():
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def fold(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` columns: at spaces where it can, inside a word
    where it must."""
    lines: list[str] = []
    if text.isascii():
        while len(text) > width:
            cut = text.rfind(" ", 0, width + 1)
            if cut <= 0:
                lines.append(text[:width])
                text = text[width:]
            else:
                lines.append(text[:cut])
                text = text[cut + 1 :]
        lines.append(text)
        return lines
    line, used = "", 0
    for word in text.split(" "):
        size = cell_width(word)
        if line and used + 1 + size <= width:
            line, used = f"{line} {word}", used + 1 + size
            continue
        if line:
            lines.append(line)
        line, used = "", 0
        for char in word:  # a word wider than the column breaks inside it
            w = cell_width(char)
            if used + w > width and line:
                lines.append(line)
                line, used = "", 0
            line += char
            used += w
    lines.append(line)
    return lines


def fit(widths: list[int], room: int) -> list[int]:
    """Column widths that fit ``room`` columns: the widest columns are narrowed to one cap, the
    others keep their width (none below a few columns). With room to spare, each column gets a
    quarter more (at least two): the rows after the sample may hold longer values (numbers
    that grow, longer names), and a value that fits need not fold."""
    if sum(widths) <= room:
        spare = room - sum(widths)
        wider = []
        for w in widths:
            extra = min(spare, max(2, w // 4))
            spare -= extra
            wider.append(w + extra)
        return wider
    low, high = _MIN_WIDTH, max(widths)
    while low < high:  # the largest cap that still fits
        cap = (low + high + 1) // 2
        if sum(min(w, cap) for w in widths) <= room:
            low = cap
        else:
            high = cap - 1
    return [min(w, low) for w in widths]


class StreamedTable:
    """Lays out ``columns`` from a sample of rows, then writes rows as they come."""

    def __init__(
        self,
        columns: Sequence[str],
        sample: Sequence[Sequence[str]],
        *,
        terminal_width: int,
        unicode: bool = True,
        bold: bool = False,
    ) -> None:
        widths = [cell_width(c) for c in columns]
        for row in sample:
            widths = [max(w, cell_width(v)) for w, v in zip(widths, row, strict=False)]
        # Each column has a space either side and one separator between two columns.
        room = max(terminal_width - 3 * len(columns) + 1, _MIN_WIDTH * len(columns))
        self.widths = fit(widths, room)
        self.columns = list(columns)
        bar = "│" if unicode else "|"
        # The common row (plain ASCII, every value fits) is one str.format call.
        self._format = " " + f" {bar} ".join(f"{{:<{w}}}" for w in self.widths)
        self._length = sum(self.widths) + 3 * len(self.widths) - 2
        self.unicode = unicode
        self.bold = bold

    def header(self) -> list[str]:
        """The header line(s) and the rule under them."""
        heavy, cross, stroke = ("┃", "╇", "━") if self.unicode else ("|", "+", "-")
        lines = [text.rstrip() for text in self._lines(self.columns, heavy)]
        if self.bold:
            lines = [f"\x1b[1m{text}\x1b[0m" for text in lines]
        rule = cross.join(stroke * (w + 2) for w in self.widths)
        return [*lines, rule]

    def row(self, cells: Sequence[str]) -> list[str]:
        if "".join(cells).isascii():
            line = self._format.format(*cells)
            if len(line) == self._length:  # a longer line: some value is wider than its column
                return [line]
        return self._lines(cells, "│" if self.unicode else "|")

    def _lines(self, cells: Sequence[str], bar: str) -> list[str]:
        widths = self.widths
        joint = f" {bar} "
        parts = [
            fold(c, w) if cell_width(c) > w else [c] for c, w in zip(cells, widths, strict=False)
        ]
        height = max(len(p) for p in parts)
        out = []
        for i in range(height):
            texts = [p[i] if i < len(p) else "" for p in parts]
            padded = [t + " " * (w - cell_width(t)) for t, w in zip(texts, widths, strict=False)]
            out.append(" " + joint.join(padded))
        return out

    def write(self, stream: TextIO, rows: Iterable[Sequence[str]]) -> None:
        """The header, then ``rows`` in batches (trailing spaces dropped)."""
        stream.write("\n".join(line.rstrip() for line in self.header()) + "\n")
        for batch in _batches(rows, BATCH_ROWS):
            lines = [line.rstrip() for cells in batch for line in self.row(cells)]
            stream.write("\n".join(lines) + "\n")
            stream.flush()


def _batches(rows: Iterable[Sequence[str]], size: int) -> Iterator[list[Sequence[str]]]:
    batch: list[Sequence[str]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
