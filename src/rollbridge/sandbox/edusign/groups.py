"""Groups and their membership, kept in step with each learner's `GROUPS` (§10.13)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rollbridge.sandbox.edusign.data import SchoolData
from rollbridge.sandbox.edusign.fields import FieldType, defaults_for, validated
from rollbridge.sandbox.edusign.table import Table
from rollbridge.sandbox.edusign.wire import Obj, copy_row, paginate

GROUP: dict[str, FieldType] = {
    "NAME": "str",
    "DESCRIPTION": "str",
    "STUDENTS": "strs",
    "PARENT": "str",
    "LOGO": "str",
    "API_ID": "str",
    "API_TYPE": "str",
}
_GROUP_DEFAULTS = {**defaults_for(GROUP), "HIDDEN": 0}


def set_student_groups(groups: Table, student: Obj, group_ids: list[str], stamp: str) -> None:
    """Make `group_ids` the learner's groups, updating each group's `STUDENTS`."""
    before = set(student["GROUPS"])
    for group_id in before.difference(group_ids):
        group = groups.rows.get(group_id)
        if group is not None and student["ID"] in group["STUDENTS"]:
            group["STUDENTS"].remove(student["ID"])
            group["DATE_UPDATED"] = stamp
    for group_id in group_ids:
        group = groups.rows[group_id]
        if student["ID"] not in group["STUDENTS"]:
            group["STUDENTS"].append(student["ID"])
            group["DATE_UPDATED"] = stamp
    student["GROUPS"] = list(group_ids)


def set_group_students(students: Table, group: Obj, student_ids: list[str], stamp: str) -> None:
    """Make `student_ids` the group's members, updating each learner's `GROUPS`."""
    for student_id in set(group["STUDENTS"]).difference(student_ids):
        student = students.rows.get(student_id)
        if student is not None and group["ID"] in student["GROUPS"]:
            student["GROUPS"].remove(group["ID"])
    for student_id in student_ids:
        student = students.rows[student_id]
        if group["ID"] not in student["GROUPS"]:
            student["GROUPS"].append(group["ID"])
    group["STUDENTS"] = list(student_ids)
    group["DATE_UPDATED"] = stamp


def group_members(groups: Table, group_ids: Iterable[str]) -> list[str]:
    """The learners of existing groups `group_ids`, group by group (repeats kept)."""
    return [s for g in groups.existing(group_ids) for s in groups.rows[g]["STUDENTS"]]


class Groups:
    """The group routes' rules over one school's data."""

    def __init__(self, data: SchoolData) -> None:
        self._data = data

    def list_groups(self, page: int, size: int) -> list[Obj]:
        """`GET /v1/group?page=N`."""
        return paginate(self._data.groups.rows.values(), page, size)

    def get_group(self, group_id: str) -> Obj:
        """`GET /v1/group/{id}`."""
        return copy_row(self._data.groups.get(group_id))

    def group_id_for(self, api_id: str) -> Obj:
        """`GET /v1/group/get-id/{apiId}` → `{ID}`."""
        return self._data.groups.id_for(api_id, "No group with this ID found")

    def create_group(self, raw: Any) -> Obj:
        """`POST /v1/group`; its `STUDENTS` get the group in their `GROUPS`."""
        data = self._data
        fields = validated(raw, GROUP, ("NAME",))
        members = data.students.existing(fields.pop("STUDENTS", []))
        if fields.get("PARENT"):
            data.groups.get(fields["PARENT"])
        row = data.new_row(_GROUP_DEFAULTS, fields)
        data.groups.add(row)
        set_group_students(data.students, row, members, row["DATE_CREATED"])
        return {"ID": row["ID"]}

    def update_group(self, raw: Any) -> Obj:
        """`PATCH /v1/group`: a given `STUDENTS` replaces the membership (§10.13)."""
        data = self._data
        fields = validated(raw, GROUP, ("ID",))
        row = data.groups.get(raw["ID"])
        if fields.get("PARENT"):
            data.groups.get(fields["PARENT"])
        stamp = data.clock.stamp()
        if "STUDENTS" in fields:
            members = data.students.existing(fields.pop("STUDENTS"))
            set_group_students(data.students, row, members, stamp)
        data.groups.change(row, fields, stamp)
        return copy_row(row)

    def delete_group(self, group_id: str) -> bool:
        """`DELETE /v1/group/{id}`: gone; courses keep the learners it enrolled."""
        data = self._data
        row = data.groups.get(group_id)
        set_group_students(data.students, row, [], data.clock.stamp())
        data.groups.remove(group_id)
        return True
