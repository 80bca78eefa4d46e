"""The `/_sandbox/...` test controls: what `HyperplanningSandbox` asks of a running emulator.

Each control takes the app and the call's JSON body and returns a JSON-able answer; a
`ControlError` (or a `ValueError`, or an unknown key's SOAP Fault) becomes HTTP 400
`{"error": …}`. Keys in and out are the current base's. Times are naive local ISO strings,
as HPSW writes take them.

Planning edits (`edits.py`) apply to the current base and last until `reset`; keys of the
records left alone do not change, and the marks stay:

- `POST move-seance {"course", "week", "start": "YYYY-MM-DDTHH:MM[:SS]"}`: the course's
  séance of that HP week starts at `start` (duration, rooms, instructors kept; its week
  changes if `start` lies in another); 400 if the course has no séance that week;
- `POST remove-course {"course"}` or `{"courses": [...]}`: deleted as in Hyperplanning: no
  longer listed, and its key faults like an unknown one (and is never reused);
- `POST rename-learner {"learner", "last_name", "email"?}`: new last name (and e-mail if
  given) in every answer;
- `PUT faults {"operation", "times", "status"}` or `{"operation", "times", "fault"}`: the
  next `times` calls of that SOAP operation (`"*"`: any) answer that bare HTTP status, or a
  SOAP Fault with that message; `DELETE faults` clears them (`reset` too);
- `POST new-base {"first_day"?, "shift_weeks"?}`: a new base (new keys, no marks), its
  timetable and school year moved `shift_weeks` weeks (default 0).

Switches: `PUT read-only {"enabled"}` makes the web service user read-only: every write
call (`Ajouter…`, `Enlever…`, `Creer…`, `Modifier…`) faults. `PUT hidden-operations
{"operations": [...]}` leaves those operations out of the WSDL and answers them with a
Fault, as an older HPSW version without them would (`[]` brings them back; `reset` too).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from rollbridge.sandbox.hyperplanning import edits
from rollbridge.sandbox.hyperplanning.attendance import Span
from rollbridge.sandbox.hyperplanning.base import Base
from rollbridge.sandbox.hyperplanning.catalog import OPERATIONS
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


def _moment(body: Any, name: str) -> datetime:
    """A naive local date-time field (an offset, if any, is dropped: wall clock)."""
    return datetime.fromisoformat(_field(body, name, str)).replace(tzinfo=None)


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
    layout = base.layout
    courses = [c for i, c in enumerate(layout.courses) if base.is_live(i)]
    return {
        "number": base.number,
        "first_day": base.first_day.isoformat(),
        "school": layout.school.name,
        "learner_module": app.learner_module,
        "read_only": app.read_only,
        "latency_ms": app.latency_ms,
        "soap_address": app.soap_address,
        "counts": {
            "courses": len(courses),
            "seances": sum(len(c.seances) for c in courses if c.role != "parent"),
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


def _read_only(app: HyperplanningApp, body: Any) -> Any:
    app.read_only = bool(_field(body, "enabled", bool))
    return {"ok": True}


def _hidden_operations(app: HyperplanningApp, body: Any) -> Any:
    names = _field(body, "operations", list)
    if not all(isinstance(name, str) for name in names):
        raise ControlError("'operations' must be a list of operation names")
    unknown = sorted(set(names) - OPERATIONS.keys())
    if unknown:
        raise ControlError(f"unknown operations: {', '.join(unknown)}")
    app.hidden = frozenset(names)
    return {"ok": True}


def _soap_address(app: HyperplanningApp, body: Any) -> Any:
    address = _field(body, "address", str, optional=True)
    if address is not None and not address.startswith(("http://", "https://")):
        raise ControlError("'address' must be an http(s) URL such as http://hpsw.intra:8080")
    app.soap_address = address
    return {"ok": True}


def _new_base(app: HyperplanningApp, body: Any) -> Any:
    day = _field(body, "first_day", str, optional=True)
    shift = _field(body, "shift_weeks", int, optional=True) or 0
    app.new_base(None if day is None else date.fromisoformat(day), shift)
    return _info(app)


def _move_seance(app: HyperplanningApp, body: Any) -> Any:
    """One séance of a course to a new start (maybe in another week)."""
    key, week = _field(body, "course", int), _field(body, "week", int)
    start = _moment(body, "start")

    def edit(base: Base) -> edits.Edited:
        return edits.move_seance(base.layout, base.find("Cours", key), week, start, base.week_of)

    app.apply(edit)
    return {"ok": True}


def _remove_courses(app: HyperplanningApp, body: Any) -> Any:
    """Courses deleted from the planning; one unknown key and none is removed."""
    one = _field(body, "course", int, optional=True)
    keys = [one] if one is not None else _field(body, "courses", list)
    if not all(isinstance(k, int) and not isinstance(k, bool) for k in keys):
        raise ControlError("'courses' must be a list of course keys")

    def edit(base: Base) -> edits.Edited:
        return edits.remove_courses(base.layout, base.find_all("Cours", keys)), ()

    app.apply(edit)
    return {"ok": True}


def _rename_learner(app: HyperplanningApp, body: Any) -> Any:
    """A learner's new last name, and e-mail when given."""
    key, last_name = _field(body, "learner", int), _field(body, "last_name", str)
    email = _field(body, "email", str, optional=True)

    def edit(base: Base) -> edits.Edited:
        learner = base.find("Etudiant", key)
        return edits.rename_learner(base.layout, learner, last_name, email), ()

    app.apply(edit)
    return {"ok": True}


def _faults(app: HyperplanningApp, body: Any) -> Any:
    """Failures for the next calls of one operation (or `*`), replacing its earlier ones."""
    operation, times = _field(body, "operation", str), _field(body, "times", int)
    status = _field(body, "status", int, optional=True)
    fault = _field(body, "fault", str, optional=True)
    with app.lock:
        app.faults.inject(operation, times, status=status, fault=fault)
    return {"ok": True}


def _clear_faults(app: HyperplanningApp, _: Any) -> Any:
    with app.lock:
        app.faults.clear()
    return {"ok": True}


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
            _moment(body, "start"),
            _moment(body, "end"),
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
    ("PUT", "read-only"): _read_only,
    ("PUT", "soap-address"): _soap_address,
    ("PUT", "hidden-operations"): _hidden_operations,
    ("POST", "new-base"): _new_base,
    ("POST", "move-seance"): _move_seance,
    ("POST", "remove-course"): _remove_courses,
    ("POST", "rename-learner"): _rename_learner,
    ("PUT", "faults"): _faults,
    ("DELETE", "faults"): _clear_faults,
    ("GET", "base"): _base,
    ("GET", "absences"): _absences,
    ("POST", "absences"): _staff_absence,
    ("GET", "lateness"): _lateness,
    ("GET", "writes"): _writes,
    ("GET", "roll-calls"): _roll_calls,
    ("GET", "quirks"): _quirks,
    ("POST", "keys"): _keys,
}
