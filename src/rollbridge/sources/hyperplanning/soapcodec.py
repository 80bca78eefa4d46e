"""A lean codec for HPSW reads: zeep's knowledge of one operation, compiled once.

zeep stays the reference. From its objects for an operation (input and output messages,
their elements and XSD types) this module builds:

- the request: the envelope zeep would send, byte for byte, from a string template (values
  through the XSD type's own `xmlvalue`, text escaped as lxml escapes it);
- the answer: an lxml walk giving exactly what `zeep.helpers.serialize_object(<zeep
  result>, dict)` gives (ints for integer types, str, bool, float, zeep's own datetimes and
  dates, None for an empty element, lists for repeated elements, dicts in the record's field
  order), including zeep's unwrapping of a one-field answer.

It is pure: no I/O. Anything it does not reproduce exactly raises `Unsupported`: when
compiling, for an operation shaped otherwise (the caller keeps zeep for it); when encoding
(`encode` answers None) or decoding, for one call or one answer (the caller hands that one to
zeep). A SOAP Fault, a SOAP Header, an `xsi:type` naming another type than the declared one,
an unexpected or missing element, a value zeep would fail to convert, a DTD, a UTF-16 answer:
such answers are read by zeep.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, Final

from lxml import etree
from zeep.wsdl.bindings.soap import Soap11Binding
from zeep.wsdl.messages.soap import DocumentMessage
from zeep.xsd.elements.element import Element
from zeep.xsd.elements.indicators import Sequence as XsdSequence
from zeep.xsd.types import builtins
from zeep.xsd.types.complex import ComplexType
from zeep.xsd.types.simple import AnySimpleType

SOAP_ENV: Final = "http://schemas.xmlsoap.org/soap/envelope/"
_XML_DECLARATION: Final = "<?xml version='1.0' encoding='utf-8'?>\n"
# Characters lxml refuses in text (zeep then raises): leave such a call to zeep.
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPED: Final = re.compile("[&<>\r]")
_ESCAPES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
_DATETIME: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z?")
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_BOOLEANS: Final = {"true": True, "false": False, "1": True, "0": False}
_SEEN_MAX: Final = 16384  # date-times remembered per type (immutable values, shared)
# zeep reads an element as the type an `xsi:type` names: such answers go to zeep.
_XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_TYPE: Final = f"{{{_XSI}}}type"
_XSI_BYTES: Final = _XSI.encode()
_MARKUP_STARTS: Final = frozenset({b"<", b"\xef", b" ", b"\t", b"\r", b"\n"})  # \xef: UTF-8 BOM


class Unsupported(Exception):
    """Outside what the lean codec reproduces exactly: use zeep for this."""


Convert = Callable[[str], object]


# ----- answers ------------------------------------------------------------------------------


def _check_type(element: Any, declared: str | None) -> None:
    """zeep reads an element as the type its `xsi:type` names: go on only when that is the
    declared type."""
    given = element.get(_XSI_TYPE)
    if given is None:
        return
    prefix, colon, local = given.strip().partition(":")
    namespace = element.nsmap.get(prefix) if colon else None
    if namespace is None or declared != f"{{{namespace}}}{local}":
        raise Unsupported("an xsi:type naming another type")


class _Simple:
    """A simple type: its text through the type's conversion (None: the text itself)."""

    __slots__ = ("convert", "qname")

    def __init__(self, convert: Convert | None, qname: str | None) -> None:
        self.convert = convert
        self.qname = qname


