"""Justified absences and their reason catalogue (§7.4)."""

from __future__ import annotations

from typing import Any

from rollbridge.sandbox.edusign.courses import entry_of
from rollbridge.sandbox.edusign.data import SchoolData
from rollbridge.sandbox.edusign.fields import FieldType, clean, require
from rollbridge.sandbox.edusign.wire import Obj, Refused, copy_row, paginate

ABSENCE: dict[str, FieldType] = {
    "STUDENT_ID": "str",
    "COURSE_ID": "str",
    "TYPE": "str",
    "COMMENT": "str",
    "FILE_URL": "str",
    "START": "instant",
    "END": "instant",
}


class Absences:
    """The justified-absence routes' rules over one school's data."""

    def __init__(self, data: SchoolData) -> None:
        self._data = data

    def absence_reasons(self) -> list[Obj]:
        """`GET /v1/justified-absence/absence-reason`: the reason catalogue."""
        return [dict(reason) for reason in self._data.reasons]

    def list_absences(self, page: int, size: int) -> list[Obj]:
        """`GET /v1/justified-absence?page=N`."""
        return paginate(self._data.absences.rows.values(), page, size)

    def create_absence(self, raw: Any) -> Obj:
        """`POST /v1/justified-absence`: sets `absenceId` on every entry it covers."""
        data = self._data
        if not isinstance(raw, dict):
            raise Refused(["body must be an object"])
        errors: list[str] = []
        require(raw, ("STUDENT_ID", "TYPE"), errors)
        fields = clean(raw, ABSENCE, errors)
        if not fields.get("COURSE_ID") and not (fields.get("START") and fields.get("END")):
            errors.append('"COURSE_ID" or "START" and "END" are required')
        if errors:
            raise Refused(errors)
        student_id = fields["STUDENT_ID"]
        data.students.get(student_id)
        if fields["TYPE"] not in {r["ID"] for r in data.reasons}:
            raise Refused("No absence reason with this ID found")
        if fields.get("COURSE_ID"):
            course = data.courses.get(fields["COURSE_ID"])
            covered = [(course, entry_of(course, student_id))]
            fields.setdefault("START", course["START"])
            fields.setdefault("END", course["END"])
        else:
            covered = [
                (c, e)
                for c in data.courses.rows.values()
                if c["START"] < fields["END"] and c["END"] > fields["START"]
                for e in c["STUDENTS"]
                if e["studentId"] == student_id
            ]
        absence_id = data.ids.new()
        stamp = data.clock.stamp()
        row = {
            "ID": absence_id,
            "id": absence_id,
            "STUDENT_ID": student_id,
            "COURSE_ID": "",
            "TYPE": "",
            "COMMENT": "",
            "FILE_URL": "",
            **fields,
            "SCHOOL_ID": data.school_id,
            "DATE_CREATION": stamp,
            "REQUEST_DATE": stamp,
        }
        data.absences.add(row)
        for course, entry in covered:
            entry["absenceId"] = absence_id
            course["DATE_UPDATED"] = stamp
        return copy_row(row)
