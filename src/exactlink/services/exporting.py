"""`client export`: a portal's clients as a file `client import` reads back unchanged.

- Columns: ``name,email,vat,coc,managed,access_granted``, the ones `client import` reads (status
  follows from them: an active client comes back as granted, its administration is activated
  again with `exact activate`).
- **CSV for Excel**: UTF-8 with a BOM (without one Excel reads UTF-8 as the ANSI code page), and
  ``;`` as delimiter where the locale writes decimals with a comma (Excel then splits on ``;``,
  its "list separator"), ``,`` elsewhere (``delimiter_for``). ``managed``/``access_granted`` as
  yes/no.
- **Formula injection** (OWASP "CSV injection"): a cell starting with ``=``, ``+``, ``-``, ``@``,
  tab or carriage return is a formula to a spreadsheet; such values get a leading ``'``, which
  Excel shows as text and `client import` removes again.
- **JSON**: a list of objects with the same keys; ``managed``/``access_granted`` as booleans.
- Written to stdout, or atomically to a file with mode 0600 (``write_export``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exactlink.errors import UsageError
from exactlink.i18n import _
from exactlink.models import Client, Portal
from exactlink.services.importing import FORMULA_STARTS
from exactlink.services.tabular import COLUMNS

if TYPE_CHECKING:
    from exactlink.adapters.store import Store

FORMATS = ("csv", "json")
DELIMITERS = {",": ",", ";": ";", "tab": "\t"}
# Languages whose locales write decimals with a comma (1.234,56): there Excel's list separator,
# and so the delimiter it expects in a CSV file, is ";".
_DECIMAL_COMMA = "nl fr de es it pt da sv fi nb nn no is pl cs sk sl hr sr bs hu ro bg ru uk el tr lt lv et id vi af"
DECIMAL_COMMA_LANGUAGES = frozenset(_DECIMAL_COMMA.split())


def system_locale() -> str | None:
    """The locale that decides how numbers are written: ``LC_ALL``, ``LC_NUMERIC`` or ``LANG``
    (Linux, macOS), else the Windows user's regional format (``nl-BE``)."""
    for variable in ("LC_ALL", "LC_NUMERIC", "LANG"):
        value = os.environ.get(variable)
        if value:
            return value
    return _windows_locale()


def _windows_locale() -> str | None:
    if sys.platform != "win32":
        return None
    import ctypes

    buffer = ctypes.create_unicode_buffer(85)  # LOCALE_NAME_MAX_LENGTH
    windll = getattr(ctypes, "windll", None)
    if windll is None or not windll.kernel32.GetUserDefaultLocaleName(buffer, len(buffer)):
        return None
    return buffer.value or None


def uses_decimal_comma(locale_name: str | None) -> bool:
    """``nl_BE.UTF-8``, ``fr-FR``, ``de``: True; ``en_US.UTF-8``, ``C``, None: False."""
    if not locale_name:
        return False
    language = locale_name.replace("-", "_").split(".")[0].split("_")[0].lower()
    return language in DECIMAL_COMMA_LANGUAGES


def delimiter_for(language: str, locale_name: str | None) -> str:
    """``;`` when the person reads exactlink in Dutch or the system locale writes decimal
    commas (nl_BE, fr_BE, de_DE, ...), else ``,``."""
    return ";" if language == "nl" or uses_decimal_comma(locale_name) else ","


def neutralise(value: str) -> str:
    """A value a spreadsheet would run as a formula, made text with a leading ``'``."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def records(clients: Iterable[Client]) -> list[dict[str, Any]]:
    """The clients as `client import` reads them back."""
    return [
        {
            "name": client.name,
            "email": client.email,
            "vat": client.vat,
            "coc": client.coc,
            "managed": bool(client.managed),
            "access_granted": client.access_granted_at is not None,
        }
        for client in clients
    ]


def to_csv(rows: list[dict[str, Any]], delimiter: str) -> bytes:
    """Excel-friendly CSV: UTF-8 with a BOM, CRLF line ends, formulas neutralised."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[column]) for column in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else neutralise(str(value))


def to_json(rows: list[dict[str, Any]]) -> bytes:
    return (json.dumps(rows, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def export_clients(store: Store, portal: Portal, fmt: str, *, delimiter: str = ",") -> bytes:
    """The portal's clients as CSV or JSON bytes."""
    if fmt not in FORMATS:
        raise UsageError(
            _("Unknown format '{format}'.").format(format=fmt),
            hint=_("Use --format csv or --format json."),
        )
    rows = records(store.clients.list(portal.id))
    return to_json(rows) if fmt == "json" else to_csv(rows, delimiter)


def write_export(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600 (the list names the firm's clients),
    through the same exclusive, symlink-safe temp file as every output (``adapters.files``). The
    folder must exist and keeps its mode; a folder the person cannot write to is exit 11."""
    from exactlink.adapters.files import write_file

    if not path.parent.is_dir():
        raise UsageError(
            _("Cannot write {path}: {error}").format(path=path, error=_("no such folder")),
            hint=_(
                "Choose a file in a folder you can write to, or leave out --output. A file open"
                " in Excel cannot be replaced on Windows: close it first."
            ),
        )
    write_file(path, data)