class _Field:
    """One element of a record's sequence."""

    __slots__ = ("convert", "local", "multi", "name", "namespace", "optional", "plan", "tag")

    def __init__(self, name: str, qname: Any, multi: bool, optional: bool, plan: _Plan) -> None:
        self.name = name
        self.local: str = qname.localname
        self.namespace: str | None = qname.namespace or None
        self.tag: str = qname.text
        self.multi = multi
        self.optional = optional
        self.plan = plan
        self.convert = plan.convert if isinstance(plan, _Simple) else None

    def matches(self, child: Any) -> bool:
        """Whether `child` is this element, as zeep matches them (the local name decides
        when either side has no namespace)."""
        tag = child.tag
        if tag == self.tag:
            return True
        if not isinstance(tag, str):
            raise Unsupported("a comment, entity or processing instruction")
        namespace, _, local = tag[1:].rpartition("}") if tag[:1] == "{" else ("", "", tag)
        if local != self.local:
            return False
        if namespace and self.namespace:
            raise Unsupported("an element in another namespace")
        return True

    def value(self, child: Any, xsi: bool) -> object:
        """The value of one of this field's elements (a simple one's children are ignored,
        as zeep ignores them)."""
        plan = self.plan
        if isinstance(plan, _Record):
            return plan.read(child, True, xsi)
        if xsi:
            _check_type(child, plan.qname)
        text = child.text
        if text is None or self.convert is None:
            return text
        return self.convert(text)

    def values(self, children: list[Any]) -> list[object] | None:
        """Every child read as this field, when all are plainly this element (no xsi)."""
        tag = self.tag
        plan = self.plan
        if isinstance(plan, _Record):
            layout = plan.layout
            records: list[object] = []
            for child in children:
                if child.tag != tag:
                    return None
                if layout is not None:
                    grand = list(child)
                    if len(grand) == len(layout):
                        record = _Record._plain(layout, grand)
                        if record is not None:
                            records.append(record)
                            continue
                records.append(plan.read(child, True, False))
            return records
        texts = []
        for child in children:
            if child.tag != tag:
                return None
            texts.append(child.text)
        convert = self.convert
        if convert is None:
            return texts
        return [None if text is None else convert(text) for text in texts]


class _Record:
    """A complex type: a sequence of elements, read into a dict in the sequence's order."""

    __slots__ = ("array", "fields", "layout", "qname")

    def __init__(self, qname: str | None) -> None:
        self.qname = qname
        self.fields: tuple[_Field, ...] = ()
        self.array: _Field | None = None
        # Single elements only, in order, for answers holding exactly those elements (the
        # usual case, read in one pass).
        self.layout: tuple[_Slot, ...] | None = None

    def fill(self, fields: Sequence[_Field]) -> None:
        self.fields = tuple(fields)
        if len(fields) == 1 and fields[0].multi:
            self.array = fields[0]
        if fields and not any(f.multi for f in fields):
            self.layout = tuple(_slot(f) for f in fields)

    def read(self, element: Any, nested: bool, xsi: bool) -> object:
        if xsi:
            _check_type(element, self.qname)
        children = list(element)
        if not children:
            if nested and not element.attrib:
                return None  # zeep: an empty nested record without attributes is None
            return {f.name: [] if f.multi else None for f in self.fields}
        if not xsi:
            array = self.array
            if array is not None:
                items = array.values(children)
                if items is not None:
                    return {array.name: items}
            layout = self.layout
            if layout is not None and len(children) == len(layout):
                out = self._plain(layout, children)
                if out is not None:
                    return out
        return self._walk(children, xsi)

    @staticmethod
    def _plain(layout: tuple[_Slot, ...], children: list[Any]) -> dict[str, object] | None:
        """Children that are exactly the fields, in order; else None."""
        out: dict[str, object] = {}
        for (name, tag, convert, record, items), child in zip(layout, children, strict=True):
            if child.tag != tag:
                return None
            if record is None:
                text = child.text
                out[name] = text if text is None or convert is None else convert(text)
                continue
            if items is not None:  # an array of simple values, read here
                item_tag, item_convert, item_name = items
                values: list[object] = []
                for item in child:
                    if item.tag != item_tag:
                        break
                    text = item.text
                    values.append(
                        text if text is None or item_convert is None else item_convert(text)
                    )
                else:
                    if values:
                        out[name] = {item_name: values}
                        continue
            out[name] = record.read(child, True, False)
        return out

    def _walk(self, children: list[Any], xsi: bool) -> dict[str, object]:
        """zeep's sequence matching: elements in order, optional ones may be absent, once
        the children run out the rest take their defaults."""
        out: dict[str, object] = {}
        count = len(children)
        i = 0
        for field in self.fields:
            if i >= count:
                out[field.name] = [] if field.multi else None
            elif field.multi:
                items: list[object] = []
                while i < count and field.matches(children[i]):
                    items.append(field.value(children[i], xsi))
                    i += 1
                if not items and not field.optional:
                    raise Unsupported(f"{field.name} missing")
                out[field.name] = items
            elif field.matches(children[i]):
                out[field.name] = field.value(children[i], xsi)
                i += 1
            elif field.optional:
                out[field.name] = None
            else:
                raise Unsupported(f"{field.name} missing")
        if i < count:
            raise Unsupported("an unexpected element")
        return out


