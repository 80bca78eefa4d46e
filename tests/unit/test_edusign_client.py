"""The Edusign client against in-process fakes (httpx.MockTransport): no server, no network."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import stamina
import structlog
from structlog.testing import capture_logs

from rollbridge.config import Account
from rollbridge.errors import (
    AuthError,
    BusinessError,
    ProtocolError,
    RateLimited,
    Transient,
)
from rollbridge.targets.edusign import EdusignClient, RetryPolicy, is_archived
from rollbridge.targets.edusign_objects import id_of
from rollbridge.targets.edusign_reply import judge, retry_after
from rollbridge.targets.edusign_shapes import course_windows, merge_course
from rollbridge.targets.ratelimit import TokenBucket

KEY = "sk-PLANTED-123"
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def _instant_backoffs() -> Iterator[None]:
    # Drops stamina's backoffs, keeps the client's own attempt counts.
    with stamina.set_testing(True, attempts=50, cap=True):
        yield


def account(**overrides: Any) -> Account:
    values: dict[str, Any] = {
        "name": "school-a",
        "api_key": KEY,
        "base_url": "https://edusign.test",
        "rate_per_minute": 100_000,
        "max_concurrency": 4,
    }
    values.update(overrides)
    return Account.model_validate(values)


def ok(result: object) -> httpx.Response:
    return httpx.Response(200, json={"status": "success", "result": result})


def refused(message: object) -> httpx.Response:
    return httpx.Response(200, json={"status": "error", "message": message})


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


class Recorder:
    """The injected `sleep`: records waits without sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client_for(
    handler: Handler, *, sleep: Callable[[float], None] | None = None, **overrides: Any
) -> EdusignClient:
    return EdusignClient(
        account(**overrides),
        transport=httpx.MockTransport(handler),
        sleep=sleep or Recorder(),
        api_type="rollbridge:test",
    )


# -- judge ---------------------------------------------------------------------------


def test_success_envelope_gives_its_result() -> None:
    reply = judge(ok({"ID": "abc"}))
    assert reply.ok
    assert reply.unwrap() == {"ID": "abc"}


def test_error_envelope_is_a_business_error() -> None:
    reply = judge(refused("course locked"), account="a", route="PATCH /v1/course")
    assert isinstance(reply.error, BusinessError)
    assert reply.error.message == "course locked"
    assert reply.error.where == {"account": "a", "route": "PATCH /v1/course"}
    assert not reply.not_found
    with pytest.raises(BusinessError):
        reply.unwrap()


def test_error_envelope_with_a_list_keeps_every_message() -> None:
    reply = judge(refused(["FIRSTNAME is required", "EMAIL is invalid"]))
    assert isinstance(reply.error, BusinessError)
    assert reply.error.details == ("FIRSTNAME is required", "EMAIL is invalid")
    assert "FIRSTNAME is required" in reply.error.message
    assert "EMAIL is invalid" in reply.error.message


@pytest.mark.parametrize("message", ["Course already locked", "Student already in the list"])
def test_benign_messages_count_as_success(message: str) -> None:
    reply = judge(refused(message))
    assert reply.ok
    assert reply.note == message
    assert reply.unwrap() is None


@pytest.mark.parametrize(
    "message",
    [
        "No course with this ID found",
        "No student with this ID found",
        "professor not found",
        "Student not found",
        "Error - cannot get professor by email",
    ],
)
def test_not_found_messages_are_recognised(message: str) -> None:
    assert judge(refused(message)).not_found


@pytest.mark.parametrize("message", ["course locked", "professor was deleted", "Forbidden"])
def test_other_refusals_are_not_not_found(message: str) -> None:
    assert not judge(refused(message)).not_found


@pytest.mark.parametrize(("code", "hint"), [(401, "API key"), (402, "billing"), (403, "scope")])
def test_auth_codes_are_auth_errors_saying_what_to_do(code: int, hint: str) -> None:
    reply = judge(httpx.Response(code, text="Unauthorized"))
    assert isinstance(reply.error, AuthError)
    assert hint in reply.error.message
    assert "Edusign" in reply.error.message


def test_429_reads_retry_after_seconds() -> None:
    reply = judge(httpx.Response(429, headers={"Retry-After": "7"}))
    assert isinstance(reply.error, RateLimited)
    assert reply.error.after_s == 7.0


def test_429_reads_retry_after_http_date() -> None:
    now = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    reply = judge(httpx.Response(429, headers={"Retry-After": later}), now=now)
    assert isinstance(reply.error, RateLimited)
    assert reply.error.after_s == pytest.approx(30.0)


