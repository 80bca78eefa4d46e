"""Sessions from the séances of one base's courses. Pure.

Only placed courses that are not parents give sessions (a parent's séances repeat its
children's). A session is named after its subject, optionally followed by `TypeCours` (the
séance's; if it has none, the course's, else the one of the course's last séance) and
`MemoCours`; rooms keep name and code (the long label stands in for a missing name);
instructors are the séance's, else the course's. Its groups are the course's promotions
and TD/options; learners the course lists beyond those groups are enrolled individually;
learners exempted from the subject (or from everything) that day are listed in
`exempt_learner_ids`. Start and end are wall-clock times converted with the tenant's zone;
a time in the spring-forward gap rejects the séance. Séances outside the window are left
out.

`SessionBuilder` holds a read's lookups once; each `build` turns some séances into sessions
(every séance of the courses concerned: one chunk's, or the whole read's) with rejections
of its own, so that the chunks of a read can be built separately (`batches.py`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from rollbridge.model import Rejected, Session, Window
from rollbridge.sources.hyperplanning.families import course_family_attrs
from rollbridge.sources.hyperplanning.ids import source_id
from rollbridge.sources.hyperplanning.inputs import (
    HpCourse,
    HpExemption,
    HpRead,
    HpRoom,
    HpSeance,
)
from rollbridge.sources.hyperplanning.roster import HpRoster
from rollbridge.sources.hyperplanning.seances import IdentifiedSeance, identify_seances
from rollbridge.sources.hyperplanning.times import day_fraction_to_minutes, end_of, to_utc


@dataclass(frozen=True, slots=True)
class Naming:
    """What goes into a session's name beside the subject label."""

    with_course_type: bool = False
    with_memo: bool = False


@dataclass(frozen=True, slots=True)
class Clock:
    """How séance times are read: the base's first day, the tenant's zone, the window."""

    first_day: date
    tz: ZoneInfo
    window: Window


@dataclass(frozen=True, slots=True)
class HpTimetable:
    """Sessions, with what was rejected and what a person should know."""

    sessions: tuple[Session, ...] = ()
    rejected: tuple[Rejected, ...] = ()
    warnings: tuple[str, ...] = ()


def build_sessions(
    read: HpRead, roster: HpRoster, *, base: str, clock: Clock, naming: Naming | None = None
) -> HpTimetable:
    """One session per séance of a placed, non-parent course inside the window."""
    return SessionBuilder(read, roster, base=base, clock=clock, naming=naming).build(read.seances)


@dataclass(frozen=True, slots=True)
class _Audience:
    """What a course contributes to each of its sessions, computed once per course."""

    group_ids: tuple[str, ...]
    learner_ids: tuple[str, ...]
    learner_keys: frozenset[int]  # every learner concerned: group members and individuals
    attrs: frozenset[tuple[str, str]]


def _subject_key(seance: HpSeance, course: HpCourse) -> int | None:
    return seance.subject_key if seance.subject_key is not None else course.subject_key


def _join(texts: Iterable[str]) -> str | None:
    return ", ".join(t for t in texts if t) or None


class SessionBuilder:
    """The lookups a read's sessions need (courses, rooms, subjects, exemptions, roster ids)
    and the memos shared by its builds, made once per read; `build` makes the sessions of
    some of its séances (one chunk's) or of all."""

    def __init__(
        self,
        read: HpRead,
        roster: HpRoster,
        *,
        base: str,
        clock: Clock,
        naming: Naming | None = None,
    ) -> None:
        self.read = read
        self.base = base
        self.clock = clock
        self.naming = naming or Naming()
        self.roster = roster
        self.rooms: dict[int, HpRoom] = {room.key: room for room in read.rooms}
        self.subjects = {subject.key: subject.label for subject in read.subjects}
        self.courses = {course.key: course for course in read.courses}
        self.exemptions: dict[int, list[HpExemption]] = defaultdict(list)
        for exemption in read.exemptions:
            self.exemptions[exemption.learner_key].append(exemption)
        # Memos: each value depends on the read and on one course at most, never on the
        # séances built, so builds of different chunks may share them.
        self.audiences: dict[int, _Audience] = {}
        self.utc: dict[datetime, datetime | str] = {}
        self.names: dict[tuple[int, int | None, str], str] = {}
        self.room_labels: dict[tuple[int, ...], tuple[str | None, str | None]] = {}
        self.exempt_fixed: dict[tuple[int, int | None], tuple[str, ...]] = {}
        self.exempt_dated: dict[tuple[int, int | None], list[tuple[str, list[HpExemption]]]] = {}

    def build(
        self, seances: Iterable[HpSeance], courses: Mapping[int, HpCourse] | None = None
    ) -> HpTimetable:
        """The sessions of `seances`, sorted by (start, id): every séance of the courses
        they belong to (a week's séances are identified together), each looked up in
        `courses` (by default every course of the read). Rejections are this build's own."""
        one = _Pass(self, self.courses if courses is None else courses)
        sessions = sorted(one.sessions(seances), key=lambda s: (s.start_at, s.source_id))
        return HpTimetable(tuple(sessions), tuple(one.rejected), tuple(one.warnings))