_Plan = _Simple | _Record
# A field of a record's one-pass layout: name, tag, conversion (simple), record (complex),
# and for an array of simple values its item's (tag, conversion, field name).
_Slot = tuple[str, str, Convert | None, _Record | None, tuple[str, Convert | None, str] | None]


def _slot(field: _Field) -> _Slot:
    record = field.plan if isinstance(field.plan, _Record) else None
    items = None
    if record is not None and record.array is not None:
        item = record.array
        if isinstance(item.plan, _Simple):
            items = (item.tag, item.convert, item.name)
    return (field.name, field.tag, field.convert, record, items)


def _fast_converter(xsd_type: Any) -> Convert | None:
    """The conversion zeep applies to an element's text, sped up where provably the same;
    None for the text itself."""
    generic: Convert = xsd_type.pythonvalue
    pythonvalue = type(xsd_type).pythonvalue
    if pythonvalue in (builtins.Integer.pythonvalue, builtins.Long.pythonvalue):
        return int  # zeep: int(value)
    if pythonvalue is builtins.String.pythonvalue:
        return None  # zeep: the text itself
    if pythonvalue in (builtins.Double.pythonvalue, builtins.Float.pythonvalue):
        return float  # zeep: float() of the text with whitespace collapsed, the same number

    if pythonvalue is builtins.Boolean.pythonvalue:

        def boolean(text: str) -> object:
            value = _BOOLEANS.get(text)
            return generic(text) if value is None else value

        return boolean
    if pythonvalue is builtins.DateTime.pythonvalue:
        return _checked(generic, _datetime_converter(generic))
    if pythonvalue is builtins.Date.pythonvalue:

        def day(text: str) -> object:
            if _DATE.fullmatch(text):
                try:
                    return date.fromisoformat(text)
                except ValueError:
                    pass
            return generic(text)

        return _checked(generic, day)
    return generic


def _datetime_converter(generic: Convert) -> Convert:
    """`YYYY-MM-DDThh:mm:ss[Z]` read by `datetime.fromisoformat`, with zeep's own UTC."""
    probe = generic("2000-01-01T00:00:00Z")
    utc = probe.tzinfo if isinstance(probe, datetime) else None

    seen: dict[str, datetime] = {}  # séances share their start times

    def moment(text: str) -> object:
        value = seen.get(text)
        if value is not None:
            return value
        if not _DATETIME.fullmatch(text):
            return generic(text)
        try:
            value = datetime.fromisoformat(text[:19])
        except ValueError:
            return generic(text)
        if len(text) == 20:
            value = value.replace(tzinfo=utc)
        if len(seen) < _SEEN_MAX:
            seen[text] = value
        return value

    return moment


_PROBES: Final = (
    "2026-09-01T08:30:00Z",
    "2026-03-29T02:15:59",
    "2026-09-01",
    "1999-12-31T23:59:59Z",
    "2026-02-30T08:00:00Z",
)


def _checked(generic: Convert, fast: Convert) -> Convert:
    """`fast` only if it agrees with zeep on a few probes (same value and tzinfo object)."""
    for text in _PROBES:
        try:
            expected: object = generic(text)
        except (TypeError, ValueError):
            expected = ValueError
        try:
            got: object = fast(text)
        except (TypeError, ValueError):
            got = ValueError
        if expected is ValueError or got is ValueError:
            if expected is not got:
                return generic
            continue
        if type(got) is not type(expected) or got != expected:
            return generic
        if getattr(got, "tzinfo", None) is not getattr(expected, "tzinfo", None):
            return generic
    return fast


