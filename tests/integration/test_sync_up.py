"""Sync up: attendance in the emulator → marks → the attendance CSV, exactly once per change."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest

from rollbridge.sandbox.edusign_server import EdusignSandbox
from rollbridge.store import Store

from .harness import API_KEY, Harness
from .tiny_school import TinySchool


@pytest.fixture
def harness(
    tmp_path: Path, edusign: EdusignSandbox, store: Store, tenant: str, first_day: date
) -> Harness:
    edusign.add_school(API_KEY)
    school = TinySchool.build(tmp_path / "school", first_day, days=3)
    h = Harness(school, edusign, store, tenant)
    assert h.down().status == "ok"
    return h


def rows(h: Harness) -> dict[tuple[str, str], dict[str, str]]:
    with (h.school.folder / "attendance.csv").open(encoding="utf-8", newline="") as handle:
        return {(r["session_id"], r["learner_id"]): r for r in csv.DictReader(handle)}


def student_id(h: Harness, learner: str) -> str:
    return h.edusign_id(f"learner:{learner}")


def test_every_status_goes_back_once(harness: Harness) -> None:
    course = harness.course("ses-001a")  # stu-1..4, Monday 09:00-11:00 Paris
    cid = course["ID"]
    harness.sandbox.sign(API_KEY, cid, student_id(harness, "stu-1"))
    harness.sandbox.mark_late(API_KEY, cid, student_id(harness, "stu-2"), minutes=12)
    end = harness.course("ses-001a")["END"]
    from rollbridge.timeconv import parse_instant

    harness.sandbox.sign(API_KEY, cid, student_id(harness, "stu-3"))
    harness.sandbox.mark_left_early(
        API_KEY, cid, student_id(harness, "stu-3"), at=parse_instant(end) - timedelta(minutes=25)
    )
    harness.sandbox.mark_absent(API_KEY, cid, student_id(harness, "stu-4"))
    harness.sandbox.justify(API_KEY, cid, student_id(harness, "stu-4"))
    harness.now = parse_instant(end) + timedelta(minutes=20)

    report = harness.up()
    assert report.status == "ok", (report.error, report.accounts[0].not_written)
    assert report.accounts[0].marks_written == 4
    written = rows(harness)
    assert written[("ses-001a", "stu-1")]["status"] == "present"
    assert (
        written[("ses-001a", "stu-2")]["status"],
        written[("ses-001a", "stu-2")]["minutes_late"],
    ) == ("late", "12")
    assert (
        written[("ses-001a", "stu-3")]["status"],
        written[("ses-001a", "stu-3")]["minutes_early"],
    ) == ("left_early", "25")
    assert (
        written[("ses-001a", "stu-4")]["status"],
        written[("ses-001a", "stu-4")]["justified"],
    ) == ("absent", "true")

    again = harness.up()
    assert again.accounts[0].marks_written == 0 and again.accounts[0].marks_changed == 0

    # A justification arriving days later is written again, and the old value kept.
    harness.sandbox.mark_absent(API_KEY, cid, student_id(harness, "stu-1"))
    harness.now += timedelta(hours=1)  # no other sheet becomes final meanwhile
    later = harness.up()
    assert later.accounts[0].marks_written == 1
    assert rows(harness)[("ses-001a", "stu-1")]["status"] == "absent"
    history = harness.store.mark_history(
        harness.tenant, "main", "session:ses-001a", "learner:stu-1"
    )
    assert [h.payload["status"] for h in history] == ["present"]


def test_sheets_not_final_are_not_read(harness: Harness) -> None:
    course = harness.course("ses-001b")
    harness.sandbox.sign(API_KEY, course["ID"], student_id(harness, "stu-5"))
    from rollbridge.timeconv import parse_instant

    harness.now = parse_instant(course["END"]) + timedelta(minutes=5)  # inside the grace period
    report = harness.up()
    assert report.accounts[0].sheets_pending == 1
    assert report.accounts[0].marks_written == 4  # the morning session only
    assert {session for session, _ in rows(harness)} == {"ses-001a"}


def test_every_ended_session_is_read(harness: Harness) -> None:
    harness.now = harness.now + timedelta(days=10)  # every session has ended
    report = harness.up()
    account = report.accounts[0]
    assert account.marks_written == 24  # 6 sessions × 4 learners, nobody signed
    assert account.marks_by_status == {"absent": 24}


def test_many_sheets_are_read_by_listing(
    tmp_path: Path, edusign: EdusignSandbox, store: Store, tenant: str, first_day: date
) -> None:
    edusign.add_school(API_KEY)
    h = Harness(TinySchool.build(tmp_path / "big", first_day, days=25), edusign, store, tenant)
    assert h.down().status == "ok"
    h.sync = {"up_days_back": 60}
    h.now += timedelta(days=60)
    edusign.clear_log()
    report = h.up()
    assert report.accounts[0].marks_written == 200  # 50 sessions × 4 learners
    assert edusign.counts().get("GET /v1/course/{id}", 0) == 0  # listed by date, not one by one