class _Pass:
    """One build: its rejections and warnings; lookups and memos are the builder's."""

    def __init__(self, shared: SessionBuilder, courses: Mapping[int, HpCourse]) -> None:
        self.base = shared.base
        self.clock = shared.clock
        self.naming = shared.naming
        self.course_families = shared.read.course_families
        self.learner_ids = shared.roster.learner_ids
        self.teacher_ids = shared.roster.teacher_ids
        self.group_ids = shared.roster.group_ids
        self.members = shared.roster.members
        self.rooms = shared.rooms
        self.subjects = shared.subjects
        self.courses = courses
        self.exemptions = shared.exemptions
        self.audiences = shared.audiences
        self.utc = shared.utc
        self.names = shared.names
        self.room_labels = shared.room_labels
        self.exempt_fixed = shared.exempt_fixed
        self.exempt_dated = shared.exempt_dated
        self.rejected: list[Rejected] = []
        self.seen: set[tuple[str, str, str]] = set()
        self.warnings: list[str] = []
        # A course's type when a séance names none: the one of its séances (the last read),
        # as the course's `TypeCours`.
        self.types: dict[int, str] = {}

    def sessions(self, seances: Iterable[HpSeance]) -> list[Session]:
        wanted: list[HpSeance] = []
        for seance in seances:
            self.types[seance.course_key] = seance.course_type
            course = self.courses.get(seance.course_key)
            if course is None:
                self._reject(
                    Rejected(
                        "session",
                        source_id(self.base, "session", seance.course_key),
                        f"séances of course {seance.course_key}, which Hyperplanning did not "
                        "list as a course, were left out",
                    )
                )
            elif course.is_placed and not course.is_parent:
                wanted.append(seance)
        identified, rejected, warnings = identify_seances(wanted, self.base, self.clock.first_day)
        self.rejected.extend(rejected)
        self.warnings.extend(warnings)
        out: list[Session] = []
        for item in identified:
            session = self._session(item, self.courses[item.seance.course_key])
            if session is not None:
                out.append(session)
        return out

    def _session(self, item: IdentifiedSeance, course: HpCourse) -> Session | None:
        seance = item.seance
        subject_key = _subject_key(seance, course)
        name = self._session_name(seance, course, subject_key)

        def where() -> str:  # only when something is wrong: formatting 60,000 dates costs
            return f"{name} (course {course.key}) on {seance.starts_wallclock:%Y-%m-%d %H:%M}"

        try:
            minutes = day_fraction_to_minutes(seance.duration_days)
        except ValueError as exc:
            self.rejected.append(Rejected("session", item.source_id, f"{where()}: {exc}", name))
            return None
        if minutes <= 0:
            self.rejected.append(
                Rejected("session", item.source_id, f"{where()} lasts no time", name)
            )
            return None
        start_at = self._utc(seance.starts_wallclock)
        if isinstance(start_at, str) and not self._in_window(seance.starts_wallclock.date()):
            return None
        if isinstance(start_at, str):
            self.rejected.append(
                Rejected("session", item.source_id, f"{where()}: start time {start_at}", name)
            )
            return None
        if not self.clock.window.covers(start_at):
            return None
        end_at = self._utc(end_of(seance.starts_wallclock, minutes))
        if isinstance(end_at, str):
            self.rejected.append(
                Rejected("session", item.source_id, f"{where()}: end time {end_at}", name)
            )
            return None
        audience = self._audience(course)
        room_name, room_code = self._rooms(seance.room_keys, name, course)
        return Session(
            source_id=item.source_id,
            name=name,
            start_at=start_at,
            end_at=end_at,
            instructor_ids=self._instructors(seance.teacher_keys or course.teacher_keys, course),
            group_ids=audience.group_ids,
            learner_ids=audience.learner_ids,
            exempt_learner_ids=self._exempt(course.key, audience, subject_key, seance),
            room_name=room_name,
            room_code=room_code,
            attrs=audience.attrs,
        )

    def _rooms(
        self, keys: tuple[int, ...], name: str, course: HpCourse
    ) -> tuple[str | None, str | None]:
        """(names, codes) of a séance's rooms, once per set of rooms."""
        found = self.room_labels.get(keys)
        if found is not None:
            return found
        rooms = [self.rooms[key] for key in keys if key in self.rooms]
        for key in keys:
            if key not in self.rooms:
                self.warnings.append(
                    f"{name} (course {course.key}) is in room {key}, which Hyperplanning "
                    "did not list"
                )
        found = self.room_labels[keys] = (
            _join(room.name or room.long_label for room in rooms),
            _join(room.code for room in rooms),
        )
        return found

    def _utc(self, wall: datetime) -> datetime | str:
        """`to_utc`, once per distinct wall-clock time (séances share a few hundred)."""
        found = self.utc.get(wall)
        if found is None:
            found = self.utc[wall] = to_utc(wall, self.clock.tz)
        return found

    def _session_name(self, seance: HpSeance, course: HpCourse, subject_key: int | None) -> str:
        course_type = seance.course_type or course.course_type or self.types[course.key]
        memo_key = (course.key, subject_key, course_type)
        found = self.names.get(memo_key)
        if found is None:
            found = self.names[memo_key] = self._compose_name(course, subject_key, course_type)
        return found

    def _compose_name(self, course: HpCourse, subject_key: int | None, course_type: str) -> str:
        subject = self.subjects.get(subject_key, "") if subject_key is not None else ""
        memo = course.memo.strip()
        parts = [subject.strip()]
        if self.naming.with_course_type:
            parts.append(course_type)
        if self.naming.with_memo:
            parts.append(memo)
        name = " – ".join(part for part in parts if part)
        # A course without a subject still deserves a readable name.
        return name or memo or course_type or f"Hyperplanning course {course.key}"

    def _in_window(self, day: date) -> bool:
        return self.clock.window.start_on <= day <= self.clock.window.end_on

    def _reject(self, item: Rejected) -> None:
        """Reject once: a course's séances repeat the same problem all year."""
        if (item.kind, item.source_id, item.reason) not in self.seen:
            self.seen.add((item.kind, item.source_id, item.reason))
            self.rejected.append(item)

    def _instructors(self, keys: Sequence[int], course: HpCourse) -> tuple[str, ...]:
        ids: list[str] = []
        for key in dict.fromkeys(keys):
            sid = self.teacher_ids.get(key)
            if sid is None:
                self._reject(
                    Rejected(
                        "instructor",
                        source_id(self.base, "instructor", key),
                        f"instructor {key}, named by course {course.key}, is not in "
                        "Hyperplanning's instructor list; the course's sessions go without",
                    )
                )
            else:
                ids.append(sid)
        return tuple(ids)

    def _audience(self, course: HpCourse) -> _Audience:
        cached = self.audiences.get(course.key)
        if cached is not None:
            return cached
        group_ids: list[str] = []
        covered: set[int] = set()
        for kind, keys in (("promotion", course.promotion_keys), ("td", course.td_keys)):
            for key in keys:
                group_id = self.group_ids.get((kind, key))
                if group_id is None:
                    self.warnings.append(
                        f"course {course.key} is given to {kind} {key}, "
                        "which Hyperplanning did not list"
                    )
                    continue
                group_ids.append(group_id)
                covered.update(self.members.get(group_id, ()))
        individuals = [k for k in course.learner_keys if k not in covered]
        known = [k for k in individuals if k in self.learner_ids]
        if len(known) < len(individuals):
            self.warnings.append(
                f"course {course.key} lists {len(individuals) - len(known)} learner(s) "
                "Hyperplanning did not list"
            )
        attrs, unknown = course_family_attrs(course.section_keys, self.course_families)
        if unknown:
            self.warnings.append(
                f"course {course.key} sits in unknown course-family sections {list(unknown)}"
            )
        audience = _Audience(
            group_ids=tuple(dict.fromkeys(group_ids)),
            learner_ids=tuple(dict.fromkeys(self.learner_ids[k] for k in known)),
            learner_keys=frozenset(covered | set(known)),
            attrs=attrs,
        )
        self.audiences[course.key] = audience
        return audience

    def _exempt(
        self, course_key: int, audience: _Audience, subject_key: int | None, seance: HpSeance
    ) -> tuple[str, ...]:
        """Learners of the séance exempted from its subject (or everything) that day; worked
        out once per (course, subject) unless an exemption has a period."""
        memo_key = (course_key, subject_key)
        fixed = self.exempt_fixed.get(memo_key)
        if fixed is not None:
            return fixed
        dated = self.exempt_dated.get(memo_key)
        if dated is None:
            dated = []
            for key in audience.learner_keys & self.exemptions.keys():
                relevant = [e for e in self.exemptions[key] if e.subject_key in (None, subject_key)]
                if relevant:
                    dated.append((self.learner_ids[key], relevant))
            if all(e.start_on is None and e.end_on is None for _, es in dated for e in es):
                fixed = self.exempt_fixed[memo_key] = tuple(sorted(sid for sid, _ in dated))
                return fixed
            self.exempt_dated[memo_key] = dated
        day = seance.starts_wallclock.date()
        return tuple(
            sorted(sid for sid, es in dated if any(e.covers(subject_key, day) for e in es))
        )
