"""A long list on a terminal is a table written row by row, not one Rich table laid out whole
(89 s and 747 MiB for 100,000 clients, issue 14); a short one keeps Rich's table.

Through a real pseudo-terminal (pexpect), as a person meets it; the speed itself is measured in
benchmarks/bench_list.py, never here.
"""

from __future__ import annotations

import io
import os
import sys

import pytest

try:
    import pexpect
except ImportError:  # in the test extra; CI must not quietly skip these
    from support.real import missing

    missing("the pexpect package (pip install '.[test]')")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals only")

LONG_NAME = "Zuidwest Bouwbedrijf Van Den Heuvel En Zonen Aannemers Renovatie"


def on_terminal(*args: str, columns: int = 160) -> tuple[int, str]:
    """(exit code, everything shown) of `exactlink ARGS` on a pseudo-terminal."""
    env = dict(os.environ, NO_COLOR="1", TERM="xterm", EXACTLINK_LANG="en")
    env.pop("COLUMNS", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "exactlink", *args],
        env=env,
        encoding="utf-8",
        timeout=120,
        dimensions=(40, columns),
        maxread=1 << 16,
    )
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before.replace("\r\n", "\n")


def import_clients(cli, count: int, *, long_at: int | None = None) -> list[str]:
    names = [f"Klant {i:05d} BV" for i in range(count)]
    if long_at is not None:
        names[long_at] = LONG_NAME
    body = "name;email\n" + "".join(f"{n};klant{i}@example.be\n" for i, n in enumerate(names))
    result = cli("client", "import", "-", "--format", "csv", input=body)
    assert result.exit_code == 0, result.stderr
    return sorted(names, key=str.casefold)


def test_a_long_list_on_a_terminal_is_streamed_with_every_row(cli, portal):
    # The long name comes after the rows that size the columns (and sorts after them): a table
    # laid out whole would widen the name column for it; the streamed one folds it in its column.
    names = import_clients(cli, 3000, long_at=2500)
    assert names.index(LONG_NAME) > 500

    code, shown = on_terminal("client", "list")

    assert code == 0, shown
    lines = shown.splitlines()
    assert lines[0].split("┃")[0].strip() == "name"
    assert set(lines[1]) <= {"━", "╇"} and "╇" in lines[1]
    rows = [line.split("│") for line in lines[2:]]
    listed = [cells[0].strip() for cells in rows if cells[0].strip().startswith("Klant")]
    assert listed == [n for n in names if n != LONG_NAME]  # every row, once, in order
    name_width = len(rows[0][0])
    assert all(len(cells[0]) == name_width for cells in rows)  # fixed widths, every line
    assert name_width < len(LONG_NAME)
    at = next(i for i, cells in enumerate(rows) if cells[0].strip().startswith("Zuidwest"))
    assert " ".join(cells[0].strip() for cells in rows[at:]) == LONG_NAME  # the last, folded
    assert rows[at][4].strip() == f"klant{2500}@example.be"


def test_a_short_list_on_a_terminal_keeps_the_rich_table(cli, portal):
    names = import_clients(cli, 5, long_at=2)

    code, shown = on_terminal("client", "list")

    assert code == 0, shown
    lines = shown.splitlines()
    # Rich lays the table out whole: the name column is as wide as the longest name.
    assert all(len(line.split("│")[0]) >= len(LONG_NAME) for line in lines[2:])
    assert [line.split("│")[0].strip() for line in lines[2:]] == names


def test_a_long_table_is_written_while_its_rows_are_still_being_read():
    """Bounded memory: the first rows reach the terminal before the last one is produced."""
    from exactlink.cli.output import Output

    class Terminal(io.StringIO):
        encoding = "utf-8"

        def isatty(self) -> bool:
            return True

    screen = Terminal()
    seen_when_half_read = []

    def rows():
        for i in range(20_000):
            if i == 10_000:
                seen_when_half_read.append(screen.getvalue().count("\n"))
            yield (f"Klant {i}", "granted", None)

    Output(stdout=screen).table(["name", "status", "division"], rows())

    assert seen_when_half_read[0] > 9_000
    assert screen.getvalue().count("Klant ") == 20_000


def test_control_characters_stay_visible_in_a_streamed_table():
    from exactlink.cli.output import Output

    class Terminal(io.StringIO):
        encoding = "utf-8"

        def isatty(self) -> bool:
            return True

    screen = Terminal()
    rows = [(f"Klant {i}", "granted") for i in range(300)] + [("Evil\x1b[2J BV", "granted")]
    Output(stdout=screen).table(["name", "status"], rows)

    assert "\x1b" not in screen.getvalue()
    assert "Evil^[[2J BV" in screen.getvalue()


def test_wide_and_accented_values_keep_the_columns_aligned():
    from exactlink.cli.tables import StreamedTable, cell_width

    sample = [["Café Zoë BV", "granted"], ["日本商事 KK", "active"]]
    table = StreamedTable(["name", "status"], sample, terminal_width=40)
    lines = table.row(["Crème Brûlée Bakkerij Élise Très Longue Naam BV", "pending"])
    lines += table.row(["日本商事 KK", "active"])
    widths = {cell_width(line.split("│")[0]) for line in lines}
    assert len(widths) == 1  # the bar in the same column on every line
    folded = " ".join(line.split("│")[0].strip() for line in lines[:-1])
    assert folded == "Crème Brûlée Bakkerij Élise Très Longue Naam BV"  # at spaces


def test_without_utf8_the_table_is_drawn_in_ascii():
    from exactlink.cli.output import Output

    class Terminal(io.StringIO):
        encoding = "cp1252"

        def isatty(self) -> bool:
            return True

    screen = Terminal()
    Output(stdout=screen).table(["name"], [(f"Klant {i}",) for i in range(200)])
    assert screen.getvalue().isascii()
    assert screen.getvalue().splitlines()[1].startswith("---")
