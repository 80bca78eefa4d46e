"""SOAP 1.1 on the wire: read a call's envelope, write an answer or a Fault.

Requests are parsed with defusedxml (no DTD, no entities: the body comes from a client) and
decoded by the operation's declared parameter types into an `Args`. Answers are built with
lxml, document/literal: `<hp:OpResponse>` holds the array items directly when the answer is an
array (so zeep unwraps it to a bare list), else a `return` element or the named outs.

Conventions (shared/apis/hyperplanning.md §4): date-times go out as LOCAL wall-clock time
labelled `Z`; incoming date-times lose any offset (clients send naive local values, and read
values, which carry `Z`, must round-trip); durations are day fractions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, TypeAlias
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from lxml import etree

from rollbridge.sandbox.hyperplanning.catalog import OPERATIONS, Operation
from rollbridge.sandbox.hyperplanning.schema import (
    ARRAYS,
    GENRE,
    GENRES,
    RECORDS,
    SOAP_ENV,
    TNS,
    is_integer,
)

_NSMAP: Final = {"SOAP-ENV": SOAP_ENV, "hp": TNS}
_SPLICE: Final = "hpsw-splice"
_SPLICE_BYTES: Final = f"<!--{_SPLICE}-->".encode()


class SoapFault(Exception):
    """Answered as a SOAP Fault (HTTP 500): `client` for a malformed call, else a server refusal."""

    def __init__(self, message: str, *, client: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.client = client


@dataclass(frozen=True, slots=True)
class Fragments:
    """Array items already serialised (cached séances), spliced into the answer as bytes."""

    data: bytes


Value: TypeAlias = (
    "bool | int | float | str | date | datetime | Fragments"
    " | Sequence[Value] | Mapping[str, Value] | None"
)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _hp(name: str) -> str:
    return f"{{{TNS}}}{name}"


# ----- requests ----------------------------------------------------------------------------


class Args:
    """A call's decoded parameters, with typed accessors (the catalog fixed their types)."""

    def __init__(self, values: Mapping[str, object], offsets: frozenset[str]) -> None:
        self._values = values
        self._offsets = offsets

    def key(self, name: str) -> int:
        """An integer parameter: a key or a week."""
        value = self._values[name]
        assert isinstance(value, int)
        return value

    def keys(self, name: str) -> list[int]:
        """An array of keys, in the caller's order."""
        value = self._values[name]
        assert isinstance(value, list)
        return [int(item) for item in value]

    def day(self, name: str) -> date:
        """An `xsd:date` parameter."""
        value = self._values[name]
        assert isinstance(value, date)
        return value

    def moment(self, name: str) -> datetime:
        """An `xsd:dateTime` parameter as naive local wall-clock time."""
        value = self._values[name]
        assert isinstance(value, datetime)
        return value

    def flag(self, name: str) -> bool:
        """A boolean parameter."""
        value = self._values[name]
        assert isinstance(value, bool)
        return value

    def number(self, name: str) -> float:
        """A double parameter."""
        value = self._values[name]
        assert isinstance(value, float)
        return value

    def text(self, name: str) -> str:
        """A string (or enumeration) parameter."""
        value = self._values[name]
        assert isinstance(value, str)
        return value

    def had_offset(self, name: str) -> bool:
        """Whether the client sent this date-time with a zone (we drop it; §4 says send naive)."""
        return name in self._offsets


