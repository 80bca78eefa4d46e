"""ASGI app emulating Edusign's v1 API on loopback, plus the `/_sandbox` test controls.

Plain ASGI on Starlette's request and response classes, with a segment tree instead of a
regex router: benchmarks push tens of thousands of requests through it. Transport
behaviour lives here (bearer auth, scopes, rate limit, injected faults, request log);
business rules live in `edusign_state`.

A /v1 request goes: route → latency → 401 → 404 → 403 → rate limit (429 or slow-down) →
fault → handler (→ stall). Every /v1 request is logged with its route template.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import math
import threading
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus
from typing import Any, Literal, get_args

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from rollbridge.sandbox.edusign_state import Clock, CourseQuery, Obj, Refused, School
from rollbridge.timeconv import iso_z, parse_instant

Family = Literal[
    "courses", "students", "professors", "groups", "externals", "absences", "classrooms", "school"
]
FaultKind = Literal[
    "status", "timeout", "malformed", "apply_then_stall", "unauthorized", "billing", "rate_limited"
]
RateMode = Literal["delay", "reject"]
FAMILIES: frozenset[str] = frozenset(get_args(Family))
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
DEFAULT_PAGE_SIZES: Mapping[str, int] = {
    "course": 40,
    "student": 100,  # the default of `limit`
    "professor": 100,
    "group": 100,  # unknown upstream (§4): configurable
    "external": 100,
    "justified_absence": 100,
}
RATE_WINDOW_S = 60.0
RATE_STEP_S = 0.1  # Edusign adds 100 ms per request over the limit (§3)
DEFAULT_STALL_S = 35.0  # past a 30 s client read timeout
MALFORMED_BODY = "<html><body><h1>502 Bad Gateway</h1></body></html>"


# ----- routing ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """What a v1 handler gets: the school, path parameters, query string and JSON body."""

    school: School
    args: tuple[str, ...]
    query: QueryParams
    body: Any
    sizes: Mapping[str, int]

    def page(self) -> int:
        """The 0-based `page` parameter (0 when absent)."""
        return self.number("page", 0)

    def number(self, name: str, default: int) -> int:
        """A non-negative integer query parameter."""
        text = self.query.get(name)
        if text is None:
            return default
        if not text.isdigit():
            raise Refused([f'"{name}" must be a positive number'])
        return int(text)

    def flag(self, name: str) -> bool:
        """A `true`/`false` query parameter."""
        return self.query.get(name, "").lower() == "true"

    def wrapped(self, key: str) -> Any:
        """The object under `key` in a wrapped body (`{"student": {…}}`)."""
        if isinstance(self.body, dict) and key in self.body:
            return self.body[key]
        raise Refused([f'"{key}" is required'])

    def field(self, name: str) -> Any:
        """A field of an unwrapped body, required."""
        if isinstance(self.body, dict) and self.body.get(name) not in (None, ""):
            return self.body[name]
        raise Refused([f'"{name}" is required'])

    def text(self, name: str) -> str:
        """A required string field of an unwrapped body."""
        value = self.field(name)
        if not isinstance(value, str):
            raise Refused([f'"{name}" must be a string'])
        return value


Handler = Callable[[Call], Any]


@dataclass(frozen=True, slots=True)
class Route:
    """One v1 operation: method, template (`/v1/course/{id}`), scope family, handler."""

    method: str
    template: str
    family: Family
    handler: Handler


class _Node:
    __slots__ = ("literal", "param", "routes")

    def __init__(self) -> None:
        self.literal: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.routes: dict[str, Route] = {}


class Router:
    """Matches paths segment by segment, literals before parameters, in a few dict lookups."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._root = _Node()
        for route in routes:
            node = self._root
            for part in route.template.strip("/").split("/"):
                if part.startswith("{"):
                    node.param = node.param or _Node()
                    node = node.param
                else:
                    node = node.literal.setdefault(part, _Node())
            node.routes[route.method] = route

    def match(self, method: str, path: str) -> tuple[Route, tuple[str, ...]] | None:
        """The route for `method path` and its path parameters, or None."""
        args: list[str] = []
        route = self._walk(self._root, path.strip("/").split("/"), 0, method, args)
        return None if route is None else (route, tuple(args))

    def _walk(
        self, node: _Node, parts: list[str], at: int, method: str, args: list[str]
    ) -> Route | None:
        if at == len(parts):
            return node.routes.get(method)
        child = node.literal.get(parts[at])
        if child is not None:
            found = self._walk(child, parts, at + 1, method, args)
            if found is not None:
                return found
        if node.param is not None and parts[at]:
            args.append(parts[at])
            found = self._walk(node.param, parts, at + 1, method, args)
            if found is not None:
                return found
            args.pop()
        return None


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


