"""Pure shaping of Edusign v1 requests: course windows, PATCH merges, roster references.

No I/O; the client (`edusign.py`) calls these and tests pin them without a server.
Section numbers refer to docs/apis/edusign.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from rollbridge.targets.edusign_objects import id_of

Obj = dict[str, Any]

COURSE_SPAN_DAYS = 90  # GET /v1/course refuses a start..end span over 90 days (§4)

# Fields Edusign adds when reading a course; sending them back on PATCH is pointless at
# best and may clobber collected state at worst (§7.1, §10.2).
_COURSE_READ_ONLY = frozenset(
    {
        "id",
        "LOCKED",
        "ATTENDANCE_LIST_GENERATED",
        "ABSENCE_SENT",
        "PROFESSORS_PRESENCES",
        "SCHOOL_ID",
    }
)
_COURSE_READ_ONLY_PREFIXES = ("DATE_", "PROFESSOR_SIGNATURE")


def course_windows(start: date, end: date) -> list[tuple[date, date]]:
    """Consecutive `(start, end)` windows of at most 90 days covering `start - 1 .. end + 1`.

    The day boundary of the list filter is unknown (UTC or school time, inclusive or
    not), so the range is widened by a day at each end (§10.6); callers filter locally.
    """
    if end < start:
        raise ValueError(f"end {end.isoformat()} comes before start {start.isoformat()}")
    # A window of 90 calendar days spans 89 days: within the limit whichever way it counts.
    step = timedelta(days=COURSE_SPAN_DAYS - 1)
    low, high = start - timedelta(days=1), end + timedelta(days=1)
    windows: list[tuple[date, date]] = []
    while low <= high:
        upper = min(low + step, high)
        windows.append((low, upper))
        low = upper + timedelta(days=1)
    return windows


def student_refs(students: object) -> list[Obj]:
    """`STUDENTS` as `[{"studentId": id}]`, from ids or read attendance entries (§7.1, §7.2)."""
    if not isinstance(students, Sequence) or isinstance(students, str):
        return []
    refs: list[Obj] = []
    for entry in students:
        if isinstance(entry, str) and entry:
            refs.append({"studentId": entry})
        elif isinstance(entry, Mapping):
            student_id = entry.get("studentId") or id_of(entry)
            if student_id:
                refs.append({"studentId": str(student_id)})
    return refs


def is_set(value: object) -> bool:
    """Edusign flags come as 0/1, booleans or strings (§5)."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true"}
    return bool(value)


def merge_course(current: Mapping[str, Any], ours: Mapping[str, Any], course_id: str) -> Obj:
    """The full course to PATCH: the current one minus read-only fields, ours on top (§10.2).

    PATCH replaces the whole sheet, so everything we do not change is sent back as read;
    learners are reduced to `{"studentId"}` references, dropping their attendance.
    """
    merged: Obj = {
        key: value
        for key, value in current.items()
        if key not in _COURSE_READ_ONLY and not key.startswith(_COURSE_READ_ONLY_PREFIXES)
    }
    if "STUDENTS" in merged:
        merged["STUDENTS"] = student_refs(merged["STUDENTS"])
    merged.update(ours)
    if "STUDENTS" in ours:
        merged["STUDENTS"] = student_refs(ours["STUDENTS"])
    merged["ID"] = course_id
    return merged


def page_signature(items: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """What identifies a page, to notice a server that ignores `page` (§4)."""
    return tuple(id_of(item) or json.dumps(item, sort_keys=True, default=str) for item in items)