def test_429_without_retry_after_has_no_wait() -> None:
    reply = judge(httpx.Response(429))
    assert isinstance(reply.error, RateLimited)
    assert reply.error.after_s is None


def test_retry_after_edge_cases() -> None:
    assert retry_after("garbage") is None
    assert retry_after("") is None
    assert retry_after("-3") == 0.0
    past = format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True)
    assert retry_after(past) == 0.0


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_server_errors_are_transient(code: int) -> None:
    assert isinstance(judge(httpx.Response(code, text="Internal Server Error")).error, Transient)


def test_plain_text_is_a_protocol_error_with_a_short_excerpt() -> None:
    text = "Not Found " + "x" * 500 + " Bearer sk-LEAKED-999"
    reply = judge(httpx.Response(404, text=text, headers={"X-Secret": "hdr-value"}))
    assert isinstance(reply.error, ProtocolError)
    message = str(reply.error)
    assert "Not Found" in message
    assert "HTTP 404" in message
    assert len(message) < 250
    assert "hdr-value" not in message


def test_bearer_tokens_are_redacted_from_excerpts() -> None:
    reply = judge(httpx.Response(400, text="bad header Bearer sk-LEAKED-999 here"))
    assert "sk-LEAKED-999" not in str(reply.error)


@pytest.mark.parametrize("payload", [[1, 2], {"result": 1}, {"status": "weird"}, "just a string"])
def test_json_without_an_envelope_is_a_protocol_error(payload: object) -> None:
    assert isinstance(judge(httpx.Response(200, json=payload)).error, ProtocolError)


def test_redirects_are_protocol_errors() -> None:
    reply = judge(httpx.Response(301, headers={"Location": "https://elsewhere.test/"}))
    assert isinstance(reply.error, ProtocolError)
    assert "base_url" in str(reply.error)


def test_ids_read_id_then_lowercase_id_then_bare_strings() -> None:
    assert id_of({"ID": "a1"}) == "a1"
    assert id_of({"id": "b2"}) == "b2"
    assert id_of({"ID": "", "id": "c3"}) == "c3"
    assert id_of("d4") == "d4"
    assert id_of({"NAME": "x"}) is None
    assert id_of(None) is None


@pytest.mark.parametrize(
    ("person", "archived"),
    [
        ({"ID": "p1", "HIDDEN": 0}, False),
        ({"ID": "p1", "HIDDEN": 1}, True),
        ({"ID": "p1", "HIDDEN": "1"}, True),
        ({"ID": "p1", "HIDDEN": []}, False),
        ({"ID": "p1", "HIDDEN": ["p1", "p9"]}, True),
        ({"ID": "p1", "HIDDEN": ["p9"]}, False),
        ({"ID": "p1"}, False),
    ],
)
def test_archive_flag_is_an_int_or_a_list_of_ids(person: dict[str, Any], archived: bool) -> None:
    assert is_archived(person) is archived


# -- auth and secrets ----------------------------------------------------------------