def read_call(raw: bytes) -> tuple[Operation, Args]:
    """The operation named by the envelope's body and its decoded parameters."""
    try:
        envelope: Element = fromstring(raw, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise SoapFault(f"Enveloppe SOAP illisible : {exc}", client=True) from exc
    body = next((child for child in envelope if _local(child.tag) == "Body"), None)
    call = None if body is None else next(iter(body), None)
    if call is None:
        raise SoapFault("Enveloppe SOAP sans corps", client=True)
    op = OPERATIONS.get(_local(call.tag))
    if op is None:
        raise SoapFault(f"Opération inconnue : {_local(call.tag)}", client=True)
    given = {_local(child.tag): child for child in call}
    values: dict[str, object] = {}
    offsets: set[str] = set()
    for name, type_name in op.params:
        element = given.get(name)
        if element is None:
            raise SoapFault(f"{op.name} : paramètre {name} absent", client=True)
        try:
            values[name] = _decode(element, type_name)
        except ValueError as exc:
            raise SoapFault(f"{op.name} : paramètre {name} invalide ({exc})", client=True) from exc
        if type_name == "dateTime" and _has_offset(element.text or ""):
            offsets.add(name)
    return op, Args(values, frozenset(offsets))


def _has_offset(text: str) -> bool:
    return datetime.fromisoformat(text.strip()).tzinfo is not None


def _decode(element: Element, type_name: str) -> object:
    if type_name in ARRAYS:
        item = ARRAYS[type_name]
        return [_decode(child, item) for child in element]
    text = (element.text or "").strip()
    if is_integer(type_name):
        return int(text)
    if type_name == "boolean":
        if text not in ("true", "false", "1", "0"):
            raise ValueError(f"{text!r} is not a boolean")
        return text in ("true", "1")
    if type_name == "double":
        return float(text)
    if type_name == "date":
        return date.fromisoformat(text[:10])  # a zone suffix on a date means nothing here
    if type_name == "dateTime":
        return datetime.fromisoformat(text).replace(tzinfo=None)  # wall clock: drop the zone
    if type_name == GENRE and text not in GENRES:
        raise ValueError(f"{text!r} is not a THpSvcWGenreFamille")
    if type_name in RECORDS:
        raise ValueError(f"{type_name} is not accepted as a parameter")
    return element.text or ""


# ----- answers -----------------------------------------------------------------------------


def scalar_text(type_name: str, value: Value) -> str:
    """One simple value as schema text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        # Wall-clock time with a Z: the real servers' trap (§4), reproduced on purpose.
        return value.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if type_name == "double":
        assert isinstance(value, int | float)
        return repr(float(value))
    if is_integer(type_name):
        assert isinstance(value, int)
        return str(value)
    return "" if value is None else str(value)


def _put(parent: etree._Element, name: str, type_name: str, value: Value) -> None:
    element = etree.SubElement(parent, _hp(name))
    if type_name in ARRAYS:
        _fill(element, type_name, value)
    elif type_name in RECORDS:
        assert isinstance(value, Mapping)
        for field, field_type in RECORDS[type_name]:
            _put(element, field, field_type, value[field])
    else:
        element.text = scalar_text(type_name, value)


def _fill(element: etree._Element, array_type: str, value: Value) -> None:
    """Put an array's items under `element` (or the splice mark for pre-serialised ones)."""
    if isinstance(value, Fragments):
        if value.data:
            element.append(etree.Comment(_SPLICE))
        return
    assert isinstance(value, list | tuple)
    item = ARRAYS[array_type]
    for entry in value:
        _put(element, item, item, entry)


def answer(op: Operation, value: Value) -> bytes:
    """The whole response envelope for `op` answering `value`."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap=_NSMAP)
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    response = etree.SubElement(body, _hp(f"{op.name}Response"))
    if op.outs:
        assert isinstance(value, Mapping)
        for name, type_name in op.outs:
            _put(response, name, type_name, value[name])
    elif op.result in ARRAYS:
        _fill(response, op.result, value)
    elif op.result is not None:
        _put(response, "return", op.result, value)
    data = bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))
    if isinstance(value, Fragments) and value.data:
        data = data.replace(_SPLICE_BYTES, value.data, 1)
    return data


def fragments(item_type: str, items: Iterable[Mapping[str, Value]]) -> bytes:
    """Items serialised once for later splicing: `<hp:Item>…</hp:Item>…`, no namespace
    declarations (the answer's envelope declares `hp`)."""
    holder = etree.Element(_hp("holder"), nsmap={"hp": TNS})
    for entry in items:
        _put(holder, item_type, item_type, entry)
    if not len(holder):
        return b""
    data = bytes(etree.tostring(holder, encoding="utf-8", xml_declaration=False))
    # Strip the holder's own tags: `<hp:holder xmlns:hp="…">` … `</hp:holder>`.
    start = data.index(b">") + 1
    return data[start : data.rindex(b"</")]


def fault(message: str, *, client: bool = False) -> bytes:
    """A SOAP 1.1 Fault envelope."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"SOAP-ENV": SOAP_ENV})
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    element = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(element, "faultcode").text = "SOAP-ENV:" + ("Client" if client else "Server")
    etree.SubElement(element, "faultstring").text = message
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))
