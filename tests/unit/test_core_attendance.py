"""Attendance: Edusign entries → marks, finality, change detection, capabilities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rollbridge.attendance import (
    CourseSheet,
    changed_marks,
    fit_to_capabilities,
    mark_hash,
    marks_from_sheets,
)
from rollbridge.sources.base import Capability

END = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
GRACE = timedelta(minutes=15)


def entry(student: str, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "studentId": student,
        "state": False,
        "delay": 0,
        "earlyDeparture": None,
        "absenceId": None,
        "comment": "",
    }
    return {**base, **fields}


SHEET = CourseSheet(
    "session:s1",
    END,
    locked=False,
    entries=(
        entry("e1", state=True),
        entry("e2"),
        entry("e3", state=True, delay=12),
        entry("e4", state=True, earlyDeparture="2026-11-26T11:20:00.000Z"),
        entry("e5", absenceId="abs1", comment="malade"),
        entry("e6", state=True),
    ),
)
LEARNERS = {f"e{i}": f"learner:l{i}" for i in range(1, 6)}


def test_each_status_is_read() -> None:
    marks, unread, pending = marks_from_sheets([SHEET], LEARNERS, now=END + GRACE, grace=GRACE)
    by_learner = {m.learner_id: m for _, _, m in marks}
    assert by_learner["l1"].status == "present"
    assert (by_learner["l2"].status, by_learner["l2"].justified) == ("absent", False)
    assert (by_learner["l3"].status, by_learner["l3"].minutes_late) == ("late", 12)
    assert (by_learner["l4"].status, by_learner["l4"].minutes_early) == ("left_early", 40)
    assert (by_learner["l5"].status, by_learner["l5"].justified, by_learner["l5"].comment) == (
        "absent",
        True,
        "malade",
    )
    assert [u.student_id for u in unread] == ["e6"]  # added by hand in Edusign
    assert pending == 0


def test_sheet_not_final_before_end_plus_grace_unless_locked() -> None:
    marks, _, pending = marks_from_sheets(
        [SHEET], LEARNERS, now=END + timedelta(minutes=5), grace=GRACE
    )
    assert (marks, pending) == ([], 1)
    locked = CourseSheet(SHEET.session_key, SHEET.end_at, True, SHEET.entries)
    marks, _, pending = marks_from_sheets([locked], LEARNERS, now=END, grace=GRACE)
    assert len(marks) == 5 and pending == 0


def test_changed_marks_only() -> None:
    marks, _, _ = marks_from_sheets([SHEET], LEARNERS, now=END + GRACE, grace=GRACE)
    stored = {(session, learner): mark_hash(m) for session, learner, m in marks}
    assert changed_marks(marks, stored) == []
    stored[("session:s1", "learner:l2")] = "old"
    assert [learner for _, learner, _ in changed_marks(marks, stored)] == ["learner:l2"]


def test_fit_to_capabilities_reports_what_is_lost() -> None:
    marks, _, _ = marks_from_sheets([SHEET], LEARNERS, now=END + GRACE, grace=GRACE)
    late = next(m for _, _, m in marks if m.status == "late")
    fitted, lost = fit_to_capabilities(late, frozenset({Capability.WRITE_MARKS}))
    assert fitted.status == "present" and fitted.minutes_late == 0
    assert lost and "lateness of 12 min" in lost[0]
    kept, nothing = fit_to_capabilities(late, frozenset(Capability))
    assert kept == late and nothing == []
