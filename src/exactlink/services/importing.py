"""`client import`: many clients from a CSV, JSON or .xlsx file, in one transaction.

Reading the file (encodings, delimiters, the headers people write, ignored columns) is
services/tabular.py; this module validates the rows and carries them out:

- ``managed`` / ``access_granted``: yes/no, true/false, 1/0, ja/nee, oui/non, or empty (not given).
- Rows repeating an earlier row (the same name and data) are imported once, with a notice; rows
  naming the same client with other data are refused with both line numbers.
- A value our export neutralised against formula injection (``'=...``) is read back as it was.

Every row is validated and planned against the store before anything is written; then all rows
land with one ``executemany`` inside one transaction, so a kill mid-import leaves none or all of
them. A bad row aborts the whole import naming its line; ``skip_invalid`` imports the good rows
and reports the bad ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from exactlink.errors import Conflict, ExactlinkError, InvalidInput
from exactlink.i18n import _
from exactlink.models import Client, Portal
from exactlink.services import clients as client_service
from exactlink.services.identifiers import clean_name
from exactlink.services.tabular import (
    COLUMNS,
    FORMATS,
    Notice,
    SourceRow,
    detect_format,
    parse,
)

if TYPE_CHECKING:
    from exactlink.adapters.store import Store

__all__ = ["COLUMNS", "FORMATS", "ImportReport", "detect_format", "import_clients", "parse"]

_TRUE = frozenset({"yes", "y", "true", "1", "ja", "j", "oui", "x"})
_FALSE = frozenset({"no", "n", "false", "0", "nee", "non"})
# The characters a spreadsheet reads as a formula; services/exporting.py puts a ' before them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# How many bad rows a person's error message lists; the JSON details list them all.
SHOWN_ERRORS = 10


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
    notices: list[Notice] = field(default_factory=list)
    duplicates: int = 0

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def empty(self) -> bool:
        """The input held a header but no client rows."""
        return not self.rows and not self.errors and not self.duplicates

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
            "duplicates": self.duplicates,
            "changed": (self.count("added") + self.count("updated")) > 0 and not self.dry_run,
            "rows": [row.to_dict() for row in self.rows],
            "notices": [notice.to_dict() for notice in self.notices],
        }


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


def unneutralise(value: Any) -> Any:
    """``'=SUM(A1)`` → ``=SUM(A1)``: undo what our CSV export does against formula injection."""
    if isinstance(value, str) and value[:1] == "'" and value[1:2] and value[1] in FORMULA_STARTS:
        return value[1:]
    return value


def _validate(row: SourceRow) -> tuple[str, dict[str, Any]]:
    """A row's clean name and validated fields (InvalidInput names what is wrong)."""
    if row.extra < 0:
        raise InvalidInput(_("the item is not an object"), hint=_('Give {"name": ...}.'))
    if row.extra:
        raise InvalidInput(
            _("the row has {count} field(s) more than the header").format(count=row.extra),
            hint=_("Quote values that contain the delimiter, or remove the extra fields."),
        )
    raw_name = unneutralise(row.values.get("name"))
    name = clean_name("" if raw_name is None else str(raw_name), what=_("client"))
    raw: dict[str, Any] = {k: unneutralise(row.values.get(k)) for k in ("email", "vat", "coc")}
    for key in ("managed", "access_granted"):
        try:
            raw[key] = parse_flag(row.values.get(key))
        except InvalidInput as exc:
            raise InvalidInput(f"{key}: {exc.message}", hint=exc.hint) from None
    return name, client_service.validate_fields(raw, blank_clears=False)


def _row_error(row: SourceRow, name: str | None, exc: ExactlinkError) -> RowError:
    message = exc.message[:1].lower() + exc.message[1:] if exc.message else exc.message
    return RowError(row.line, name, exc.code, message, exc.hint)


Validated = tuple[SourceRow, str, dict[str, Any]]


