"""The slice of OData v2 that the sandbox serves: envelopes, dates, $select and $filter.

Exact Online speaks OData "verbose JSON" (reference §3): collections as ``{"d": {"results": [...]}}``,
errors as ``{"error": {"code": "", "message": {"lang": "", "value": ...}}}``, dates as
``/Date(ms)/``. The filter grammar here is the subset exactlink and common clients use:
comparisons joined by ``and``/``or``, ``trim()`` and ``substringof()`` (§3.5).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

# A $filter longer or deeper than this is refused with a 400 (a server people point other tools
# at must answer, not drop the connection on a RecursionError).
MAX_FILTER_TOKENS = 400
MAX_FILTER_DEPTH = 32


class ODataError(Exception):
    """A request the OData layer refuses: becomes a 400 with the OData error envelope."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def error_body(message: str) -> dict:
    """The REST error envelope of §3.7: ``code`` and ``lang`` are empty strings in practice."""
    return {"error": {"code": "", "message": {"lang": "", "value": message}}}


def date(value: str | datetime | float | None) -> str | None:
    """Serialise a date as Exact does, ``/Date(<ms since epoch, UTC>)/`` (§3.6); None stays null."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value).replace(tzinfo=UTC)
    if isinstance(value, datetime):
        value = value.timestamp()
    return f"/Date({round(value * 1000)})/"


def parse_select(raw: str | None, allowed: list[str], type_name: str) -> list[str] | None:
    """The requested property list, or None for "all"; an unknown property is a 400 (§4.3)."""
    if raw is None:
        return None
    names = [part.strip() for part in raw.split(",") if part.strip()]
    if not names or names == ["*"]:
        return None
    for name in names:
        if name not in allowed:
            raise ODataError(
                f"The property '{name}', used in a query expression, is not defined in type "
                f"'{type_name}'."
            )
    return names


def project(record: dict, select: list[str] | None) -> dict:
    if select is None:
        return dict(record)
    out = {"__metadata": record["__metadata"]}
    for name in select:
        out[name] = record.get(name)
    return out


_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<guid>guid'[^']*')|(?P<datetime>datetime'[^']*')|(?P<string>'(?:[^']|'')*')"
    r"|(?P<number>-?\d+(?:\.\d+)?)|(?P<lparen>\()|(?P<rparen>\))|(?P<comma>,)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
    r")"
)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        if len(out) >= MAX_FILTER_TOKENS:
            raise ODataError(
                f"The $filter expression is too long (over {MAX_FILTER_TOKENS} terms)."
            )
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ODataError(f"Syntax error at position {pos} in '{text}'.")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    """Recursive descent over ``or`` > ``and`` > comparison; produces a predicate on dicts."""

    def __init__(self, text: str, fields: dict[str, str]) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0
        self.depth = 0
        self.fields = fields  # name -> "string" | "int" | "bool" | "guid" | "date"

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ODataError(f"Unexpected end of filter expression '{self.text}'.")
        self.pos += 1
        return token

    def expect(self, kind: str) -> None:
        if self.take()[0] != kind:
            raise ODataError(f"Syntax error in '{self.text}'.")

    def parse(self):
        pred = self.parse_or()
        extra = self.peek()
        if extra is not None:
            raise ODataError(f"Syntax error at '{extra[1]}' in '{self.text}'.")
        return pred

    def parse_or(self):
        left = self.parse_and()
        while self.peek() == ("word", "or"):
            self.take()
            right = self.parse_and()
            left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
        return left

    def parse_and(self):
        left = self.parse_term()
        while self.peek() == ("word", "and"):
            self.take()
            right = self.parse_term()
            left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
        return left

    def field(self, name: str) -> str:
        if name not in self.fields:
            raise ODataError(
                f"The property '{name}', used in a query expression, is not defined in type."
            )
        return name

    def parse_term(self):
        self.depth += 1
        try:
            if self.depth > MAX_FILTER_DEPTH:
                raise ODataError(
                    f"The $filter expression is nested too deeply (over {MAX_FILTER_DEPTH} levels)."
                )
            return self._term()
        finally:
            self.depth -= 1

    def _term(self):
        kind, value = self.take()
        if kind == "lparen":
            inner = self.parse_or()
            self.expect("rparen")
            return inner
        if kind == "word" and value == "substringof":
            self.expect("lparen")
            needle = self.literal(self.take(), "string")
            self.expect("comma")
            name = self.field(self.take()[1])
            self.expect("rparen")
            test = lambda r: needle.lower() in str(r.get(name) or "").lower()  # noqa: E731
            return self.maybe_bool_compare(test)
        if kind == "word" and value in ("trim", "tolower", "toupper"):
            self.expect("lparen")
            name = self.field(self.take()[1])
            self.expect("rparen")
            functions: dict[str, Callable[[str], str]] = {
                "trim": lambda text: text.strip(),
                "tolower": lambda text: text.lower(),
                "toupper": lambda text: text.upper(),
            }
            func = functions[value]
            return self.compare(lambda r: func(str(r.get(name) or "")), "string")
        if kind == "word" and value == "not":
            inner = self.parse_term()
            return lambda r: not inner(r)
        if kind == "word":
            name = self.field(value)
            return self.compare(lambda r: r.get(name), self.fields[name])
        raise ODataError(f"Syntax error at '{value}' in '{self.text}'.")

    def maybe_bool_compare(self, test):
        token = self.peek()
        if token and token[0] == "word" and token[1] in ("eq", "ne"):
            op = self.take()[1]
            want = self.literal(self.take(), "bool")
            return (lambda r: test(r) == want) if op == "eq" else (lambda r: test(r) != want)
        return test

    def compare(self, getter, ftype: str):
        kind, op = self.take()
        if kind != "word" or op not in _COMPARE:
            raise ODataError(f"Expected a comparison operator in '{self.text}'.")
        want = self.literal(self.take(), ftype)

        def test(record: dict) -> bool:
            have = getter(record)
            if ftype == "guid" and isinstance(have, str):
                have = have.lower()
            if op == "eq":
                return have == want
            if op == "ne":
                return have != want
            if have is None or want is None:
                return False
            return {
                "gt": have > want,
                "ge": have >= want,
                "lt": have < want,
                "le": have <= want,
            }[op]

        return test

    def literal(self, token: tuple[str, str], ftype: str) -> Any:
        kind, raw = token
        if kind == "word" and raw == "null":
            return None
        if ftype == "guid":
            if kind != "guid" or not _GUID.match(raw[5:-1]):
                literal = raw[5:-1] if kind == "guid" else raw
                raise ODataError(
                    f"Unrecognized 'Edm.Guid' literal 'guid'{literal}'' in '{self.pos}'."
                )
            return raw[5:-1].lower()
        if ftype == "int":
            if kind != "number" or "." in raw:
                raise ODataError(f"Unrecognized 'Edm.Int32' literal '{raw}' in '{self.pos}'.")
            return int(raw)
        if ftype == "bool":
            if kind != "word" or raw not in ("true", "false"):
                raise ODataError(f"Unrecognized 'Edm.Boolean' literal '{raw}' in '{self.pos}'.")
            return raw == "true"
        if ftype == "date":
            if kind != "datetime":
                raise ODataError(f"Unrecognized 'Edm.DateTime' literal '{raw}' in '{self.pos}'.")
            try:
                parsed = datetime.fromisoformat(raw[9:-1]).replace(tzinfo=UTC)
            except ValueError as exc:
                raise ODataError(f"Unrecognized 'Edm.DateTime' literal '{raw}'.") from exc
            return date(parsed)
        if kind != "string":
            raise ODataError(f"Unrecognized 'Edm.String' literal '{raw}' in '{self.pos}'.")
        return raw[1:-1].replace("''", "'")


def parse_filter(text: str | None, fields: dict[str, str]):
    """Compile ``$filter`` into a predicate over records; None when there is no filter."""
    if text is None or not text.strip():
        return None
    return _Parser(text, fields).parse()


# ---------------------------------------------------------------------------- Atom/XML
_ATOM = "http://www.w3.org/2005/Atom"
_D = "http://schemas.microsoft.com/ado/2007/08/dataservices"
_M = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"


def as_atom(reply, base_url: str):
    """The same answer as Atom/XML, what Exact sends without ``Accept: application/json`` (§3.1).

    Collections become an Atom ``feed`` (``link rel="next"`` for ``__next``), one record an
    ``entry``, OData errors the XML error document. Other answers (empty 429s, HTML) are as they
    were. The reply object is changed in place and returned.
    """
    if not reply.content_type.startswith("application/json") or not reply.body:
        return reply
    payload = json.loads(reply.body)
    if "error" in payload:
        message = payload["error"].get("message", {}).get("value", "")
        xml = (
            f'<?xml version="1.0" encoding="utf-8"?><error xmlns="{_M}"><code></code>'
            f'<message xml:lang="">{escape(str(message))}</message></error>'
        )
        reply.content_type = "application/xml; charset=utf-8"
    else:
        xml = '<?xml version="1.0" encoding="utf-8"?>' + _atom_body(payload.get("d"), base_url)
        reply.content_type = "application/atom+xml; charset=utf-8"
    reply.body = xml.encode("utf-8")
    return reply


def _atom_body(d: Any, base_url: str) -> str:
    if isinstance(d, dict) and "results" not in d:
        return _entry(d, root=True)
    results = d if isinstance(d, list) else (d or {}).get("results", [])
    nxt = "" if isinstance(d, list) else (d or {}).get("__next")
    entries = "".join(_entry(r) for r in results if isinstance(r, dict))
    link = f'<link rel="next" href={quoteattr(nxt)} />' if nxt else ""
    return (
        f'<feed xml:base={quoteattr(base_url + "/api/v1/")} xmlns="{_ATOM}" xmlns:d="{_D}" '
        f'xmlns:m="{_M}"><title type="text"></title>{entries}{link}</feed>'
    )


def _entry(record: dict, root: bool = False) -> str:
    meta = record.get("__metadata") or {}
    props = "".join(_property(k, v) for k, v in record.items() if k != "__metadata")
    spaces = f' xmlns="{_ATOM}" xmlns:d="{_D}" xmlns:m="{_M}"' if root else ""
    return (
        f"<entry{spaces}><id>{escape(str(meta.get('uri', '')))}</id>"
        f'<category term={quoteattr(str(meta.get("type", "")))} scheme="{_D}/scheme" />'
        f'<content type="application/xml"><m:properties>{props}</m:properties></content></entry>'
    )


def _property(name: str, value: Any) -> str:
    if value is None:
        return f'<d:{name} m:null="true" />'
    if isinstance(value, bool):
        return f'<d:{name} m:type="Edm.Boolean">{str(value).lower()}</d:{name}>'
    if isinstance(value, int):
        return f'<d:{name} m:type="Edm.Int32">{value}</d:{name}>'
    return f"<d:{name}>{escape(str(value))}</d:{name}>"