# ----- transport behaviour ------------------------------------------------------------


@dataclass(slots=True)
class Fault:
    """An injected failure for the next `times` matching requests (None: until cleared)."""

    kind: FaultKind
    times: int | None = 1
    method: str | None = None
    path: str | None = None  # a prefix of the request path
    status: int = 500
    seconds: float = DEFAULT_STALL_S
    api_key: str | None = None

    def matches(self, method: str, path: str, api_key: str) -> bool:
        """Whether this fault applies to the request."""
        return (
            (self.method is None or self.method == method)
            and (self.path is None or path.startswith(self.path))
            and (self.api_key is None or self.api_key == api_key)
        )


@dataclass(frozen=True, slots=True)
class RateVerdict:
    """The rate limiter's answer: wait `delay` seconds, or reject with `retry_after`."""

    delay: float = 0.0
    retry_after: int | None = None


class RateLimiter:
    """Edusign's per-key limit over a 60 s sliding window (§3), with counters."""

    def __init__(self, per_minute: int = 480, mode: RateMode = "delay") -> None:
        self.per_minute = per_minute
        self.mode: RateMode = mode
        self._hits: dict[str, deque[float]] = {}
        self.requests = 0
        self.rejected = 0
        self.delayed = 0
        self.delay_total_s = 0.0

    def admit(self, api_key: str, now: float) -> RateVerdict:
        """Count one request at monotonic time `now` and say what to do with it."""
        hits = self._hits.setdefault(api_key, deque())
        while hits and hits[0] <= now - RATE_WINDOW_S:
            hits.popleft()
        self.requests += 1
        excess = len(hits) + 1 - self.per_minute
        if excess <= 0:
            hits.append(now)
            return RateVerdict()
        if self.mode == "reject":
            self.rejected += 1  # not executed, so not counted in the window
            frees_at = hits[len(hits) - self.per_minute] + RATE_WINDOW_S
            return RateVerdict(retry_after=max(1, math.ceil(frees_at - now)))
        hits.append(now)
        self.delayed += 1
        self.delay_total_s += RATE_STEP_S * excess
        return RateVerdict(delay=RATE_STEP_S * excess)

    def stats(self) -> dict[str, Any]:
        """Settings and counters since the last reset."""
        return {
            "per_minute": self.per_minute,
            "mode": self.mode,
            "requests": self.requests,
            "rejected": self.rejected,
            "delayed": self.delayed,
            "delay_total_s": round(self.delay_total_s, 3),
        }


class RequestLog:
    """Every /v1 request as (method, template, path, status), with running counts."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, str, int]] = []
        self.counts: Counter[str] = Counter()
        self.writes = 0

    def record(self, method: str, template: str, path: str, status: int) -> None:
        """Append one request."""
        self.entries.append((method, template, path, status))
        self.counts[f"{method} {template}"] += 1
        if method in WRITE_METHODS:
            self.writes += 1

    def as_json(self) -> list[dict[str, Any]]:
        """The entries as JSON objects."""
        return [{"method": m, "template": t, "path": p, "status": s} for m, t, p, s in self.entries]


@dataclass(frozen=True, slots=True)
class Account:
    """One API key: its school and, if restricted, the families it may call."""

    school: School
    scopes: frozenset[str] | None


def _text(status: int, headers: Mapping[str, str] | None = None) -> Response:
    """Edusign's plain-text technical answers (§2): `Unauthorized`, `Not Found`…"""
    return PlainTextResponse(HTTPStatus(status).phrase, status_code=status, headers=headers)


def _json(payload: Any, status: int = 200) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status_code=status, media_type="application/json")


def _bearer(header: str) -> str:
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _is_loopback(scope: Scope) -> bool:
    client = scope.get("client")
    if not client:
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


class ControlError(ValueError):
    """A test control was called wrongly (missing field, unknown school…)."""


