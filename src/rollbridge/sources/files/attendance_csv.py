"""Attendance written back as a CSV the school's planning system imports.

One row per session × learner::

    session_id,learner_id,status,justified,minutes_late,minutes_early,comment,updated_at

`status` is present | absent | late | left_early, `justified` true | false, the minutes
are whole numbers, `updated_at` is the UTC instant the row last changed
(`2026-10-24T07:00:00.000Z`). New marks are merged into the existing file: a changed mark
replaces its row in place, an unchanged one leaves it (and its `updated_at`) alone, new
ones are appended. Columns the school added are kept. The file is replaced atomically,
and never written at all when nothing changed or when the existing file could not be
read (we never overwrite what we could not read).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from rollbridge.errors import SourceError
from rollbridge.model import Mark
from rollbridge.sources.base import MarkResult
from rollbridge.sources.files.csvio import (
    BadRow,
    csv_bytes,
    decode_text,
    read_csv,
    write_atomically,
)
from rollbridge.timeconv import iso_z

ATTENDANCE_COLUMNS = (
    "session_id",
    "learner_id",
    "status",
    "justified",
    "minutes_late",
    "minutes_early",
    "comment",
    "updated_at",
)
_KEY_COLUMNS = ("session_id", "learner_id")

Key = tuple[str, str]


def read_attendance(path: Path) -> tuple[list[str], dict[Key, dict[str, str]]]:
    """The file's header and rows by (session_id, learner_id); none if it does not exist.

    Raises SourceError when the file exists but cannot be read whole.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return list(ATTENDANCE_COLUMNS), {}
    except OSError as exc:
        raise SourceError(
            f"cannot read the attendance file {path} ({exc.strerror}); nothing was written"
        ) from exc
    header, records = read_csv(decode_text(data))
    if not header:
        return list(ATTENDANCE_COLUMNS), {}
    missing = [name for name in _KEY_COLUMNS if name not in header]
    if missing:
        raise SourceError(
            f"the attendance file {path} has no {' nor '.join(missing)} column; "
            "move it away or fix its header, nothing was written"
        )
    rows: dict[Key, dict[str, str]] = {}
    for item in records:
        if isinstance(item, BadRow):
            raise SourceError(
                f"the attendance file {path} is damaged at line {item.line} ({item.reason}); "
                "fix or move it, nothing was written"
            )
        values = dict(zip(header, item[1], strict=True))
        rows[(values["session_id"], values["learner_id"])] = values
    # Our columns first if the file predates one of them; the school's own columns kept.
    header = header + [name for name in ATTENDANCE_COLUMNS if name not in header]
    return header, rows


def mark_cells(mark: Mark) -> dict[str, str]:
    """A mark as the cells of its row, `updated_at` aside."""
    return {
        "session_id": mark.session_id,
        "learner_id": mark.learner_id,
        "status": mark.status,
        "justified": "true" if mark.justified else "false",
        "minutes_late": str(mark.minutes_late),
        "minutes_early": str(mark.minutes_early),
        "comment": mark.comment,
    }


def write_marks(path: Path, marks: Sequence[Mark], *, now: datetime) -> list[MarkResult]:
    """Merge `marks` into the attendance file; one result per mark, in order.

    Raises SourceError (and writes nothing) when the existing file cannot be read or the
    new one cannot be written.
    """
    header, rows = read_attendance(path)
    last = {(mark.session_id, mark.learner_id): at for at, mark in enumerate(marks)}
    stamp = iso_z(now)
    results: list[MarkResult] = []
    changed = False
    for at, mark in enumerate(marks):
        key = (mark.session_id, mark.learner_id)
        if last[key] != at:
            reason = "a later mark for the same session and learner in this batch replaced it"
            results.append(MarkResult(mark, written=False, reason=reason))
            continue
        cells = mark_cells(mark)
        old = rows.get(key)
        if old is None or any(old.get(name, "") != value for name, value in cells.items()):
            rows[key] = {**(old or {}), **cells, "updated_at": stamp}  # keeps its place
            changed = True
        results.append(MarkResult(mark, written=True))
    if changed:
        body = csv_bytes(header, [[row.get(name, "") for name in header] for row in rows.values()])
        try:
            write_atomically(path, body)
        except OSError as exc:
            raise SourceError(
                f"cannot write the attendance file {path} ({exc.strerror or exc}); "
                "the previous file is unchanged"
            ) from exc
    return results
