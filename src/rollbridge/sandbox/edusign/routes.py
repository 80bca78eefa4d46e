"""The v1 route table (§7) and the handlers turning a `Call` into `School` calls."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from rollbridge.sandbox.edusign.courses import CourseQuery
from rollbridge.sandbox.edusign.router import Call, Handler, Route
from rollbridge.sandbox.edusign.school import School
from rollbridge.sandbox.edusign.wire import Obj, Refused
from rollbridge.timeconv import iso_z, parse_instant

DEFAULT_PAGE_SIZES: Mapping[str, int] = {
    "course": 40,
    "student": 100,  # the default of `limit`
    "professor": 100,
    "group": 100,  # unknown upstream (§4): configurable
    "external": 100,
    "justified_absence": 100,
}


def _query_date(call: Call, name: str) -> date | None:
    text = call.query.get(name)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise Refused([f'"{name}" must be a date (YYYY-MM-DD)']) from exc


def _ids(call: Call, name: str) -> frozenset[str]:
    return frozenset(p for p in call.query.get(name, "").split(",") if p)


def _bound(text: str, name: str, *, upper: bool) -> str:
    """A `dateUpdated` bound: a date (whole day, inclusive) or an instant."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + timedelta(days=1 if upper else 0)
            return iso_z(datetime(day.year, day.month, day.day, tzinfo=UTC))
        return iso_z(parse_instant(text))
    except ValueError as exc:
        raise Refused([f'"{name}" must hold dates']) from exc


def _course_query(call: Call) -> CourseQuery:
    updated = [p for p in call.query.get("dateUpdated", "").split(",") if p]
    return CourseQuery(
        start=_query_date(call, "start"),
        end=_query_date(call, "end"),
        filters=frozenset(f.lower() for f in _ids(call, "filters")),
        group_ids=_ids(call, "groupId"),
        student_ids=_ids(call, "studentId"),
        professor_ids=_ids(call, "professorId"),
        training_ids=_ids(call, "trainingId"),
        name=call.query.get("courseName", ""),
        updated_from=_bound(updated[0], "dateUpdated", upper=False) if updated else "",
        updated_before=_bound(updated[1], "dateUpdated", upper=True) if len(updated) > 1 else "",
    )


def _instant(value: Any, name: str) -> datetime:
    try:
        return parse_instant(value)
    except (TypeError, ValueError, AttributeError) as exc:
        raise Refused([f'"{name}" must be an ISO 8601 date with a time zone']) from exc


def _delay(call: Call) -> int:
    value = call.field("delay")
    if not isinstance(value, int) or isinstance(value, bool):
        raise Refused(['"delay" must be a number'])
    return value


def _comment(call: Call) -> str:
    comment = call.body.get("comment", "") if isinstance(call.body, dict) else ""
    if not isinstance(comment, str):
        raise Refused(['"comment" must be a string'])
    return comment


def _updated_after(call: Call) -> datetime | None:
    text = call.query.get("updatedAfter")
    return _instant(text, "updatedAfter") if text else None


def _sends_credentials(body: Any, inner: str) -> bool:
    """Whether a create would e-mail credentials (§10.10: send false / dontSendCredentials)."""
    person = body.get(inner) if isinstance(body, dict) else None
    if inner == "student":
        return not (isinstance(person, dict) and person.get("SEND_EMAIL_CREDENTIALS") is False)
    return not (
        (isinstance(body, dict) and body.get("dontSendCredentials") is True)
        or (isinstance(person, dict) and person.get("dontSendCredentials") is True)
    )


def _students_by_ids(call: Call) -> list[Obj]:
    ids = call.field("studentIds")
    if not isinstance(ids, list):
        raise Refused(['"studentIds" must be an array'])
    found = []
    for student_id in ids:
        try:
            found.append(call.school.get_student(str(student_id)))
        except Refused:
            continue  # unknown ids are left out of the answer
    return found


def _one(method: Callable[[School, str], Any]) -> Handler:
    """A handler whose only input is the path parameter (`/v1/student/{id}`)."""
    return lambda c: method(c.school, c.args[0])


def _wrapped(method: Callable[[School, Any], Any], key: str) -> Handler:
    """A handler taking the object of a wrapped body (`{"group": {…}}`)."""
    return lambda c: method(c.school, c.wrapped(key))


def _paged(method: Callable[[School, int, int], Any], kind: str) -> Handler:
    """A list handler with a fixed page size."""
    return lambda c: method(c.school, c.page(), c.sizes[kind])


def _list_students(c: Call) -> Any:
    limit = c.number("limit", c.sizes["student"])
    if limit < 1:
        raise Refused(['"limit" must be greater than or equal to 1'])
    search = c.query.get("search", "")
    return c.school.list_students(c.page(), limit, updated_after=_updated_after(c), search=search)


def _create_student(c: Call) -> Any:
    send = _sends_credentials(c.body, "student")
    return c.school.create_student(c.wrapped("student"), send_credentials=send)


def _create_professor(c: Call) -> Any:
    send = _sends_credentials(c.body, "professor")
    return c.school.create_professor(c.wrapped("professor"), send_credentials=send)


def _list_courses(c: Call) -> Any:
    return c.school.list_courses(_course_query(c), c.page(), c.sizes["course"])


def _create_course(c: Call) -> Any:
    return c.school.create_course(c.wrapped("course"), from_students=c.flag("fromStudents"))


