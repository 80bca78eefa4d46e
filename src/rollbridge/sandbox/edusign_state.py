"""The in-memory Edusign school: v1 data and business rules, without HTTP.

One `School` holds what one API key sees. Reads return fresh wire-shaped copies: objects
UPPER_SNAKE with a duplicate lowercase `id`, `""` and `[]` defaults, `0/1` flags, instants
as `2025-12-11T18:18:38.000Z`; attendance entries (`course.STUDENTS[]`) camelCase. A
business failure raises `Refused`, which the app answers as Edusign does: HTTP 200 with
`{"status":"error","message":…}`, a list of strings for validation errors.

Behaviour follows shared/apis/edusign.md §5, §7, §10 and §11; where the notes say [G], the
choice made here is named in a comment.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
import string
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

from rollbridge.timeconv import iso_z, parse_instant

Obj = dict[str, Any]
Message = str | list[str]
FieldType = Literal["str", "strs", "int", "flag", "obj", "instant"]

P = ParamSpec("P")
R = TypeVar("R")

FILES_HOST = "https://files.sandbox.edusign.test"
MAX_SPAN_DAYS = 90
ABSENCE_REASONS = (
    "Maladie",
    "Rendez-vous médical",
    "Raison familiale",
    "Problème de transport",
    "Convocation officielle",
    "Autre",
)

_ID_ALPHABET = string.ascii_lowercase + string.digits
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PROFESSOR_SLOT = re.compile(r"PROFESSOR(?:_(\d+))?")
_INVALID = object()


class Refused(Exception):
    """A business failure: Edusign answers HTTP 200 `{"status":"error","message":…}`."""

    def __init__(self, message: Message) -> None:
        super().__init__(message if isinstance(message, str) else "; ".join(message))
        self.message = message


class Clock:
    """The emulator's now: the real time, or a moment frozen by a test."""

    def __init__(self) -> None:
        self._frozen: datetime | None = None

    def freeze(self, moment: datetime | None) -> None:
        """Freeze now at the aware `moment`, or return to real time with None."""
        if moment is not None and moment.tzinfo is None:
            raise ValueError("the sandbox clock needs an aware datetime")
        self._frozen = moment

    def now(self) -> datetime:
        """The current instant, aware UTC."""
        return self._frozen if self._frozen is not None else datetime.now(UTC)

    def stamp(self) -> str:
        """Now, written the way Edusign writes instants."""
        return iso_z(self.now())


class IdMaker:
    """Edusign-looking ids (15–16 lowercase alphanumerics), reproducible from a seed."""

    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(seed)
        self._used: set[str] = set()

    def new(self) -> str:
        """A fresh object id, never handed out before by this maker."""
        while True:
            size = 15 + self._rng.randrange(2)
            candidate = "".join(self._rng.choices(_ID_ALPHABET, k=size))
            if candidate not in self._used:
                self._used.add(candidate)
                return candidate

    def entry(self) -> str:
        """A Mongo-style `_id` (24 hex digits) for an attendance entry; format is a guess."""
        return f"{self._rng.getrandbits(96):024x}"


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


