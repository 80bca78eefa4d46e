"""`School`: everything one Edusign API key sees, behind one lock.

Reads return fresh wire-shaped copies (see `wire`). A business failure raises `Refused`,
which the app answers as Edusign does: HTTP 200 with `{"status":"error","message":…}`, a
list of strings for validation errors. Each method serves one v1 route or test control;
the rules live in `people`, `groups`, `courses`, `attendance` and `absences`.

Behaviour follows shared/apis/edusign.md §5, §7, §10 and §11; where the notes say [G], the
choice made there is named in a comment.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from rollbridge.sandbox.edusign.absences import Absences
from rollbridge.sandbox.edusign.attendance import Attendance
from rollbridge.sandbox.edusign.clock import Clock
from rollbridge.sandbox.edusign.courses import CourseQuery, Courses
from rollbridge.sandbox.edusign.data import SchoolData
from rollbridge.sandbox.edusign.groups import Groups
from rollbridge.sandbox.edusign.people import People
from rollbridge.sandbox.edusign.wire import Obj, copy_row

P = ParamSpec("P")
R = TypeVar("R")


def _locked(method: Callable[Concatenate[School, P], R]) -> Callable[Concatenate[School, P], R]:
    """Run a School method under the school's lock (uvicorn and tests may share threads)."""

    def wrapper(self: School, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.lock:
            return method(self, *args, **kwargs)

    functools.update_wrapper(wrapper, method)
    return wrapper


class School:
    """Everything one Edusign API key sees, behind one lock."""

    def __init__(
        self, *, clock: Clock, seed: int | None = None, name: str = "École sandbox"
    ) -> None:
        self.lock = threading.RLock()
        self._data = data = SchoolData(clock=clock, seed=seed, name=name)
        self.school_id = data.school_id
        self._people = People(data)
        self._groups = Groups(data)
        self._courses = Courses(data)
        self._attendance = Attendance(data)
        self._absences = Absences(data)

    # ----- school, catalogues -----------------------------------------------------------

    @_locked
    def info(self) -> Obj:
        """`GET /v1/school`: the health probe's answer."""
        data = self._data
        return {
            "ID": data.school_id,
            "id": data.school_id,
            "NAME": data.name,
            "WEBHOOKS": [],
            "DATE_CREATED": data.date_created,
        }

    @_locked
    def list_classrooms(self) -> list[Obj]:
        """`GET /v1/classrooms`."""
        return self._courses.list_classrooms()

    @_locked
    def absence_reasons(self) -> list[Obj]:
        """`GET /v1/justified-absence/absence-reason`."""
        return self._absences.absence_reasons()

    # ----- students ---------------------------------------------------------------------

    @_locked
    def list_students(
        self, page: int, size: int, *, updated_after: datetime | None = None, search: str = ""
    ) -> list[Obj]:
        """`GET /v1/student`."""
        return self._people.list_students(page, size, updated_after=updated_after, search=search)

    @_locked
    def get_student(self, student_id: str) -> Obj:
        """`GET /v1/student/{id}`."""
        return self._people.get_student(student_id)

    @_locked
    def student_by_email(self, email: str) -> Obj:
        """`GET /v1/student/by-email/{email}`."""
        return self._people.student_by_email(email)

    @_locked
    def student_id_for(self, api_id: str) -> Obj:
        """`GET /v1/student/get-id/{apiId}`."""
        return self._people.student_id_for(api_id)

    @_locked
    def create_student(self, raw: Any, *, send_credentials: bool = True) -> Obj:
        """`POST /v1/student`."""
        return self._people.create_student(raw, send_credentials=send_credentials)

    @_locked
    def update_student(self, raw: Any) -> Obj:
        """`PATCH /v1/student`."""
        return self._people.update_student(raw)

    @_locked
    def archive_student(self, student_id: str) -> bool:
        """`DELETE /v1/student/{id}`."""
        return self._people.archive_student(student_id)

    @_locked
    def restore_student(self, student_id: str) -> bool:
        """`GET /v1/student/restore/{id}`."""
        return self._people.restore_student(student_id)

    # ----- professors -------------------------------------------------------------------

    @_locked
    def list_professors(self, page: int, size: int) -> list[Obj]:
        """`GET /v1/professor?page=N`."""
        return self._people.list_professors(page, size)

    @_locked
    def get_professor(self, professor_id: str) -> Obj:
        """`GET /v1/professor/{id}`."""
        return self._people.get_professor(professor_id)

    @_locked
    def professor_by_email(self, email: str) -> Obj:
        """`GET /v1/professor/by-email/{email}`."""
        return self._people.professor_by_email(email)

    @_locked
    def professor_id_for(self, api_id: str) -> Obj:
        """`GET /v1/professor/get-id/{apiId}`."""
        return self._people.professor_id_for(api_id)

    @_locked
    def create_professor(self, raw: Any, *, send_credentials: bool = True) -> Obj:
        """`POST /v1/professor`."""
        return self._people.create_professor(raw, send_credentials=send_credentials)

    @_locked
    def update_professor(self, raw: Any) -> Obj:
        """`PATCH /v1/professor`."""
        return self._people.update_professor(raw)

    @_locked
    def archive_professor(self, professor_id: str) -> bool:
        """`DELETE /v1/professor/{id}`."""
        return self._people.archive_professor(professor_id)

    # ----- groups -----------------------------------------------------------------------

    @_locked
    def list_groups(self, page: int, size: int) -> list[Obj]:
        """`GET /v1/group?page=N`."""
        return self._groups.list_groups(page, size)

    @_locked
    def get_group(self, group_id: str) -> Obj:
        """`GET /v1/group/{id}`."""
        return self._groups.get_group(group_id)

    @_locked
    def group_id_for(self, api_id: str) -> Obj:
        """`GET /v1/group/get-id/{apiId}`."""
        return self._groups.group_id_for(api_id)

    @_locked
    def create_group(self, raw: Any) -> Obj:
        """`POST /v1/group`."""
        return self._groups.create_group(raw)

    @_locked
    def update_group(self, raw: Any) -> Obj:
        """`PATCH /v1/group`."""
        return self._groups.update_group(raw)

    @_locked
    def delete_group(self, group_id: str) -> bool:
        """`DELETE /v1/group/{id}`."""
        return self._groups.delete_group(group_id)

    # ----- externals (tutors) -----------------------------------------------------------

    @_locked
    def list_externals(self, page: int, size: int) -> list[Obj]:
        """`GET /v1/externals?page=N`."""
        return self._people.list_externals(page, size)

    @_locked
    def get_external(self, external_id: str) -> Obj:
        """`GET /v1/externals/{id}`."""
        return self._people.get_external(external_id)

    @_locked
    def external_by_email(self, email: str) -> Obj:
        """`GET /v1/externals/by-email/{email}`."""
        return self._people.external_by_email(email)

    @_locked
    def external_id_for(self, api_id: str) -> Obj:
        """`GET /v1/externals/get-id/{apiId}`."""
        return self._people.external_id_for(api_id)

    @_locked
    def create_external(self, raw: Any) -> Obj:
        """`POST /v1/externals`."""
        return self._people.create_external(raw)

    @_locked
    def update_external(self, raw: Any) -> Obj:
        """`PATCH /v1/externals`."""
        return self._people.update_external(raw)

    # ----- courses ----------------------------------------------------------------------

    @_locked
    def list_courses(self, query: CourseQuery, page: int, size: int) -> list[Obj]:
        """`GET /v1/course`."""
        return self._courses.list_courses(query, page, size)

    @_locked
    def get_course(self, course_id: str) -> Obj:
        """`GET /v1/course/{id}`."""
        return self._courses.get_course(course_id)

    @_locked
    def course_id_for(self, api_id: str) -> Obj:
        """`GET /v1/course/get-id/{apiId}`."""
        return self._courses.course_id_for(api_id)

    @_locked
    def create_course(self, raw: Any, *, from_students: bool = False) -> Obj:
        """`POST /v1/course`."""
        return self._courses.create_course(raw, from_students=from_students)

    @_locked
    def update_course(self, raw: Any) -> Obj:
        """`PATCH /v1/course`."""
        return self._courses.update_course(raw)

    @_locked
    def delete_course(self, course_id: str) -> bool:
        """`DELETE /v1/course/{id}`."""
        return self._courses.delete_course(course_id)

    @_locked
    def lock_course(self, course_id: str) -> Obj:
        """`GET /v1/course/lock/{id}`."""
        return self._courses.lock_course(course_id)

    @_locked
    def unlock_course(self, course_id: str) -> bool:
        """`PATCH /v1/course/unlock/{id}`."""
        return self._courses.unlock_course(course_id)

    # ----- roster and presential states -------------------------------------------------

    @_locked
    def add_to_course(self, course_id: str, student_id: str) -> Obj:
        """`PUT /v1/course/attendance/{courseId}`."""
        return self._attendance.add_to_course(course_id, student_id)

    @_locked
    def remove_from_course(self, course_id: str, student_id: str) -> bool:
        """`DELETE /v1/course/attendance/{courseId}`."""
        return self._attendance.remove_from_course(course_id, student_id)

    @_locked
    def set_absent(
        self, course_id: str, student_id: str, comment: str, *, enforce_lock: bool = True
    ) -> Obj:
        """`PATCH /v1/presential-states/set-absent/{courseId}/{studentId}`."""
        return self._attendance.set_absent(
            course_id, student_id, comment, enforce_lock=enforce_lock
        )

    @_locked
    def set_delay(
        self, course_id: str, student_id: str, minutes: int, *, enforce_lock: bool = True
    ) -> Obj:
        """`PATCH /v1/presential-states/set-delay/{courseId}/{studentId}`."""
        return self._attendance.set_delay(course_id, student_id, minutes, enforce_lock=enforce_lock)

    @_locked
    def set_early_departure(
        self, course_id: str, student_id: str, left_at: datetime, *, enforce_lock: bool = True
    ) -> Obj:
        """`PATCH /v1/presential-states/set-early-departure/{courseId}/{studentId}`."""
        return self._attendance.set_early_departure(
            course_id, student_id, left_at, enforce_lock=enforce_lock
        )

    @_locked
    def sign(self, course_id: str, student_id: str, at: datetime | None = None) -> Obj:
        """Test control: the learner signs at `at` or now."""
        return self._attendance.sign(course_id, student_id, at)

    @_locked
    def sign_professor(self, course_id: str, professor_id: str | None = None) -> Obj:
        """Test control: an instructor of the course signs (the first one by default)."""
        return self._attendance.sign_professor(course_id, professor_id)

    # ----- justified absences -----------------------------------------------------------

    @_locked
    def list_absences(self, page: int, size: int) -> list[Obj]:
        """`GET /v1/justified-absence?page=N`."""
        return self._absences.list_absences(page, size)

    @_locked
    def create_absence(self, raw: Any) -> Obj:
        """`POST /v1/justified-absence`."""
        return self._absences.create_absence(raw)

    # ----- whole-school views for tests -------------------------------------------------

    @_locked
    def dump(self) -> Obj:
        """Everything the school holds, for assertions and debugging."""
        data = self._data
        return {
            "school": self.info(),
            "students": [copy_row(r) for r in data.students.rows.values()],
            "professors": [copy_row(r) for r in data.professors.rows.values()],
            "groups": [copy_row(r) for r in data.groups.rows.values()],
            "externals": [copy_row(r) for r in data.externals.rows.values()],
            "courses": [copy_row(r) for r in self._courses.in_order()],
            "justified_absences": [copy_row(r) for r in data.absences.rows.values()],
            "absence_reasons": self.absence_reasons(),
            "classrooms": self.list_classrooms(),
            "credential_emails": list(data.credential_emails),
        }

    @_locked
    def duplicate_api_ids(self) -> list[Obj]:
        """Every `API_ID` held by more than one object of a kind (the API allows it)."""
        data = self._data
        tables = (
            ("course", data.courses),
            ("student", data.students),
            ("professor", data.professors),
            ("group", data.groups),
            ("external", data.externals),
        )
        return [
            {"kind": kind, "api_id": api_id, "ids": ids}
            for kind, table in tables
            for api_id, ids in table.duplicates()
        ]