def _sequence_elements(xsd_type: Any) -> list[tuple[str, Any]]:
    """The (name, element) pairs of a complex type that is one plain sequence of elements."""
    if type(xsd_type).parse_xmlelement is not ComplexType.parse_xmlelement:
        raise Unsupported(f"type {xsd_type} parses itself")
    if xsd_type.attributes or xsd_type._array_type is not None:
        raise Unsupported(f"type {xsd_type} has attributes or is a SOAP-encoded array")
    nested = xsd_type.elements_nested
    if not nested:
        return []
    if len(nested) != 1:
        raise Unsupported(f"type {xsd_type} is not one sequence")
    sequence = nested[0][1]
    if type(sequence) is not XsdSequence or sequence.min_occurs != 1 or sequence.max_occurs != 1:
        raise Unsupported(f"type {xsd_type} is not one plain sequence")
    pairs: list[tuple[str, Any]] = []
    for name, element in sequence.elements_nested:
        if (
            not isinstance(element, Element)
            or type(element).parse is not Element.parse
            or type(element).parse_xmlelements is not Element.parse_xmlelements
        ):
            raise Unsupported(f"type {xsd_type} holds more than plain elements")
        if element.max_occurs not in (1, "unbounded") or element.default is not None:
            raise Unsupported(f"element {name} has bounds or a default")
        pairs.append((name, element))
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names) or [e.attr_name for _, e in pairs] != names:
        raise Unsupported(f"type {xsd_type} repeats an element name")
    return pairs


def _qname(xsd_type: Any) -> str | None:
    qname = getattr(xsd_type, "qname", None)
    return None if qname is None else str(qname.text)


def _plan(xsd_type: Any, plans: dict[int, _Plan]) -> _Plan:
    known = plans.get(id(xsd_type))
    if known is not None:
        return known
    if isinstance(xsd_type, AnySimpleType):
        if type(xsd_type).parse_xmlelement is not AnySimpleType.parse_xmlelement:
            raise Unsupported(f"simple type {xsd_type} parses itself")
        plan: _Plan = _Simple(_fast_converter(xsd_type), _qname(xsd_type))
        plans[id(xsd_type)] = plan
        return plan
    if not isinstance(xsd_type, ComplexType):
        raise Unsupported(f"type {xsd_type} is neither simple nor complex")
    record = _Record(_qname(xsd_type))
    plans[id(xsd_type)] = record  # before the fields: a type may contain itself
    fields = []
    for name, element in _sequence_elements(xsd_type):
        fields.append(
            _Field(
                name,
                element.qname,
                element.accepts_multiple,
                element.is_optional,
                _plan(element.type, plans),
            )
        )
    record.fill(fields)
    return record


class _Answer:
    """How zeep reads an operation's answer envelope into a value (`SoapMessage.deserialize`
    with `serialize_object`)."""

    __slots__ = ("body_tag", "huge", "plan", "unwrap")

    def __init__(self, message: Any, huge: bool) -> None:
        if type(message) is not DocumentMessage or message._is_body_wrapped:
            raise Unsupported("the answer is not one document/literal part")
        if message.body is None or message.header is None or message.header.type.elements:
            raise Unsupported("the answer has no body, or SOAP headers")
        element = message.body
        if type(element).parse is not Element.parse:
            raise Unsupported("the answer element parses itself")
        self.body_tag: str = element.qname.text
        self.huge = huge
        plan = _plan(element.type, {})
        if not isinstance(plan, _Record) or not plan.fields:
            raise Unsupported("the answer is not a record with elements")
        self.plan: _Record = plan
        # zeep hands back the only field's value rather than a one-field record, and that
        # value's only field when it is itself a one-field record (API notes §4: arrays).
        self.unwrap: tuple[str, str | None] | None = None
        if len(plan.fields) == 1:
            only = plan.fields[0]
            inner = only.plan
            inner_name = (
                inner.fields[0].name
                if isinstance(inner, _Record) and len(inner.fields) == 1 and not only.multi
                else None
            )
            self.unwrap = (only.name, inner_name)

    def read(self, content: bytes) -> object:
        # Markup is plain ASCII bytes unless the encoding is UTF-16/32 or EBCDIC-like: then
        # zeep reads it. Else a DTD and an `xsi:type` are seen in the bytes.
        if b"\x00" in content[:4] or content[:1] not in _MARKUP_STARTS:
            raise Unsupported("not an ASCII-compatible encoding")
        if b"<!DOCTYPE" in content:
            raise Unsupported("a DTD")
        xsi = _XSI_BYTES in content
        root = _parse(content, self.huge)
        if root.tag != f"{{{SOAP_ENV}}}Envelope":
            raise Unsupported("not a SOAP 1.1 envelope")
        body = None
        for child in root:
            if child.tag == f"{{{SOAP_ENV}}}Body" and body is None:
                body = child
            else:
                raise Unsupported("a SOAP Header or another element in the envelope")
        if body is None or len(body) != 1:
            raise Unsupported("no single element in the SOAP Body")
        answer = body[0]
        if answer.tag != self.body_tag:
            raise Unsupported("a SOAP Fault or another element in the body")
        try:
            value = self.plan.read(answer, False, xsi)
        except (TypeError, ValueError):  # zeep logs it and reads None: let zeep do it
            raise Unsupported("a value zeep would not convert") from None
        if self.unwrap is None:
            return value
        assert isinstance(value, dict)
        name, inner = self.unwrap
        value = value[name]
        if inner is not None and isinstance(value, dict):
            return value[inner]
        return value


