"""`client import`: many clients from a CSV or JSON file, in one transaction.

Input, as accountants' tools write it:

- CSV with a header row naming the columns ``name,email,vat,coc,managed,access_granted`` in any
  order and case (only ``name`` is required); ``,``, ``;`` (Excel in Belgium and the Netherlands)
  or tab as delimiter, sniffed from the header; UTF-8 with or without a BOM.
- JSON: a list of objects with those keys, or ``{"clients": [...]}``.
- ``managed`` / ``access_granted``: yes/no, true/false, 1/0, ja/nee, or empty (not given).

Every row is validated and planned against the store before anything is written; then all rows
land with one ``executemany`` inside one transaction, so a kill mid-import leaves none or all of
them. A bad row aborts the whole import naming its line; ``skip_invalid`` imports the good rows
and reports the bad ones.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exactlink.errors import Conflict, ExactlinkError, InvalidInput, UsageError
from exactlink.i18n import _
from exactlink.models import Client, Portal
from exactlink.services import clients as client_service
from exactlink.services.identifiers import clean_name

if TYPE_CHECKING:
    from exactlink.adapters.store import Store

COLUMNS = ("name", "email", "vat", "coc", "managed", "access_granted")
FORMATS = client_service.IMPORT_FORMATS
_TRUE = frozenset({"yes", "y", "true", "1", "ja", "j", "oui", "x"})
_FALSE = frozenset({"no", "n", "false", "0", "nee", "non"})
# How many bad rows a person's error message lists; the JSON details list them all.
SHOWN_ERRORS = 10


def _utf8_hint() -> str:
    return _(
        "Save it as UTF-8: in Excel, File > Save As > 'CSV UTF-8 (Comma delimited)'; in"
        " LibreOffice, choose the character set 'Unicode (UTF-8)'."
    )


@dataclass(frozen=True)
class SourceRow:
    """One record of the input: where it was and its raw values by column."""

    line: int
    values: Mapping[str, Any]
    extra: int = 0  # fields beyond the header's columns (a CSV row with too many fields)


@dataclass(frozen=True)
class RowError:
    """Why one row cannot be imported."""

    line: int
    name: str | None
    code: str
    message: str
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "details": {"line": self.line, "name": self.name},
        }
        if self.hint:
            data["hint"] = self.hint
        return data


@dataclass(frozen=True)
class RowResult:
    line: int
    name: str
    action: str  # added | updated | unchanged

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "name": self.name, "action": self.action}


@dataclass
class ImportReport:
    """The outcome of an import (or of a dry run: what it would do)."""

    source: str
    format: str
    dry_run: bool
    rows: list[RowResult] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def empty(self) -> bool:
        """The input held a header but no client rows."""
        return not self.rows and not self.errors

    @property
    def status(self) -> str:
        return "partial" if self.errors else "success"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format": self.format,
            "dry_run": self.dry_run,
            "added": self.count("added"),
            "updated": self.count("updated"),
            "unchanged": self.count("unchanged"),
            "skipped": len(self.errors),
            "changed": (self.count("added") + self.count("updated")) > 0 and not self.dry_run,
            "rows": [row.to_dict() for row in self.rows],
        }


def detect_format(text: str, source: str, explicit: str | None = None) -> str:
    """``--format``, else the file extension, else the content (``[`` or ``{`` first: JSON)."""
    if explicit:
        fmt = explicit.lower()
        if fmt not in FORMATS:
            raise UsageError(
                _("Unknown format '{format}'.").format(format=explicit),
                hint=_("Use --format csv or --format json."),
            )
        return fmt
    suffix = Path(source).suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    return "json" if text.lstrip()[:1] in ("[", "{") else "csv"


def decode(data: bytes, source: str) -> str:
    """UTF-8 text (a BOM dropped), or InvalidInput saying how to save the file as UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidInput(
            _("{source} is UTF-16 ('Unicode text'), not UTF-8.").format(source=source),
            hint=_utf8_hint(),
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInput(
            _(
                "{source} is not UTF-8: byte 0x{byte:02X} on line {line} cannot be read (saved as"
                " Latin-1 or Windows-1252?)."
            ).format(source=source, byte=data[exc.start], line=line),
            hint=_utf8_hint(),
            details={"line": line},
        ) from None


# Headers people write for the same columns (Dutch, or Excel's "E-mail").
ALIASES = {
    "e_mail": "email",
    "mail": "email",
    "vat_number": "vat",
    "btw": "vat",
    "btw_nummer": "vat",
    "kvk": "coc",
    "kbo": "coc",
    "enterprise_number": "coc",
    "naam": "name",
}


def _column(header: str) -> str:
    column = "_".join(header.strip().lower().replace("-", " ").split())
    return ALIASES.get(column, column)


def _check_header(columns: list[str], source: str) -> None:
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            raise InvalidInput(
                _("{source}: the column '{column}' appears twice in the header.").format(
                    source=source, column=column
                ),
                hint=_("Keep one of them."),
            )
        seen.add(column)
    unknown = [c for c in columns if c and c not in COLUMNS]
    if "name" not in seen:
        raise InvalidInput(
            _("{source} has no 'name' column (the header has: {found}).").format(
                source=source, found=", ".join(columns) or "-"
            ),
            hint=_("The first row must name the columns: {columns}; only name is required.").format(
                columns=",".join(COLUMNS)
            ),
        )
    if unknown:
        raise InvalidInput(
            _("{source}: unknown column(s) {unknown}.").format(
                source=source, unknown=", ".join(f"'{c}'" for c in unknown)
            ),
            hint=_("Known columns: {columns}.").format(columns=", ".join(COLUMNS)),
        )


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_csv(text: str, source: str) -> list[SourceRow]:
    """Rows of a CSV text with a header; line numbers are the file's (1 = the header)."""
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise _empty(source)
    delimiter = _sniff_delimiter(lines[first])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[SourceRow] = []
    previous_end = 0
    try:
        for record in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue  # blank lines, and rows of only delimiters Excel leaves behind
            if header is None:
                header = [_column(cell) for cell in record]
                while header and not header[-1]:
                    header.pop()  # trailing empty header cells (Excel)
                _check_header(header, source)
                continue
            extra = 0
            if len(record) > len(header):
                overflow = record[len(header) :]
                extra = sum(1 for cell in overflow if cell.strip()) and len(overflow)
            rows.append(
                SourceRow(
                    start,
                    {col: cell for col, cell in zip(header, record, strict=False) if col},
                    extra,
                )
            )
    except csv.Error as exc:
        raise InvalidInput(
            _("{source}, line {line}: {error}.").format(
                source=source, line=reader.line_num, error=exc
            ),
            hint=_("Check the quotes on that line."),
        ) from None
    return rows


def parse_json(text: str, source: str) -> list[SourceRow]:
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
    for number, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            rows.append(SourceRow(number, {}, extra=-1))
            continue
        values = {_column(str(k)): v for k, v in item.items()}
        _check_header(list(values) if "name" in values else [*values, "name"], source)
        rows.append(SourceRow(number, values))
    return rows


def _empty(source: str) -> InvalidInput:
    return InvalidInput(
        _("{source} is empty.").format(source=source),
        hint=_("Give a header row and one client per line: {columns}").format(
            columns=",".join(COLUMNS)
        ),
    )


def parse(data: bytes, source: str, fmt: str | None = None) -> tuple[str, list[SourceRow]]:
    """Decode and parse the input; file-level problems raise, row-level ones come later."""
    text = decode(data, source)
    if not text.strip():
        raise _empty(source)
    fmt = detect_format(text, source, fmt)
    return fmt, (parse_json(text, source) if fmt == "json" else parse_csv(text, source))


def parse_flag(value: Any) -> bool | None:
    """yes/no, true/false, 1/0, ja/nee (any case), or empty/None (not given)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInput(
        _("'{value}' is not yes or no.").format(value=value),
        hint=_("Use yes/no, true/false, 1/0 or ja/nee."),
    )


def _validate(row: SourceRow) -> tuple[str, dict[str, Any]]:
    """A row's clean name and validated fields (InvalidInput names what is wrong)."""
    if row.extra < 0:
        raise InvalidInput(_("the item is not an object"), hint=_('Give {"name": ...}.'))
    if row.extra:
        raise InvalidInput(
            _("the row has {count} field(s) more than the header").format(count=row.extra),
            hint=_("Quote values that contain the delimiter, or remove the extra fields."),
        )
    raw_name = row.values.get("name")
    name = clean_name("" if raw_name is None else str(raw_name), what=_("client"))
    raw: dict[str, Any] = {k: row.values.get(k) for k in ("email", "vat", "coc")}
    for key in ("managed", "access_granted"):
        try:
            raw[key] = parse_flag(row.values.get(key))
        except InvalidInput as exc:
            raise InvalidInput(f"{key}: {exc.message}", hint=exc.hint) from None
    return name, client_service.validate_fields(raw, blank_clears=False)


def _row_error(row: SourceRow, name: str | None, exc: ExactlinkError) -> RowError:
    message = exc.message[:1].lower() + exc.message[1:] if exc.message else exc.message
    return RowError(row.line, name, exc.code, message, exc.hint)


def import_clients(
    store: Store,
    portal: Portal,
    data: bytes,
    *,
    source: str,
    fmt: str | None = None,
    dry_run: bool = False,
    update: bool = False,
    skip_invalid: bool = False,
) -> ImportReport:
    """Import clients from CSV/JSON ``data`` into ``portal``, all in one transaction.

    Raises InvalidInput (2) or Conflict (4, when every bad row is an existing client with other
    data) and writes nothing when a row is bad, unless ``skip_invalid``.
    """
    fmt, source_rows = parse(data, source, fmt)
    report = ImportReport(source=source, format=fmt, dry_run=dry_run)
    validated: list[tuple[SourceRow, str, dict[str, Any]]] = []
    first_line: dict[str, int] = {}
    from exactlink.adapters.store.clients import nocase_key

    for row in source_rows:
        name = row.values.get("name")
        try:
            clean, fields = _validate(row)
        except ExactlinkError as exc:
            report.errors.append(_row_error(row, str(name) if name else None, exc))
            continue
        key = nocase_key(clean)
        if key in first_line:
            report.errors.append(
                RowError(
                    row.line,
                    clean,
                    InvalidInput.code,
                    _("'{name}' appears already on line {line}").format(
                        name=clean, line=first_line[key]
                    ),
                    _("Keep one row per client."),
                )
            )
            continue
        first_line[key] = row.line
        validated.append((row, clean, fields))

    with store.transaction():
        client_service.check_portal(store, portal)
        existing = {nocase_key(c.name): c for c in store.clients.list(portal.id)}
        now = client_service.now()
        inserts: list[dict[str, Any]] = []
        updates: list[tuple[int, dict[str, Any]]] = []
        events: list[tuple[str, str, dict[str, Any]]] = []
        for row, name, fields in validated:
            current = existing.get(nocase_key(name))
            try:
                plan = client_service.plan_change(
                    portal, current, fields, update=update, conflict=_conflict
                )
            except ExactlinkError as exc:
                report.errors.append(_row_error(row, name, exc))
                continue
            if current is None:
                inserts.append({"name": name, **client_service.columns(fields, now)})
                report.rows.append(RowResult(row.line, name, "added"))
                events.append(("client.add", name, client_service.audit_details(fields)))
            elif plan.action == "unchanged":
                report.rows.append(RowResult(row.line, current.name, "unchanged"))
            else:
                changes = plan.changes
                updates.append((current.id, client_service.columns(changes, now)))
                report.rows.append(RowResult(row.line, current.name, "updated"))
                events.append(("client.update", current.name, {"changed": sorted(changes)}))

        report.errors.sort(key=lambda error: error.line)
        if report.errors and not skip_invalid:
            raise _aborted(report.errors, source)
        if dry_run:
            return report
        store.clients.insert_many(portal.id, inserts)
        store.clients.update_many(updates)
        _record(store, portal, report, events)
    return report


def _conflict(current: Client, differing: list[str]) -> ExactlinkError:
    return Conflict(
        _("'{name}' exists already with other {fields}").format(
            name=current.name, fields=", ".join(differing)
        ),
        hint=_("Pass --update to change existing clients."),
    )


def _record(
    store: Store,
    portal: Portal,
    report: ImportReport,
    events: Iterable[tuple[str, str, dict[str, Any]]],
) -> None:
    """One audit event per changed client (so `log --client` shows it) and one for the import."""
    for action, name, details in events:
        store.events.record(
            action, name, portal=portal.name, client=name, details={"via": "import", **details}
        )
    store.events.record(
        "client.import",
        report.source,
        portal=portal.name,
        details={
            "format": report.format,
            "added": report.count("added"),
            "updated": report.count("updated"),
            "unchanged": report.count("unchanged"),
            "skipped": len(report.errors),
        },
    )


def describe_row_errors(errors: list[RowError], *, limit: int = SHOWN_ERRORS) -> str:
    """The bad rows as a person reads them: one indented line each, the first ``limit`` of them
    and how many more (the JSON details list them all)."""
    shown = [f"  line {e.line}: {e.message}" for e in errors[:limit]]
    if len(errors) > limit:
        shown.append("  " + _("... and {count} more").format(count=len(errors) - limit))
    return "\n".join(shown)


def _aborted(errors: list[RowError], source: str) -> ExactlinkError:
    """The error that aborts an import: every bad row listed, nothing written."""
    first = errors[0]
    if len(errors) == 1:
        message = _("{source}, line {line}: {reason}. Nothing was imported.").format(
            source=source, line=first.line, reason=first.message
        )
        hint = first.hint or _("Fix the row and import again.")
        hint += " " + _("Or pass --skip-invalid to import the valid rows only.")
    else:
        message = (
            _("{source}: {count} rows cannot be imported; nothing was imported:").format(
                source=source, count=len(errors)
            )
            + "\n"
            + describe_row_errors(errors)
        )
        hint = _(
            "Fix the rows and import again, or pass --skip-invalid to import the valid rows only."
        )
    kind = Conflict if all(e.code == Conflict.code for e in errors) else InvalidInput
    return kind(message, hint=hint, details={"rows": [e.to_dict() for e in errors]})
