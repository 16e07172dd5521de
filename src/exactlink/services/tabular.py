"""Reading a client list as firms have it: the file-level half of `client import`.

What accountants' tools write, and how it is read:

- **Encoding**: UTF-8 with or without a BOM; else Windows-1252 (what Excel on Windows writes as
  "CSV (semicolon/comma delimited)"), else Latin-1, with a notice naming the encoding used.
  ``encoding`` (``--encoding``) forces one. UTF-16 ("Unicode text") is refused unless forced.
- **Delimiter**: ``,``, ``;`` (Excel in Belgium and the Netherlands) or tab, whichever the header
  line holds most of (outside quotes).
- **Headers** in Dutch, Flemish, French or English, compared without case, accents, spaces or
  punctuation: *Naam*, *Bedrijfsnaam*, *Klant*, *BTW-nummer*, *Ondernemingsnummer*,
  *KBO-nummer*, *KvK-nummer*, *E-mail*, *Raison sociale*, *Numéro d'entreprise*, *TVA*, ...
  (``HEADERS``). Other columns are ignored and named in one notice; ``strict`` refuses them.
- **JSON**: a list of objects with those keys, or ``{"clients": [...]}``.
- **.xlsx**: the first sheet, through openpyxl (the optional extra ``exactlink[xlsx]``), imported
  only when such a file is read.

File-level problems raise InvalidInput (exit 2); rows are validated later (services/importing.py).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exactlink.errors import InvalidInput, UsageError
from exactlink.i18n import _

COLUMNS = ("name", "email", "vat", "coc", "managed", "access_granted")
FORMATS = ("csv", "json", "xlsx")

# The headers people write for each column. Within a column the more specific come first: when a
# file holds two of them (a contact's "Naam" beside the company's "Bedrijfsnaam"), the earlier
# one is used and the other is ignored like an unknown column.
HEADERS: dict[str, tuple[str, ...]] = {
    "name": (
        "name", "bedrijfsnaam", "klantnaam", "naam klant", "naam van de klant", "company name",
        "client name", "customer name", "raison sociale", "denomination", "nom de l'entreprise",
        "nom du client", "nom de la societe", "firmanaam", "relatienaam", "naam", "klant",
        "client", "customer", "company", "bedrijf", "onderneming", "firma", "relatie", "nom",
        "societe",
    ),
    "email": (
        "email", "e-mailadres", "emailadres", "email address", "e-mail adres", "mailadres",
        "adresse e-mail", "adresse email", "courriel", "adresse courriel", "mail",
    ),
    "vat": (
        "vat", "vat number", "vat no", "vat nr", "vat id", "btw-nummer", "btw nr",
        "btw-identificatienummer", "btw id", "btw", "numéro de tva", "numéro tva", "n° tva",
        "no tva", "tva", "numéro de tva intracommunautaire", "tva intracommunautaire",
    ),
    "coc": (
        "coc", "coc number", "chamber of commerce", "kvk-nummer", "kvk nr", "kvk",
        "kamer van koophandel", "ondernemingsnummer", "ondernemingsnr", "kbo-nummer", "kbo nr",
        "kbo", "kbo/bce", "enterprise number", "company number", "numéro d'entreprise",
        "n° d'entreprise", "numéro bce", "n° bce", "bce",
    ),
    "managed": ("managed", "beheerd", "beheerd door kantoor", "eigen beheer", "géré"),
    "access_granted": (
        "access granted", "access", "toegang verleend", "toegang gegeven", "toegang",
        "accès accordé", "accès",
    ),
}  # fmt: skip


def header_key(text: str) -> str:
    """A header as compared: no accents, case, spaces or punctuation (``Numéro d'entreprise`` →
    ``numerodentreprise``; ``E-mail`` → ``email``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed.casefold() if c.isascii() and c.isalnum())


# header key → (column, rank within the column: lower is more specific)
_KNOWN = {
    header_key(alias): (column, rank)
    for column, aliases in HEADERS.items()
    for rank, alias in enumerate(aliases)
}


@dataclass(frozen=True)
class Notice:
    """Something a person should know about the input, though nothing is wrong with it."""

    code: str  # encoding | ignored_columns | duplicates
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": dict(self.details)}


@dataclass(frozen=True)
class SourceRow:
    """One record of the input: where it was and its raw values by column."""

    line: int
    values: Mapping[str, Any]
    extra: int = 0  # fields beyond the header's columns (a CSV row with too many fields)


@dataclass
class Parsed:
    """A decoded and parsed input: its format, rows and the notices about it."""

    format: str
    rows: list[SourceRow]
    notices: list[Notice] = field(default_factory=list)


# -- encoding ----------------------------------------------------------------------------------


def _utf8_hint() -> str:
    return _(
        "Save it as UTF-8: in Excel, File > Save As > 'CSV UTF-8 (Comma delimited)'; in"
        " LibreOffice, choose the character set 'Unicode (UTF-8)'. Or name the encoding with"
        " --encoding."
    )


