"""A small, tolerant iCalendar (RFC 5545) reader for planning exports; pure.

Only what sessions need is read: VEVENTs and their properties, as `(name, params, value)`.
It is hand-written rather than built on `icalendar` because real exports need repairs
that library does not make, and because it must stay fast on a school year of events:

- lines are unfolded on bytes, before decoding, so a fold that splits a UTF-8 accent
  (exporters count octets) still decodes;
- the empty lines left where an editor stripped a fold's lone space (ADE exports of the
  Université de Montpellier) are skipped;
- CRLF, LF or CR line ends; UTF-8 with or without BOM, else Windows-1252.

Text values are unescaped (`\\n`, `\\,`, `\\;`, `\\\\`); dates and times are read by
`icaltime.py`, which knows the tenant's zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from rollbridge.sources.files.csvio import decode_text

Params = dict[str, str]
Prop = tuple[Params, str]
"""One content line's parameters (upper-cased names) and raw value; a bare tuple because
a school year holds 700,000 of them."""

_NO_PARAMS: Params = {}  # shared by the many lines without parameters; never mutated


@dataclass(slots=True)
class Event:
    """The properties of one VEVENT by upper-cased name.

    The first occurrence of each name is in `props`, later ones (several ATTENDEEs,
    EXDATEs) in `more`: one list per event rather than one per property keeps a year
    of events cheap to build.
    """

    number: int  # 1-based rank among the file's VEVENTs, to name events without a UID
    props: dict[str, Prop] = field(default_factory=dict)
    more: list[tuple[str, Prop]] = field(default_factory=list)

    def first(self, name: str) -> Prop | None:
        """The first property called `name`, if any."""
        return self.props.get(name)

    def text(self, name: str) -> str:
        """The unescaped text of the first property `name`, or ""."""
        found = self.props.get(name)
        return unescape(found[1]) if found else ""

    def all(self, name: str) -> list[Prop]:
        """Every property called `name`, in file order."""
        found = self.props.get(name)
        if found is None:
            return []
        return [found, *(prop for other, prop in self.more if other == name)]


def unfold(data: bytes) -> list[str]:
    """The logical lines of an iCalendar file, unfolded and decoded."""
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    data = data.replace(b"\n ", b"").replace(b"\n\t", b"")
    return decode_text(data).split("\n")


# One `;NAME=value[,value]` parameter; quoted values may hold ':' ';' ','.
_PARAM = re.compile(r';([^=;:"]+)=((?:"[^"]*"|[^";:,]*)(?:,(?:"[^"]*"|[^";:,]*))*)')


def split_line(line: str) -> tuple[str, Params, str] | None:
    """`NAME;P=v;Q="a:b":value` as its name, parameters and value; None when malformed."""
    colon = line.find(":")
    semi = line.find(";")
    if colon < 0:
        return None
    if semi < 0 or semi > colon:
        return line[:colon].upper(), _NO_PARAMS, line[colon + 1 :]
    name, params, at, end = line[:semi].upper(), {}, semi, len(line)
    while True:
        match = _PARAM.match(line, at)
        if match is None:
            return None
        raw = match.group(2)
        params[match.group(1).upper()] = raw.replace('"', "") if '"' in raw else raw
        at = match.end()
        if at >= end:
            return None
        if line[at] == ":":
            return name, params, line[at + 1 :]
        if line[at] != ";":
            return None


def iter_events(data: bytes, skipped: list[str]) -> Iterator[Event]:
    """The VEVENTs of a calendar one at a time, each dropped once used (a school year of
    events never sits in memory twice); lines that are not content lines go to `skipped`."""
    count = 0
    stack: list[str] = []
    current: Event | None = None
    for line in unfold(data):
        colon = line.find(":")
        if colon > 0 and line.find(";", 0, colon) < 0:
            # No ';' before the first ':' means no parameters: the common, fast case.
            name, params, value = line[:colon].upper(), _NO_PARAMS, line[colon + 1 :]
        elif not line.strip():
            continue  # a stripped fold (ADE through an editor): nothing was lost
        else:
            parts = split_line(line)
            if parts is None:
                skipped.append(line[:60])
                continue
            name, params, value = parts
        if name == "BEGIN":
            stack.append(value.strip().upper())
            if stack[-1] == "VEVENT":
                count += 1
                current = Event(count)
        elif name == "END":
            ending = value.strip().upper()
            if stack and stack[-1] == ending:
                stack.pop()
            if ending == "VEVENT" and current is not None:
                yield current
                current = None
        elif current is not None and stack[-1] == "VEVENT":
            if name in current.props:
                current.more.append((name, (params, value)))
            else:
                current.props[name] = (params, value)


def unescape(value: str) -> str:
    """An iCalendar TEXT value as plain text."""
    if "\\" not in value:
        return value
    out: list[str] = []
    at, end = 0, len(value)
    while at < end:
        char = value[at]
        if char == "\\" and at + 1 < end:
            following = value[at + 1]
            out.append("\n" if following in "nN" else following)
            at += 2
        else:
            out.append(char)
            at += 1
    return "".join(out)


def split_text_list(value: str) -> list[str]:
    """A comma-separated TEXT list (CATEGORIES, our X- properties), escapes honoured."""
    if "\\" not in value:
        return [item for item in (part.strip() for part in value.split(",")) if item]
    items: list[str] = []
    current: list[str] = []
    at, end = 0, len(value)
    while at < end:
        char = value[at]
        if char == "\\" and at + 1 < end:
            current.append(value[at : at + 2])
            at += 2
            continue
        if char == ",":
            items.append(unescape("".join(current)).strip())
            current = []
        else:
            current.append(char)
        at += 1
    items.append(unescape("".join(current)).strip())
    return [item for item in items if item]
