"""The Edusign v1 client: one account (one school, one API key), synchronous and thread-safe.

The engine shares one client across a pool of `account.max_concurrency` threads. Each
method is one Edusign operation; field dicts are Edusign's UPPER_SNAKE fields, already
shaped by the caller: the client wraps and unwraps bodies (§5), adds `API_TYPE`, keeps
credentials e-mails off (§10.10) and turns replies into results or errors. Rate limiting,
retries and the lookup-before-re-POST rule live in `edusign_http.py`. Section numbers
refer to docs/apis/edusign.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from types import TracebackType
from typing import Any, Literal, Self

import httpx

from rollbridge.config import Account
from rollbridge.errors import BusinessError, ProtocolError
from rollbridge.targets.edusign_http import ClientStats, EdusignHttp, RetryPolicy
from rollbridge.targets.edusign_objects import id_of, is_archived
from rollbridge.targets.edusign_shapes import (
    Obj,
    course_windows,
    is_set,
    merge_course,
    student_refs,
)
from rollbridge.timeconv import iso_z

__all__ = ["ClientStats", "EdusignClient", "RetryPolicy", "is_archived"]

LookupKind = Literal["course", "student", "professor", "group", "external"]
EmailKind = Literal["student", "professor", "external"]
_UpdateKind = Literal["student", "professor", "group", "external"]

# Route prefixes per kind (§7); externals are plural (§7.8). Body wrappers are the kind (§5).
_PREFIX: dict[str, str] = {
    "course": "/v1/course",
    "student": "/v1/student",
    "professor": "/v1/professor",
    "group": "/v1/group",
    "external": "/v1/externals",
}
# Fields a PATCH must carry besides ID (§7.5; professors §7.6 by analogy; others [G]).
_REQUIRED_ON_PATCH: dict[str, tuple[str, ...]] = {
    "student": ("FIRSTNAME", "LASTNAME"),
    "professor": ("FIRSTNAME", "LASTNAME", "EMAIL"),
    "external": ("FIRSTNAME", "LASTNAME", "EMAIL"),
    "group": ("NAME",),
}
# Page sizes (§4): courses 40, professors 100, students by `limit`, the rest unknown.
COURSE_PAGE = 40
PROFESSOR_PAGE = 100
STUDENT_LIMIT = 100
DEFAULT_PAGE = 100


class EdusignClient:
    """Edusign v1 operations for one account; safe to share across threads."""

    def __init__(
        self,
        account: Account,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        api_type: str = "",
        retry: RetryPolicy | None = None,
    ) -> None:
        self._wire = EdusignHttp(
            account, transport=transport, sleep=sleep, clock=clock, retry=retry or RetryPolicy()
        )
        self._api_type = api_type
        self.account_name = account.name

    @property
    def stats(self) -> ClientStats:
        """Request, write, retry and 429 counters since the client was made."""
        return self._wire.stats

    def close(self) -> None:
        """Release the connection pool."""
        self._wire.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- school, lookups ---------------------------------------------------------------

    def school(self) -> Obj:
        """The school behind the API key; the health probe (§1)."""
        return self._wire.object_of(self._wire.call("GET", "/v1/school").unwrap(), "GET /v1/school")

    def get_id(self, kind: LookupKind, api_id: str) -> str | None:
        """The Edusign id of the object carrying our `API_ID`, or None (§6)."""
        reply = self._wire.call("GET", _PREFIX[kind] + "/get-id/{}", api_id)
        return None if reply.not_found else id_of(reply.unwrap())

    def find_by_email(self, kind: EmailKind, email: str) -> Obj | None:
        """The person with this e-mail, archived ones too (see `is_archived`), or None (§10.4)."""
        template = _PREFIX[kind] + "/by-email/{}"
        reply = self._wire.call("GET", template, email)
        if reply.not_found:
            return None
        result = reply.unwrap()
        if isinstance(result, list):
            result = result[0] if result else None
        return None if result is None else self._wire.object_of(result, f"GET {template}")

    def get_course(self, course_id: str) -> Obj | None:
        """One course with its attendance entries (§7.2), or None if Edusign has no such id."""
        reply = self._wire.call("GET", "/v1/course/{}", course_id)
        if reply.not_found:
            return None
        return self._wire.object_of(reply.unwrap(), "GET /v1/course/{}")

    # -- lists -------------------------------------------------------------------------

    def list_students(self) -> Iterator[Obj]:
        """Every learner, page by page (§4: `limit` per page)."""
        return self._wire.pages("/v1/student", size=STUDENT_LIMIT, query={"limit": STUDENT_LIMIT})

    def list_professors(self) -> Iterator[Obj]:
        """Every instructor (§4: 100 per page)."""
        return self._wire.pages("/v1/professor", size=PROFESSOR_PAGE)

    def list_groups(self) -> Iterator[Obj]:
        """Every group (page size unknown, §4: assume 100, stop on a short page)."""
        return self._wire.pages("/v1/group", size=DEFAULT_PAGE)

    def list_externals(self) -> Iterator[Obj]:
        """Every external (tutor); route and page size assumed (§7.8, §12)."""
        return self._wire.pages("/v1/externals", size=DEFAULT_PAGE)

    def list_justified_absences(self) -> Iterator[Obj]:
        """Every justified absence (§7.4; page size unknown, assume 100)."""
        return self._wire.pages("/v1/justified-absence", size=DEFAULT_PAGE)

    def list_courses(self, start: date, end: date) -> Iterator[Obj]:
        """Courses around `start..end` in ≤ 90-day windows, each course once (§4, §10.6).

        The range is widened by a day at each end: callers filter in their own time zone.
        """
        seen: set[str] = set()
        for low, high in course_windows(start, end):
            query = {"start": low.isoformat(), "end": high.isoformat()}
            for course in self._wire.pages("/v1/course", size=COURSE_PAGE, query=query):
                course_id = id_of(course)
                if course_id is not None:
                    if course_id in seen:
                        continue
                    seen.add(course_id)
                yield course

    def absence_reasons(self) -> list[Obj]:
        """The school's absence reasons `[{ID, NAME}]` (§7.4)."""
        route = "/v1/justified-absence/absence-reason"
        return self._wire.list_of(self._wire.call("GET", route).unwrap(), f"GET {route}")

    # -- creates: never blind-retried (§10.3) ------------------------------------------

    def create_student(self, fields: Mapping[str, Any], *, send_credentials: bool = False) -> str:
        """Create a learner; no credentials e-mail unless the school opted in (§10.10)."""
        student = {**self._identity(fields), "SEND_EMAIL_CREDENTIALS": send_credentials}
        return self._create("student", {"student": student}, student)

    def create_professor(self, fields: Mapping[str, Any], *, send_credentials: bool = False) -> str:
        """Create an instructor; `dontSendCredentials` sent top-level and nested (§7.6)."""
        professor = {**self._identity(fields), "dontSendCredentials": not send_credentials}
        body = {"professor": professor, "dontSendCredentials": not send_credentials}
        return self._create("professor", body, professor)

    def create_group(self, fields: Mapping[str, Any]) -> str:
        """Create a group; `STUDENTS` lists learner ids (§7.7)."""
        group = self._identity(fields)
        return self._create("group", {"group": group}, group)

    def create_external(self, fields: Mapping[str, Any]) -> str:
        """Create an external (tutor): POST /v1/externals {"external": …}, assumed (§7.8)."""
        external = self._identity(fields)
        return self._create("external", {"external": external}, external)

    def create_course(self, fields: Mapping[str, Any]) -> str:
        """Create a course; learner ids go as `[{"studentId"}]` with fromStudents (§7.1)."""
        course = self._identity(fields)
        if "STUDENTS" in course:
            course["STUDENTS"] = student_refs(course["STUDENTS"])
        query = {"fromStudents": "true"}
        return self._create("course", {"course": course}, course, query=query)

    def justify_absence(
        self, student_id: str, course_id: str, reason_id: str, comment: str = ""
    ) -> str | None:
        """Record a justified absence (unwrapped body, §7.4); its id if Edusign returns one."""
        body: Obj = {
            "STUDENT_ID": student_id,
            "COURSE_ID": course_id,
            "TYPE": reason_id,
            "COMMENT": comment,
        }

        def covering_absence() -> str | None:
            # No API_ID here: once covered, the learner's entry carries `absenceId` (§7.4).
            course = self.get_course(course_id) or {}
            for entry in course.get("STUDENTS") or []:
                if isinstance(entry, Mapping) and entry.get("studentId") == student_id:
                    found = entry.get("absenceId")
                    return str(found) if found else None
            return None

        return self._wire.create("/v1/justified-absence", body, lookup=covering_absence)

    # -- updates: PATCH replaces the whole object (§10.2) ------------------------------

    def update_student(self, student_id: str, fields: Mapping[str, Any]) -> None:
        """Update a learner: ID, required fields (read if not given) and ours (§7.5)."""
        self._update("student", student_id, fields)

    def update_professor(self, professor_id: str, fields: Mapping[str, Any]) -> None:
        """Update an instructor: ID, required fields (read if not given) and ours (§7.6)."""
        self._update("professor", professor_id, fields)

    def update_group(self, group_id: str, fields: Mapping[str, Any]) -> None:
        """Update a group; `STUDENTS` replaces the membership, so send it whole (§10.13)."""
        self._update("group", group_id, fields)

    def update_external(self, external_id: str, fields: Mapping[str, Any]) -> None:
        """Update an external (tutor): PATCH /v1/externals, assumed (§7.8)."""
        self._update("external", external_id, fields)

    def update_course(self, course_id: str, fields: Mapping[str, Any]) -> None:
        """PATCH a course as read, minus read-only fields, ours on top; no surveys (§10.2).

        A locked sheet is refused here, before anything is sent (§10.1, §10.8).
        """
        current = self.get_course(course_id)
        where = self._wire.where("PATCH /v1/course")
        if current is None:
            raise BusinessError("No course with this ID found", **where)
        if is_set(current.get("LOCKED")):
            raise BusinessError("course locked", **where)
        course = merge_course(current, self._identity(fields), course_id)
        body = {"course": course, "editSurveys": False}
        self._wire.call("PATCH", "/v1/course", body=body).unwrap()

    # -- archive, restore, delete ------------------------------------------------------

    def archive_student(self, student_id: str) -> None:
        """Archive a learner (DELETE sets HIDDEN=1; id and e-mail stay taken, §10.5)."""
        self._wire.call("DELETE", "/v1/student/{}", student_id).unwrap()

    def restore_student(self, student_id: str) -> None:
        """Bring an archived learner back (§7.5)."""
        self._wire.call("GET", "/v1/student/restore/{}", student_id).unwrap()

    def archive_professor(self, professor_id: str) -> None:
        """Archive an instructor (DELETE archives, §7.6)."""
        self._wire.call("DELETE", "/v1/professor/{}", professor_id).unwrap()

    def delete_group(self, group_id: str) -> None:
        """Delete a group; already gone counts as done (a retried DELETE finds it so)."""
        reply = self._wire.call("DELETE", "/v1/group/{}", group_id)
        if not reply.not_found:
            reply.unwrap()

    def delete_course(self, course_id: str) -> None:
        """Destroy a sheet and its signatures: cancelled, unstarted courses only (§10.5)."""
        reply = self._wire.call("DELETE", "/v1/course/{}", course_id)
        if not reply.not_found:
            reply.unwrap()

    # -- roster, presential states, lock -----------------------------------------------

    def add_course_student(self, course_id: str, student_id: str) -> None:
        """Add a learner to a sheet; `Student already in the list` is success (§7.3)."""
        body = {"studentId": student_id}
        self._wire.call("PUT", "/v1/course/attendance/{}", course_id, body=body).unwrap()

    def remove_course_student(self, course_id: str, student_id: str) -> None:
        """Remove a learner from a sheet: DELETE with a JSON body (§7.3, §10.14)."""
        body = {"studentId": student_id}
        self._wire.call("DELETE", "/v1/course/attendance/{}", course_id, body=body).unwrap()

    def set_absent(self, course_id: str, student_id: str, comment: str = "") -> None:
        """Mark a learner absent on a sheet (§7.3)."""
        route = "/v1/presential-states/set-absent/{}/{}"
        body = {"comment": comment}
        self._wire.call("PATCH", route, course_id, student_id, body=body).unwrap()

    def set_delay(self, course_id: str, student_id: str, minutes: int) -> None:
        """Record a learner's lateness in whole minutes (§7.3)."""
        if minutes < 0:
            raise ValueError("a delay cannot be negative")
        route = "/v1/presential-states/set-delay/{}/{}"
        body = {"delay": int(minutes)}
        self._wire.call("PATCH", route, course_id, student_id, body=body).unwrap()

    def set_early_departure(self, course_id: str, student_id: str, at: datetime) -> None:
        """Record when a learner left; `at` must be timezone-aware, sent as UTC (§5, §7.3)."""
        if at.tzinfo is None:
            raise ValueError("an early departure time must be timezone-aware")
        route = "/v1/presential-states/set-early-departure/{}/{}"
        body = {"earlyDate": iso_z(at)}
        self._wire.call("PATCH", route, course_id, student_id, body=body).unwrap()

    def lock_course(self, course_id: str) -> None:
        """Lock a sheet (generates its PDF); `Course already locked` is success (§7.1)."""
        self._wire.call("GET", "/v1/course/lock/{}", course_id).unwrap()

    # -- helpers -----------------------------------------------------------------------

    def _identity(self, fields: Mapping[str, Any]) -> Obj:
        """Our fields plus the connector's API_TYPE unless given (§6, §10.11)."""
        out = dict(fields)
        if self._api_type:
            out.setdefault("API_TYPE", self._api_type)
        return out

    def _create(
        self,
        kind: LookupKind,
        body: Obj,
        fields: Mapping[str, Any],
        *,
        query: Mapping[str, str] | None = None,
    ) -> str:
        """POST a kind whose objects carry API_ID; after an ambiguous failure, `get_id` first."""
        api_id = fields.get("API_ID")
        if not isinstance(api_id, str) or not api_id:
            raise ValueError(f"creating a {kind} needs API_ID, the key to find it again (§10.3)")
        template = _PREFIX[kind]
        new_id = self._wire.create(
            template, body, lookup=lambda: self.get_id(kind, api_id), query=query
        )
        if new_id is None:
            raise ProtocolError(
                "Edusign confirmed the creation without an ID",
                **self._wire.where(f"POST {template}"),
            )
        return new_id

    def _update(self, kind: _UpdateKind, object_id: str, fields: Mapping[str, Any]) -> None:
        """PATCH ID + required fields + ours, reading the required ones if not given."""
        prefix = _PREFIX[kind]
        body = self._identity(fields)
        missing = [key for key in _REQUIRED_ON_PATCH[kind] if key not in body]
        if missing:
            reply = self._wire.call("GET", prefix + "/{}", object_id)
            if reply.not_found:
                raise BusinessError(
                    f"No {kind} with this ID found", **self._wire.where(f"PATCH {prefix}")
                )
            current = self._wire.object_of(reply.unwrap(), f"GET {prefix}/{{}}")
            body.update({key: current[key] for key in missing if key in current})
        body["ID"] = object_id
        self._wire.call("PATCH", prefix, body={kind: body}).unwrap()
