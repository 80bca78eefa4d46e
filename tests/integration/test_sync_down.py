"""Sync down against the Edusign emulator over real HTTP, with the "files" source."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from rollbridge.errors import RollbridgeError
from rollbridge.sandbox.edusign_server import EdusignSandbox
from rollbridge.store import Store

from .harness import API_KEY, Harness
from .tiny_school import TinySchool


@pytest.fixture
def harness(
    tmp_path: Path, edusign: EdusignSandbox, store: Store, tenant: str, first_day: date
) -> Harness:
    edusign.add_school(API_KEY)
    school = TinySchool.build(tmp_path / "school", first_day)
    return Harness(school, edusign, store, tenant)


def api_id_counts(h: Harness) -> Counter[str]:
    state = h.state()
    return Counter(
        obj["API_ID"]
        for kind in ("students", "professors", "groups", "courses", "externals")
        for obj in state[kind]
    )


def test_first_sync_creates_everything_once_and_second_writes_nothing(harness: Harness) -> None:
    report = harness.down()
    assert report.status == "ok", report.error
    state = harness.state()
    assert (len(state["students"]), len(state["professors"]), len(state["groups"])) == (8, 2, 2)
    assert len(state["externals"]) == 2
    assert len(state["courses"]) == 20
    assert harness.sandbox.writes() == 8 + 2 + 2 + 2 + 20  # one write per object
    assert max(api_id_counts(harness).values()) == 1
    harness.sandbox.clear_log()
    again = harness.down()
    assert again.status == "ok"
    assert harness.sandbox.writes() == 0
    assert sum(a.unchanged for a in again.accounts) == 34


def test_lost_reply_on_create_does_not_duplicate(harness: Harness) -> None:
    harness.sandbox.fault("apply_then_stall", times=3, method="POST", path="/v1/course", seconds=4)
    report = harness.down()
    assert report.status == "ok", (report.error, report.accounts[0].failures)
    assert harness.sandbox.duplicate_api_ids(API_KEY) == []
    assert len(harness.courses()) == 20


def test_learner_already_in_edusign_is_adopted_by_email(harness: Harness) -> None:
    harness.sandbox.seed_student(
        API_KEY, {"FIRSTNAME": "Old", "LASTNAME": "Record", "EMAIL": "eleve2@cfa.test"}
    )
    report = harness.down()
    assert report.accounts[0].adopted == 1
    students = [s for s in harness.state()["students"] if s["EMAIL"] == "eleve2@cfa.test"]
    assert len(students) == 1
    assert students[0]["FIRSTNAME"] == "Élève2" and students[0]["API_ID"].startswith("rbs-")


def test_empty_read_deletes_nothing(harness: Harness) -> None:
    """Every file emptied (an export that ran before the data was there): nothing removed.
    A read failing part-way is in test_sync_contract, for every source."""
    harness.down()
    harness.sandbox.clear_log()
    for path in harness.school.oneroster.glob("*.csv"):
        if path.name != "manifest.csv":
            path.write_text(
                path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8"
            )
    harness.school.sessions_csv.write_text(
        harness.school.sessions_csv.read_text(encoding="utf-8").splitlines()[0] + "\n"
    )
    from rollbridge.engine import sync_down

    report = sync_down(harness.ctx())
    assert report.read_complete is False
    assert harness.sandbox.writes() == 0
    assert len(harness.courses()) == 20


@pytest.mark.parametrize("broken", ["users.csv", "enrollments.csv"])
def test_a_file_cut_short_edits_nothing(harness: Harness, broken: str) -> None:
    """Learners or enrollments read half-way would shrink groups and courses: the changes
    wait for a complete read."""
    harness.down()
    harness.sandbox.clear_log()
    harness.school.write()
    path = harness.school.oneroster / broken
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2] + '"unterminated', encoding="utf-8")
    from rollbridge.engine import sync_down

    report = sync_down(harness.ctx())
    assert report.read_complete is False
    assert harness.sandbox.writes() == 0, harness.sandbox.counts()
    assert report.accounts[0].deferred > 0
    again = harness.down()  # the export fixed: nothing had changed
    assert again.status == "ok" and harness.sandbox.writes() == 0


def test_signed_session_removed_from_source_is_kept_as_conflict(harness: Harness) -> None:
    harness.down()
    course = harness.course("ses-005a")
    harness.sandbox.sign(API_KEY, course["ID"], course["STUDENTS"][0]["studentId"])
    harness.school.sessions = [s for s in harness.school.sessions if s["session_id"] != "ses-005a"]
    report = harness.down()
    assert report.status == "ok"
    assert [c.key for c in report.accounts[0].conflicts] == ["session:ses-005a"]
    assert "signatures" in report.accounts[0].conflicts[0].reason
    assert any(c["ID"] == course["ID"] for c in harness.courses())


def test_signed_session_changed_in_source_is_not_edited(harness: Harness) -> None:
    harness.down()
    course = harness.course("ses-006b")
    harness.sandbox.sign(API_KEY, course["ID"], course["STUDENTS"][0]["studentId"])
    harness.school.session("ses-006b")["title"] = "Anglais (renamed)"
    harness.sandbox.clear_log()
    report = harness.down()
    assert harness.sandbox.writes() == 0
    assert [c.key for c in report.accounts[0].conflicts] == ["session:ses-006b"]
    assert harness.course("ses-006b")["STUDENTS"][0]["state"] is True


def test_past_session_is_never_edited(harness: Harness) -> None:
    harness.down()
    harness.now = harness.now + timedelta(days=4)  # ses-001a … ses-003b are over
    harness.school.session("ses-001a")["title"] = "Changed afterwards"
    harness.sandbox.clear_log()
    report = harness.down()
    assert harness.sandbox.writes() == 0
    assert [c.key for c in report.accounts[0].conflicts] == ["session:ses-001a"]


def test_bad_input_is_skipped_with_reasons_and_the_rest_synced(
    harness: Harness, first_day: date
) -> None:
    school = harness.school
    school.user("stu-7")["email"] = "jean.dupont@"
    school.add_session("ses-bad-end", "Backwards", first_day, "12:00", "11:00", "cls-a", "tea-1")
    school.add_session(
        "ses-bad-group", "Ghost group", first_day, "12:00", "13:00", "cls-zzz", "tea-1"
    )
    school.extra_session_lines.append('ses-bad-row,"Broken,2026-12-01T10:00')
    report = harness.down()
    assert report.status == "ok", report.error
    reasons = {(p.kind, p.key): p.reason for p in report.rejected}
    assert "valid e-mail" in reasons[("learner", "stu-7")]
    assert any(key == "ses-bad-end" for _, key in reasons)
    assert any(key == "ses-bad-group" and "group" in reason for (_, key), reason in reasons.items())
    assert any("sessions.csv" in key or "ses-bad-row" in key for _, key in reasons), reasons
    state = harness.state()
    assert len(state["students"]) == 7
    assert len(state["courses"]) == 20
    assert "eleve7@cfa.test" not in {s["EMAIL"] for s in state["students"]}


def test_paris_sessions_across_dst_land_at_the_right_instants(harness: Harness) -> None:
    school = harness.school
    school.add_session(
        "dst-oct-before", "Avant", date(2026, 10, 23), "09:00", "10:00", "cls-a", "tea-1"
    )
    school.add_session(
        "dst-oct-after", "Après", date(2026, 10, 26), "09:00", "10:00", "cls-a", "tea-1"
    )
    school.add_session(
        "dst-mar-before", "Avant", date(2027, 3, 26), "09:00", "10:00", "cls-a", "tea-1"
    )
    school.add_session(
        "dst-mar-after", "Après", date(2027, 3, 29), "09:00", "10:00", "cls-a", "tea-1"
    )
    school.add_session(
        "dst-gap", "N'existe pas", date(2027, 3, 28), "02:30", "03:30", "cls-a", "tea-1"
    )
    harness.now = harness.now.replace(month=10, day=20)
    report = harness.down()
    starts = {
        sid: harness.course(sid)["START"]
        for sid in ("dst-oct-before", "dst-oct-after", "dst-mar-before", "dst-mar-after")
    }
    assert starts == {
        "dst-oct-before": "2026-10-23T07:00:00.000Z",
        "dst-oct-after": "2026-10-26T08:00:00.000Z",
        "dst-mar-before": "2027-03-26T08:00:00.000Z",
        "dst-mar-after": "2027-03-29T07:00:00.000Z",
    }
    gap = [p for p in report.rejected if p.key == "dst-gap"]
    assert gap and "does not exist" in gap[0].reason


def test_options_room_code_fixed_room_and_fallback_instructor(
    harness: Harness, first_day: date
) -> None:
    # A study class has no teacher at all: its sessions need the fallback instructor.
    harness.school.classes.append(
        {"sourcedId": "cls-etude", "title": "Étude dirigée", "classCode": "ETUDE"}
    )
    harness.school.enrol("stu-1", "cls-etude", "student")
    harness.school.add_session(
        "ses-noprof", "Autonomie", first_day, "16:45", "18:00", "cls-etude", ""
    )
    harness.options = {"room_label": "code", "fallback_instructor_email": "formateur@cfa.test"}
    harness.down()
    assert harness.course("ses-001a")["CLASSROOM"] == "B204"
    fallback = next(p for p in harness.state()["professors"] if p["EMAIL"] == "formateur@cfa.test")
    assert harness.course("ses-noprof")["PROFESSOR"] == fallback["ID"]
    harness.options = {**harness.options, "fixed_room_name": "Badgeuse NFC"}
    assert harness.down().status == "ok"
    assert {c["CLASSROOM"] for c in harness.courses() if c["START"] > "2026-12"} == {"Badgeuse NFC"}


def test_auth_refused_stops_with_a_clear_error_and_no_secret(harness: Harness) -> None:
    harness.account = {"api_key": "sk-PLANTED-wrong-key"}
    report = harness.down()
    assert report.status == "failed" and report.exit_code() == 1
    assert report.error and "API key" in report.error
    assert "sk-PLANTED" not in str(report.to_dict())


def test_run_lock_refuses_a_concurrent_run(harness: Harness) -> None:
    with (
        harness.store.run_lock(harness.tenant, "down", holder="someone-else"),
        pytest.raises(RollbridgeError),
    ):
        harness.down()