def _parse(content: bytes, huge: bool) -> Any:
    """lxml with zeep's parser options (`zeep.loader.parse_xml`)."""
    parser = etree.XMLParser(
        remove_comments=True,
        resolve_entities=False,
        huge_tree=huge,
        no_network=True,
        load_dtd=False,
    )
    try:
        return etree.fromstring(content, parser=parser)
    except (etree.XMLSyntaxError, ValueError):
        raise Unsupported("not well-formed XML") from None


# ----- requests -----------------------------------------------------------------------------


def _escape(text: str) -> str:
    if _NOT_XML.search(text):
        raise Unsupported("text lxml refuses")
    return _ESCAPED.sub(lambda m: _ESCAPES[m.group()], text)


def _attribute(text: str) -> str:
    return _escape(text).replace('"', "&quot;")


class _Prefixes:
    """Namespace prefixes as lxml gives them to zeep's tree: `ns0` for the first namespace
    met below the envelope, declared where first used."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}

    def open(self, qname: Any) -> tuple[str, str]:
        """(the prefixed name, the namespace declaration to add if new)."""
        namespace = qname.namespace
        if not namespace:
            return qname.localname, ""
        prefix = self.known.get(namespace)
        if prefix is not None:
            return f"{prefix}:{qname.localname}", ""
        prefix = f"ns{len(self.known)}"
        self.known[namespace] = prefix
        return f"{prefix}:{qname.localname}", f' xmlns:{prefix}="{_attribute(namespace)}"'


@dataclass(frozen=True, slots=True)
class _Param:
    """One parameter: a simple value, or an array wrapper of simple items."""

    open: str
    close: str
    to_text: Callable[[object], object]
    item: str | None = None  # array wrapper: the item's field name
    item_open: str = ""
    item_close: str = ""
    may_be_empty: bool = True  # zeep refuses an empty array of required items

    def render(self, value: object, out: list[str]) -> None:
        if self.item is None:
            out += (self.open, self._text(value), self.close)
            return
        if type(value) is not dict or len(value) != 1 or self.item not in value:
            raise Unsupported("an array not given as {item type: [values]}")
        items = value[self.item]
        if type(items) is not list:
            raise Unsupported("array items not given as a list")
        if not items:
            if not self.may_be_empty:
                raise Unsupported("an empty array of required items")
            out.append(self.open[:-1] + "/>")
            return
        out.append(self.open)
        for item in items:
            out += (self.item_open, self._text(item), self.item_close)
        out.append(self.close)

    def _text(self, value: object) -> str:
        if value is None or not isinstance(value, int | float | str | date):
            raise Unsupported("a value of another kind")
        text = self.to_text(value)
        if not isinstance(text, str):
            raise Unsupported("a value rendered as something else than text")
        return _escape(text)


def _simple_text(xsd_type: Any) -> Callable[[object], object]:
    if not isinstance(xsd_type, AnySimpleType) or (
        type(xsd_type).render is not AnySimpleType.render
    ):
        raise Unsupported(f"parameter type {xsd_type} is not a plain simple type")
    convert: Callable[[object], object] = xsd_type.xmlvalue
    return convert


class _Request:
    """The envelope zeep renders for an operation's positional arguments."""

    def __init__(self, message: Any) -> None:
        if type(message) is not DocumentMessage or message._is_body_wrapped:
            raise Unsupported("the call is not one document/literal part")
        if message.body is None or message.header is None or message.header.type.elements:
            raise Unsupported("the call has no body, or SOAP headers")
        element = message.body
        prefixes = _Prefixes()
        name, declaration = prefixes.open(element.qname)
        params: list[_Param] = []
        for param_name, param in _sequence_elements(element.type):
            if param.accepts_multiple:
                raise Unsupported(f"parameter {param_name} repeats")
            tag, decl = prefixes.open(param.qname)
            if decl:
                raise Unsupported(f"parameter {param_name} in another namespace")
            if isinstance(param.type, AnySimpleType):
                params.append(_Param(f"<{tag}>", f"</{tag}>", _simple_text(param.type)))
                continue
            items = _sequence_elements(param.type)
            if len(items) != 1 or not items[0][1].accepts_multiple:
                raise Unsupported(f"parameter {param_name} is neither simple nor an array")
            item_name, item = items[0]
            item_tag, decl = prefixes.open(item.qname)
            if decl:
                raise Unsupported(f"items of {param_name} in another namespace")
            params.append(
                _Param(
                    f"<{tag}>",
                    f"</{tag}>",
                    _simple_text(item.type),
                    item_name,
                    f"<{item_tag}>",
                    f"</{item_tag}>",
                    item.is_optional,
                )
            )
        self.params = tuple(params)
        head = f'{_XML_DECLARATION}<soap-env:Envelope xmlns:soap-env="{SOAP_ENV}"><soap-env:Body>'
        tail = "</soap-env:Body></soap-env:Envelope>"
        if params:
            self.head = f"{head}<{name}{declaration}>"
            self.tail = f"</{name}>{tail}"
        else:
            self.head = f"{head}<{name}{declaration}/>"
            self.tail = tail

    def render(self, args: Sequence[object]) -> bytes:
        if len(args) != len(self.params):
            raise Unsupported("not one argument per parameter")
        out = [self.head]
        for param, value in zip(self.params, args, strict=True):
            param.render(value, out)
        out.append(self.tail)
        return "".join(out).encode()


