"""What tests need to find in the current base: the planted traps (`quirks`) and the keys
behind the generator's ids (`lookup`), both in the current key space."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rollbridge.sandbox.hyperplanning.base import Base, Entity

DST_SEANCES_PER_DAY = 5


def quirks(base: Base) -> dict[str, Any]:
    """The planted traps by key (see `layout.py` and `courses.py`); removed courses are left
    out of the course lists."""
    layout = base.layout
    courses = layout.courses
    planted = layout.planted
    live = [(i, course) for i, course in enumerate(courses) if base.is_live(i)]
    varying = next(
        i for i, course in live if len({(s.start.time(), s.minutes) for s in course.seances}) > 1
    )
    dst_days = layout.school.quirks.dst_days
    dst: list[dict[str, Any]] = []
    for day in dst_days:
        found = [
            (i, seance)
            for i, course in live
            if course.role != "parent"
            for seance in course.seances
            if seance.start.date() == day and (seance.start.hour, seance.start.minute) == (8, 30)
        ]
        dst += [
            {
                "course": base.key("Cours", i),
                "week": base.week_of(day),
                "start": seance.start.isoformat(),
                "session_id": seance.session_id,
            }
            for i, seance in found[:DST_SEANCES_PER_DAY]
        ]
    return {
        "first_day": base.first_day.isoformat(),
        "parent_courses": {
            str(base.key("Cours", i)): base.keys("Cours", filter(base.is_live, course.relatives))
            for i, course in live
            if course.role == "parent"
        },
        "unplaced_courses": base.keys("Cours", base.unplaced),
        "courses_without_instructor": base.keys(
            "Cours",
            [i for i, c in live if c.is_placed and not c.instructors],
        ),
        "varying_time_course": base.key("Cours", varying),
        "instructor_without_email": base.key("Enseignant", planted.instructor_without_email),
        "homonym_learners": base.keys("Etudiant", planted.homonym_learners),
        "homonym_instructors": base.keys("Enseignant", planted.homonym_instructors),
        "multi_section_learner": base.key("Etudiant", planted.multi_site_learner),
        "multi_section_course": base.key("Cours", planted.multi_modality_course),
        "exemptions": {
            str(base.key("Etudiant", learner)): base.keys("Matiere", subjects)
            for learner, subjects in enumerate(layout.exemptions)
            if subjects
        },
        "apprentices": base.keys("Etudiant", [i for i, t in enumerate(layout.tutors) if t]),
        "dst_days": [day.isoformat() for day in dst_days],
        "dst_seances": dst,
    }


LOOKUP_KINDS = ("learner", "instructor", "group", "session", "subject")


def lookup(base: Base, kind: str, ids: Sequence[str]) -> dict[str, Any]:
    """Keys behind generator ids: people and subjects give a key; a group gives
    `{promotion, tdoption}` (tdoption None when courses hang on the promotion); a session
    gives `{course, week, start}` (None once its course is removed). Unknown ids map to None."""
    layout = base.layout
    if kind == "learner":
        return _keyed(base, "Etudiant", [p.source_id for p in layout.learners], ids)
    if kind == "instructor":
        return _keyed(base, "Enseignant", [p.source_id for p in layout.instructors], ids)
    if kind == "subject":
        return _keyed(base, "Matiere", [label for label, _ in layout.subjects], ids)
    if kind == "group":
        out: dict[str, Any] = {}
        for group_id in ids:
            place = layout.groups.get(group_id)
            out[group_id] = None if place is None else {
                "promotion": base.key("Promotion", place.promotion),
                "tdoption": None if place.td is None else base.key("TDOption", place.td),
            }  # fmt: skip
        return out
    if kind == "session":
        wanted = set(ids)
        found: dict[str, Any] = dict.fromkeys(ids)
        for index, course in enumerate(layout.courses):
            if course.role == "parent" or not base.is_live(index):
                continue
            for seance in course.seances:
                if seance.session_id in wanted:
                    found[seance.session_id] = {
                        "course": base.key("Cours", index),
                        "week": base.week_of(seance.start.date()),
                        "start": seance.start.isoformat(),
                    }
        return found
    raise ValueError(f"unknown kind {kind!r}: use one of {', '.join(LOOKUP_KINDS)}")


def _keyed(base: Base, entity: Entity, names: Sequence[str], ids: Sequence[str]) -> dict[str, Any]:
    index = {name: i for i, name in enumerate(names)}
    return {i: None if i not in index else base.key(entity, index[i]) for i in ids}