def _validate_rows(rows: Iterable[SourceRow], report: ImportReport) -> list[Validated]:
    """The rows that may be imported, each client once: a row repeating an earlier one (same
    name, same data) is collapsed into it; the same client with other data is an error."""
    from exactlink.adapters.store.clients import nocase_key

    validated: list[Validated] = []
    first: dict[str, Validated] = {}
    repeats: list[dict[str, Any]] = []
    for row in rows:
        try:
            clean, fields = _validate(row)
        except ExactlinkError as exc:
            name = row.values.get("name")
            report.errors.append(_row_error(row, str(name) if name else None, exc))
            continue
        key = nocase_key(clean)
        earlier = first.get(key)
        if earlier is None:
            first[key] = (row, clean, fields)
            validated.append((row, clean, fields))
        elif earlier[1] == clean and earlier[2] == fields:
            repeats.append({"line": row.line, "same_as": earlier[0].line, "name": clean})
        else:
            report.errors.append(_repeated(row, clean, earlier))
    if repeats:
        report.duplicates = len(repeats)
        report.notices.append(_duplicates_notice(repeats))
    return validated


def _repeated(row: SourceRow, name: str, earlier: Validated) -> RowError:
    return RowError(
        row.line,
        name,
        InvalidInput.code,
        _("'{name}' appears already on line {line}, with other data").format(
            name=name, line=earlier[0].line
        ),
        _("Keep one row per client."),
    )


def _duplicates_notice(repeats: list[dict[str, Any]]) -> Notice:
    shown = ", ".join(
        _("line {line} (= line {same_as})").format(**r) for r in repeats[:SHOWN_ERRORS]
    )
    if len(repeats) > SHOWN_ERRORS:
        shown += " " + _("... and {count} more").format(count=len(repeats) - SHOWN_ERRORS)
    return Notice(
        "duplicates",
        _("{count} row(s) repeat an earlier row exactly and were imported once: {rows}.").format(
            count=len(repeats), rows=shown
        ),
        {"rows": repeats},
    )


@dataclass
class _Writes:
    """What an import will write: new rows, changed rows, and their audit events."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


def _plan(
    store: Store, portal: Portal, validated: list[Validated], report: ImportReport, update: bool
) -> _Writes:
    """Each validated row against the stored clients: added, unchanged, updated or an error."""
    from exactlink.adapters.store.clients import nocase_key

    existing = {nocase_key(c.name): c for c in store.clients.list(portal.id)}
    now = client_service.now()
    writes = _Writes()
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
            writes.inserts.append({"name": name, **client_service.columns(fields, now)})
            report.rows.append(RowResult(row.line, name, "added"))
            writes.events.append(("client.add", name, client_service.audit_details(fields)))
        elif plan.action == "unchanged":
            report.rows.append(RowResult(row.line, current.name, "unchanged"))
        else:
            changes = plan.changes
            writes.updates.append((current.id, client_service.columns(changes, now)))
            report.rows.append(RowResult(row.line, current.name, "updated"))
            writes.events.append(("client.update", current.name, {"changed": sorted(changes)}))
    return writes


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
    encoding: str | None = None,
    strict: bool = False,
) -> ImportReport:
    """Import clients from CSV/JSON/.xlsx ``data`` into ``portal``, all in one transaction.

    Raises InvalidInput (2) or Conflict (4, when every bad row is an existing client with other
    data) and writes nothing when a row is bad, unless ``skip_invalid``. ``encoding`` forces the
    text encoding; ``strict`` refuses columns exactlink does not use.
    """
    parsed = parse(data, source, fmt, encoding=encoding, strict=strict)
    report = ImportReport(
        source=source, format=parsed.format, dry_run=dry_run, notices=list(parsed.notices)
    )
    validated = _validate_rows(parsed.rows, report)
    with store.transaction():
        client_service.check_portal(store, portal)
        writes = _plan(store, portal, validated, report, update)
        report.errors.sort(key=lambda error: error.line)
        if report.errors and not skip_invalid:
            raise _aborted(report.errors, source)
        if dry_run:
            return report
        store.clients.insert_many(portal.id, writes.inserts)
        store.clients.update_many(writes.updates)
        _record(store, portal, report, writes.events)
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
            "duplicates": report.duplicates,
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