# ----- one operation ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OperationCodec:
    """An operation's request template, HTTP headers and answer reader."""

    name: str
    headers: Mapping[str, str]
    _request: _Request
    _answer: _Answer

    def encode(self, args: Sequence[object]) -> bytes | None:
        """The request envelope for `args`, or None when zeep must render this call."""
        try:
            return self._request.render(args)
        except (Unsupported, TypeError, ValueError):  # zeep renders it, or raises its own error
            return None

    def decode(self, content: bytes) -> object:
        """The answer as zeep + `serialize_object` give it; `Unsupported` for zeep to read."""
        return self._answer.read(content)


def compile_operation(binding: Any, name: str, *, huge_tree: bool = False) -> OperationCodec:
    """The codec of operation `name` of a zeep SOAP 1.1 binding; `Unsupported` (with the
    reason) when it is shaped otherwise than the lean codec reproduces exactly."""
    if not isinstance(binding, Soap11Binding):
        raise Unsupported("not a SOAP 1.1 binding")
    operation = binding.get(name)  # type: ignore[no-untyped-call]
    if operation is None:
        raise Unsupported(f"no operation {name}")
    if operation.abstract.wsa_action:
        raise Unsupported("WS-Addressing")
    if operation.style != "document" or binding.wsdl.types._prefix_map_custom:
        raise Unsupported("not document style, or custom namespace prefixes")
    # The headers zeep sends (`SoapMessage.serialize` then the binding's own).
    action = operation.soapaction
    serialized = SimpleNamespace(headers={"SOAPAction": f'"{action}"' if action else '""'})
    binding._set_http_headers(serialized, operation)  # type: ignore[no-untyped-call]
    headers: dict[str, str] = dict(serialized.headers)
    return OperationCodec(
        name, headers, _Request(operation.input), _Answer(operation.output, huge_tree)
    )
