"""Edusign attendance → canonical marks → what to write back. Pure.

Edusign keeps each learner's attendance in the course's `STUDENTS[]` entries (§7.2 of the
API notes): `state` true means signed; false means absent *or not yet signed*, so a mark
is only read once the sheet is final (ended + grace, or locked). A mark is written back
once per change, keyed by (session, learner); the content hash tells a change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from rollbridge.identity import split_key
from rollbridge.model import Mark
from rollbridge.sources.base import Capability
from rollbridge.timeconv import parse_instant


@dataclass(frozen=True, slots=True)
class CourseSheet:
    """One Edusign course as the up flow needs it."""

    session_key: str
    end_at: datetime
    locked: bool
    entries: tuple[Mapping[str, object], ...]
    label: str = ""  # the course's name and local start, for reports


@dataclass(frozen=True, slots=True)
class UnreadEntry:
    """An attendance entry we could not turn into a mark, and why."""

    session_key: str
    student_id: str
    reason: str


def is_final(sheet: CourseSheet, now: datetime, grace: timedelta) -> bool:
    """Whether `state: false` on this sheet means absent rather than "not signed yet"."""
    return sheet.locked or sheet.end_at + grace <= now


def _minutes_between(earlier: datetime, later: datetime) -> int:
    return max(0, round((later - earlier).total_seconds() / 60))


def mark_from_entry(sheet: CourseSheet, entry: Mapping[str, object], learner_key: str) -> Mark:
    """Read one `STUDENTS[]` entry of a final sheet as a mark."""
    signed = entry.get("state") is True
    delay = entry.get("delay")
    minutes_late = int(delay) if isinstance(delay, int | float) and delay > 0 else 0
    early = entry.get("earlyDeparture")
    minutes_early = 0
    if isinstance(early, str) and early:
        minutes_early = _minutes_between(parse_instant(early), sheet.end_at)
    justified = bool(entry.get("absenceId"))
    comment = entry.get("comment")
    if not signed:
        status = "absent"
    elif isinstance(early, str) and early:
        status = "left_early"
    elif minutes_late:
        status = "late"
    else:
        status = "present"
    return Mark(
        session_id=split_key(sheet.session_key)[1],
        learner_id=split_key(learner_key)[1],
        status=status,  # type: ignore[arg-type]
        justified=justified,
        minutes_late=minutes_late,
        minutes_early=minutes_early,
        comment=comment if isinstance(comment, str) else "",
    )


def marks_from_sheets(
    sheets: Iterable[CourseSheet],
    learner_key_of: Mapping[str, str],
    *,
    now: datetime,
    grace: timedelta,
) -> tuple[list[tuple[str, str, Mark]], list[UnreadEntry], int]:
    """Marks of final sheets as `(session_key, learner_key, mark)`; unread entries; pending."""
    marks: list[tuple[str, str, Mark]] = []
    unread: list[UnreadEntry] = []
    pending = 0
    for sheet in sheets:
        if not is_final(sheet, now, grace):
            pending += 1
            continue
        for entry in sheet.entries:
            student_id = str(entry.get("studentId") or "")
            learner_key = learner_key_of.get(student_id)
            if learner_key is None:
                unread.append(
                    UnreadEntry(
                        sheet.session_key,
                        student_id,
                        "learner not managed by rollbridge (added by hand in Edusign?)",
                    )
                )
                continue
            try:
                mark = mark_from_entry(sheet, entry, learner_key)
            except (TypeError, ValueError) as exc:
                unread.append(
                    UnreadEntry(sheet.session_key, student_id, f"unreadable entry: {exc}")
                )
                continue
            marks.append((sheet.session_key, learner_key, mark))
    return marks, unread, pending


def mark_payload(mark: Mark) -> dict[str, object]:
    """A mark as plain data (store payload, reports)."""
    return asdict(mark)


def mark_hash(mark: Mark) -> str:
    """Content hash of a mark: a new hash means a change to write back."""
    text = repr(tuple(sorted(mark_payload(mark).items())))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def changed_marks(
    marks: Iterable[tuple[str, str, Mark]], stored_hashes: Mapping[tuple[str, str], str]
) -> list[tuple[str, str, Mark]]:
    """Marks whose content differs from what was last written (or never written)."""
    return [item for item in marks if stored_hashes.get((item[0], item[1])) != mark_hash(item[2])]


def fit_to_capabilities(mark: Mark, capabilities: frozenset[Capability]) -> tuple[Mark, list[str]]:
    """Reduce a mark to what the source can take, saying what is lost."""
    lost: list[str] = []
    if mark.status == "late" and Capability.WRITE_LATE not in capabilities:
        lost.append(f"lateness of {mark.minutes_late} min (the planning system cannot take it)")
        mark = Mark(**{**mark_payload(mark), "status": "present", "minutes_late": 0})  # type: ignore[arg-type]
    if mark.status == "left_early" and Capability.WRITE_LEFT_EARLY not in capabilities:
        lost.append(
            f"early departure of {mark.minutes_early} min (the planning system cannot take it)"
        )
        mark = Mark(**{**mark_payload(mark), "status": "present", "minutes_early": 0})  # type: ignore[arg-type]
    if mark.justified and Capability.WRITE_JUSTIFIED not in capabilities:
        lost.append("justification (the planning system cannot take it)")
        mark = Mark(**{**mark_payload(mark), "justified": False})  # type: ignore[arg-type]
    return mark, lost
