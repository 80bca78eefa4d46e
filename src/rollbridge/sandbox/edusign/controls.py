"""The `/_sandbox/...` test controls: what `EdusignSandbox` asks of a running emulator.

Each control takes the app and the call's JSON body and returns a JSON-able answer; a
`ControlError` (or `Refused`) becomes HTTP 400 `{"error": …}`. They exist for loopback
clients only (see `EdusignApp`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any, get_args

from rollbridge.sandbox.edusign.routes import DEFAULT_PAGE_SIZES
from rollbridge.sandbox.edusign.school import School
from rollbridge.sandbox.edusign.traffic import (
    DEFAULT_STALL_S,
    FAULT_KINDS,
    Fault,
    RateLimiter,
    RateMode,
    RequestLog,
)
from rollbridge.sandbox.edusign.wire import Obj
from rollbridge.timeconv import parse_instant

if TYPE_CHECKING:
    from rollbridge.sandbox.edusign.app import EdusignApp

Control = Callable[["EdusignApp", Any], Any]


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


def _school(app: EdusignApp, body: Any) -> School:
    api_key = _Args(body).text("api_key")
    account = app.accounts.get(api_key)
    if account is None:
        raise ControlError("no school has this API key: call add_school first")
    return account.school


def _add_school(app: EdusignApp, body: Any) -> Obj:
    args = _Args(body)
    scopes = args.get("scopes")
    if scopes is not None and not isinstance(scopes, list):
        raise ControlError("'scopes' must be a list of families or null")
    seed = args.get("seed")
    if seed is not None and not isinstance(seed, int):
        raise ControlError("'seed' must be an integer or null")
    school = app.add_school(args.text("api_key"), scopes, seed)
    return {"school_id": school.school_id}


def _log(app: EdusignApp, *, full: bool) -> Obj:
    with app.lock:
        answer: Obj = {"counts": dict(app.log.counts), "writes": app.log.writes}
        if full:
            answer["entries"] = app.log.as_json()
    return answer


def _clear_log(app: EdusignApp) -> None:
    with app.lock:
        app.log = RequestLog()


def _add_fault(app: EdusignApp, body: Any) -> Obj:
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
    with app.lock:
        app.faults.append(fault)
    return asdict(fault)


def _set_latency(app: EdusignApp, body: Any) -> None:
    app.latency_ms = _Args(body).number("ms")


def _set_rate_limit(app: EdusignApp, body: Any) -> Obj:
    args = _Args(body)
    per_minute = int(args.number("per_minute", app.rate.per_minute))
    mode = args.get("mode", app.rate.mode)
    if mode not in get_args(RateMode) or per_minute < 1:
        raise ControlError("rate limit needs per_minute >= 1 and mode 'delay' or 'reject'")
    with app.lock:
        app.rate = RateLimiter(per_minute, mode)
    return app.rate.stats()


def _set_page_sizes(app: EdusignApp, body: Any) -> dict[str, int]:
    args = _Args(body)
    for kind in DEFAULT_PAGE_SIZES:
        if args.get(kind) is not None:
            size = int(args.number(kind))
            if size < 1:
                raise ControlError(f"page size for {kind} must be >= 1")
            app.sizes[kind] = size
    return dict(app.sizes)


def _set_clock(app: EdusignApp, body: Any) -> Obj:
    app.clock.freeze(_Args(body).instant("now"))
    return {"now": app.clock.stamp()}


def _sign(app: EdusignApp, body: Any) -> Obj:
    args = _Args(body)
    return _school(app, body).sign(
        args.text("course_id"), args.text("student_id"), args.instant("at")
    )


def _sign_professor(app: EdusignApp, body: Any) -> Obj:
    args = _Args(body)
    return _school(app, body).sign_professor(
        args.text("course_id"), args.optional_text("professor_id")
    )


def _absent(app: EdusignApp, body: Any) -> Obj:
    args = _Args(body)
    comment = args.get("comment") or ""
    return _school(app, body).set_absent(
        args.text("course_id"), args.text("student_id"), str(comment), enforce_lock=False
    )


def _late(app: EdusignApp, body: Any) -> Obj:
    args = _Args(body)
    return _school(app, body).set_delay(
        args.text("course_id"),
        args.text("student_id"),
        int(args.number("minutes")),
        enforce_lock=False,
    )


def _left_early(app: EdusignApp, body: Any) -> Obj:
    args = _Args(body)
    left_at = args.instant("at")
    if left_at is None:
        raise ControlError("'at' (ISO instant) is required")
    return _school(app, body).set_early_departure(
        args.text("course_id"), args.text("student_id"), left_at, enforce_lock=False
    )


def _justify(app: EdusignApp, body: Any) -> Obj:
    args = _Args(body)
    school = _school(app, body)
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


def _seed_student(app: EdusignApp, body: Any) -> Obj:
    return _school(app, body).create_student(_Args(body).get("fields"), send_credentials=False)


def _seed_professor(app: EdusignApp, body: Any) -> Obj:
    return _school(app, body).create_professor(_Args(body).get("fields"), send_credentials=False)


CONTROLS: Mapping[tuple[str, str], Control] = {
    ("GET", "/_sandbox/health"): lambda _app, _: {"ok": True},
    ("POST", "/_sandbox/schools"): _add_school,
    ("POST", "/_sandbox/reset"): lambda app, _: app.reset(),
    ("GET", "/_sandbox/log"): lambda app, _: _log(app, full=True),
    ("GET", "/_sandbox/counts"): lambda app, _: _log(app, full=False),
    ("DELETE", "/_sandbox/log"): lambda app, _: _clear_log(app),
    ("GET", "/_sandbox/faults"): lambda app, _: [asdict(f) for f in app.faults],
    ("POST", "/_sandbox/faults"): _add_fault,
    ("DELETE", "/_sandbox/faults"): lambda app, _: app.faults.clear(),
    ("PUT", "/_sandbox/latency"): _set_latency,
    ("PUT", "/_sandbox/rate-limit"): _set_rate_limit,
    ("GET", "/_sandbox/rate-stats"): lambda app, _: app.rate.stats(),
    ("PUT", "/_sandbox/page-sizes"): _set_page_sizes,
    ("PUT", "/_sandbox/clock"): _set_clock,
    ("POST", "/_sandbox/dump"): lambda app, b: _school(app, b).dump(),
    ("POST", "/_sandbox/duplicates"): lambda app, b: _school(app, b).duplicate_api_ids(),
    ("POST", "/_sandbox/sign"): _sign,
    ("POST", "/_sandbox/sign-professor"): _sign_professor,
    ("POST", "/_sandbox/absent"): _absent,
    ("POST", "/_sandbox/late"): _late,
    ("POST", "/_sandbox/left-early"): _left_early,
    ("POST", "/_sandbox/justify"): _justify,
    ("POST", "/_sandbox/seed-student"): _seed_student,
    ("POST", "/_sandbox/seed-professor"): _seed_professor,
}
