"""The `/_sandbox/...` test controls: what `HyperplanningSandbox` asks of a running emulator.

Each control takes the app and the call's JSON body and returns a JSON-able answer; a
`ControlError` (or a `ValueError`) becomes HTTP 400 `{"error": …}`. Keys in and out are the
current base's. Times are naive local ISO strings, as HPSW writes take them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from rollbridge.sandbox.hyperplanning.attendance import Span
from rollbridge.sandbox.hyperplanning.base import Base
from rollbridge.sandbox.hyperplanning.probes import lookup, quirks

if TYPE_CHECKING:
    from rollbridge.sandbox.hyperplanning.app import HyperplanningApp

Control = Callable[["HyperplanningApp", Any], Any]


class ControlError(ValueError):
    """A test control was called wrongly (missing or ill-typed field)."""


def _field(body: Any, name: str, kinds: type | tuple[type, ...], *, optional: bool = False) -> Any:
    if not isinstance(body, dict):
        raise ControlError("the control body must be a JSON object")
    value = body.get(name)
    if value is None and optional:
        return None
    # JSON true is an int to Python: only a boolean field takes booleans.
    if not isinstance(value, kinds) or isinstance(value, bool) != (kinds is bool):
        raise ControlError(f"{name!r} is missing or of the wrong type")
    return value


def _span(base: Base, span: Span) -> dict[str, Any]:
    return {
        "key": span.key,
        "learner": base.key("Etudiant", span.learner),
        "start": span.start.isoformat(),
        "end": span.end.isoformat(),
        "justified": span.justified,
        "motif": span.motif,
        "origin": span.origin,
    }


def _info(app: HyperplanningApp) -> dict[str, Any]:
    base = app.ctx.base
    layout = app.layout
    return {
        "number": base.number,
        "first_day": base.first_day.isoformat(),
        "school": layout.school.name,
        "learner_module": app.learner_module,
        "latency_ms": app.latency_ms,
        "soap_address": app.soap_address,
        "counts": {
            "courses": len(layout.courses),
            "seances": sum(len(c.seances) for c in layout.courses if c.role != "parent"),
            "learners": len(layout.learners),
            "instructors": len(layout.instructors),
            "promotions": len(layout.promotions),
            "tdoptions": len(layout.tds),
            "rooms": len(layout.rooms),
            "subjects": len(layout.subjects),
        },
    }


def _reset(app: HyperplanningApp, _: Any) -> Any:
    app.reset()
    return {"ok": True}


def _log(app: HyperplanningApp, _: Any) -> Any:
    with app.lock:
        return {"entries": list(app.log)}


def _clear_log(app: HyperplanningApp, _: Any) -> Any:
    with app.lock:
        app.log.clear()
        app.counts.clear()
    return {"ok": True}


def _counts(app: HyperplanningApp, _: Any) -> Any:
    with app.lock:
        return {"counts": dict(app.counts), "calls": sum(app.counts.values())}


def _latency(app: HyperplanningApp, body: Any) -> Any:
    ms = float(_field(body, "ms", (int, float)))
    if ms < 0:
        raise ControlError("'ms' must not be negative")
    app.latency_ms = ms
    return {"ok": True}


def _learner_module(app: HyperplanningApp, body: Any) -> Any:
    app.learner_module = bool(_field(body, "enabled", bool))
    return {"ok": True}


def _soap_address(app: HyperplanningApp, body: Any) -> Any:
    address = _field(body, "address", str, optional=True)
    if address is not None and not address.startswith(("http://", "https://")):
        raise ControlError("'address' must be an http(s) URL such as http://hpsw.intra:8080")
    app.soap_address = address
    return {"ok": True}


def _new_base(app: HyperplanningApp, body: Any) -> Any:
    day = _field(body, "first_day", str, optional=True)
    app.new_base(None if day is None else date.fromisoformat(day))
    return _info(app)


def _base(app: HyperplanningApp, _: Any) -> Any:
    return _info(app)


def _absences(app: HyperplanningApp, _: Any) -> Any:
    with app.lock:
        base, marks = app.ctx.base, app.ctx.marks
        return [_span(base, s) for s in sorted(marks.absences.values(), key=lambda s: s.key)]


def _lateness(app: HyperplanningApp, _: Any) -> Any:
    with app.lock:
        base, marks = app.ctx.base, app.ctx.marks
        return [_span(base, s) for s in sorted(marks.lateness.values(), key=lambda s: s.key)]


def _writes(app: HyperplanningApp, _: Any) -> Any:
    with app.lock:
        return list(app.ctx.marks.writes)


def _roll_calls(app: HyperplanningApp, _: Any) -> Any:
    with app.lock:
        base = app.ctx.base
        done = sorted(app.ctx.marks.roll_calls)
        return [{"course": base.key("Cours", c), "week": w} for c, w in done]


def _staff_absence(app: HyperplanningApp, body: Any) -> Any:
    """An absence entered by school staff: not journaled as a write, never ours to remove."""
    with app.lock:
        base = app.ctx.base
        learner = base.find("Etudiant", int(_field(body, "learner", int)))
        key = app.ctx.marks.add_absence(
            learner,
            datetime.fromisoformat(_field(body, "start", str)).replace(tzinfo=None),
            datetime.fromisoformat(_field(body, "end", str)).replace(tzinfo=None),
            justified=bool(_field(body, "justified", bool, optional=True)),
            motif=str(_field(body, "motif", str, optional=True) or ""),
            origin="staff",
        )
    return {"key": key}


def _quirks(app: HyperplanningApp, _: Any) -> Any:
    with app.lock:
        return quirks(app.ctx.base)


def _keys(app: HyperplanningApp, body: Any) -> Any:
    kind = _field(body, "kind", str)
    ids = _field(body, "ids", list)
    with app.lock:
        return {"keys": lookup(app.ctx.base, kind, [str(i) for i in ids])}


CONTROLS: dict[tuple[str, str], Control] = {
    ("POST", "reset"): _reset,
    ("GET", "log"): _log,
    ("DELETE", "log"): _clear_log,
    ("GET", "counts"): _counts,
    ("PUT", "latency"): _latency,
    ("PUT", "learner-module"): _learner_module,
    ("PUT", "soap-address"): _soap_address,
    ("POST", "new-base"): _new_base,
    ("GET", "base"): _base,
    ("GET", "absences"): _absences,
    ("POST", "absences"): _staff_absence,
    ("GET", "lateness"): _lateness,
    ("GET", "writes"): _writes,
    ("GET", "roll-calls"): _roll_calls,
    ("GET", "quirks"): _quirks,
    ("POST", "keys"): _keys,
}