def _set_absent(c: Call) -> Any:
    return c.school.set_absent(c.args[0], c.args[1], _comment(c))


def _set_delay(c: Call) -> Any:
    return c.school.set_delay(c.args[0], c.args[1], _delay(c))


def _set_early_departure(c: Call) -> Any:
    left_at = _instant(c.field("earlyDate"), "earlyDate")
    return c.school.set_early_departure(c.args[0], c.args[1], left_at)


def v1_routes() -> list[Route]:
    """Every emulated v1 route (§7), in one table."""
    S = School  # a short alias keeps the table one route per line
    states = "/v1/presential-states"
    return [
        Route("GET", "/v1/school", "school", lambda c: c.school.info()),
        Route("GET", "/v1/classrooms", "classrooms", lambda c: c.school.list_classrooms()),
        # learners
        Route("GET", "/v1/student", "students", _list_students),
        Route("GET", "/v1/student/{id}", "students", _one(S.get_student)),
        Route("GET", "/v1/student/by-email/{email}", "students", _one(S.student_by_email)),
        Route("GET", "/v1/student/get-id/{apiId}", "students", _one(S.student_id_for)),
        Route("GET", "/v1/student/restore/{id}", "students", _one(S.restore_student)),
        Route("POST", "/v1/student/by-ids", "students", _students_by_ids),
        Route("POST", "/v1/student", "students", _create_student),
        Route("PATCH", "/v1/student", "students", _wrapped(S.update_student, "student")),
        Route("DELETE", "/v1/student/{id}", "students", _one(S.archive_student)),
        # instructors
        Route("GET", "/v1/professor", "professors", _paged(S.list_professors, "professor")),
        Route("GET", "/v1/professor/{id}", "professors", _one(S.get_professor)),
        Route("GET", "/v1/professor/by-email/{email}", "professors", _one(S.professor_by_email)),
        Route("GET", "/v1/professor/get-id/{apiId}", "professors", _one(S.professor_id_for)),
        Route("POST", "/v1/professor", "professors", _create_professor),
        Route("PATCH", "/v1/professor", "professors", _wrapped(S.update_professor, "professor")),
        Route("DELETE", "/v1/professor/{id}", "professors", _one(S.archive_professor)),
        # groups
        Route("GET", "/v1/group", "groups", _paged(S.list_groups, "group")),
        Route("GET", "/v1/group/{id}", "groups", _one(S.get_group)),
        Route("GET", "/v1/group/get-id/{apiId}", "groups", _one(S.group_id_for)),
        Route("POST", "/v1/group", "groups", _wrapped(S.create_group, "group")),
        Route("PATCH", "/v1/group", "groups", _wrapped(S.update_group, "group")),
        Route("DELETE", "/v1/group/{id}", "groups", _one(S.delete_group)),
        # externals (tutors)
        Route("GET", "/v1/externals", "externals", _paged(S.list_externals, "external")),
        Route("GET", "/v1/externals/{id}", "externals", _one(S.get_external)),
        Route("GET", "/v1/externals/by-email/{email}", "externals", _one(S.external_by_email)),
        Route("GET", "/v1/externals/get-id/{apiId}", "externals", _one(S.external_id_for)),
        Route("POST", "/v1/externals", "externals", _wrapped(S.create_external, "external")),
        Route("PATCH", "/v1/externals", "externals", _wrapped(S.update_external, "external")),
        # courses, rosters, presential states
        Route("GET", "/v1/course", "courses", _list_courses),
        Route("GET", "/v1/course/{id}", "courses", _one(S.get_course)),
        Route("GET", "/v1/course/get-id/{apiId}", "courses", _one(S.course_id_for)),
        Route("GET", "/v1/course/lock/{id}", "courses", _one(S.lock_course)),
        Route("PATCH", "/v1/course/unlock/{id}", "courses", _one(S.unlock_course)),
        Route("POST", "/v1/course", "courses", _create_course),
        Route("PATCH", "/v1/course", "courses", _wrapped(S.update_course, "course")),
        Route("DELETE", "/v1/course/{id}", "courses", _one(S.delete_course)),
        Route(
            "PUT",
            "/v1/course/attendance/{courseId}",
            "courses",
            lambda c: c.school.add_to_course(c.args[0], c.text("studentId")),
        ),
        Route(
            "DELETE",
            "/v1/course/attendance/{courseId}",
            "courses",
            lambda c: c.school.remove_from_course(c.args[0], c.text("studentId")),
        ),
        Route("PATCH", f"{states}/set-absent/{{courseId}}/{{studentId}}", "courses", _set_absent),
        Route("PATCH", f"{states}/set-delay/{{courseId}}/{{studentId}}", "courses", _set_delay),
        Route(
            "PATCH",
            f"{states}/set-early-departure/{{courseId}}/{{studentId}}",
            "courses",
            _set_early_departure,
        ),
        # justified absences
        Route(
            "GET",
            "/v1/justified-absence",
            "absences",
            _paged(S.list_absences, "justified_absence"),
        ),
        Route(
            "GET",
            "/v1/justified-absence/absence-reason",
            "absences",
            lambda c: c.school.absence_reasons(),
        ),
        Route(
            "POST", "/v1/justified-absence", "absences", lambda c: c.school.create_absence(c.body)
        ),
    ]
