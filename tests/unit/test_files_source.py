"""FilesSource end to end on files: complete or not, deletions, matching, atomic write-back."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rollbridge.config import FilesSource as FilesSettings
from rollbridge.errors import SourceError
from rollbridge.model import Mark, Snapshot, Window
from rollbridge.sources.base import Capability, Source
from rollbridge.sources.files import FilesSource
from rollbridge.sources.files.attendance_csv import ATTENDANCE_COLUMNS

PARIS = ZoneInfo("Europe/Paris")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "files"
YEAR = Window(date(2026, 9, 1), date(2027, 7, 31))
NOON = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)


def source(
    tmp_path: Path,
    *,
    oneroster: Path = FIXTURES / "school_v12",
    sessions: Path = FIXTURES / "sessions_paris.csv",
    deltas: tuple[Path, ...] = (),
    clock: datetime = NOON,
) -> FilesSource:
    settings = FilesSettings(
        oneroster=oneroster,
        deltas=deltas,
        sessions=sessions,
        attendance_out=tmp_path / "out" / "attendance.csv",
    )
    (tmp_path / "out").mkdir(exist_ok=True)
    return FilesSource(settings, PARIS, clock=lambda: clock)


def session_ids(snapshot: Snapshot) -> set[str]:
    return {s.source_id for s in snapshot.sessions}


def test_declares_its_system_and_capabilities(tmp_path: Path) -> None:
    files: Source = source(tmp_path)
    assert files.system == "files"
    assert files.capabilities == {
        Capability.WRITE_MARKS,
        Capability.WRITE_JUSTIFIED,
        Capability.WRITE_LATE,
        Capability.WRITE_LEFT_EARLY,
        Capability.DELTA_READ,
    }


# --------------------------------------------------------------------------- read


def test_read_is_complete_and_links_sessions_to_the_roster(tmp_path: Path) -> None:
    stages: list[str] = []
    snapshot = source(tmp_path).read(YEAR, lambda stage, done, total: stages.append(stage)).built()
    assert snapshot.complete
    assert snapshot.window == YEAR
    assert snapshot.counts() == {
        "learner": 2,
        "instructor": 2,
        "tutor": 1,
        "group": 3,
        "session": 9,
    }
    assert {"oneroster", "sessions"} <= set(stages)
    sessions = {s.source_id: s for s in snapshot.sessions}
    # Outside the window: left out, not rejected.
    assert "ses-outside" not in sessions
    assert all(r.source_id != "ses-outside" for r in snapshot.rejected)
    # No instructor named: the class's teachers, primary first.
    assert sessions["ses-oct26"].instructor_ids == ("t-dupont", "t-martin")
    assert sessions["ses-oct24"].instructor_ids == ("t-dupont",)
    # Attributes: the classes' org, org_name and course, plus the subject.
    assert sessions["ses-oct24"].attrs == {
        ("org", "org-lycee"),
        ("org_name", "Lycée Jean Moulin"),
        ("course", "crs-sio"),
        ("subject", "Mathématiques"),
    }
    why = {r.source_id: r.reason for r in snapshot.rejected}
    assert why["ses-unknown-class"] == "unknown group cls-nope"
    # Unknown people are left out of the session, which is kept (a learner who left
    # must not cancel the class for everyone).
    assert why["ses-unknown-people"] == (
        "unknown or inactive instructor t-ghost; unknown or inactive learner s-ghost: "
        "left out; the session is kept"
    )
    kept = sessions["ses-unknown-people"]
    assert "t-ghost" not in kept.instructor_ids and "s-ghost" not in kept.learner_ids
    assert why["ses-gap"].startswith("start 2027-03-28T02:30 does not exist in Europe/Paris")
    assert {("group", "cls-old"), ("learner", "s-petit")} <= snapshot.deleted


def test_ade_calendar_is_matched_by_names_categories_and_emails(tmp_path: Path) -> None:
    snapshot = source(tmp_path, sessions=FIXTURES / "ade_like.ics").read(YEAR).built()
    assert snapshot.complete
    sessions = {s.source_id: s for s in snapshot.sessions}
    ade = sessions["ADE60414e4e4545454e434f555253323032362d323032372d3132373437362d302d3133"]
    assert ade.group_ids == ("cls-sio1",)  # "BTS SIO 1" line of the description
    assert ade.instructor_ids == ("t-dupont",)  # "DUPONT   Marie" line
    floating = sessions["rb-floating"]
    assert floating.group_ids == ("cls-cap",)  # CATEGORIES
    assert floating.instructor_ids == ("t-martin",)  # ATTENDEE mailto, any case
    weekly = sessions["rb-weekly@20261027T130000Z"]
    assert weekly.instructor_ids == ("t-dupont", "t-martin")  # from the class
    assert ("session", "rb-cancelled") in snapshot.deleted
    assert ("session", "rb-allday") not in snapshot.deleted


def test_deltas_apply_on_top_of_the_bulk_and_list_deletions(tmp_path: Path) -> None:
    snapshot = source(tmp_path, deltas=(FIXTURES / "delta_v12",)).read(YEAR).built()
    assert snapshot.complete  # the bulk read was complete
    learners = {p.source_id for p in snapshot.people if p.role == "learner"}
    assert learners == {"s-leroy", "s-durand"}
    assert {("learner", "s-nguyen"), ("group", "cls-sio2")} <= snapshot.deleted
    # Sessions of the deleted class are now rejected, not silently kept.
    why = {r.source_id: r.reason for r in snapshot.rejected}
    assert why["ses-mar27"] == "unknown group cls-sio2"


def test_a_missing_bulk_bundle_makes_the_read_incomplete(tmp_path: Path) -> None:
    snapshot = (
        source(tmp_path, oneroster=tmp_path / "nowhere", deltas=(FIXTURES / "delta_v12",))
        .read(YEAR)
        .built()
    )
    assert not snapshot.complete
    assert any(r.kind == "file" and "does not exist" in r.reason for r in snapshot.rejected)
    # What the delta says is still read: upserts are safe, deletions need completeness.
    assert "s-durand" in {p.source_id for p in snapshot.people}


def test_a_delta_as_the_base_bundle_is_not_complete(tmp_path: Path) -> None:
    snapshot = source(tmp_path, oneroster=FIXTURES / "delta_v12").read(YEAR).built()
    assert not snapshot.complete
    assert any("must hold" in r.reason for r in snapshot.rejected)


def test_an_unreadable_row_in_the_bulk_makes_the_read_incomplete(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(FIXTURES / "school_v12", bundle)
    with (bundle / "enrollments.csv").open("ab") as handle:
        handle.write(b"e-bad,active\r\n")
    snapshot = source(tmp_path, oneroster=bundle).read(YEAR).built()
    assert not snapshot.complete
    assert any(r.source_id == "enrollments.csv:12" for r in snapshot.rejected)
    assert snapshot.counts()["learner"] == 2  # the rest is read


def test_a_missing_planning_file_makes_the_read_incomplete(tmp_path: Path) -> None:
    snapshot = source(tmp_path, sessions=tmp_path / "none.ics").read(YEAR).built()
    assert not snapshot.complete
    assert snapshot.sessions == ()
    assert snapshot.counts()["learner"] == 2
    assert any("cannot read the planning file" in r.reason for r in snapshot.rejected)


def test_an_empty_read_is_never_complete(tmp_path: Path) -> None:
    bundle = tmp_path / "empty"
    bundle.mkdir()
    (bundle / "manifest.csv").write_text(
        "propertyName,value\noneroster.version,1.2\n"
        "file.users,bulk\nfile.classes,bulk\nfile.enrollments,bulk\n"
    )
    for name in ("users", "classes", "enrollments"):
        (bundle / f"{name}.csv").write_text("sourcedId,status\n")
    planning = tmp_path / "sessions.csv"
    planning.write_text("session_id,title,start,end\n")
    snapshot = source(tmp_path, oneroster=bundle, sessions=planning).read(YEAR).built()
    assert snapshot.is_empty
    assert not snapshot.complete
    assert any("no people and no sessions" in r.reason for r in snapshot.rejected)


# --------------------------------------------------------------------------- write-back


def out_rows(files: FilesSource) -> list[dict[str, str]]:
    import csv

    with files.settings.attendance_out.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_write_marks_creates_the_file_with_the_contract_columns(tmp_path: Path) -> None:
    files = source(tmp_path)
    marks = [
        Mark("ses-oct24", "s-leroy", "late", minutes_late=12, comment="bus, en retard"),
        Mark("ses-oct24", "s-nguyen", "absent", justified=True),
    ]
    results = files.write_marks(marks)
    assert [(r.mark, r.written) for r in results] == [(m, True) for m in marks]
    text = files.settings.attendance_out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(ATTENDANCE_COLUMNS)
    assert out_rows(files) == [
        {
            "session_id": "ses-oct24",
            "learner_id": "s-leroy",
            "status": "late",
            "justified": "false",
            "minutes_late": "12",
            "minutes_early": "0",
            "comment": "bus, en retard",
            "updated_at": "2026-11-30T11:00:00.000Z",
        },
        {
            "session_id": "ses-oct24",
            "learner_id": "s-nguyen",
            "status": "absent",
            "justified": "true",
            "minutes_late": "0",
            "minutes_early": "0",
            "comment": "",
            "updated_at": "2026-11-30T11:00:00.000Z",
        },
    ]


def test_a_second_write_merges_by_session_and_learner(tmp_path: Path) -> None:
    first = source(tmp_path)
    first.write_marks(
        [
            Mark("ses-oct24", "s-leroy", "absent"),
            Mark("ses-oct24", "s-nguyen", "present"),
        ]
    )
    later = source(tmp_path, clock=datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    results = later.write_marks(
        [
            Mark("ses-oct24", "s-leroy", "absent", justified=True),  # changed: replaced
            Mark("ses-oct24", "s-nguyen", "present"),  # unchanged: kept as is
            Mark("ses-oct26", "s-leroy", "left_early", minutes_early=20),  # new: appended
        ]
    )
    assert all(r.written for r in results)
    rows = out_rows(later)
    assert [(r["session_id"], r["learner_id"]) for r in rows] == [
        ("ses-oct24", "s-leroy"),
        ("ses-oct24", "s-nguyen"),
        ("ses-oct26", "s-leroy"),
    ]
    assert (rows[0]["justified"], rows[0]["updated_at"]) == ("true", "2026-12-01T08:00:00.000Z")
    assert rows[1]["updated_at"] == "2026-11-30T11:00:00.000Z"
    assert (rows[2]["status"], rows[2]["minutes_early"]) == ("left_early", "20")


def test_no_change_means_no_write(tmp_path: Path) -> None:
    files = source(tmp_path)
    files.write_marks([Mark("ses-oct24", "s-leroy", "absent")])
    path = files.settings.attendance_out
    before = path.stat().st_mtime_ns
    os.utime(path, ns=(before - 10**9, before - 10**9))
    assert files.write_marks([Mark("ses-oct24", "s-leroy", "absent")])[0].written
    assert path.stat().st_mtime_ns == before - 10**9


def test_the_schools_own_columns_are_kept(tmp_path: Path) -> None:
    files = source(tmp_path)
    path = files.settings.attendance_out
    path.write_text(
        "session_id,learner_id,status,imported\r\nses-oct24,s-leroy,absent,yes\r\n",
        encoding="utf-8",
    )
    files.write_marks([Mark("ses-oct26", "s-leroy", "present")])
    rows = out_rows(files)
    assert rows[0]["imported"] == "yes"
    assert rows[1]["status"] == "present"


def test_a_later_duplicate_in_one_batch_wins(tmp_path: Path) -> None:
    files = source(tmp_path)
    marks = [Mark("ses-oct24", "s-leroy", "absent"), Mark("ses-oct24", "s-leroy", "present")]
    results = files.write_marks(marks)
    assert [r.written for r in results] == [False, True]
    assert "later mark" in results[0].reason
    assert [r["status"] for r in out_rows(files)] == ["present"]


def test_an_unreadable_attendance_file_is_never_overwritten(tmp_path: Path) -> None:
    files = source(tmp_path)
    path = files.settings.attendance_out
    damaged = b'session_id,learner_id,status\r\nses-1,s-1,"absent\r\nses-2,s-2\r\n'
    path.write_bytes(damaged)
    with pytest.raises(SourceError, match="damaged at line"):
        files.write_marks([Mark("ses-oct24", "s-leroy", "absent")])
    assert path.read_bytes() == damaged
    path.write_bytes(b"who,what\r\nx,y\r\n")
    with pytest.raises(SourceError, match="no session_id nor learner_id column"):
        files.write_marks([Mark("ses-oct24", "s-leroy", "absent")])


def test_a_crash_before_the_rename_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = source(tmp_path)
    files.write_marks([Mark("ses-oct24", "s-leroy", "absent")])
    path = files.settings.attendance_out
    before = path.read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(SourceError, match="the previous file is unchanged"):
        files.write_marks([Mark("ses-oct24", "s-leroy", "present")])
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["attendance.csv"]  # no temp left
    monkeypatch.undo()
    files.write_marks([Mark("ses-oct24", "s-leroy", "present")])
    assert [r["status"] for r in out_rows(files)] == ["present"]


# --------------------------------------------------------------------------- check


def test_check_reports_files_versions_counts_and_output(tmp_path: Path) -> None:
    results = {r.name: r for r in source(tmp_path, deltas=(FIXTURES / "delta_v12",)).check()}
    assert results["oneroster"].status == "ok"
    assert "OneRoster 1.2" in results["oneroster"].detail
    assert "users 10 (bulk)" in results["oneroster"].detail
    assert results["oneroster delta 1"].status == "ok"
    assert "users 3 (delta)" in results["oneroster delta 1"].detail
    assert results["sessions"].status == "warning"  # some sessions are rejected
    assert "14 rows or events" in results["sessions"].detail
    assert results["attendance_out"].status == "ok"


def test_check_reports_problems_without_raising(tmp_path: Path) -> None:
    files = FilesSource(
        FilesSettings(
            oneroster=tmp_path / "missing",
            sessions=tmp_path / "missing.ics",
            attendance_out=tmp_path / "no" / "such" / "folder" / "a.csv",
        ),
        PARIS,
    )
    results = {r.name: r for r in files.check()}
    assert {r.status for r in results.values()} == {"error"}
    assert "does not exist" in results["oneroster"].detail
    assert "cannot write in" in results["attendance_out"].detail
