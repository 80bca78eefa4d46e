"""Courses and séances as Hyperplanning plans them, derived from the generator's dated sessions.

A Hyperplanning course is recurring: here one course per (group, subject, weekday, n-th
occurrence of that subject in the group's day), whose séances are its weekly occurrences.
The key makes a course yield at most one séance per week (séance identity is
(course, week), §7) while its time may vary from week to week (start time is content, §7).

Planted on top (§5, §11): a few parent courses ("cours pères") whose children are existing
courses and whose séances duplicate the children's (clients must skip parents), and one
unplaced course (no séance at all; `RestreindreTableauDeCoursAuxCoursPlaces` drops it).
Everything is by index; `base.Base` gives the keys.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from rollbridge.model import Session
from rollbridge.timeconv import utc_to_local

CourseRole = Literal["simple", "child", "parent"]
PARENT_COUNT = 3
_KINDS = ("CM", "TD", "TP")


@dataclass(frozen=True, slots=True)
class Seance:
    """One placed occurrence of a course."""

    start: datetime  # naive local wall-clock time
    minutes: int
    rooms: tuple[int, ...]
    instructors: tuple[int, ...]
    session_id: str  # the generator's session it stands for


@dataclass(frozen=True, slots=True)
class Course:
    """A recurring course: who, what, and its séances (none when unplaced)."""

    subject: int
    kind: str  # TypeCours: CM, TD, TP
    memo: str
    promotions: tuple[int, ...]  # promotions the course is attached to directly
    tds: tuple[int, ...]  # TD groups and options it is attached to
    learners: tuple[int, ...]
    instructors: tuple[int, ...]
    rooms: tuple[int, ...]
    seances: tuple[Seance, ...]
    group_id: str  # the generator's group ("" for a parent spanning several)
    role: CourseRole = "simple"
    relatives: tuple[int, ...] = ()  # a parent's children, or a child's parent
    presence_required: bool = True

    @property
    def is_placed(self) -> bool:
        return bool(self.seances)


@dataclass(frozen=True, slots=True)
class GroupPlace:
    """Where a generator group lives in Hyperplanning: a promotion, or a TD group/option."""

    promotion: int
    td: int | None  # None: courses are attached to the promotion itself
    learners: tuple[int, ...]
    is_study: bool  # the teacher-less "Étude dirigée" groups


def _union(parts: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """Items of all parts, first-seen order."""
    return tuple(dict.fromkeys(item for part in parts for item in part))


def derive_courses(
    sessions: Sequence[Session],
    tz: ZoneInfo,
    places: Mapping[str, GroupPlace],
    rooms: Mapping[tuple[str, str, str], int],
    subjects: Mapping[str, int],
    instructors: Mapping[str, int],
) -> list[Course]:
    """Group the dated sessions into recurring courses, then plant parents and an unplaced one."""
    keys: dict[tuple[str, str, int, int], int] = {}
    seen_today: dict[tuple[str, str, date], int] = {}
    parts: list[list[tuple[Seance, Session]]] = []
    for session in sessions:
        start = utc_to_local(session.start_at, tz)
        group = session.group_ids[0]
        day_key = (group, session.name, start.date())
        nth = seen_today.get(day_key, 0)
        seen_today[day_key] = nth + 1
        key = (group, session.name, start.weekday(), nth)
        if key not in keys:
            keys[key] = len(parts)
            parts.append([])
        org = next((value for name, value in session.attrs if name == "org"), "")
        room = rooms[(session.room_name or "", session.room_code or "", org)]
        seance = Seance(
            start,
            round((session.end_at - session.start_at).total_seconds() / 60),
            (room,),
            tuple(instructors[i] for i in session.instructor_ids),
            session.source_id,
        )
        parts[keys[key]].append((seance, session))
    courses = [_course(part, places, subjects) for part in parts]
    slots = {index: key for key, index in keys.items()}
    _plant_parents(courses, slots, places)
    courses.append(_unplaced(courses[0]))
    return courses


def _course(
    part: list[tuple[Seance, Session]],
    places: Mapping[str, GroupPlace],
    subjects: Mapping[str, int],
) -> Course:
    first = part[0][1]
    group = first.group_ids[0]
    place = places[group]
    seances = tuple(seance for seance, _ in part)
    kind = "TD" if place.is_study else _KINDS[zlib.crc32(f"{group}|{first.name}".encode()) % 3]
    return Course(
        subject=subjects[first.name],
        kind=kind,
        memo=first.description,
        promotions=() if place.td is not None else (place.promotion,),
        tds=() if place.td is None else (place.td,),
        learners=place.learners,
        instructors=_union([s.instructors for s in seances]),
        rooms=_union([s.rooms for s in seances]),
        seances=seances,
        group_id=group,
        presence_required=not place.is_study,  # self-study: attendance is not taken
    )


def _plant_parents(
    courses: list[Course],
    slots: Mapping[int, tuple[str, str, int, int]],
    places: Mapping[str, GroupPlace],
) -> None:
    """Append up to `PARENT_COUNT` parents over sibling courses; mark the children."""
    # Best: the same slot of one promotion split into TD groups (how schools use parents).
    by_slot: dict[tuple[int, str, int, int], list[int]] = {}
    # Fallback (small schools have one group per promotion): one group's weekly repeats.
    by_group: dict[tuple[str, str], list[int]] = {}
    for index, (group, subject, weekday, nth) in slots.items():
        place = places[group]
        if place.is_study:
            continue
        if place.td is not None:
            by_slot.setdefault((place.promotion, subject, weekday, nth), []).append(index)
        by_group.setdefault((group, subject), []).append(index)
    clusters = [c for c in by_slot.values() if len(c) > 1]
    clusters += [c for c in by_group.values() if len(c) > 1]
    used: set[int] = set()
    for cluster in clusters:
        children = [c for c in cluster if c not in used][:2]
        if len(children) < 2:
            continue
        used.update(children)
        parent = len(courses)
        members = [courses[c] for c in children]
        for c in children:
            courses[c] = replace(courses[c], role="child", relatives=(parent,))
        courses.append(
            Course(
                subject=members[0].subject,
                kind="CM",
                memo=f"{members[0].memo} (cours père)",
                promotions=tuple(sorted(_union([m.promotions for m in members]))),
                tds=_union([m.tds for m in members]),
                learners=tuple(sorted(_union([m.learners for m in members]))),
                instructors=_union([m.instructors for m in members]),
                rooms=_union([m.rooms for m in members]),
                seances=tuple(sorted((s for m in members for s in m.seances), key=_start)),
                group_id="",
                role="parent",
                relatives=tuple(children),
            )
        )
        if len(courses) - len(slots) >= PARENT_COUNT:
            return


def _start(seance: Seance) -> datetime:
    return seance.start


def _unplaced(model: Course) -> Course:
    """A course planned but never placed in the timetable."""
    return replace(
        model,
        kind="TD",
        memo="Cours à placer",
        instructors=model.instructors[:1],
        rooms=(),
        seances=(),
        role="simple",
        relatives=(),
        presence_required=True,
    )