def _locked(method: Callable[Concatenate[School, P], R]) -> Callable[Concatenate[School, P], R]:
    """Run a School method under the school's lock (uvicorn and tests may share threads)."""

    def wrapper(self: School, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.lock:
            return method(self, *args, **kwargs)

    functools.update_wrapper(wrapper, method)
    return wrapper


def _copy(row: Obj) -> Obj:
    """A copy deep enough that callers cannot reach the stored row (rows nest one level)."""
    out = row.copy()
    for key, value in out.items():
        if isinstance(value, list):
            out[key] = [v.copy() if isinstance(v, dict) else v for v in value]
        elif isinstance(value, dict):
            out[key] = value.copy()
    return out


def _fresh(defaults: Mapping[str, Any]) -> Obj:
    return {k: v.copy() if isinstance(v, list | dict) else v for k, v in defaults.items()}


def _dedup(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _require(raw: Mapping[str, Any], names: Iterable[str], errors: list[str]) -> None:
    for name in names:
        if raw.get(name) in (None, ""):
            errors.append(f'"{name}" is required')


def _convert(name: str, kind: FieldType, value: Any, errors: list[str]) -> Any:
    """One field in its stored form, or `_INVALID` after recording a Joi-style message."""
    if kind == "str":
        if value is None or isinstance(value, str):
            return value or ""
        errors.append(f'"{name}" must be a string')
    elif kind == "strs":
        if value is None:
            return []
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        errors.append(f'"{name}" must be an array of strings')
    elif kind == "int":
        if value is None:
            return 0
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        errors.append(f'"{name}" must be a number')
    elif kind == "flag":
        if isinstance(value, bool) or value in (0, 1):
            return int(value)
        errors.append(f'"{name}" must be a boolean')
    elif kind == "obj":
        if value is None or isinstance(value, dict):
            return dict(value or {})
        errors.append(f'"{name}" must be an object')
    else:
        try:
            return iso_z(parse_instant(value))
        except (TypeError, ValueError, AttributeError):
            errors.append(f'"{name}" must be an ISO 8601 date with a time zone')
    return _INVALID


def _clean(raw: Mapping[str, Any], spec: Mapping[str, FieldType], errors: list[str]) -> Obj:
    """The known fields of `raw`, converted; unknown keys are ignored as the API does."""
    out: Obj = {}
    for name, value in raw.items():
        kind = spec.get(name)
        if kind is not None:
            converted = _convert(name, kind, value, errors)
            if converted is not _INVALID:
                out[name] = converted
    return out


def _check_id(raw: Mapping[str, Any], errors: list[str]) -> None:
    if "ID" in raw and not isinstance(raw["ID"], str):
        errors.append('"ID" must be a string')


def _check_email(fields: Mapping[str, Any], errors: list[str]) -> None:
    email = fields.get("EMAIL")
    if email and not _EMAIL.fullmatch(email):
        errors.append('"EMAIL" must be a valid email')


def _signature_key(slot: str) -> str:
    """`PROFESSOR` → `PROFESSOR_SIGNATURE`, `PROFESSOR_2` → `PROFESSOR_SIGNATURE_2`."""
    return "PROFESSOR_SIGNATURE" + slot[len("PROFESSOR") :]


def _day_start(day: date) -> str:
    return iso_z(datetime(day.year, day.month, day.day, tzinfo=UTC))


_PERSON: dict[str, FieldType] = {
    "FIRSTNAME": "str",
    "LASTNAME": "str",
    "EMAIL": "str",
    "PHONE": "str",
    "API_ID": "str",
    "API_TYPE": "str",
    "HIDDEN": "flag",
}
_STUDENT: dict[str, FieldType] = {
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
_PROFESSOR: dict[str, FieldType] = {
    **_PERSON,
    "SPECIALITY": "str",
    "TAGS": "strs",
    "PIN": "str",
    "VARIABLES": "obj",
}
_EXTERNAL: dict[str, FieldType] = {**_PERSON, "COMPANY": "str", "TYPE": "str"}
_GROUP: dict[str, FieldType] = {
    "NAME": "str",
    "DESCRIPTION": "str",
    "STUDENTS": "strs",
    "PARENT": "str",
    "LOGO": "str",
    "API_ID": "str",
    "API_TYPE": "str",
}
_COURSE: dict[str, FieldType] = {
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
_ABSENCE: dict[str, FieldType] = {
    "STUDENT_ID": "str",
    "COURSE_ID": "str",
    "TYPE": "str",
    "COMMENT": "str",
    "FILE_URL": "str",
    "START": "instant",
    "END": "instant",
}


def _defaults(spec: Mapping[str, FieldType]) -> Obj:
    empty: dict[FieldType, Any] = {
        "str": "",
        "strs": [],
        "int": 0,
        "flag": 0,
        "obj": {},
        "instant": "",
    }
    return {name: empty[kind] for name, kind in spec.items()}


_STUDENT_DEFAULTS = _defaults(_STUDENT)
_PROFESSOR_DEFAULTS = _defaults(_PROFESSOR)
_EXTERNAL_DEFAULTS = _defaults(_EXTERNAL)
_GROUP_DEFAULTS = {**_defaults(_GROUP), "HIDDEN": 0}
_COURSE_DEFAULTS = {
    **dict.fromkeys(("NAME", "DESCRIPTION", "START", "END", "PROFESSOR"), ""),
    **_defaults(_COURSE),
    "NEED_STUDENTS_SIGNATURE": 1,
    "LOCKED": 0,
    "ATTENDANCE_LIST_GENERATED": "",
    "ABSENCE_SENT": 0,
    "PROFESSOR_SIGNATURE": "",
}


class _Table:
    """One kind's rows in creation order, indexed by `API_ID` (not unique) and e-mail."""

    def __init__(self, missing: str) -> None:
        self.rows: dict[str, Obj] = {}
        self.missing = missing
        self._by_api: dict[str, list[str]] = {}
        self._by_email: dict[str, str] = {}

    def get(self, object_id: str) -> Obj:
        row = self.rows.get(object_id)
        if row is None:
            raise Refused(self.missing)
        return row

    def add(self, row: Obj) -> None:
        self.rows[row["ID"]] = row
        self._index(row)

    def change(self, row: Obj, fields: Mapping[str, Any], stamp: str) -> None:
        keys = (row.get("API_ID"), row.get("EMAIL"))
        if (fields.get("API_ID", keys[0]), fields.get("EMAIL", keys[1])) != keys:
            self._unindex(row)  # only then: get-id keeps answering the oldest holder
            row.update(fields)
            self._index(row)
        else:
            row.update(fields)
        row["DATE_UPDATED"] = stamp

    def remove(self, object_id: str) -> None:
        self._unindex(self.rows.pop(object_id))

    def id_for(self, api_id: str, missing: str) -> Obj:
        ids = self._by_api.get(api_id)
        if not ids:
            raise Refused(missing)
        return {"ID": ids[0]}  # the oldest one: the API does not enforce uniqueness

    def email_owner(self, email: str) -> str | None:
        return self._by_email.get(email.lower())

    def duplicates(self) -> Iterator[tuple[str, list[str]]]:
        for api_id, ids in self._by_api.items():
            if len(ids) > 1:
                yield api_id, list(ids)

    def _index(self, row: Obj) -> None:
        if row.get("API_ID"):
            self._by_api.setdefault(row["API_ID"], []).append(row["ID"])
        if row.get("EMAIL"):
            self._by_email.setdefault(row["EMAIL"].lower(), row["ID"])

    def _unindex(self, row: Obj) -> None:
        ids = self._by_api.get(row.get("API_ID") or "")
        if ids is not None:
            ids.remove(row["ID"])
            if not ids:
                del self._by_api[row["API_ID"]]
        email = (row.get("EMAIL") or "").lower()
        if self._by_email.get(email) == row["ID"]:
            del self._by_email[email]


def _page(rows: Iterable[Obj], page: int, size: int) -> list[Obj]:
    return [_copy(r) for r in itertools.islice(rows, page * size, (page + 1) * size)]


class School:
    """Everything one Edusign API key sees, behind one lock."""

    def __init__(
        self, *, clock: Clock, seed: int | None = None, name: str = "École sandbox"
    ) -> None:
        self.lock = threading.RLock()
        self._clock = clock
        self._ids = IdMaker(seed)
        self.school_id = self._ids.new()
        self.name = name
        self.date_created = clock.stamp()
        self.students = _Table("No student with this ID found")
        self.professors = _Table("professor not found")
        self.groups = _Table("No group with this ID found")
        self.externals = _Table("No external with this ID found")
        self.courses = _Table("No course with this ID found")
        self.absences = _Table("No justified absence with this ID found")
        self.reasons = [{"ID": self._ids.new(), "NAME": n} for n in ABSENCE_REASONS]
        self.classrooms: dict[str, Obj] = {}
        self.credential_emails: list[str] = []  # who would have received login e-mails (§10.10)
        self._order: list[Obj] | None = None  # courses sorted by START, rebuilt lazily
        self._starts: list[str] = []

    # ----- school, catalogues -----------------------------------------------------------

    @_locked
    def info(self) -> Obj:
        """`GET /v1/school`: the health probe's answer."""
        return {
            "ID": self.school_id,
            "id": self.school_id,
            "NAME": self.name,
            "WEBHOOKS": [],
            "DATE_CREATED": self.date_created,
        }

    @_locked
    def list_classrooms(self) -> list[Obj]:
        """`GET /v1/classrooms`: every room name courses have used."""
        return [dict(room) for room in self.classrooms.values()]

    @_locked
    def absence_reasons(self) -> list[Obj]:
        """`GET /v1/justified-absence/absence-reason`: the reason catalogue."""
        return [dict(reason) for reason in self.reasons]

    # ----- shared helpers ---------------------------------------------------------------

    def _new_row(self, defaults: Mapping[str, Any], fields: Mapping[str, Any]) -> Obj:
        object_id = self._ids.new()
        stamp = self._clock.stamp()
        return {
            "ID": object_id,
            "id": object_id,
            **_fresh(defaults),
            **fields,
            "SCHOOL_ID": self.school_id,
            "DATE_CREATED": stamp,
            "DATE_UPDATED": stamp,
        }

    def _fields(self, raw: Any, spec: Mapping[str, FieldType], required: Iterable[str]) -> Obj:
        if not isinstance(raw, dict):
            raise Refused(["body must be an object"])
        errors: list[str] = []
        _require(raw, required, errors)
        _check_id(raw, errors)
        fields = _clean(raw, spec, errors)
        _check_email(fields, errors)
        if errors:
            raise Refused(errors)
        return fields

    def _email_free(self, table: _Table, fields: Obj, owner: str | None, taken: str) -> None:
        holder = table.email_owner(fields["EMAIL"]) if fields.get("EMAIL") else None
        if holder is not None and holder != owner:
            raise Refused(taken)  # archived rows keep their e-mail taken (§10.4)

    def _existing(self, table: _Table, ids: Iterable[str]) -> list[str]:
        wanted = _dedup(ids)
        for object_id in wanted:
            table.get(object_id)
        return wanted

    def _set_student_groups(self, student: Obj, group_ids: list[str], stamp: str) -> None:
        before = set(student["GROUPS"])
        for group_id in before.difference(group_ids):
            group = self.groups.rows.get(group_id)
            if group is not None and student["ID"] in group["STUDENTS"]:
                group["STUDENTS"].remove(student["ID"])
                group["DATE_UPDATED"] = stamp
        for group_id in group_ids:
            group = self.groups.rows[group_id]
            if student["ID"] not in group["STUDENTS"]:
                group["STUDENTS"].append(student["ID"])
                group["DATE_UPDATED"] = stamp
        student["GROUPS"] = list(group_ids)

    def _set_group_students(self, group: Obj, student_ids: list[str], stamp: str) -> None:
        for student_id in set(group["STUDENTS"]).difference(student_ids):
            student = self.students.rows.get(student_id)
            if student is not None and group["ID"] in student["GROUPS"]:
                student["GROUPS"].remove(group["ID"])
        for student_id in student_ids:
            student = self.students.rows[student_id]
            if group["ID"] not in student["GROUPS"]:
                student["GROUPS"].append(group["ID"])
        group["STUDENTS"] = list(student_ids)
        group["DATE_UPDATED"] = stamp

    # ----- students ---------------------------------------------------------------------

    @_locked
    def list_students(
        self, page: int, size: int, *, updated_after: datetime | None = None, search: str = ""
    ) -> list[Obj]:
        """`GET /v1/student`: archived learners included, oldest first."""
        rows: Iterable[Obj] = self.students.rows.values()
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
        return _page(rows, page, size)

    @_locked
    def get_student(self, student_id: str) -> Obj:
        """`GET /v1/student/{id}`, archived learners included."""
        return _copy(self.students.get(student_id))

    @_locked
    def student_by_email(self, email: str) -> Obj:
        """`GET /v1/student/by-email/{email}`, case-insensitive."""
        owner = self.students.email_owner(email)
        if owner is None:
            raise Refused("No student with this email found")
        return _copy(self.students.rows[owner])

    @_locked
    def student_id_for(self, api_id: str) -> Obj:
        """`GET /v1/student/get-id/{apiId}` → `{ID}`."""
        return self.students.id_for(api_id, "No student with this ID found")

    @_locked
    def create_student(self, raw: Any, *, send_credentials: bool = True) -> Obj:
        """`POST /v1/student`; the learner joins the `GROUPS` it names."""
        fields = self._fields(raw, _STUDENT, ("FIRSTNAME", "LASTNAME", "EMAIL"))
        self._email_free(self.students, fields, None, "Student already exists in this school")
        groups = self._existing(self.groups, fields.pop("GROUPS", []))
        self._existing(self.externals, fields.get("STUDENT_FOLLOWER_ID", []))
        row = self._new_row(_STUDENT_DEFAULTS, fields)
        self.students.add(row)
        self._set_student_groups(row, groups, row["DATE_CREATED"])
        if send_credentials:
            self.credential_emails.append(row["EMAIL"])
        return {"ID": row["ID"]}

    @_locked
    def update_student(self, raw: Any) -> Obj:
        """`PATCH /v1/student`: the given fields replace the stored ones wholesale."""
        fields = self._fields(raw, _STUDENT, ("ID", "FIRSTNAME", "LASTNAME"))
        row = self.students.get(raw["ID"])
        self._email_free(self.students, fields, row["ID"], "Student already exists in this school")
        self._existing(self.externals, fields.get("STUDENT_FOLLOWER_ID", []))
        stamp = self._clock.stamp()
        if "GROUPS" in fields:
            self._set_student_groups(row, self._existing(self.groups, fields.pop("GROUPS")), stamp)
        self.students.change(row, fields, stamp)
        return _copy(row)

    @_locked
    def archive_student(self, student_id: str) -> bool:
        """`DELETE /v1/student/{id}`: archive (`HIDDEN=1`); id and e-mail stay taken."""
        row = self.students.get(student_id)
        self.students.change(row, {"HIDDEN": 1}, self._clock.stamp())
        return True

    @_locked
    def restore_student(self, student_id: str) -> bool:
        """`GET /v1/student/restore/{id}`: bring an archived learner back."""
        row = self.students.get(student_id)
        self.students.change(row, {"HIDDEN": 0}, self._clock.stamp())
        return True

    # ----- professors -------------------------------------------------------------------

    @_locked
    def list_professors(self, page: int, size: int) -> list[Obj]:
        """`GET /v1/professor?page=N`."""
        return _page(self.professors.rows.values(), page, size)

    @_locked
    def get_professor(self, professor_id: str) -> Obj:
        """`GET /v1/professor/{id}`."""
        return _copy(self.professors.get(professor_id))

    @_locked
    def professor_by_email(self, email: str) -> Obj:
        """`GET /v1/professor/by-email/{email}`."""
        owner = self.professors.email_owner(email)
        if owner is None:
            raise Refused("Error - cannot get professor by email")
        return _copy(self.professors.rows[owner])

    @_locked
    def professor_id_for(self, api_id: str) -> Obj:
        """`GET /v1/professor/get-id/{apiId}` → `{ID}`."""
        return self.professors.id_for(api_id, "No professor with this ID found")

    @_locked
    def create_professor(self, raw: Any, *, send_credentials: bool = True) -> Obj:
        """`POST /v1/professor`; a taken e-mail gives Edusign's own message (§2)."""
        fields = self._fields(raw, _PROFESSOR, ("FIRSTNAME", "LASTNAME", "EMAIL"))
        self._email_free(self.professors, fields, None, "Professor already exists in this school")
        row = self._new_row(_PROFESSOR_DEFAULTS, fields)
        self.professors.add(row)
        if send_credentials:
            self.credential_emails.append(row["EMAIL"])
        return {"ID": row["ID"]}

    @_locked
    def update_professor(self, raw: Any) -> Obj:
        """`PATCH /v1/professor`: the given fields replace the stored ones."""
        fields = self._fields(raw, _PROFESSOR, ("ID",))
        row = self.professors.get(raw["ID"])
        taken = "Professor already exists in this school"
        self._email_free(self.professors, fields, row["ID"], taken)
        self.professors.change(row, fields, self._clock.stamp())
        return _copy(row)

    @_locked
    def archive_professor(self, professor_id: str) -> bool:
        """`DELETE /v1/professor/{id}`: archive (`HIDDEN=1`)."""
        row = self.professors.get(professor_id)
        self.professors.change(row, {"HIDDEN": 1}, self._clock.stamp())
        return True

    # ----- groups -----------------------------------------------------------------------

    @_locked
    def list_groups(self, page: int, size: int) -> list[Obj]:
        """`GET /v1/group?page=N`."""
        return _page(self.groups.rows.values(), page, size)

    @_locked
    def get_group(self, group_id: str) -> Obj:
        """`GET /v1/group/{id}`."""
        return _copy(self.groups.get(group_id))

    @_locked
    def group_id_for(self, api_id: str) -> Obj:
        """`GET /v1/group/get-id/{apiId}` → `{ID}`."""
        return self.groups.id_for(api_id, "No group with this ID found")

    @_locked
    def create_group(self, raw: Any) -> Obj:
        """`POST /v1/group`; its `STUDENTS` get the group in their `GROUPS`."""
        fields = self._fields(raw, _GROUP, ("NAME",))
        members = self._existing(self.students, fields.pop("STUDENTS", []))
        if fields.get("PARENT"):
            self.groups.get(fields["PARENT"])
        row = self._new_row(_GROUP_DEFAULTS, fields)
        self.groups.add(row)
        self._set_group_students(row, members, row["DATE_CREATED"])
        return {"ID": row["ID"]}

    @_locked
    def update_group(self, raw: Any) -> Obj:
        """`PATCH /v1/group`: a given `STUDENTS` replaces the membership (§10.13)."""
        fields = self._fields(raw, _GROUP, ("ID",))
        row = self.groups.get(raw["ID"])
        if fields.get("PARENT"):
            self.groups.get(fields["PARENT"])
        stamp = self._clock.stamp()
        if "STUDENTS" in fields:
            members = self._existing(self.students, fields.pop("STUDENTS"))
            self._set_group_students(row, members, stamp)
        self.groups.change(row, fields, stamp)
        return _copy(row)

    @_locked
    def delete_group(self, group_id: str) -> bool:
        """`DELETE /v1/group/{id}`: gone; courses keep the learners it enrolled."""
        row = self.groups.get(group_id)
        self._set_group_students(row, [], self._clock.stamp())
        self.groups.remove(group_id)
        return True

    # ----- externals (tutors) -----------------------------------------------------------

    @_locked
    def list_externals(self, page: int, size: int) -> list[Obj]:
        """`GET /v1/externals?page=N`."""
        return _page(self.externals.rows.values(), page, size)

    @_locked
    def get_external(self, external_id: str) -> Obj:
        """`GET /v1/externals/{id}`."""
        return _copy(self.externals.get(external_id))

    @_locked
    def external_by_email(self, email: str) -> Obj:
        """`GET /v1/externals/by-email/{email}`."""
        owner = self.externals.email_owner(email)
        if owner is None:
            raise Refused("No external with this email found")
        return _copy(self.externals.rows[owner])

    @_locked
    def external_id_for(self, api_id: str) -> Obj:
        """`GET /v1/externals/get-id/{apiId}` → `{ID}` (route assumed, §12)."""
        return self.externals.id_for(api_id, "No external with this ID found")

    @_locked
    def create_external(self, raw: Any) -> Obj:
        """`POST /v1/externals` (route assumed, §7.8)."""
        fields = self._fields(raw, _EXTERNAL, ("FIRSTNAME", "LASTNAME", "EMAIL"))
        self._email_free(self.externals, fields, None, "External already exists in this school")
        row = self._new_row(_EXTERNAL_DEFAULTS, fields)
        self.externals.add(row)
        return {"ID": row["ID"]}

    @_locked
    def update_external(self, raw: Any) -> Obj:
        """`PATCH /v1/externals`: the given fields replace the stored ones."""
        fields = self._fields(raw, _EXTERNAL, ("ID",))
        row = self.externals.get(raw["ID"])
        taken = "External already exists in this school"
        self._email_free(self.externals, fields, row["ID"], taken)
        self.externals.change(row, fields, self._clock.stamp())
        return _copy(row)

    # ----- courses ----------------------------------------------------------------------

    def _course_order(self) -> list[Obj]:
        if self._order is None:
            self._order = sorted(self.courses.rows.values(), key=lambda r: r["START"])
            self._starts = [r["START"] for r in self._order]
        return self._order

    @_locked
    def list_courses(self, query: CourseQuery, page: int, size: int) -> list[Obj]:
        """`GET /v1/course`: full courses with `STUDENTS[]`, by `START`, filtered (§4)."""
        if query.start and query.end:
            if query.end < query.start:
                raise Refused("start must be before end")
            if (query.end - query.start).days > MAX_SPAN_DAYS:
                raise Refused(
                    f"The period between start and end cannot exceed {MAX_SPAN_DAYS} days"
                )
        order = self._course_order()
        # List dates are whole UTC days, both inclusive (the real boundary is a guess, §12).
        lo = bisect_left(self._starts, _day_start(query.start)) if query.start else 0
        hi = (
            bisect_left(self._starts, _day_start(query.end + timedelta(days=1)))
            if query.end
            else len(order)
        )
        rows = (r for r in itertools.islice(order, lo, hi) if self._course_matches(r, query))
        return _page(rows, page, size)

    @staticmethod
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
        if query.student_ids and query.student_ids.isdisjoint(
            e["studentId"] for e in row["STUDENTS"]
        ):
            return False
        if query.professor_ids and query.professor_ids.isdisjoint(
            v for k, v in row.items() if _PROFESSOR_SLOT.fullmatch(k)
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

    @_locked
    def get_course(self, course_id: str) -> Obj:
        """`GET /v1/course/{id}`."""
        return _copy(self.courses.get(course_id))

    @_locked
    def course_id_for(self, api_id: str) -> Obj:
        """`GET /v1/course/get-id/{apiId}` → `{ID}`."""
        return self.courses.id_for(api_id, "No course with this ID found")

    def _course_fields(self, raw: Any, required: tuple[str, ...]) -> tuple[Obj, Obj]:
        """Validated plain fields and professor slots (`PROFESSOR`, `PROFESSOR_2`…)."""
        if not isinstance(raw, dict):
            raise Refused(["course must be an object"])
        errors: list[str] = []
        _require(raw, required, errors)
        _check_id(raw, errors)
        fields = _clean(raw, _COURSE, errors)
        slots: Obj = {}
        for name, value in raw.items():
            if _PROFESSOR_SLOT.fullmatch(name):
                converted = _convert(name, "str", value, errors)
                if converted is not _INVALID:
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
        professor = self.professors.get(professor_id)
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
        return self._existing(self.students, ids)

    def _group_members(self, group_ids: Iterable[str]) -> list[str]:
        return [
            s
            for g in self._existing(self.groups, group_ids)
            for s in self.groups.rows[g]["STUDENTS"]
        ]

    def _entry(self, course: Obj, student_id: str) -> Obj:
        return {
            "_id": self._ids.entry(),
            "studentId": student_id,
            "courseId": course["ID"],
            "schoolId": self.school_id,
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

    def _note_classroom(self, name: str) -> None:
        if name and name not in self.classrooms:
            self.classrooms[name] = {"ID": self._ids.new(), "NAME": name}

    @_locked
    def create_course(self, raw: Any, *, from_students: bool = False) -> Obj:
        """`POST /v1/course`: `SCHOOL_GROUP` enrols its learners; `STUDENTS` needs fromStudents."""
        fields, slots = self._course_fields(raw, ("NAME", "START", "END", "PROFESSOR"))
        if fields["END"] <= fields["START"]:
            raise Refused(['"END" must be after "START"'])
        members = self._roster_ids(raw.get("STUDENTS", [])) if from_students else []
        members += self._group_members(fields.get("SCHOOL_GROUP", []))
        row = self._new_row(_COURSE_DEFAULTS, {**fields, **slots})
        for slot in slots:
            row.setdefault(_signature_key(slot), "")
        row["STUDENTS"] = [self._entry(row, s) for s in _dedup(members)]
        self._note_classroom(row["CLASSROOM"])
        self.courses.add(row)
        self._order = None
        return {"ID": row["ID"]}

    @_locked
    def update_course(self, raw: Any) -> Obj:
        """`PATCH /v1/course`: replaces given fields and, observed in production (§10.1),
        clears every collected learner and instructor signature."""
        fields, slots = self._course_fields(raw, ("ID",))
        row = self.courses.get(raw["ID"])
        if row["LOCKED"]:
            raise Refused("course locked")
        if (fields.get("END") or row["END"]) <= (fields.get("START") or row["START"]):
            raise Refused(['"END" must be after "START"'])
        roster: list[str] | None = None
        if "STUDENTS" in raw:
            roster = self._roster_ids(raw["STUDENTS"])
        if "SCHOOL_GROUP" in fields:
            current = [e["studentId"] for e in row["STUDENTS"]]
            roster = (current if roster is None else roster) + self._group_members(
                fields["SCHOOL_GROUP"]
            )
        self.courses.change(row, {**fields, **slots}, self._clock.stamp())
        for slot in slots:
            row.setdefault(_signature_key(slot), "")
        if roster is not None:
            kept = {e["studentId"]: e for e in row["STUDENTS"]}
            row["STUDENTS"] = [kept.get(s) or self._entry(row, s) for s in _dedup(roster)]
        for entry in row["STUDENTS"]:
            entry.update(start=row["START"], end=row["END"], state=False, timestamp=None)
            entry["signature"] = ""
        for key in row:
            if key.startswith("PROFESSOR_SIGNATURE"):
                row[key] = ""
        self._note_classroom(row["CLASSROOM"])
        self._order = None
        return _copy(row)

    @_locked
    def delete_course(self, course_id: str) -> bool:
        """`DELETE /v1/course/{id}`: the sheet and its signatures are gone (§10.5)."""
        if self.courses.get(course_id)["LOCKED"]:
            raise Refused("course locked")
        self.courses.remove(course_id)
        self._order = None
        return True

    @_locked
    def lock_course(self, course_id: str) -> Obj:
        """`GET /v1/course/lock/{id}`: `LOCKED=1` and the signed PDF's link."""
        row = self.courses.get(course_id)
        if row["LOCKED"]:
            raise Refused("Course already locked")
        link = f"{FILES_HOST}/attendance-lists/{course_id}.pdf"
        self.courses.change(
            row, {"LOCKED": 1, "ATTENDANCE_LIST_GENERATED": link}, self._clock.stamp()
        )
        return {"link": link}

    @_locked
    def unlock_course(self, course_id: str) -> bool:
        """`PATCH /v1/course/unlock/{id}`."""
        row = self.courses.get(course_id)
        self.courses.change(row, {"LOCKED": 0}, self._clock.stamp())
        return True

    # ----- roster and presential states -------------------------------------------------

    def _writable(self, course_id: str) -> Obj:
        row = self.courses.get(course_id)
        if row["LOCKED"]:
            raise Refused("course locked")
        return row

    @staticmethod
    def _entry_of(course: Obj, student_id: str) -> Obj:
        entries: list[Obj] = course["STUDENTS"]
        for entry in entries:
            if entry["studentId"] == student_id:
                return entry
        raise Refused("Student not in the list")

    @_locked
    def add_to_course(self, course_id: str, student_id: str) -> Obj:
        """`PUT /v1/course/attendance/{courseId}`: enrol one learner."""
        row = self._writable(course_id)
        self.students.get(student_id)
        if any(e["studentId"] == student_id for e in row["STUDENTS"]):
            raise Refused("Student already in the list")
        entry = self._entry(row, student_id)
        row["STUDENTS"].append(entry)
        row["DATE_UPDATED"] = self._clock.stamp()
        return dict(entry)

    @_locked
    def remove_from_course(self, course_id: str, student_id: str) -> bool:
        """`DELETE /v1/course/attendance/{courseId}`: unenrol one learner."""
        row = self._writable(course_id)
        row["STUDENTS"].remove(self._entry_of(row, student_id))
        row["DATE_UPDATED"] = self._clock.stamp()
        return True

    def _mark(self, course_id: str, student_id: str, *, enforce_lock: bool, **changes: Any) -> Obj:
        row = self._writable(course_id) if enforce_lock else self.courses.get(course_id)
        entry = self._entry_of(row, student_id)
        if changes.get("state") and not entry["signature"]:
            # Presence only comes from a signature (§7.3): late or early-leaving means signed.
            changes.setdefault("timestamp", self._clock.stamp())
            changes["signature"] = f"{FILES_HOST}/signatures/{entry['_id']}.png"
        entry.update(changes)
        row["DATE_UPDATED"] = self._clock.stamp()
        return dict(entry)

    @_locked
    def set_absent(
        self, course_id: str, student_id: str, comment: str, *, enforce_lock: bool = True
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

    @_locked
    def set_delay(
        self, course_id: str, student_id: str, minutes: int, *, enforce_lock: bool = True
    ) -> Obj:
        """`set-delay`: late by `minutes`, hence present."""
        if minutes < 0:
            raise Refused(['"delay" must be greater than or equal to 0'])
        return self._mark(
            course_id, student_id, enforce_lock=enforce_lock, state=True, delay=minutes
        )

    @_locked
    def set_early_departure(
        self, course_id: str, student_id: str, left_at: datetime, *, enforce_lock: bool = True
    ) -> Obj:
        """`set-early-departure`: left at `left_at`, hence present."""
        return self._mark(
            course_id,
            student_id,
            enforce_lock=enforce_lock,
            state=True,
            earlyDeparture=iso_z(left_at),
        )

    @_locked
    def sign(self, course_id: str, student_id: str, at: datetime | None = None) -> Obj:
        """Test control: the learner signs (app, QR, badge…) at `at` or now."""
        stamp = iso_z(at) if at is not None else self._clock.stamp()
        row = self.courses.get(course_id)
        entry = self._entry_of(row, student_id)
        entry.update(
            state=True, timestamp=stamp, signature=f"{FILES_HOST}/signatures/{entry['_id']}.png"
        )
        row["DATE_UPDATED"] = self._clock.stamp()
        return dict(entry)

    @_locked
    def sign_professor(self, course_id: str, professor_id: str | None = None) -> Obj:
        """Test control: an instructor of the course signs (the first one by default)."""
        row = self.courses.get(course_id)
        slots = [k for k, v in row.items() if _PROFESSOR_SLOT.fullmatch(k) and v]
        wanted = professor_id or row["PROFESSOR"]
        slot = next((k for k in slots if row[k] == wanted), None)
        if slot is None:
            raise Refused("professor not found")
        signature = f"{FILES_HOST}/signatures/{course_id}-{wanted}.png"
        row[_signature_key(slot)] = signature
        row["DATE_UPDATED"] = self._clock.stamp()
        return {"slot": _signature_key(slot), "signature": signature}

    # ----- justified absences -----------------------------------------------------------

    @_locked
    def list_absences(self, page: int, size: int) -> list[Obj]:
        """`GET /v1/justified-absence?page=N`."""
        return _page(self.absences.rows.values(), page, size)

    @_locked
    def create_absence(self, raw: Any) -> Obj:
        """`POST /v1/justified-absence`: sets `absenceId` on every entry it covers."""
        if not isinstance(raw, dict):
            raise Refused(["body must be an object"])
        errors: list[str] = []
        _require(raw, ("STUDENT_ID", "TYPE"), errors)
        fields = _clean(raw, _ABSENCE, errors)
        if not fields.get("COURSE_ID") and not (fields.get("START") and fields.get("END")):
            errors.append('"COURSE_ID" or "START" and "END" are required')
        if errors:
            raise Refused(errors)
        student_id = fields["STUDENT_ID"]
        self.students.get(student_id)
        if fields["TYPE"] not in {r["ID"] for r in self.reasons}:
            raise Refused("No absence reason with this ID found")
        if fields.get("COURSE_ID"):
            course = self.courses.get(fields["COURSE_ID"])
            covered = [(course, self._entry_of(course, student_id))]
            fields.setdefault("START", course["START"])
            fields.setdefault("END", course["END"])
        else:
            covered = [
                (c, e)
                for c in self.courses.rows.values()
                if c["START"] < fields["END"] and c["END"] > fields["START"]
                for e in c["STUDENTS"]
                if e["studentId"] == student_id
            ]
        absence_id = self._ids.new()
        stamp = self._clock.stamp()
        row = {
            "ID": absence_id,
            "id": absence_id,
            "STUDENT_ID": student_id,
            "COURSE_ID": "",
            "TYPE": "",
            "COMMENT": "",
            "FILE_URL": "",
            **fields,
            "SCHOOL_ID": self.school_id,
            "DATE_CREATION": stamp,
            "REQUEST_DATE": stamp,
        }
        self.absences.add(row)
        for course, entry in covered:
            entry["absenceId"] = absence_id
            course["DATE_UPDATED"] = stamp
        return _copy(row)

    # ----- whole-school views for tests -------------------------------------------------

    @_locked
    def dump(self) -> Obj:
        """Everything the school holds, for assertions and debugging."""
        return {
            "school": self.info(),
            "students": [_copy(r) for r in self.students.rows.values()],
            "professors": [_copy(r) for r in self.professors.rows.values()],
            "groups": [_copy(r) for r in self.groups.rows.values()],
            "externals": [_copy(r) for r in self.externals.rows.values()],
            "courses": [_copy(r) for r in self._course_order()],
            "justified_absences": [_copy(r) for r in self.absences.rows.values()],
            "absence_reasons": self.absence_reasons(),
            "classrooms": self.list_classrooms(),
            "credential_emails": list(self.credential_emails),
        }

    @_locked
    def duplicate_api_ids(self) -> list[Obj]:
        """Every `API_ID` held by more than one object of a kind (the API allows it)."""
        tables = (
            ("course", self.courses),
            ("student", self.students),
            ("professor", self.professors),
            ("group", self.groups),
            ("external", self.externals),
        )
        return [
            {"kind": kind, "api_id": api_id, "ids": ids}
            for kind, table in tables
            for api_id, ids in table.duplicates()
        ]
