"""Planning edits behind the test controls: pure functions from one `Layout` to the next.

An edit never drops a record from a tuple (a base's keys come from its entity counts, so
every untouched record keeps its key): a deleted course stays in `Layout.courses` and is
listed in `Layout.removed`. Functions that touch séances also say which courses changed, so
the base rebuilds those séance answers only. A bad request raises `ValueError` (HTTP 400).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta

from rollbridge.sandbox.hyperplanning.base import MAX_WEEK
from rollbridge.sandbox.hyperplanning.courses import Course, Seance
from rollbridge.sandbox.hyperplanning.layout import Layout

Edited = tuple[Layout, tuple[int, ...]]  # the new layout and the courses whose séances changed


def _by_start(seances: Iterable[Seance]) -> tuple[Seance, ...]:
    return tuple(sorted(seances, key=lambda seance: seance.start))


def move_seance(
    layout: Layout, course: int, week: int, start: datetime, week_of: Callable[[date], int]
) -> Edited:
    """The séance of `course` in HP `week` now starts at `start` (naive local; duration,
    rooms and instructors kept). Its week changes with it; a child's parent follows."""
    record = layout.courses[course]
    if record.role == "parent":
        raise ValueError("a parent course mirrors its children's séances: move a child's séance")
    old = next((s for s in record.seances if week_of(s.start.date()) == week), None)
    if old is None:
        raise ValueError(f"the course has no séance in week {week}")
    target = week_of(start.date())
    if not 1 <= target <= MAX_WEEK:
        raise ValueError(f"{start.isoformat()} falls in week {target}, outside the base")
    if target != week and any(week_of(s.start.date()) == target for s in record.seances):
        raise ValueError(f"the course already has a séance in week {target}")
    new = replace(old, start=start)
    courses = list(layout.courses)
    changed = [course]
    for index in (course, *(record.relatives if record.role == "child" else ())):
        seances = courses[index].seances
        if old in seances:  # the child itself, and its copy in the parent
            swapped = (new if seance == old else seance for seance in seances)
            courses[index] = replace(courses[index], seances=_by_start(swapped))
            if index != course:
                changed.append(index)
    return replace(layout, courses=tuple(courses)), tuple(changed)


def remove_courses(layout: Layout, courses: Iterable[int]) -> Layout:
    """The courses are deleted from the planning (their keys are gone, never reused)."""
    return replace(layout, removed=layout.removed | frozenset(courses))


def rename_learner(layout: Layout, learner: int, last_name: str, email: str | None) -> Layout:
    """A learner's new last name, and e-mail when given (None keeps the current one)."""
    person = layout.learners[learner]
    renamed = replace(person, last_name=last_name, email=person.email if email is None else email)
    learners = list(layout.learners)
    learners[learner] = renamed
    return replace(layout, learners=tuple(learners))


def shift_weeks(layout: Layout, weeks: int) -> Layout:
    """The whole timetable `weeks` weeks later (earlier if negative): every séance, the school
    year bounds, its breaks and the planted DST days (so the quirks probe still finds them).
    The generator's own records (`school.sessions`) are left as they were."""
    if not weeks:
        return layout
    delta = timedelta(weeks=weeks)
    school = layout.school
    shifted = replace(
        school,
        year_start=school.year_start + delta,
        year_end=school.year_end + delta,
        holidays=tuple(
            replace(h, first_on=h.first_on + delta, last_on=h.last_on + delta)
            for h in school.holidays
        ),
        public_holidays=tuple(day + delta for day in school.public_holidays),
        quirks=replace(school.quirks, dst_days=tuple(d + delta for d in school.quirks.dst_days)),
    )
    courses = tuple(_shifted(course, delta) for course in layout.courses)
    return replace(layout, school=shifted, courses=courses)


def _shifted(course: Course, delta: timedelta) -> Course:
    if not course.seances:
        return course
    return replace(course, seances=tuple(replace(s, start=s.start + delta) for s in course.seances))
