"""The WSDL 1.1 documents: the full one (`/hpsw/wsdl`) and one per interface
(`/hpsw/wsdl/<Interface>`), document/literal, built from `catalog.OPERATIONS`.

Layout: one schema (elementFormDefault qualified) holding the key, week and genre simple
types, the array wrappers and records (`schema.py`), and a request element `<Op>` and a
response element `<OpResponse>` per operation. An array answer's response element IS the
wrapper type, so zeep unwraps it to a bare list (§4); a scalar answer sits in `return`.
Per interface: portType `IHpSvcW<X>`, binding `IHpSvcW<X>Binding`, and port `Port<X>` of
service `HpSvcWDonnees` (or `HpSvcWAdmin`) at `<address>/soap/IHpSvcW<X>`, where `address`
may name a wrong host on purpose (clients must rewrite it, §2).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Final

from lxml import etree

from rollbridge.sandbox.hyperplanning.catalog import (
    ADMIN_SERVICE,
    DATA_SERVICE,
    Operation,
    operations_of,
    port_of,
    service_of,
)
from rollbridge.sandbox.hyperplanning.schema import (
    ARRAYS,
    GENRE,
    GENRES,
    KEY_TYPES,
    RECORDS,
    TNS,
    WEEK,
    XSD,
    XSD_TYPES,
)

WSDL: Final = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP: Final = "http://schemas.xmlsoap.org/wsdl/soap/"
HTTP_TRANSPORT: Final = "http://schemas.xmlsoap.org/soap/http"
_NSMAP: Final = {"wsdl": WSDL, "soap": WSDL_SOAP, "xsd": XSD, "hp": TNS}


def binding_name(interface: str) -> str:
    """`IHpSvcWCours` -> `IHpSvcWCoursBinding`."""
    return f"{interface}Binding"


def _ref(type_name: str) -> str:
    return f"xsd:{type_name}" if type_name in XSD_TYPES else f"hp:{type_name}"


def _w(parent: etree._Element, tag: str, /, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{WSDL}}}{tag}", attrs)


def _x(parent: etree._Element, tag: str, /, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{XSD}}}{tag}", attrs)


def _simple_types(schema: etree._Element) -> None:
    for name in sorted(KEY_TYPES | {WEEK}):
        _x(_x(schema, "simpleType", name=name), "restriction", base="xsd:unsignedInt")
    restriction = _x(_x(schema, "simpleType", name=GENRE), "restriction", base="xsd:string")
    for genre in GENRES:
        _x(restriction, "enumeration", value=genre)


def _complex_types(schema: etree._Element) -> None:
    for name, fields in RECORDS.items():
        sequence = _x(_x(schema, "complexType", name=name), "sequence")
        for field, type_name in fields:
            _x(sequence, "element", name=field, type=_ref(type_name))
    for name, item in ARRAYS.items():
        sequence = _x(_x(schema, "complexType", name=name), "sequence")
        _x(sequence, "element", name=item, type=_ref(item), minOccurs="0", maxOccurs="unbounded")


def _elements(schema: etree._Element, op: Operation) -> None:
    sequence = _x(_x(_x(schema, "element", name=op.name), "complexType"), "sequence")
    for name, type_name in op.params:
        _x(sequence, "element", name=name, type=_ref(type_name))
    response = f"{op.name}Response"
    if op.result in ARRAYS:
        _x(schema, "element", name=response, type=_ref(op.result))
        return
    sequence = _x(_x(_x(schema, "element", name=response), "complexType"), "sequence")
    for name, type_name in op.outs:
        _x(sequence, "element", name=name, type=_ref(type_name))
    if op.result is not None:
        _x(sequence, "element", name="return", type=_ref(op.result))


def build_wsdl(
    address: str, interfaces: Sequence[str], hidden: Collection[str] = frozenset()
) -> bytes:
    """A WSDL for `interfaces`, whose ports all live under `address` (scheme, host, prefix),
    without the `hidden` operations (an older HPSW version that lacks them)."""
    root = etree.Element(
        f"{{{WSDL}}}definitions", {"name": "HpSvcW", "targetNamespace": TNS}, nsmap=_NSMAP
    )
    schema = _x(_w(root, "types"), "schema", targetNamespace=TNS, elementFormDefault="qualified")
    _simple_types(schema)
    _complex_types(schema)
    ops = {
        interface: [op for op in operations_of(interface) if op.name not in hidden]
        for interface in interfaces
    }
    for group in ops.values():
        for op in group:
            _elements(schema, op)
    for group in ops.values():
        for op in group:
            part = _w(root, "message", name=f"{op.name}Request")
            _w(part, "part", name="parameters", element=f"hp:{op.name}")
            part = _w(root, "message", name=f"{op.name}Response")
            _w(part, "part", name="parameters", element=f"hp:{op.name}Response")
    for interface, group in ops.items():
        port_type = _w(root, "portType", name=interface)
        for op in group:
            operation = _w(port_type, "operation", name=op.name)
            _w(operation, "input", message=f"hp:{op.name}Request")
            _w(operation, "output", message=f"hp:{op.name}Response")
    for interface, group in ops.items():
        binding = _w(root, "binding", name=binding_name(interface), type=f"hp:{interface}")
        etree.SubElement(
            binding, f"{{{WSDL_SOAP}}}binding", style="document", transport=HTTP_TRANSPORT
        )
        for op in group:
            operation = _w(binding, "operation", name=op.name)
            etree.SubElement(
                operation,
                f"{{{WSDL_SOAP}}}operation",
                soapAction=f"urn:HpSvcW-{interface}#{op.name}",
                style="document",
            )
            for direction in ("input", "output"):
                etree.SubElement(_w(operation, direction), f"{{{WSDL_SOAP}}}body", use="literal")
    for service_name in (DATA_SERVICE, ADMIN_SERVICE):
        mine = [i for i in interfaces if service_of(i) == service_name]
        if not mine:
            continue
        service = _w(root, "service", name=service_name)
        for interface in mine:
            port = _w(
                service, "port", name=port_of(interface), binding=f"hp:{binding_name(interface)}"
            )
            etree.SubElement(
                port, f"{{{WSDL_SOAP}}}address", location=f"{address}/soap/{interface}"
            )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True))
