"""Canonical records every source produces and every target consumes.

Records are frozen, slotted and hashable. Times are timezone-aware UTC (`*_at`), dates
are `*_on`. A record is identified inside one source by `(kind, source_id)`; the
tenant and source system complete the key (see `identity.py`).

Routing attributes (`attrs`) are a frozenset of `(name, value)` pairs, for instance
`("family:Promotion", "BTS SIO 1")` or `("site", "36")`: sources put their native filter
dimensions there, accounts' rules match on them (`routing.py`), and options turn some of
them into tags (`shaping.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Literal, get_args

Role = Literal["learner", "instructor", "tutor"]
ROLES: tuple[Role, ...] = get_args(Role)

RecordKind = Literal["learner", "instructor", "tutor", "group", "session"]
RECORD_KINDS: tuple[RecordKind, ...] = get_args(RecordKind)

MarkStatus = Literal["present", "absent", "late", "left_early"]
MARK_STATUSES: tuple[MarkStatus, ...] = get_args(MarkStatus)

Attrs = frozenset[tuple[str, str]]
NO_ATTRS: Attrs = frozenset()


def attrs_of(mapping: Mapping[str, str | Iterable[str]] | None = None) -> Attrs:
    """Build routing attributes from `{name: value or values}`."""
    if not mapping:
        return NO_ATTRS
    pairs: set[tuple[str, str]] = set()
    for name, values in mapping.items():
        if isinstance(values, str):
            pairs.add((name, values))
        else:
            pairs.update((name, value) for value in values)
    return frozenset(pairs)


def attr_values(attrs: Attrs, name: str) -> tuple[str, ...]:
    """The sorted values of one attribute."""
    return tuple(sorted(value for key, value in attrs if key == name))


def require_utc(moment: datetime, what: str) -> datetime:
    """Refuse naive datetimes: every instant in the core is aware and expressed in UTC."""
    if moment.tzinfo is UTC:
        return moment  # the common case, kept cheap: 120,000 calls on a large read
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Person:
    """A learner, an instructor or a tutor (maître d'apprentissage)."""

    source_id: str
    role: Role
    first_name: str
    last_name: str
    email: str | None
    badge_id: str | None = None
    phone: str | None = None
    file_number: str | None = None
    company: str | None = None
    attrs: Attrs = NO_ATTRS

    @property
    def kind(self) -> RecordKind:
        return self.role

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True, slots=True)
class Group:
    """A class, promotion or cohort of learners."""

    source_id: str
    name: str
    description: str = ""
    attrs: Attrs = NO_ATTRS

    @property
    def kind(self) -> RecordKind:
        return "group"


@dataclass(frozen=True, slots=True)
class Session:
    """One dated occurrence of teaching: an Edusign course (attendance sheet)."""

    source_id: str
    name: str
    start_at: datetime
    end_at: datetime
    instructor_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    learner_ids: tuple[str, ...] = ()  # learners enrolled individually, beside the groups
    exempt_learner_ids: tuple[str, ...] = ()
    room_name: str | None = None
    room_code: str | None = None
    description: str = ""
    attrs: Attrs = NO_ATTRS

    def __post_init__(self) -> None:
        # Rewrite only what needed converting: sources mostly hand over UTC already.
        start = require_utc(self.start_at, "Session.start_at")
        if start is not self.start_at:
            object.__setattr__(self, "start_at", start)
        end = require_utc(self.end_at, "Session.end_at")
        if end is not self.end_at:
            object.__setattr__(self, "end_at", end)

    @property
    def kind(self) -> RecordKind:
        return "session"


@dataclass(frozen=True, slots=True)
class Membership:
    """A learner belongs to a group."""

    learner_id: str
    group_id: str


@dataclass(frozen=True, slots=True)
class TutorLink:
    """A tutor follows a learner (apprenticeship)."""

    learner_id: str
    tutor_id: str


@dataclass(frozen=True, slots=True)
class Mark:
    """A learner's attendance in one session, as Edusign recorded it."""

    session_id: str
    learner_id: str
    status: MarkStatus
    justified: bool = False
    minutes_late: int = 0
    minutes_early: int = 0
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A source record that could not be used, and why (shown in the report)."""

    kind: str
    source_id: str
    reason: str
    label: str = ""  # a human hint: a name, a line number; never a secret


@dataclass(frozen=True, slots=True)
class Window:
    """The span of sessions a read covers; sessions outside it are out of scope."""

    start_on: date
    end_on: date

    def covers(self, moment: datetime) -> bool:
        day = moment.astimezone(UTC).date()
        return self.start_on <= day <= self.end_on


@dataclass(frozen=True, slots=True)
class BatchContent:
    """What one `SessionBatch` builds: its sessions, and what it could not use."""

    sessions: tuple[Session, ...] = ()
    rejected: tuple[Rejected, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionBatch:
    """Sessions a source builds on demand, with a fingerprint of everything they come from.

    A source whose sessions are costly to build (a large Hyperplanning base: 60,000
    séances to decode and convert) hands them over in batches. The engine builds only the
    batches whose fingerprint differs from the one it recorded the last time it brought
    every session of that batch in sync (`engine/batches.py`); for the others it knows the
    sessions are exactly what Edusign already holds. So the fingerprint must cover every
    input of `build` (raw answers, the records they refer to, options, the window): an
    input left out would be a change missed. `batch_id` is stable from run to run; the
    batches of one read hold disjoint sessions.
    """

    batch_id: str
    fingerprint: str
    build: Callable[[], BatchContent]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a source read returned: records plus what was rejected.

    `complete` is False when the read failed part-way, was a delta, or returned nothing
    usable: the planner then cancels nothing (absent is not deleted).
    """

    people: tuple[Person, ...] = ()
    groups: tuple[Group, ...] = ()
    sessions: tuple[Session, ...] = ()
    memberships: tuple[Membership, ...] = ()
    tutor_links: tuple[TutorLink, ...] = ()
    rejected: tuple[Rejected, ...] = ()
    complete: bool = True
    window: Window | None = None
    # Source keys (kind, source_id) the source reports as deleted (OneRoster delta
    # `status=tobedeleted`): those may be cancelled even from an incomplete read.
    deleted: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    # The source ids this read speaks for start with `key_space` (None: all of them). A
    # source whose keys are scoped (a Hyperplanning base, one school year) sets it so that
    # records of another key space (last year's base) are left alone, never cancelled.
    key_space: str | None = None
    # Sessions not built yet (`SessionBatch`); `sessions` holds the ones built already.
    batches: tuple[SessionBatch, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.people or self.groups or self.sessions or self.batches)

    def built(self) -> Snapshot:
        """This snapshot with every batch built into `sessions` (sorted by start, then id)
        and its rejections appended: for callers that want every record at once."""
        if not self.batches:
            return self
        sessions = list(self.sessions)
        rejected = list(self.rejected)
        for batch in self.batches:
            content = batch.build()
            sessions.extend(content.sessions)
            rejected.extend(content.rejected)
        sessions.sort(key=lambda s: (s.start_at, s.source_id))
        return replace(self, sessions=tuple(sessions), rejected=tuple(rejected), batches=())

    def counts(self) -> dict[str, int]:
        """Records per kind, for reports."""
        out: dict[str, int] = dict.fromkeys(RECORD_KINDS, 0)
        for person in self.people:
            out[person.role] += 1
        out["group"] = len(self.groups)
        out["session"] = len(self.sessions)
        return out