def _forced(data: bytes, source: str, encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise UsageError(
            _("Unknown encoding '{encoding}'.").format(encoding=encoding),
            hint=_("For example: --encoding utf-8, cp1252, latin-1 or utf-16."),
        ) from None
    try:
        return data.decode("utf-8-sig" if name == "utf-8" else name)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInput(
            _(
                "{source} is not {encoding}: byte 0x{byte:02X} on line {line} cannot be read."
            ).format(source=source, encoding=encoding, byte=data[exc.start], line=line),
            hint=_("Leave out --encoding to let exactlink detect it."),
            details={"line": line},
        ) from None


def decode(data: bytes, source: str, encoding: str | None = None) -> tuple[str, Notice | None]:
    """The text of ``data`` and, when it was not UTF-8, a notice naming the encoding used."""
    if encoding:
        return _forced(data, source, encoding), None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidInput(
            _("{source} is UTF-16 ('Unicode text'), not UTF-8.").format(source=source),
            hint=_utf8_hint(),
        )
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    # Not UTF-8: Excel on Windows writes the ANSI code page, Windows-1252 in the Low Countries
    # and France. Five byte values are undefined there; a file holding one is Latin-1.
    try:
        text, used = data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, used = data.decode("latin-1"), "latin-1"
    label = {"cp1252": "Windows-1252 (cp1252)", "latin-1": "Latin-1 (ISO-8859-1)"}[used]
    notice = Notice(
        "encoding",
        _(
            "{source} is not UTF-8; it was read as {encoding}, as Excel on Windows saves it. If"
            " letters look wrong, pass --encoding."
        ).format(source=source, encoding=label),
        {"encoding": used},
    )
    return text, notice


# -- CSV and .xlsx -----------------------------------------------------------------------------


def sniff_delimiter(header_line: str) -> str:
    """``,``, ``;`` or tab: whichever the header line holds most of outside quotes."""
    counts = dict.fromkeys((",", ";", "\t"), 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


class _Header:
    """The header row: which column each position feeds, and the columns it ignores."""

    def __init__(self, cells: list[str], source: str) -> None:
        while cells and not cells[-1].strip():
            cells = cells[:-1]  # trailing empty header cells (Excel)
        self.cells = cells
        self.columns: list[str | None] = [None] * len(cells)
        chosen: dict[str, tuple[int, int]] = {}  # column → (rank, position)
        for position, cell in enumerate(cells):
            known = _KNOWN.get(header_key(cell))
            if known is None:
                continue
            column, rank = known
            if column in chosen:
                taken_rank, taken = chosen[column]
                if taken_rank == rank:
                    raise InvalidInput(
                        _(
                            "{source}: the columns '{first}' and '{second}' both hold {column}."
                        ).format(source=source, first=cells[taken], second=cell, column=column),
                        hint=_("Keep one of them."),
                    )
                if taken_rank < rank:
                    continue
                self.columns[taken] = None
            chosen[column] = (rank, position)
            self.columns[position] = column
        if "name" not in chosen:
            raise InvalidInput(
                _(
                    "{source} has no column with the client's name (the header has: {found})."
                ).format(
                    source=source, found=", ".join(c.strip() for c in cells if c.strip()) or "-"
                ),
                hint=_("Name that column one of: {names}. Only the name is required.").format(
                    names="name, Naam, Bedrijfsnaam, Klant, Raison sociale, Company name"
                ),
            )

    @property
    def ignored(self) -> list[str]:
        return [
            cell.strip() or f"#{i + 1}"
            for i, (cell, column) in enumerate(zip(self.cells, self.columns, strict=True))
            if column is None
        ]


def rows_from_records(records: Iterable[tuple[int, list[str]]], source: str) -> Parsed:
    """Rows from ``(line, cells)`` records whose first non-blank one is the header."""
    header: _Header | None = None
    rows: list[SourceRow] = []
    for line, record in records:
        if not any(cell.strip() for cell in record):
            continue  # blank lines, and rows of only delimiters Excel leaves behind
        if header is None:
            header = _Header(record, source)
            continue
        width = len(header.cells)
        extra = 0
        if len(record) > width:
            overflow = record[width:]
            extra = sum(1 for cell in overflow if cell.strip()) and len(overflow)
        values = {col: cell for col, cell in zip(header.columns, record, strict=False) if col}
        rows.append(SourceRow(line, values, extra))
    if header is None:
        raise empty(source)
    parsed = Parsed("csv", rows)
    if header.ignored:
        parsed.notices.append(ignored_notice(header.ignored))
    return parsed


def ignored_notice(columns: list[str]) -> Notice:
    return Notice(
        "ignored_columns",
        _("{count} column(s) not used by exactlink were ignored: {columns}.").format(
            count=len(columns), columns=", ".join(f"'{c}'" for c in columns)
        ),
        {"columns": columns},
    )


def parse_csv(text: str, source: str) -> Parsed:
    """Rows of a CSV text with a header; line numbers are the file's (1 = the header)."""
    first = next((line for line in text.splitlines() if line.strip()), None)
    if first is None:
        raise empty(source)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(first))

    def records() -> Iterable[tuple[int, list[str]]]:
        previous_end = 0
        for record in reader:
            start, previous_end = previous_end + 1, reader.line_num
            yield start, record

    try:
        return rows_from_records(records(), source)
    except csv.Error as exc:
        raise InvalidInput(
            _("{source}, line {line}: {error}.").format(
                source=source, line=reader.line_num, error=exc
            ),
            hint=_("Check the quotes on that line."),
        ) from None


def _cell(value: Any) -> str:
    """An Excel cell as text: whole numbers without ``.0``, empty cells empty."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_xlsx(data: bytes, source: str) -> Parsed:
    """Rows of the first sheet of an .xlsx workbook; line numbers are the sheet's row numbers."""
    try:
        import openpyxl  # the optional extra exactlink[xlsx]; only when such a file is read
    except ImportError:
        raise UsageError(
            _("Reading .xlsx files needs openpyxl, which is not installed."),
            hint=_(
                "Install it with `pip install 'exactlink[xlsx]'` (or `pipx inject exactlink"
                " openpyxl`), or save the sheet as 'CSV UTF-8'."
            ),
        ) from None
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, ...
        raise InvalidInput(
            _("{source} is not an .xlsx workbook Excel could open: {error}").format(
                source=source, error=exc
            ),
            hint=_("Open it in Excel and save it again, or save it as 'CSV UTF-8'."),
        ) from None
    try:
        sheet = book.worksheets[0]
        records = (
            (number, [_cell(v) for v in values])
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        )
        parsed = rows_from_records(records, source)
    finally:
        book.close()
    parsed.format = "xlsx"
    return parsed


# -- JSON --------------------------------------------------------------------------------------


def parse_json(text: str, source: str) -> Parsed:
    """Rows of a JSON list of objects (or ``{"clients": [...]}``); ``line`` is the item number."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            _("{source} is not valid JSON: {error} (line {line}).").format(
                source=source, error=exc.msg, line=exc.lineno
            ),
            hint=_("Give a list of objects: [{example}]").format(
                example='{"name": "Bakkerij Peeters BV", "vat": "BE0403170701"}'
            ),
        ) from None
    if isinstance(document, dict) and isinstance(document.get("clients"), list):
        document = document["clients"]
    if not isinstance(document, list):
        raise InvalidInput(
            _("{source} must hold a list of client objects.").format(source=source),
            hint=_('Give [{"name": ...}, ...] or {"clients": [...]}.'),
        )
    rows: list[SourceRow] = []
    ignored: dict[str, None] = {}
    for number, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            rows.append(SourceRow(number, {}, extra=-1))
            continue
        values: dict[str, Any] = {}
        for key, value in item.items():
            known = _KNOWN.get(header_key(str(key)))
            if known is None:
                ignored[str(key)] = None
            else:
                values.setdefault(known[0], value)
        rows.append(SourceRow(number, values))
    parsed = Parsed("json", rows)
    if ignored:
        parsed.notices.append(ignored_notice(list(ignored)))
    return parsed


# -- the whole file ----------------------------------------------------------------------------


def empty(source: str) -> InvalidInput:
    return InvalidInput(
        _("{source} is empty.").format(source=source),
        hint=_("Give a header row and one client per line: {columns}").format(
            columns=",".join(COLUMNS)
        ),
    )


def detect_format(text: str, source: str, explicit: str | None = None) -> str:
    """``--format``, else the file extension, else the content (``[`` or ``{`` first: JSON)."""
    if explicit:
        fmt = explicit.lower()
        if fmt not in FORMATS:
            raise UsageError(
                _("Unknown format '{format}'.").format(format=explicit),
                hint=_("Use --format csv, json or xlsx."),
            )
        return fmt
    suffix = Path(source).suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    return "json" if text.lstrip()[:1] in ("[", "{") else "csv"


def refuse_ignored(parsed: Parsed, source: str) -> None:
    """``--strict``: a column exactlink does not use is an error, not a notice."""
    for notice in parsed.notices:
        if notice.code == "ignored_columns":
            columns = notice.details["columns"]
            raise InvalidInput(
                _("{source}: unknown column(s) {unknown}.").format(
                    source=source, unknown=", ".join(f"'{c}'" for c in columns)
                ),
                hint=_(
                    "Known columns: {columns} (or their Dutch, French and English names);"
                    " leave out --strict to ignore the others."
                ).format(columns=", ".join(COLUMNS)),
                details={"columns": columns},
            )


def parse(
    data: bytes,
    source: str,
    fmt: str | None = None,
    *,
    encoding: str | None = None,
    strict: bool = False,
) -> Parsed:
    """Decode and parse the input; file-level problems raise, row-level ones come later."""
    # An .xlsx is a zip archive: known by its extension, --format, or its first bytes.
    if (fmt is None and data.startswith(b"PK\x03\x04")) or detect_format("", source, fmt) == "xlsx":
        parsed = parse_xlsx(data, source)
    else:
        text, notice = decode(data, source, encoding)
        if not text.strip():
            raise empty(source)
        fmt = detect_format(text, source, fmt)
        parsed = parse_json(text, source) if fmt == "json" else parse_csv(text, source)
        if notice is not None:
            parsed.notices.insert(0, notice)
    if strict:
        refuse_ignored(parsed, source)
    return parsed