def test_refused_key_raises_auth_error_without_the_key_anywhere(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[httpx.Request] = []

    def edusign(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        assert request.headers["Authorization"] == f"Bearer {KEY}"
        return httpx.Response(401, text="Unauthorized")

    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    caplog.set_level(logging.DEBUG)
    try:
        with capture_logs() as logs:
            client = client_for(edusign)
            with pytest.raises(AuthError) as raised:
                client.school()
            client.close()
    finally:
        structlog.configure(**saved)
    assert len(calls) == 1  # never retried
    assert KEY not in str(raised.value)
    assert KEY not in repr(raised.value.where)
    assert "API key" in str(raised.value)
    assert "account=school-a" in str(raised.value)
    assert logs, "the request should have been logged"
    assert KEY not in repr(logs)
    assert KEY not in caplog.text
    assert KEY not in capsys.readouterr().out


@pytest.mark.usefixtures("debug_logging")
def test_logs_name_route_templates_not_ids_or_bodies() -> None:
    def edusign(request: httpx.Request) -> httpx.Response:
        return ok({"ID": "p1", "EMAIL": "jean@ecole.test", "HIDDEN": 0})

    with capture_logs() as logs:
        client = client_for(edusign)
        client.find_by_email("professor", "jean@ecole.test")
    requests = [entry for entry in logs if entry["event"] == "edusign.request"]
    assert requests == [
        {
            "event": "edusign.request",
            "log_level": "debug",
            "account": "school-a",
            "method": "GET",
            "path": "/v1/professor/by-email/{}",
            "status": 200,
            "elapsed_ms": requests[0]["elapsed_ms"],
        }
    ]
    assert "jean@ecole.test" not in repr(logs)


# -- lookups -------------------------------------------------------------------------


def test_get_id_reads_id_falls_back_to_lowercase_and_misses_to_none() -> None:
    answers = {
        "yp-1": ok({"ID": "c1"}),
        "yp-2": ok({"id": "c2"}),
        "yp-3": refused("No course with this ID found"),
    }

    def edusign(request: httpx.Request) -> httpx.Response:
        api_id = request.url.path.rsplit("/", 1)[1]
        return answers[api_id]

    client = client_for(edusign)
    assert client.get_id("course", "yp-1") == "c1"
    assert client.get_id("course", "yp-2") == "c2"
    assert client.get_id("course", "yp-3") is None


def test_lookup_paths_encode_ids_and_emails() -> None:
    seen: list[bytes] = []

    def edusign(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path)
        return ok({"ID": "x1", "HIDDEN": ["x1"]})

    client = client_for(edusign)
    client.get_id("external", "src:a/b")
    found = client.find_by_email("student", "jean.dupont+bts@ecole.test")
    assert seen == [
        b"/v1/externals/get-id/src%3Aa%2Fb",
        b"/v1/student/by-email/jean.dupont%2Bbts%40ecole.test",
    ]
    assert found is not None
    assert is_archived(found)


def test_find_by_email_miss_is_none() -> None:
    client = client_for(lambda request: refused("Error - cannot get professor by email"))
    assert client.find_by_email("professor", "nobody@ecole.test") is None


def test_get_course_miss_is_none_and_other_refusals_raise() -> None:
    client = client_for(lambda request: refused("No course with this ID found"))
    assert client.get_course("c404") is None
    client = client_for(lambda request: refused("something else"))
    with pytest.raises(BusinessError):
        client.get_course("c1")


# -- pagination ----------------------------------------------------------------------


class Pager:
    """A list route serving fixed pages and recording the queries it got."""

    def __init__(self, pages: list[list[dict[str, Any]]], *, ignore_page: bool = False) -> None:
        self.pages = pages
        self.ignore_page = ignore_page
        self.queries: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        self.queries.append(query)
        number = 0 if self.ignore_page else int(query["page"])
        return ok(self.pages[number] if number < len(self.pages) else [])


def people(prefix: str, count: int) -> list[dict[str, Any]]:
    return [{"ID": f"{prefix}{n}"} for n in range(count)]


def test_pages_stop_on_a_short_page() -> None:
    pager = Pager([people("a", 100), people("b", 30)])
    got = list(client_for(pager).list_professors())
    assert len(got) == 130
    assert [q["page"] for q in pager.queries] == ["0", "1"]


def test_pages_stop_on_an_empty_page() -> None:
    pager = Pager([people("a", 100), people("b", 100)])
    got = list(client_for(pager).list_groups())
    assert len(got) == 200
    assert [q["page"] for q in pager.queries] == ["0", "1", "2"]


def test_pages_stop_when_a_page_repeats() -> None:
    pager = Pager([people("a", 40)], ignore_page=True)
    got = list(client_for(pager).list_courses(date(2025, 9, 1), date(2025, 9, 30)))
    assert len(got) == 40
    assert [q["page"] for q in pager.queries] == ["0", "1"]


def test_students_page_with_limit_and_always_send_page() -> None:
    pager = Pager([people("s", 100), people("t", 5)])
    assert len(list(client_for(pager).list_students())) == 105
    assert pager.queries == [{"limit": "100", "page": "0"}, {"limit": "100", "page": "1"}]


def test_externals_and_justified_absences_loop_until_short() -> None:
    pager = Pager([people("e", 100), people("f", 100), people("g", 1)])
    assert len(list(client_for(pager).list_externals())) == 201
    pager = Pager([people("j", 3)])
    assert len(list(client_for(pager).list_justified_absences())) == 3


def test_a_non_list_page_is_a_protocol_error() -> None:
    client = client_for(lambda request: ok({"not": "a list"}))
    with pytest.raises(ProtocolError):
        list(client.list_groups())


# -- course windows ------------------------------------------------------------------


def test_school_year_splits_into_widened_windows_of_at_most_90_days() -> None:
    windows = course_windows(date(2025, 9, 1), date(2026, 7, 31))
    assert windows[0][0] == date(2025, 8, 31)
    assert windows[-1][1] == date(2026, 8, 1)
    for low, high in windows:
        assert (high - low).days + 1 <= 90
    for (_, high), (low, _) in itertools.pairwise(windows):
        assert low == high + timedelta(days=1)
    assert len(windows) == 4


def test_single_day_and_reversed_ranges() -> None:
    assert course_windows(date(2025, 9, 1), date(2025, 9, 1)) == [
        (date(2025, 8, 31), date(2025, 9, 2))
    ]
    with pytest.raises(ValueError, match="before start"):
        course_windows(date(2025, 9, 2), date(2025, 9, 1))


def test_list_courses_queries_each_window_and_dedups() -> None:
    asked: list[tuple[str, str]] = []

    def edusign(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        asked.append((params["start"], params["end"]))
        if params["page"] != "0":
            return ok([])
        # A course at each window's edge comes back in the next window too.
        return ok([{"ID": "edge", "NAME": "shared"}, {"ID": f"c-{params['start']}"}])

    courses = list(client_for(edusign).list_courses(date(2025, 9, 1), date(2026, 7, 31)))
    assert [(low, high) for low, high in asked] == [
        (low.isoformat(), high.isoformat())
        for low, high in course_windows(date(2025, 9, 1), date(2026, 7, 31))
    ]
    ids = [c["ID"] for c in courses]
    assert ids.count("edge") == 1
    assert len(ids) == len(set(ids)) == 5


# -- retries and rate limiting -------------------------------------------------------


def test_429_retry_after_is_honoured_through_the_injected_sleep() -> None:
    answers = [httpx.Response(429, headers={"Retry-After": "1"}), ok({"NAME": "École"})]
    sleep = Recorder()
    client = client_for(lambda request: answers.pop(0), sleep=sleep)
    assert client.school() == {"NAME": "École"}
    assert max(sleep.waits) == pytest.approx(1.0, abs=0.05)
    assert client.stats.rate_limited == 1
    assert client.stats.retries == 1


def test_429_retry_after_really_waits_with_the_default_sleep() -> None:
    answers = [httpx.Response(429, headers={"Retry-After": "1"}), ok({"NAME": "École"})]
    client = EdusignClient(account(), transport=httpx.MockTransport(lambda r: answers.pop(0)))
    started = time.monotonic()
    client.school()
    assert time.monotonic() - started >= 0.95


def test_429_on_post_is_resent_without_a_lookup() -> None:
    seen: list[str] = []

    def edusign(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if len(seen) == 1:
            return httpx.Response(429, headers={"Retry-After": "1"})
        return ok({"ID": "g1"})

    client = client_for(edusign)
    assert client.create_group({"NAME": "BTS", "API_ID": "grp-1"}) == "g1"
    assert seen == ["POST /v1/group", "POST /v1/group"]


def test_a_retry_after_beyond_the_policy_gives_up_at_once() -> None:
    calls: list[int] = []

    def edusign(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(429, headers={"Retry-After": "3600"})

    with pytest.raises(RateLimited):
        client_for(edusign).school()
    assert len(calls) == 1


def test_a_5xx_burst_on_get_is_retried_until_it_succeeds() -> None:
    answers = [
        httpx.Response(502, text="Bad Gateway"),
        httpx.Response(503, text="Service Unavailable"),
        httpx.Response(500, text="Internal Server Error"),
        ok({"ID": "c1", "NAME": "Maths"}),
    ]
    client = client_for(lambda request: answers.pop(0))
    assert client.get_course("c1") == {"ID": "c1", "NAME": "Maths"}
    assert client.stats.retries == 3
    assert client.stats.requests == 4


def test_get_retries_are_bounded_by_attempts() -> None:
    calls: list[int] = []

    def edusign(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(504, text="Gateway Timeout")

    client = client_for(edusign)
    with pytest.raises(Transient, match="HTTP 504"):
        client.get_course("c1")
    assert len(calls) == RetryPolicy().attempts


def test_transport_errors_on_idempotent_calls_are_retried() -> None:
    calls: list[int] = []

    def edusign(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return refused("Student already in the list")

    client_for(edusign).add_course_student("c1", "s1")
    assert len(calls) == 2


class FakeEdusign:
    """Groups with API_ID lookup, and one scripted fault for the next POST."""

    def __init__(self, fault: str = "") -> None:
        self.fault = fault
        self.groups: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls.append(f"{request.method} {path}")
        if request.method == "GET" and path.startswith("/v1/group/get-id/"):
            api_id = path.rsplit("/", 1)[1]
            for group in self.groups.values():
                if group["API_ID"] == api_id:
                    return ok({"ID": group["ID"]})
            return refused("No group with this ID found")
        if request.method == "POST" and path == "/v1/group":
            fault, self.fault = self.fault, ""
            if fault == "502_before_commit":
                return httpx.Response(502, text="Bad Gateway")
            if fault == "connect_error":
                raise httpx.ConnectError("refused", request=request)
            group = {**body_of(request)["group"], "ID": f"g{len(self.groups) + 1}"}
            self.groups[group["ID"]] = group
            if fault == "timeout_after_commit":
                raise httpx.ReadTimeout("reply lost", request=request)
            return ok({"ID": group["ID"]})
        return httpx.Response(404, text="Not Found")


def test_post_timeout_after_commit_is_settled_by_lookup_without_a_second_post() -> None:
    fake = FakeEdusign("timeout_after_commit")
    client = client_for(fake)
    assert client.create_group({"NAME": "BTS SIO 1", "API_ID": "grp-1"}) == "g1"
    assert fake.calls == ["POST /v1/group", "GET /v1/group/get-id/grp-1"]
    assert len(fake.groups) == 1
    assert client.stats.settled_by_lookup == 1


def test_post_502_before_commit_is_looked_up_then_posted_once_more() -> None:
    fake = FakeEdusign("502_before_commit")
    client = client_for(fake)
    assert client.create_group({"NAME": "BTS SIO 1", "API_ID": "grp-1"}) == "g1"
    assert fake.calls == ["POST /v1/group", "GET /v1/group/get-id/grp-1", "POST /v1/group"]
    assert len(fake.groups) == 1


def test_post_connect_error_is_resent_without_a_lookup() -> None:
    fake = FakeEdusign("connect_error")
    assert client_for(fake).create_group({"NAME": "BTS", "API_ID": "grp-1"}) == "g1"
    assert fake.calls == ["POST /v1/group", "POST /v1/group"]


def test_post_failing_every_time_gives_up_after_a_final_lookup() -> None:
    calls: list[str] = []

    def edusign(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if request.method == "GET":
            return refused("No group with this ID found")
        return httpx.Response(502, text="Bad Gateway")

    with pytest.raises(Transient):
        client_for(edusign).create_group({"NAME": "BTS", "API_ID": "grp-1"})
    policy = RetryPolicy()
    assert calls.count("POST") == policy.create_attempts
    assert calls.count("GET") == policy.create_attempts  # before each re-POST, and at the end


def test_business_refusal_of_a_create_is_not_retried() -> None:
    calls: list[str] = []

    def edusign(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return refused("Professor already exists in this school")

    with pytest.raises(BusinessError, match="already exists"):
        client_for(edusign).create_professor(
            {"FIRSTNAME": "A", "LASTNAME": "B", "EMAIL": "a@b.test", "API_ID": "p-1"}
        )
    assert calls == ["POST"]


def test_creates_require_api_id() -> None:
    client = client_for(lambda request: ok({"ID": "x"}))
    with pytest.raises(ValueError, match="API_ID"):
        client.create_student({"FIRSTNAME": "A", "LASTNAME": "B", "EMAIL": "a@b.test"})


def test_token_bucket_keeps_every_60s_window_under_the_limit_and_near_it() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limit = 6_000
    bucket = TokenBucket(limit, clock=lambda: now[0], sleep=sleep)
    sent: list[float] = []
    for _ in range(3 * limit):
        bucket.acquire()
        sent.append(now[0])
    busiest = max_in_window(sent, 60.0)
    assert busiest <= limit
    assert busiest >= 0.95 * limit


def test_client_requests_never_exceed_the_account_rate_in_any_window() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    sent: list[float] = []

    def edusign(request: httpx.Request) -> httpx.Response:
        sent.append(now[0])
        return ok({"NAME": "École"})

    limit = 6_000
    client = EdusignClient(
        account(rate_per_minute=limit),
        transport=httpx.MockTransport(edusign),
        sleep=sleep,
        clock=lambda: now[0],
    )
    for _ in range(limit + limit // 2):
        client.school()
    busiest = max_in_window(sent, 60.0)
    assert 0.95 * limit <= busiest <= limit
    assert client.stats.requests == limit + limit // 2
    assert client.stats.rate_limited == 0


def max_in_window(instants: list[float], width: float) -> int:
    """The most instants inside any closed window of `width` seconds."""
    best, low = 0, 0
    for high, instant in enumerate(instants):
        while instants[low] < instant - width:
            low += 1
        best = max(best, high - low + 1)
    return best


def test_bucket_pause_delays_the_next_slot() -> None:
    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(60, clock=lambda: now[0], sleep=sleep)
    assert bucket.acquire() == 0.0
    bucket.pause(5.0)
    assert bucket.acquire() == pytest.approx(5.0)
    assert bucket.acquire() == pytest.approx(60 / (60 * 0.98))


def test_threads_share_one_bucket() -> None:
    bucket = TokenBucket(60_000)  # real clock: one slot per ~1 ms
    sent: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            bucket.acquire()
            with lock:
                sent.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent.sort()
    assert sent[-1] - sent[0] >= 199 * bucket.interval_s * 0.99


def test_concurrency_is_bounded_across_threads() -> None:
    lock = threading.Lock()
    in_flight = [0]
    peak = [0]

    def edusign(request: httpx.Request) -> httpx.Response:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.02)
        with lock:
            in_flight[0] -= 1
        return ok({"ID": "c1"})

    client = EdusignClient(account(max_concurrency=3), transport=httpx.MockTransport(edusign))
    threads = [
        threading.Thread(target=lambda: [client.get_course("c1") for _ in range(4)])
        for _ in range(12)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] == 3
    assert client.stats.requests == 48
    assert client.stats.by_method == {"GET": 48}


# -- writes: bodies and shapes -------------------------------------------------------


class Capture:
    """Answers every request with one reply and keeps the requests."""

    def __init__(self, reply: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.reply = reply or (lambda request: ok({"ID": "new1"}))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.reply(request)


def test_create_student_never_sends_credentials_unless_asked() -> None:
    capture = Capture()
    client = client_for(capture)
    fields = {"FIRSTNAME": "Ana", "LASTNAME": "Lopes", "EMAIL": "ana@x.test", "API_ID": "s-1"}
    assert client.create_student({**fields, "SEND_EMAIL_CREDENTIALS": True}) == "new1"
    client.create_student(fields, send_credentials=True)
    first, second = (body_of(r)["student"] for r in capture.requests)
    assert first["SEND_EMAIL_CREDENTIALS"] is False
    assert first["API_TYPE"] == "rollbridge:test"
    assert second["SEND_EMAIL_CREDENTIALS"] is True


def test_create_professor_sets_dont_send_credentials_at_both_levels() -> None:
    capture = Capture(lambda request: ok("prof1"))  # a bare string id
    client = client_for(capture)
    fields = {"FIRSTNAME": "Luc", "LASTNAME": "Roy", "EMAIL": "luc@x.test", "API_ID": "p-1"}
    assert client.create_professor(fields) == "prof1"
    body = body_of(capture.requests[0])
    assert body["dontSendCredentials"] is True
    assert body["professor"]["dontSendCredentials"] is True


def test_create_course_uses_from_students_and_student_refs() -> None:
    capture = Capture(lambda request: ok({"ID": "c9", "NAME": "Maths", "STUDENTS": []}))
    client = client_for(capture)
    fields = {"NAME": "Maths", "PROFESSOR": "p1", "STUDENTS": ["s1", "s2"], "API_ID": "yp-1"}
    assert client.create_course(fields) == "c9"
    request = capture.requests[0]
    assert request.url.path == "/v1/course"
    assert request.url.params["fromStudents"] == "true"
    assert body_of(request)["course"]["STUDENTS"] == [{"studentId": "s1"}, {"studentId": "s2"}]


def test_create_external_wraps_in_external() -> None:
    capture = Capture()
    client_for(capture).create_external({"FIRSTNAME": "T", "EMAIL": "t@x.test", "API_ID": "e-1"})
    assert capture.requests[0].url.path == "/v1/externals"
    assert body_of(capture.requests[0])["external"]["API_ID"] == "e-1"


def test_a_create_reply_without_an_id_is_a_protocol_error() -> None:
    client = client_for(lambda request: ok({"NAME": "no id"}))
    with pytest.raises(ProtocolError, match="without an ID"):
        client.create_group({"NAME": "G", "API_ID": "g-1"})


CURRENT_COURSE: dict[str, Any] = {
    "ID": "c1",
    "id": "c1",
    "NAME": "Maths",
    "START": "2025-09-01T08:00:00.000Z",
    "END": "2025-09-01T10:00:00.000Z",
    "PROFESSOR": "p1",
    "TRAINING_ID": "t1",
    "API_ID": "yp-1",
    "API_TYPE": "rollbridge:test",
    "LOCKED": 0,
    "ATTENDANCE_LIST_GENERATED": "",
    "PROFESSOR_SIGNATURE": "",
    "PROFESSOR_SIGNATURE_2": "",
    "DATE_UPDATED": "2025-08-01T00:00:00.000Z",
    "SCHOOL_ID": "sch1",
    "STUDENTS": [
        {"_id": "e1", "studentId": "s1", "state": True, "delay": 0, "signature": "https://sig"},
    ],
}


def test_update_course_merges_over_the_current_course_without_surveys() -> None:
    def edusign(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return ok(CURRENT_COURSE)
        return ok({"ID": "c1"})

    capture = Capture(edusign)
    client_for(capture).update_course("c1", {"NAME": "Maths (salle B12)", "CLASSROOM": "B12"})
    get, patch = capture.requests
    assert (get.method, get.url.path) == ("GET", "/v1/course/c1")
    assert (patch.method, patch.url.path) == ("PATCH", "/v1/course")
    body = body_of(patch)
    assert body["editSurveys"] is False
    course = body["course"]
    assert course["ID"] == "c1"
    assert course["NAME"] == "Maths (salle B12)"
    assert course["CLASSROOM"] == "B12"
    assert course["TRAINING_ID"] == "t1"  # kept: empty would unlink (§10.2)
    assert course["START"] == CURRENT_COURSE["START"]
    assert course["STUDENTS"] == [{"studentId": "s1"}]
    for read_only in ("LOCKED", "ATTENDANCE_LIST_GENERATED", "PROFESSOR_SIGNATURE", "id"):
        assert read_only not in course
    assert not any(key.startswith(("DATE_", "PROFESSOR_SIGNATURE")) for key in course)


def test_update_course_refuses_a_locked_sheet_before_sending() -> None:
    capture = Capture(lambda request: ok({**CURRENT_COURSE, "LOCKED": 1}))
    with pytest.raises(BusinessError, match="course locked"):
        client_for(capture).update_course("c1", {"NAME": "x"})
    assert [r.method for r in capture.requests] == ["GET"]


def test_update_course_of_an_unknown_course_raises() -> None:
    client = client_for(lambda request: refused("No course with this ID found"))
    with pytest.raises(BusinessError, match="No course"):
        client.update_course("c404", {"NAME": "x"})


def test_merge_course_replaces_students_with_ours() -> None:
    merged = merge_course(CURRENT_COURSE, {"STUDENTS": ["s2", "s3"]}, "c1")
    assert merged["STUDENTS"] == [{"studentId": "s2"}, {"studentId": "s3"}]


def test_update_student_reads_missing_required_fields() -> None:
    def edusign(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return ok({"ID": "s1", "FIRSTNAME": "Ana", "LASTNAME": "Lopes", "EMAIL": "a@x.test"})
        return ok(None)

    capture = Capture(edusign)
    client_for(capture).update_student("s1", {"BADGE_ID": "04A1B2"})
    get, patch = capture.requests
    assert get.url.path == "/v1/student/s1"
    assert body_of(patch) == {
        "student": {
            "ID": "s1",
            "FIRSTNAME": "Ana",
            "LASTNAME": "Lopes",
            "BADGE_ID": "04A1B2",
            "API_TYPE": "rollbridge:test",
        }
    }


def test_update_professor_with_required_fields_sends_one_patch() -> None:
    capture = Capture(lambda request: ok(None))
    fields = {"FIRSTNAME": "Luc", "LASTNAME": "Roy", "EMAIL": "luc@x.test", "PHONE": "0600"}
    client_for(capture).update_professor("p1", fields)
    assert [r.method for r in capture.requests] == ["PATCH"]
    assert body_of(capture.requests[0])["professor"]["ID"] == "p1"


def test_update_group_and_external_wrap_their_kind() -> None:
    capture = Capture(lambda request: ok(None))
    client = client_for(capture)
    client.update_group("g1", {"NAME": "BTS", "STUDENTS": ["s1"]})
    client.update_external("e1", {"FIRSTNAME": "T", "LASTNAME": "U", "EMAIL": "t@x.test"})
    group, external = capture.requests
    assert (group.url.path, body_of(group)["group"]["STUDENTS"]) == ("/v1/group", ["s1"])
    assert (external.url.path, body_of(external)["external"]["ID"]) == ("/v1/externals", "e1")


def test_archive_restore_and_delete_routes() -> None:
    capture = Capture(lambda request: ok(True))
    client = client_for(capture)
    client.archive_student("s1")
    client.restore_student("s1")
    client.archive_professor("p1")
    client.delete_group("g1")
    client.delete_course("c1")
    assert [f"{r.method} {r.url.path}" for r in capture.requests] == [
        "DELETE /v1/student/s1",
        "GET /v1/student/restore/s1",
        "DELETE /v1/professor/p1",
        "DELETE /v1/group/g1",
        "DELETE /v1/course/c1",
    ]
    assert client.stats.writes == 4


def test_deleting_what_is_already_gone_is_done() -> None:
    client = client_for(lambda request: refused("No course with this ID found"))
    client.delete_course("c404")
    client.delete_group("g404")


def test_roster_routes_and_delete_with_a_body() -> None:
    def edusign(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return refused("Student already in the list")
        return ok(True)

    capture = Capture(edusign)
    client = client_for(capture)
    client.add_course_student("c1", "s1")
    client.remove_course_student("c1", "s1")
    put, delete = capture.requests
    assert (put.method, put.url.path, body_of(put)) == (
        "PUT",
        "/v1/course/attendance/c1",
        {"studentId": "s1"},
    )
    assert (delete.method, delete.url.path, body_of(delete)) == (
        "DELETE",
        "/v1/course/attendance/c1",
        {"studentId": "s1"},
    )


def test_presential_states_lock_and_justification() -> None:
    def edusign(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/v1/course/lock/"):
            return refused("Course already locked")
        if request.url.path == "/v1/justified-absence":
            return ok({"ID": "ja1"})
        return ok(True)

    capture = Capture(edusign)
    client = client_for(capture)
    client.set_absent("c1", "s1", "malade")
    client.set_delay("c1", "s1", 12)
    client.set_early_departure("c1", "s1", datetime(2025, 9, 1, 11, 30, tzinfo=UTC))
    client.lock_course("c1")
    assert client.justify_absence("s1", "c1", "r1", "certificat") == "ja1"
    sent = [(r.method, r.url.path, body_of(r)) for r in capture.requests]
    assert sent == [
        ("PATCH", "/v1/presential-states/set-absent/c1/s1", {"comment": "malade"}),
        ("PATCH", "/v1/presential-states/set-delay/c1/s1", {"delay": 12}),
        (
            "PATCH",
            "/v1/presential-states/set-early-departure/c1/s1",
            {"earlyDate": "2025-09-01T11:30:00.000Z"},
        ),
        ("GET", "/v1/course/lock/c1", None),
        (
            "POST",
            "/v1/justified-absence",
            {"STUDENT_ID": "s1", "COURSE_ID": "c1", "TYPE": "r1", "COMMENT": "certificat"},
        ),
    ]


def test_invalid_presential_values_are_refused_before_sending() -> None:
    capture = Capture()
    client = client_for(capture)
    with pytest.raises(ValueError, match="timezone-aware"):
        client.set_early_departure("c1", "s1", datetime(2025, 9, 1, 11, 30))
    with pytest.raises(ValueError, match="negative"):
        client.set_delay("c1", "s1", -1)
    assert capture.requests == []


def test_justification_lost_reply_is_settled_by_the_course_entry() -> None:
    calls: list[str] = []

    def edusign(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        if request.method == "POST":
            raise httpx.ReadTimeout("reply lost", request=request)
        course = {**CURRENT_COURSE, "STUDENTS": [{"studentId": "s1", "absenceId": "ja7"}]}
        return ok(course)

    assert client_for(edusign).justify_absence("s1", "c1", "r1") == "ja7"
    assert calls == ["POST /v1/justified-absence", "GET /v1/course/c1"]


def test_reference_lists_and_school() -> None:
    def edusign(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/school":
            return ok({"ID": "sch1", "NAME": "École"})
        return ok([{"ID": "r1", "NAME": "Maladie"}])

    client = client_for(edusign)
    assert client.school()["NAME"] == "École"
    assert client.absence_reasons() == [{"ID": "r1", "NAME": "Maladie"}]


def test_client_is_a_context_manager_and_counts_by_method() -> None:
    with client_for(lambda request: ok(True)) as client:
        client.lock_course("c1")
        client.set_absent("c1", "s1")
        client.add_course_student("c1", "s2")
    assert client.stats.by_method == Counter({"GET": 1, "PATCH": 1, "PUT": 1})
    assert client.stats.writes == 2


@pytest.mark.parametrize(
    "message",
    ["No student with this email found", "No external with this email found"],
)
def test_email_lookup_miss_worded_per_kind_is_absent(message: str) -> None:
    # Regression: "with this email" misses were raised as errors, failing every first create.
    client = client_for(lambda request: refused(message))
    assert client.find_by_email("student", "new.learner@ecole.test") is None