class _Args:
    """Typed access to a control call's JSON body."""

    def __init__(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise ControlError("the control body must be a JSON object")
        self._body: dict[str, Any] = body

    def text(self, name: str) -> str:
        value = self._body.get(name)
        if not isinstance(value, str) or not value:
            raise ControlError(f"{name!r} must be a non-empty string")
        return value

    def optional_text(self, name: str) -> str | None:
        value = self._body.get(name)
        return None if value is None else self.text(name)

    def number(self, name: str, default: float | None = None) -> float:
        value = self._body.get(name, default)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ControlError(f"{name!r} must be a number")
        return float(value)

    def instant(self, name: str) -> datetime | None:
        value = self._body.get(name)
        return None if value is None else parse_instant(self.text(name))

    def get(self, name: str, default: Any = None) -> Any:
        return self._body.get(name, default)


# ----- the app ------------------------------------------------------------------------


class EdusignApp:
    """The emulator as one ASGI callable: `/v1/...` API and `/_sandbox/...` controls."""

    def __init__(
        self,
        *,
        api_keys: Iterable[str] = (),
        seed: int | None = None,
        per_minute: int = 480,
        rate_mode: RateMode = "delay",
    ) -> None:
        self.clock = Clock()
        self._seed = seed
        self._initial_keys = tuple(api_keys)
        self._initial_rate = (per_minute, rate_mode)
        self._lock = threading.Lock()
        self._router = Router(v1_routes())
        self.accounts: dict[str, Account] = {}
        self.log = RequestLog()
        self.faults: list[Fault] = []
        self.latency_ms = 0.0
        self.rate = RateLimiter()
        self.sizes: dict[str, int] = dict(DEFAULT_PAGE_SIZES)
        self._controls: dict[tuple[str, str], Callable[[Any], Any]] = {
            ("GET", "/_sandbox/health"): lambda _: {"ok": True},
            ("POST", "/_sandbox/schools"): self._c_add_school,
            ("POST", "/_sandbox/reset"): lambda _: self.reset(),
            ("GET", "/_sandbox/log"): lambda _: self._c_log(full=True),
            ("GET", "/_sandbox/counts"): lambda _: self._c_log(full=False),
            ("DELETE", "/_sandbox/log"): lambda _: self._c_clear_log(),
            ("GET", "/_sandbox/faults"): lambda _: [asdict(f) for f in self.faults],
            ("POST", "/_sandbox/faults"): self._c_add_fault,
            ("DELETE", "/_sandbox/faults"): lambda _: self.faults.clear(),
            ("PUT", "/_sandbox/latency"): self._c_latency,
            ("PUT", "/_sandbox/rate-limit"): self._c_rate_limit,
            ("GET", "/_sandbox/rate-stats"): lambda _: self.rate.stats(),
            ("PUT", "/_sandbox/page-sizes"): self._c_page_sizes,
            ("PUT", "/_sandbox/clock"): self._c_clock,
            ("POST", "/_sandbox/dump"): lambda b: self._school(b).dump(),
            ("POST", "/_sandbox/duplicates"): lambda b: self._school(b).duplicate_api_ids(),
            ("POST", "/_sandbox/sign"): self._c_sign,
            ("POST", "/_sandbox/sign-professor"): self._c_sign_professor,
            ("POST", "/_sandbox/absent"): self._c_absent,
            ("POST", "/_sandbox/late"): self._c_late,
            ("POST", "/_sandbox/left-early"): self._c_left_early,
            ("POST", "/_sandbox/justify"): self._c_justify,
            ("POST", "/_sandbox/seed-student"): self._c_seed_student,
            ("POST", "/_sandbox/seed-professor"): self._c_seed_professor,
        }
        self.reset()

    def reset(self) -> None:
        """Back to just started: only the initial keys, empty again; no log or faults."""
        with self._lock:
            self.accounts = {}
            self.log = RequestLog()
            self.faults = []
            self.latency_ms = 0.0
            self.rate = RateLimiter(*self._initial_rate)
            self.sizes = dict(DEFAULT_PAGE_SIZES)
            self.clock.freeze(None)
        for key in self._initial_keys:
            self.add_school(key)

    def add_school(
        self, api_key: str, scopes: Iterable[str] | None = None, seed: int | None = None
    ) -> School:
        """A fresh, empty school behind `api_key` (replacing any school it had)."""
        allowed = None if scopes is None else frozenset(scopes)
        if allowed is not None and not allowed <= FAMILIES:
            raise ControlError(
                f"unknown scopes {sorted(allowed - FAMILIES)}; use {sorted(FAMILIES)}"
            )
        if seed is None and self._seed is not None:
            seed = zlib.crc32(f"{self._seed}:{api_key}".encode())  # stable per key
        school = School(clock=self.clock, seed=seed)
        with self._lock:
            self.accounts[api_key] = Account(school, allowed)
        return school

    # ----- ASGI -----------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        path: str = scope["path"]
        if path.startswith("/_sandbox/"):
            response = await self._control(request, path)
        else:
            response = await self._api(request, path)
        await response(scope, receive, send)

    async def _api(self, request: Request, path: str) -> Response:
        method = request.method
        found = self._router.match(method, path)
        template = found[0].template if found is not None else path
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        api_key = _bearer(request.headers.get("authorization", ""))
        account = self.accounts.get(api_key)
        if account is None:
            return self._logged(method, template, path, _text(401))
        if found is None:
            return self._logged(method, template, path, _text(404))
        route, args = found
        scopes = account.scopes
        if scopes is not None and route.family != "school" and route.family not in scopes:
            return self._logged(method, template, path, _text(403))
        with self._lock:
            verdict = self.rate.admit(api_key, time.monotonic())
        if verdict.retry_after is not None:
            headers = {"Retry-After": str(verdict.retry_after)}
            return self._logged(method, template, path, _text(429, headers))
        if verdict.delay:
            await asyncio.sleep(verdict.delay)
        with self._lock:
            fault = self._take_fault(method, path, api_key)
        if fault is not None and fault.kind != "apply_then_stall":
            return await self._fail(fault, method, template, path)
        try:
            raw = await request.body()
            body = json.loads(raw) if raw else None
        except ValueError:
            return self._logged(method, template, path, _text(400))
        call = Call(account.school, args, request.query_params, body, self.sizes)
        try:
            payload = {"status": "success", "result": route.handler(call)}
        except Refused as exc:
            payload = {"status": "error", "message": exc.message}
        response = self._logged(method, template, path, _json(payload))
        if fault is not None:
            await asyncio.sleep(fault.seconds)  # applied, but the reply comes too late
        return response

    def _take_fault(self, method: str, path: str, api_key: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path, api_key):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    async def _fail(self, fault: Fault, method: str, template: str, path: str) -> Response:
        """Answer as the fault says, without executing the request."""
        if fault.kind == "timeout":
            self._logged(method, template, path, _text(504))
            await asyncio.sleep(fault.seconds)
            return _text(504)
        if fault.kind == "malformed":
            response = Response(MALFORMED_BODY, status_code=200, media_type="text/html")
            return self._logged(method, template, path, response)
        if fault.kind == "rate_limited":
            # A 429 burst with a short Retry-After, without waiting for a real window to fill.
            headers = {"Retry-After": str(max(0, round(fault.seconds)))}
            return self._logged(method, template, path, _text(429, headers))
        status = {"unauthorized": 401, "billing": 402}.get(fault.kind, fault.status)
        return self._logged(method, template, path, _text(status))

    def _logged(self, method: str, template: str, path: str, response: Response) -> Response:
        with self._lock:
            self.log.record(method, template, path, response.status_code)
        return response

    # ----- controls -------------------------------------------------------------------

    async def _control(self, request: Request, path: str) -> Response:
        if not _is_loopback(request.scope):
            return _text(404)  # the controls do not exist for anyone off this machine
        handler = self._controls.get((request.method, path.rstrip("/")))
        if handler is None:
            return _text(404)
        try:
            raw = await request.body()
            body = json.loads(raw) if raw else {}
            return _json(handler(body))
        except (ValueError, Refused) as exc:
            message = exc.message if isinstance(exc, Refused) else str(exc)
            return _json({"error": message}, status=400)

    def _school(self, body: Any) -> School:
        api_key = _Args(body).text("api_key")
        account = self.accounts.get(api_key)
        if account is None:
            raise ControlError("no school has this API key: call add_school first")
        return account.school

    def _c_add_school(self, body: Any) -> Obj:
        args = _Args(body)
        scopes = args.get("scopes")
        if scopes is not None and not isinstance(scopes, list):
            raise ControlError("'scopes' must be a list of families or null")
        seed = args.get("seed")
        if seed is not None and not isinstance(seed, int):
            raise ControlError("'seed' must be an integer or null")
        school = self.add_school(args.text("api_key"), scopes, seed)
        return {"school_id": school.school_id}

    def _c_log(self, *, full: bool) -> Obj:
        with self._lock:
            answer: Obj = {"counts": dict(self.log.counts), "writes": self.log.writes}
            if full:
                answer["entries"] = self.log.as_json()
        return answer

    def _c_clear_log(self) -> None:
        with self._lock:
            self.log = RequestLog()

    def _c_add_fault(self, body: Any) -> Obj:
        args = _Args(body)
        kind = args.text("kind")
        if kind not in FAULT_KINDS:
            raise ControlError(f"unknown fault {kind!r}; use one of {sorted(FAULT_KINDS)}")
        times = args.get("times", 1)
        if times is not None and (not isinstance(times, int) or times < 1):
            raise ControlError("'times' must be a positive integer or null (until cleared)")
        method = args.optional_text("method")
        fault = Fault(
            kind=kind,  # type: ignore[arg-type]  # checked against FAULT_KINDS above
            times=times,
            method=method.upper() if method else None,
            path=args.optional_text("path"),
            status=int(args.number("status", 500)),
            seconds=args.number("seconds", DEFAULT_STALL_S),
            api_key=args.optional_text("api_key"),
        )
        if fault.kind == "status" and fault.status < 500:
            raise ControlError("a status fault answers 5xx; use 'unauthorized' or 'billing'")
        with self._lock:
            self.faults.append(fault)
        return asdict(fault)

    def _c_latency(self, body: Any) -> None:
        self.latency_ms = _Args(body).number("ms")

    def _c_rate_limit(self, body: Any) -> Obj:
        args = _Args(body)
        per_minute = int(args.number("per_minute", self.rate.per_minute))
        mode = args.get("mode", self.rate.mode)
        if mode not in get_args(RateMode) or per_minute < 1:
            raise ControlError("rate limit needs per_minute >= 1 and mode 'delay' or 'reject'")
        with self._lock:
            self.rate = RateLimiter(per_minute, mode)
        return self.rate.stats()

    def _c_page_sizes(self, body: Any) -> dict[str, int]:
        args = _Args(body)
        for kind in DEFAULT_PAGE_SIZES:
            if args.get(kind) is not None:
                size = int(args.number(kind))
                if size < 1:
                    raise ControlError(f"page size for {kind} must be >= 1")
                self.sizes[kind] = size
        return dict(self.sizes)

    def _c_clock(self, body: Any) -> Obj:
        self.clock.freeze(_Args(body).instant("now"))
        return {"now": self.clock.stamp()}

    def _c_sign(self, body: Any) -> Obj:
        args = _Args(body)
        return self._school(body).sign(
            args.text("course_id"), args.text("student_id"), args.instant("at")
        )

    def _c_sign_professor(self, body: Any) -> Obj:
        args = _Args(body)
        return self._school(body).sign_professor(
            args.text("course_id"), args.optional_text("professor_id")
        )

    def _c_absent(self, body: Any) -> Obj:
        args = _Args(body)
        comment = args.get("comment") or ""
        return self._school(body).set_absent(
            args.text("course_id"), args.text("student_id"), str(comment), enforce_lock=False
        )

    def _c_late(self, body: Any) -> Obj:
        args = _Args(body)
        return self._school(body).set_delay(
            args.text("course_id"),
            args.text("student_id"),
            int(args.number("minutes")),
            enforce_lock=False,
        )

    def _c_left_early(self, body: Any) -> Obj:
        args = _Args(body)
        left_at = args.instant("at")
        if left_at is None:
            raise ControlError("'at' (ISO instant) is required")
        return self._school(body).set_early_departure(
            args.text("course_id"), args.text("student_id"), left_at, enforce_lock=False
        )

    def _c_justify(self, body: Any) -> Obj:
        args = _Args(body)
        school = self._school(body)
        wanted = args.optional_text("reason")
        reasons = school.absence_reasons()
        reason = next((r for r in reasons if wanted in (None, r["ID"], r["NAME"])), None)
        if reason is None:
            raise ControlError(f"unknown absence reason {wanted!r}")
        return school.create_absence(
            {
                "STUDENT_ID": args.text("student_id"),
                "COURSE_ID": args.text("course_id"),
                "TYPE": reason["ID"],
                "COMMENT": str(args.get("comment") or ""),
            }
        )

    def _c_seed_student(self, body: Any) -> Obj:
        return self._school(body).create_student(_Args(body).get("fields"), send_credentials=False)

    def _c_seed_professor(self, body: Any) -> Obj:
        return self._school(body).create_professor(
            _Args(body).get("fields"), send_credentials=False
        )


async def _lifespan(receive: Receive, send: Send) -> None:
    """Answer the lifespan protocol: nothing to start or stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
