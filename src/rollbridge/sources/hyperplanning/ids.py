"""Source ids for Hyperplanning records, scoped to one base (one school year's planning).

Keys are opaque integers, taken as stable inside one base only (API notes §7): every id
starts with a `base_id` hashed from the configured URL and `DatePremierJourBase()`, so keys
are never carried across bases. A séance is `(course key, HP week)`, the way roll-call
calls address it (`ACours`, `ASemaine`); when a course has two séances in one week, each is
`(course key, wall-clock start)` instead.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, get_args
from urllib.parse import urlsplit

HpKind = Literal["learner", "instructor", "tutor", "promotion", "td", "session"]
HP_KINDS: tuple[HpKind, ...] = get_args(HpKind)

_WSDL_TAIL = re.compile(r"/wsdl(?:/.*)?$")
_WEEK = re.compile(r"w(-?\d+)")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_START_FORMAT = "%Y%m%dT%H%M"


def normalise_url(url: str) -> str:
    """The configured HPSW URL reduced to what identifies the server and base.

    Case, default ports, credentials, query, fragment, repeated or trailing slashes and a
    trailing `/wsdl…` part do not change which base is served, so they do not change the id.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path.lower()).rstrip("/")
    path = _WSDL_TAIL.sub("", path)
    return f"{scheme}://{netloc}{path}"


def base_id(url: str, first_day: date) -> str:
    """Short stable identity of one base: configured URL + `DatePremierJourBase()`."""
    text = f"{normalise_url(url)}\x1f{first_day.isoformat()}"
    return hashlib.blake2b(text.encode(), digest_size=5).hexdigest()


def source_id(base: str, kind: HpKind, key: int | str) -> str:
    """`{base}:{kind}:{key}`, the source id of a learner, instructor, tutor or group."""
    return f"{base}:{kind}:{key}"


def session_id(base: str, course_key: int, week: int) -> str:
    """A séance addressed the way Hyperplanning does: course and HP week."""
    return f"{base}:session:{course_key}:w{week}"


def session_id_by_start(base: str, course_key: int, start_wall: datetime) -> str:
    """The fallback séance id when a course has several séances in one week."""
    return f"{base}:session:{course_key}:at{start_wall.strftime(_START_FORMAT)}"


@dataclass(frozen=True, slots=True)
class SessionRef:
    """What a séance id says: base, course key and either the HP week or the start."""

    base: str
    course_key: int
    week: int | None = None
    start_wall: datetime | None = None


def key_of(source: str, base: str, kind: HpKind) -> int | None:
    """The integer key in `source` if it is a `kind` id of `base`, else None."""
    prefix = f"{base}:{kind}:"
    if not source.startswith(prefix):
        return None
    tail = source[len(prefix) :]
    return int(tail) if tail.isdigit() else None


def parse_session_id(source: str, base: str) -> SessionRef | None:
    """Read a séance id of `base` back; None for another base or a malformed id."""
    prefix = f"{base}:session:"
    if not source.startswith(prefix):
        return None
    course, _, which = source[len(prefix) :].partition(":")
    if not course.isdigit():
        return None
    week = _WEEK.fullmatch(which)
    if week is not None:
        return SessionRef(base, int(course), week=int(week.group(1)))
    if which.startswith("at"):
        try:
            start = datetime.strptime(which[2:], _START_FORMAT)
        except ValueError:
            return None
        return SessionRef(base, int(course), start_wall=start)
    return None
