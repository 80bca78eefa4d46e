"""Courses (sessions): their fields, instructors, rosters, lock, and the filtered list (§4).

A course's `STUDENTS[]` holds one attendance entry per enrolled learner; `entry_of` and
`new_entry` are shared with the attendance and justified-absence rules.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from rollbridge.sandbox.edusign.data import SchoolData
from rollbridge.sandbox.edusign.fields import (
    INVALID,
    FieldType,
    check_id,
    clean,
    convert,
    defaults_for,
    require,
)
from rollbridge.sandbox.edusign.groups import group_members
from rollbridge.sandbox.edusign.wire import FILES_HOST, Obj, Refused, copy_row, dedup, paginate
from rollbridge.timeconv import iso_z

MAX_SPAN_DAYS = 90
PROFESSOR_SLOT = re.compile(r"PROFESSOR(?:_(\d+))?")

COURSE: dict[str, FieldType] = {
    "NAME": "str",
    "DESCRIPTION": "str",
    "START": "instant",
    "END": "instant",
    "CLASSROOM": "str",
    "SCHOOL_GROUP": "strs",
    "MAX_STUDENTS": "int",
    "NEED_STUDENTS_SIGNATURE": "flag",
    "ZOOM": "flag",
    "API_ID": "str",
    "API_TYPE": "str",
    "TRAINING_ID": "str",
}
_COURSE_DEFAULTS = {
    **dict.fromkeys(("NAME", "DESCRIPTION", "START", "END", "PROFESSOR"), ""),
    **defaults_for(COURSE),
    "NEED_STUDENTS_SIGNATURE": 1,
    "LOCKED": 0,
    "ATTENDANCE_LIST_GENERATED": "",
    "ABSENCE_SENT": 0,
    "PROFESSOR_SIGNATURE": "",
}


@dataclass(frozen=True, slots=True)
class CourseQuery:
    """The filters of `GET /v1/course`, already parsed (§4)."""

    start: date | None = None
    end: date | None = None
    filters: frozenset[str] = frozenset()
    group_ids: frozenset[str] = frozenset()
    student_ids: frozenset[str] = frozenset()
    professor_ids: frozenset[str] = frozenset()
    training_ids: frozenset[str] = frozenset()
    name: str = ""
    updated_from: str = ""
    updated_before: str = ""


def signature_key(slot: str) -> str:
    """`PROFESSOR` → `PROFESSOR_SIGNATURE`, `PROFESSOR_2` → `PROFESSOR_SIGNATURE_2`."""
    return "PROFESSOR_SIGNATURE" + slot[len("PROFESSOR") :]


def _day_start(day: date) -> str:
    return iso_z(datetime(day.year, day.month, day.day, tzinfo=UTC))


def new_entry(data: SchoolData, course: Obj, student_id: str) -> Obj:
    """A fresh, unsigned attendance entry of `student_id` in `course`."""
    return {
        "_id": data.ids.entry(),
        "studentId": student_id,
        "courseId": course["ID"],
        "schoolId": data.school_id,
        "start": course["START"],
        "end": course["END"],
        "state": False,
        "timestamp": None,
        "signature": "",
        "delay": 0,
        "earlyDeparture": None,
        "excluded": None,
        "absenceId": None,
        "comment": "",
    }


def entry_of(course: Obj, student_id: str) -> Obj:
    """The stored attendance entry of `student_id` in `course`, or `Refused`."""
    entries: list[Obj] = course["STUDENTS"]
    for entry in entries:
        if entry["studentId"] == student_id:
            return entry
    raise Refused("Student not in the list")


def _course_matches(row: Obj, query: CourseQuery) -> bool:
    flags = query.filters
    if ("locked" in flags and not row["LOCKED"]) or ("unlocked" in flags and row["LOCKED"]):
        return False
    if ("absencessent" in flags and not row["ABSENCE_SENT"]) or (
        "absencesnotsent" in flags and row["ABSENCE_SENT"]
    ):
        return False
    if query.group_ids and query.group_ids.isdisjoint(row["SCHOOL_GROUP"]):
        return False
    if query.student_ids and query.student_ids.isdisjoint(e["studentId"] for e in row["STUDENTS"]):
        return False
    if query.professor_ids and query.professor_ids.isdisjoint(
        v for k, v in row.items() if PROFESSOR_SLOT.fullmatch(k)
    ):
        return False
    if query.training_ids and row["TRAINING_ID"] not in query.training_ids:
        return False
    if query.name and query.name.lower() not in row["NAME"].lower():
        return False
    updated = row["DATE_UPDATED"]
    if query.updated_from and updated < query.updated_from:
        return False
    return not (query.updated_before and updated >= query.updated_before)


class Courses:
    """The course routes' rules over one school's data, with courses kept sorted by START."""

    def __init__(self, data: SchoolData) -> None:
        self._data = data
        self._order: list[Obj] | None = None  # courses sorted by START, rebuilt lazily
        self._starts: list[str] = []

    def in_order(self) -> list[Obj]:
        """The stored courses by `START` (not copies)."""
        if self._order is None:
            self._order = sorted(self._data.courses.rows.values(), key=lambda r: r["START"])
            self._starts = [r["START"] for r in self._order]
        return self._order

    def list_classrooms(self) -> list[Obj]:
        """`GET /v1/classrooms`: every room name courses have used."""
        return [dict(room) for room in self._data.classrooms.values()]

    def list_courses(self, query: CourseQuery, page: int, size: int) -> list[Obj]:
        """`GET /v1/course`: full courses with `STUDENTS[]`, by `START`, filtered (§4)."""
        if query.start and query.end:
            if query.end < query.start:
                raise Refused("start must be before end")
            if (query.end - query.start).days > MAX_SPAN_DAYS:
                raise Refused(
                    f"The period between start and end cannot exceed {MAX_SPAN_DAYS} days"
                )
        order = self.in_order()
        # List dates are whole UTC days, both inclusive (the real boundary is a guess, §12).
        lo = bisect_left(self._starts, _day_start(query.start)) if query.start else 0
        hi = (
            bisect_left(self._starts, _day_start(query.end + timedelta(days=1)))
            if query.end
            else len(order)
        )
        rows = (r for r in itertools.islice(order, lo, hi) if _course_matches(r, query))
        return paginate(rows, page, size)

    def get_course(self, course_id: str) -> Obj:
        """`GET /v1/course/{id}`."""
        return copy_row(self._data.courses.get(course_id))

    def course_id_for(self, api_id: str) -> Obj:
        """`GET /v1/course/get-id/{apiId}` → `{ID}`."""
        return self._data.courses.id_for(api_id, "No course with this ID found")

    def _course_fields(self, raw: Any, required: tuple[str, ...]) -> tuple[Obj, Obj]:
        """Validated plain fields and professor slots (`PROFESSOR`, `PROFESSOR_2`…)."""
        if not isinstance(raw, dict):
            raise Refused(["course must be an object"])
        errors: list[str] = []
        require(raw, required, errors)
        check_id(raw, errors)
        fields = clean(raw, COURSE, errors)
        slots: Obj = {}
        for name, value in raw.items():
            if PROFESSOR_SLOT.fullmatch(name):
                converted = convert(name, "str", value, errors)
                if converted is not INVALID:
                    slots[name] = converted
        if errors:
            raise Refused(errors)
        for name, professor_id in slots.items():
            if professor_id:
                self._check_professor(professor_id)
            elif name == "PROFESSOR":
                raise Refused(['"PROFESSOR" is required'])
        return fields, slots

    def _check_professor(self, professor_id: str) -> None:
        professor = self._data.professors.get(professor_id)
        if professor["HIDDEN"]:
            raise Refused("professor was deleted")

    def _roster_ids(self, value: Any) -> list[str]:
        """`STUDENTS` as `[id, …]` or `[{"studentId": id}, …]`, each an existing learner."""
        if not isinstance(value, list):
            raise Refused(['"STUDENTS" must be an array'])
        ids: list[str] = []
        for item in value:
            student_id = item.get("studentId") if isinstance(item, dict) else item
            if not isinstance(student_id, str):
                raise Refused(['"STUDENTS" items must be student ids or {"studentId": id}'])
            ids.append(student_id)
        return self._data.students.existing(ids)

    def _note_classroom(self, name: str) -> None:
        if name and name not in self._data.classrooms:
            self._data.classrooms[name] = {"ID": self._data.ids.new(), "NAME": name}

    def create_course(self, raw: Any, *, from_students: bool) -> Obj:
        """`POST /v1/course`: `SCHOOL_GROUP` enrols its learners; `STUDENTS` needs fromStudents."""
        data = self._data
        fields, slots = self._course_fields(raw, ("NAME", "START", "END", "PROFESSOR"))
        if fields["END"] <= fields["START"]:
            raise Refused(['"END" must be after "START"'])
        members = self._roster_ids(raw.get("STUDENTS", [])) if from_students else []
        members += group_members(data.groups, fields.get("SCHOOL_GROUP", []))
        row = data.new_row(_COURSE_DEFAULTS, {**fields, **slots})
        for slot in slots:
            row.setdefault(signature_key(slot), "")
        row["STUDENTS"] = [new_entry(data, row, s) for s in dedup(members)]
        self._note_classroom(row["CLASSROOM"])
        data.courses.add(row)
        self._order = None
        return {"ID": row["ID"]}

    def update_course(self, raw: Any) -> Obj:
        """`PATCH /v1/course`: replaces given fields and, observed in production (§10.1),
        clears every collected learner and instructor signature."""
        data = self._data
        fields, slots = self._course_fields(raw, ("ID",))
        row = data.courses.get(raw["ID"])
        if row["LOCKED"]:
            raise Refused("course locked")
        if (fields.get("END") or row["END"]) <= (fields.get("START") or row["START"]):
            raise Refused(['"END" must be after "START"'])
        roster: list[str] | None = None
        if "STUDENTS" in raw:
            roster = self._roster_ids(raw["STUDENTS"])
        if "SCHOOL_GROUP" in fields:
            current = [e["studentId"] for e in row["STUDENTS"]]
            roster = (current if roster is None else roster) + group_members(
                data.groups, fields["SCHOOL_GROUP"]
            )
        data.courses.change(row, {**fields, **slots}, data.clock.stamp())
        for slot in slots:
            row.setdefault(signature_key(slot), "")
        if roster is not None:
            kept = {e["studentId"]: e for e in row["STUDENTS"]}
            row["STUDENTS"] = [kept.get(s) or new_entry(data, row, s) for s in dedup(roster)]
        for entry in row["STUDENTS"]:
            entry.update(start=row["START"], end=row["END"], state=False, timestamp=None)
            entry["signature"] = ""
        for key in row:
            if key.startswith("PROFESSOR_SIGNATURE"):
                row[key] = ""
        self._note_classroom(row["CLASSROOM"])
        self._order = None
        return copy_row(row)

    def delete_course(self, course_id: str) -> bool:
        """`DELETE /v1/course/{id}`: the sheet and its signatures are gone (§10.5)."""
        if self._data.courses.get(course_id)["LOCKED"]:
            raise Refused("course locked")
        self._data.courses.remove(course_id)
        self._order = None
        return True

    def lock_course(self, course_id: str) -> Obj:
        """`GET /v1/course/lock/{id}`: `LOCKED=1` and the signed PDF's link."""
        data = self._data
        row = data.courses.get(course_id)
        if row["LOCKED"]:
            raise Refused("Course already locked")
        link = f"{FILES_HOST}/attendance-lists/{course_id}.pdf"
        data.courses.change(
            row, {"LOCKED": 1, "ATTENDANCE_LIST_GENERATED": link}, data.clock.stamp()
        )
        return {"link": link}

    def unlock_course(self, course_id: str) -> bool:
        """`PATCH /v1/course/unlock/{id}`."""
        row = self._data.courses.get(course_id)
        self._data.courses.change(row, {"LOCKED": 0}, self._data.clock.stamp())
        return True
