"""Learners (students), instructors (professors) and externals (tutors).

Archiving sets `HIDDEN=1`; an archived person keeps its ID and its e-mail taken (§10.4).
Creating a learner or instructor would e-mail credentials unless the caller says not to
(§10.10); the school records who would have received one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rollbridge.sandbox.edusign.data import SchoolData
from rollbridge.sandbox.edusign.fields import FieldType, defaults_for, validated
from rollbridge.sandbox.edusign.groups import set_student_groups
from rollbridge.sandbox.edusign.table import Table
from rollbridge.sandbox.edusign.wire import Obj, Refused, copy_row, paginate
from rollbridge.timeconv import iso_z

_PERSON: dict[str, FieldType] = {
    "FIRSTNAME": "str",
    "LASTNAME": "str",
    "EMAIL": "str",
    "PHONE": "str",
    "API_ID": "str",
    "API_TYPE": "str",
    "HIDDEN": "flag",
}
STUDENT: dict[str, FieldType] = {
    **_PERSON,
    "FILE_NUMBER": "str",
    "PHOTO": "str",
    "GROUPS": "strs",
    "TRAINING_NAME": "str",
    "COMPANY": "str",
    "TAGS": "strs",
    "BADGE_ID": "str",
    "STUDENT_FOLLOWER_ID": "strs",
    "NEW_PASSWORD_NEEDED": "flag",
    "VARIABLES": "obj",
}
PROFESSOR: dict[str, FieldType] = {
    **_PERSON,
    "SPECIALITY": "str",
    "TAGS": "strs",
    "PIN": "str",
    "VARIABLES": "obj",
}
EXTERNAL: dict[str, FieldType] = {**_PERSON, "COMPANY": "str", "TYPE": "str"}
_STUDENT_DEFAULTS = defaults_for(STUDENT)
_PROFESSOR_DEFAULTS = defaults_for(PROFESSOR)
_EXTERNAL_DEFAULTS = defaults_for(EXTERNAL)
_STUDENT_TAKEN = "Student already exists in this school"
_PROFESSOR_TAKEN = "Professor already exists in this school"
_EXTERNAL_TAKEN = "External already exists in this school"


def _email_free(table: Table, fields: Obj, owner: str | None, taken: str) -> None:
    holder = table.email_owner(fields["EMAIL"]) if fields.get("EMAIL") else None
    if holder is not None and holder != owner:
        raise Refused(taken)  # archived rows keep their e-mail taken (§10.4)


class People:
    """The learner, instructor and external routes' rules over one school's data."""

    def __init__(self, data: SchoolData) -> None:
        self._data = data

    # ----- students ---------------------------------------------------------------------

    def list_students(
        self, page: int, size: int, *, updated_after: datetime | None = None, search: str = ""
    ) -> list[Obj]:
        """`GET /v1/student`: archived learners included, oldest first."""
        rows: Iterable[Obj] = self._data.students.rows.values()
        if updated_after is not None:
            floor = iso_z(updated_after)
            rows = (r for r in rows if r["DATE_UPDATED"] > floor)
        if search:
            needle = search.lower()
            rows = (
                r
                for r in rows
                if needle in f"{r['FIRSTNAME']} {r['LASTNAME']} {r['EMAIL']}".lower()
            )
        return paginate(rows, page, size)

    def get_student(self, student_id: str) -> Obj:
        """`GET /v1/student/{id}`, archived learners included."""
        return copy_row(self._data.students.get(student_id))

    def student_by_email(self, email: str) -> Obj:
        """`GET /v1/student/by-email/{email}`, case-insensitive."""
        owner = self._data.students.email_owner(email)
        if owner is None:
            raise Refused("No student with this email found")
        return copy_row(self._data.students.rows[owner])

    def student_id_for(self, api_id: str) -> Obj:
        """`GET /v1/student/get-id/{apiId}` → `{ID}`."""
        return self._data.students.id_for(api_id, "No student with this ID found")

    def create_student(self, raw: Any, *, send_credentials: bool) -> Obj:
        """`POST /v1/student`; the learner joins the `GROUPS` it names."""
        data = self._data
        fields = validated(raw, STUDENT, ("FIRSTNAME", "LASTNAME", "EMAIL"))
        _email_free(data.students, fields, None, _STUDENT_TAKEN)
        groups = data.groups.existing(fields.pop("GROUPS", []))
        data.externals.existing(fields.get("STUDENT_FOLLOWER_ID", []))
        row = data.new_row(_STUDENT_DEFAULTS, fields)
        data.students.add(row)
        set_student_groups(data.groups, row, groups, row["DATE_CREATED"])
        if send_credentials:
            data.credential_emails.append(row["EMAIL"])
        return {"ID": row["ID"]}

    def update_student(self, raw: Any) -> Obj:
        """`PATCH /v1/student`: the given fields replace the stored ones wholesale."""
        data = self._data
        fields = validated(raw, STUDENT, ("ID", "FIRSTNAME", "LASTNAME"))
        row = data.students.get(raw["ID"])
        _email_free(data.students, fields, row["ID"], _STUDENT_TAKEN)
        data.externals.existing(fields.get("STUDENT_FOLLOWER_ID", []))
        stamp = data.clock.stamp()
        if "GROUPS" in fields:
            groups = data.groups.existing(fields.pop("GROUPS"))
            set_student_groups(data.groups, row, groups, stamp)
        data.students.change(row, fields, stamp)
        return copy_row(row)

    def archive_student(self, student_id: str) -> bool:
        """`DELETE /v1/student/{id}`: archive (`HIDDEN=1`); id and e-mail stay taken."""
        row = self._data.students.get(student_id)
        self._data.students.change(row, {"HIDDEN": 1}, self._data.clock.stamp())
        return True

    def restore_student(self, student_id: str) -> bool:
        """`GET /v1/student/restore/{id}`: bring an archived learner back."""
        row = self._data.students.get(student_id)
        self._data.students.change(row, {"HIDDEN": 0}, self._data.clock.stamp())
        return True

    # ----- professors -------------------------------------------------------------------

    def list_professors(self, page: int, size: int) -> list[Obj]:
        """`GET /v1/professor?page=N`."""
        return paginate(self._data.professors.rows.values(), page, size)

    def get_professor(self, professor_id: str) -> Obj:
        """`GET /v1/professor/{id}`."""
        return copy_row(self._data.professors.get(professor_id))

    def professor_by_email(self, email: str) -> Obj:
        """`GET /v1/professor/by-email/{email}`."""
        owner = self._data.professors.email_owner(email)
        if owner is None:
            raise Refused("Error - cannot get professor by email")
        return copy_row(self._data.professors.rows[owner])

    def professor_id_for(self, api_id: str) -> Obj:
        """`GET /v1/professor/get-id/{apiId}` → `{ID}`."""
        return self._data.professors.id_for(api_id, "No professor with this ID found")

    def create_professor(self, raw: Any, *, send_credentials: bool) -> Obj:
        """`POST /v1/professor`; a taken e-mail gives Edusign's own message (§2)."""
        data = self._data
        fields = validated(raw, PROFESSOR, ("FIRSTNAME", "LASTNAME", "EMAIL"))
        _email_free(data.professors, fields, None, _PROFESSOR_TAKEN)
        row = data.new_row(_PROFESSOR_DEFAULTS, fields)
        data.professors.add(row)
        if send_credentials:
            data.credential_emails.append(row["EMAIL"])
        return {"ID": row["ID"]}

    def update_professor(self, raw: Any) -> Obj:
        """`PATCH /v1/professor`: the given fields replace the stored ones."""
        data = self._data
        fields = validated(raw, PROFESSOR, ("ID",))
        row = data.professors.get(raw["ID"])
        _email_free(data.professors, fields, row["ID"], _PROFESSOR_TAKEN)
        data.professors.change(row, fields, data.clock.stamp())
        return copy_row(row)

    def archive_professor(self, professor_id: str) -> bool:
        """`DELETE /v1/professor/{id}`: archive (`HIDDEN=1`)."""
        row = self._data.professors.get(professor_id)
        self._data.professors.change(row, {"HIDDEN": 1}, self._data.clock.stamp())
        return True

    # ----- externals (tutors) -----------------------------------------------------------

    def list_externals(self, page: int, size: int) -> list[Obj]:
        """`GET /v1/externals?page=N`."""
        return paginate(self._data.externals.rows.values(), page, size)

    def get_external(self, external_id: str) -> Obj:
        """`GET /v1/externals/{id}`."""
        return copy_row(self._data.externals.get(external_id))

    def external_by_email(self, email: str) -> Obj:
        """`GET /v1/externals/by-email/{email}`."""
        owner = self._data.externals.email_owner(email)
        if owner is None:
            raise Refused("No external with this email found")
        return copy_row(self._data.externals.rows[owner])

    def external_id_for(self, api_id: str) -> Obj:
        """`GET /v1/externals/get-id/{apiId}` → `{ID}` (route assumed, §12)."""
        return self._data.externals.id_for(api_id, "No external with this ID found")

    def create_external(self, raw: Any) -> Obj:
        """`POST /v1/externals` (route assumed, §7.8)."""
        data = self._data
        fields = validated(raw, EXTERNAL, ("FIRSTNAME", "LASTNAME", "EMAIL"))
        _email_free(data.externals, fields, None, _EXTERNAL_TAKEN)
        row = data.new_row(_EXTERNAL_DEFAULTS, fields)
        data.externals.add(row)
        return {"ID": row["ID"]}

    def update_external(self, raw: Any) -> Obj:
        """`PATCH /v1/externals`: the given fields replace the stored ones."""
        data = self._data
        fields = validated(raw, EXTERNAL, ("ID",))
        row = data.externals.get(raw["ID"])
        _email_free(data.externals, fields, row["ID"], _EXTERNAL_TAKEN)
        data.externals.change(row, fields, data.clock.stamp())
        return copy_row(row)
