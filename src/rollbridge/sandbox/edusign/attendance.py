"""Rosters and presential states: enrolment, signatures, absent, late, left early (§7.3).

The `/_sandbox` controls reuse these rules with `enforce_lock=False`: in real life a
learner's state can still change on a locked sheet, only the API refuses it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rollbridge.sandbox.edusign.courses import PROFESSOR_SLOT, entry_of, new_entry, signature_key
from rollbridge.sandbox.edusign.data import SchoolData
from rollbridge.sandbox.edusign.wire import FILES_HOST, Obj, Refused
from rollbridge.timeconv import iso_z


class Attendance:
    """The roster and presential-state routes' rules over one school's data."""

    def __init__(self, data: SchoolData) -> None:
        self._data = data

    def _writable(self, course_id: str) -> Obj:
        row = self._data.courses.get(course_id)
        if row["LOCKED"]:
            raise Refused("course locked")
        return row

    def add_to_course(self, course_id: str, student_id: str) -> Obj:
        """`PUT /v1/course/attendance/{courseId}`: enrol one learner."""
        row = self._writable(course_id)
        self._data.students.get(student_id)
        if any(e["studentId"] == student_id for e in row["STUDENTS"]):
            raise Refused("Student already in the list")
        entry = new_entry(self._data, row, student_id)
        row["STUDENTS"].append(entry)
        row["DATE_UPDATED"] = self._data.clock.stamp()
        return dict(entry)

    def remove_from_course(self, course_id: str, student_id: str) -> bool:
        """`DELETE /v1/course/attendance/{courseId}`: unenrol one learner."""
        row = self._writable(course_id)
        row["STUDENTS"].remove(entry_of(row, student_id))
        row["DATE_UPDATED"] = self._data.clock.stamp()
        return True

    def _mark(self, course_id: str, student_id: str, *, enforce_lock: bool, **changes: Any) -> Obj:
        clock = self._data.clock
        row = self._writable(course_id) if enforce_lock else self._data.courses.get(course_id)
        entry = entry_of(row, student_id)
        if changes.get("state") and not entry["signature"]:
            # Presence only comes from a signature (§7.3): late or early-leaving means signed.
            changes.setdefault("timestamp", clock.stamp())
            changes["signature"] = f"{FILES_HOST}/signatures/{entry['_id']}.png"
        entry.update(changes)
        row["DATE_UPDATED"] = clock.stamp()
        return dict(entry)

    def set_absent(
        self, course_id: str, student_id: str, comment: str, *, enforce_lock: bool
    ) -> Obj:
        """`set-absent`: `state` false, signature dropped, `comment` kept."""
        return self._mark(
            course_id,
            student_id,
            enforce_lock=enforce_lock,
            state=False,
            signature="",
            timestamp=None,
            comment=comment,
        )

    def set_delay(
        self, course_id: str, student_id: str, minutes: int, *, enforce_lock: bool
    ) -> Obj:
        """`set-delay`: late by `minutes`, hence present."""
        if minutes < 0:
            raise Refused(['"delay" must be greater than or equal to 0'])
        return self._mark(
            course_id, student_id, enforce_lock=enforce_lock, state=True, delay=minutes
        )

    def set_early_departure(
        self, course_id: str, student_id: str, left_at: datetime, *, enforce_lock: bool
    ) -> Obj:
        """`set-early-departure`: left at `left_at`, hence present."""
        return self._mark(
            course_id,
            student_id,
            enforce_lock=enforce_lock,
            state=True,
            earlyDeparture=iso_z(left_at),
        )

    def sign(self, course_id: str, student_id: str, at: datetime | None) -> Obj:
        """Test control: the learner signs (app, QR, badge…) at `at` or now."""
        clock = self._data.clock
        stamp = iso_z(at) if at is not None else clock.stamp()
        row = self._data.courses.get(course_id)
        entry = entry_of(row, student_id)
        entry.update(
            state=True, timestamp=stamp, signature=f"{FILES_HOST}/signatures/{entry['_id']}.png"
        )
        row["DATE_UPDATED"] = clock.stamp()
        return dict(entry)

    def sign_professor(self, course_id: str, professor_id: str | None) -> Obj:
        """Test control: an instructor of the course signs (the first one by default)."""
        row = self._data.courses.get(course_id)
        slots = [k for k, v in row.items() if PROFESSOR_SLOT.fullmatch(k) and v]
        wanted = professor_id or row["PROFESSOR"]
        slot = next((k for k in slots if row[k] == wanted), None)
        if slot is None:
            raise Refused("professor not found")
        signature = f"{FILES_HOST}/signatures/{course_id}-{wanted}.png"
        row[signature_key(slot)] = signature
        row["DATE_UPDATED"] = self._data.clock.stamp()
        return {"slot": signature_key(slot), "signature": signature}
