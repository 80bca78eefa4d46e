"""`sync down` and `sync up` end to end: the HPSW emulator → rollbridge → the Edusign emulator,
both over real loopback HTTP."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest

from rollbridge.bootstrap import build_source
from rollbridge.errors import AuthError
from rollbridge.model import Window

from .hp_harness import KEY_A, KEY_B, HpHarness, courses_by_api_id, spring, students


def test_first_down_creates_everything_and_second_writes_nothing(h: HpHarness) -> None:
    report = h.down()
    assert report.status == "ok", (report.error, report.rejected[:5])
    state = h.state()
    assert state["students"] and state["professors"] and state["groups"] and state["courses"]
    assert max(courses_by_api_id(state).values()) == 1
    h.edusign.clear_log()
    again = h.down()
    assert again.status == "ok", again.error
    assert h.edusign.writes() == 0


def test_dst_seances_land_at_the_right_instants(h: HpHarness) -> None:
    quirks = h.hp.quirks()
    h.now, h.year_end = datetime(2027, 3, 22, 4, 0, tzinfo=UTC), "2027-04-02"
    spring = h.down()
    assert spring.status == "ok", spring.error
    h.now, h.year_end = datetime(2026, 10, 19, 4, 0, tzinfo=UTC), "2026-10-30"
    autumn = h.down()
    assert autumn.status == "ok", autumn.error
    starts = {c["START"] for c in h.state()["courses"]}
    seen = set()
    for found in quirks["dst_seances"]:
        day = found["start"][:10]
        if not ("2026-10-19" <= day <= "2026-10-30" or "2027-03-22" <= day <= "2027-04-02"):
            continue
        summer = day < "2026-10-25" or day >= "2027-03-28"
        assert f"{day}T{'06' if summer else '07'}:30:00.000Z" in starts  # 08:30 in Paris
        seen.add(summer)
    assert seen == {True, False}


def test_parents_skipped_no_duplicates_and_rejections_named(h: HpHarness) -> None:
    report = spring(h).down()
    assert report.status == "ok"
    state = h.state()
    assert max(courses_by_api_id(state).values()) == 1
    assert len(
        {(c["START"], c["NAME"], tuple(sorted(students(c)))) for c in state["courses"]}
    ) == len(state["courses"])
    without = set(h.hp.quirks()["courses_without_instructor"])
    assert without
    assert any("instructor" in p.reason for p in report.rejected)
    assert not any(
        f":session:{key}:" in link
        for key in without
        for link in h.store.load_links(h.tenant, "main")
    )


def test_fallback_instructor_room_code_and_fixed_room(h: HpHarness) -> None:
    h.options = {"fallback_instructor_email": "accueil@ecole.test", "room_label": "code"}
    assert spring(h).down().status == "ok"
    without = h.hp.quirks()["courses_without_instructor"]
    links = h.store.load_links(h.tenant, "main")
    assert any(f":session:{key}:" in link for key in without for link in links)
    rooms = {c.get("CLASSROOM") for c in h.state()["courses"]}
    h.options = {
        "fallback_instructor_email": "accueil@ecole.test",
        "fixed_room_name": "Salle NFC 1",
    }
    assert h.down().status == "ok"
    assert {c.get("CLASSROOM") for c in h.state()["courses"]} == {"Salle NFC 1"}
    assert rooms and "Salle NFC 1" not in rooms


def test_learner_filter_by_family_routes_to_two_accounts_with_tags(h: HpHarness) -> None:
    h.edusign.add_school(KEY_B)
    site = "Site"
    h.source = {"student_families": [site], "tags_from_families": [site]}
    snapshot = h.read()
    sections = sorted({v for p in snapshot.people for k, v in p.attrs if k == f"family:{site}"})
    assert len(sections) >= 2
    h.accounts = [
        {
            "name": "main",
            "api_key": KEY_A,
            "learners": {"attrs": {f"family:{site}": [sections[0]]}},
        },
        {
            "name": "other",
            "api_key": KEY_B,
            "learners": {"attrs": {f"family:{site}": [sections[1]]}},
        },
    ]
    report = h.down()
    assert report.status == "ok", report.error
    a, b = h.state(KEY_A)["students"], h.state(KEY_B)["students"]
    assert a and b
    assert any(sections[0] in (s.get("TAGS") or []) for s in a)


def test_course_family_exclusion(h: HpHarness) -> None:
    h.source = {"course_families": ["Modalité"]}
    h.accounts = [
        {
            "name": "main",
            "api_key": KEY_A,
            "sessions": {"match": "none", "attrs": {"course_family:Modalité": ["Autonomie"]}},
        }
    ]
    h.options = {"fallback_instructor_email": "accueil@ecole.test"}
    assert spring(h).down().status == "ok"
    study = h.hp.quirks()["courses_without_instructor"]
    links = h.store.load_links(h.tenant, "main")
    assert links and not any(f":session:{key}:" in link for key in study for link in links)
    h.accounts = []
    assert h.down().status == "ok"
    links = h.store.load_links(h.tenant, "main")
    assert any(f":session:{key}:" in link for key in study for link in links)


def test_sync_up_writes_absences_and_lateness_once(h: HpHarness) -> None:
    assert h.down().status == "ok"
    course = h.ended_course(learners=3)
    cid, (s1, s2, s3, *others) = course["ID"], students(course)
    h.edusign.mark_absent(KEY_A, cid, s1)
    h.edusign.mark_absent(KEY_A, cid, s2)
    h.edusign.justify(KEY_A, cid, s2)
    h.edusign.mark_late(KEY_A, cid, s3, minutes=10)
    for student in others:
        h.edusign.sign(KEY_A, cid, student)
    h.hp.clear_log()
    report = h.up()
    assert report.status == "ok", (report.error, report.accounts[0].not_written)
    ops = Counter(w["op"] for w in h.hp.writes())
    assert ops == Counter({"AjouterAbsenceEtudiant": 2, "CreerRetardEtudiant": 1})
    flags = sorted(a["justified"] for a in h.hp.absences())
    assert flags == [False, True]
    assert all(not w.get("zone_sent") for w in h.hp.writes())
    before = len(h.hp.writes())
    again = h.up()
    assert again.status == "ok"
    assert len(h.hp.writes()) == before


def test_new_base_mid_year_stops_without_deleting(h: HpHarness) -> None:
    assert h.down().status == "ok"
    count = len(h.state()["courses"])
    h.hp.new_base()
    h.edusign.clear_log()
    report = h.down()
    assert report.status == "failed"
    assert "changed mid-year" in (report.error or "")
    assert h.edusign.writes() == 0 and len(h.state()["courses"]) == count


def test_next_years_base_adopts_people_by_email_and_keeps_last_years_sessions(
    h: HpHarness,
) -> None:
    assert h.down().status == "ok"
    last_year = h.state()
    people = {p["EMAIL"]: p["ID"] for p in (*last_year["students"], *last_year["professors"])}
    # Summer: the school opens next year's base (same people, new keys, the timetable a
    # year later) and the tenant's configuration moves to the new school year.
    h.hp.new_base(first_day=date(2027, 8, 30), shift_weeks=52)
    h.year, h.year_end = ("2027-09-01", "2028-07-31"), "2027-10-29"
    h.now = datetime(2027, 10, 18, 4, 0, tzinfo=UTC)
    h.edusign.clear_log()
    report = h.down()
    assert report.status == "ok", (report.error, report.rejected[:3])
    this_year = h.state()
    now_people = {p["EMAIL"]: p["ID"] for p in (*this_year["students"], *this_year["professors"])}
    assert now_people == people  # adopted by e-mail: nobody duplicated, nobody archived
    assert report.accounts[0].adopted == len(people)
    assert not any(p.get("HIDDEN") for p in this_year["students"])
    old_courses = {c["ID"] for c in last_year["courses"]}
    new_courses = {c["ID"] for c in this_year["courses"]} - old_courses
    assert old_courses <= {c["ID"] for c in this_year["courses"]}  # last year's sessions kept
    assert new_courses and all(
        c["START"] >= "2027-10-18" for c in this_year["courses"] if c["ID"] in new_courses
    )
    counts = h.edusign.counts()
    assert not any(k.startswith("DELETE") or "archive" in k for k in counts), counts
    h.edusign.clear_log()
    assert h.down().status == "ok" and h.edusign.writes() == 0


def test_a_failed_part_of_the_read_writes_nothing(h: HpHarness) -> None:
    """Learners not read would shrink every group and course; a room label not read would
    rename sessions: such a read plans nothing, says why, and the next run retries."""
    h.source = {"refresh_hours": 0}  # every per-entity call made (the cache would serve them)
    assert h.down().status == "ok"
    for operation in ("TousLesEtudiants", "LibelleLongSalle"):
        h.edusign.clear_log()
        h.hp.fail(operation, times=1_000, status=503)
        report = h.down()
        assert report.read_complete is False and h.edusign.writes() == 0, h.edusign.counts()
        reasons = [p.reason for p in report.rejected]
        assert any(operation in r for r in reasons) and any(
            "nothing is written" in r for r in reasons
        )
        h.hp.clear_faults()
    assert h.down().status == "ok" and h.edusign.writes() == 0


def test_wrong_password_is_a_clear_error_without_the_secret(h: HpHarness) -> None:
    h.source = {"password": "not-the-password-xyz"}
    source = build_source(h.config())
    checks = source.check()
    assert checks[0].status == "error" and "credentials" in checks[0].detail
    report = h.down()
    assert report.status == "failed"
    assert "credentials" in (report.error or "")
    assert "not-the-password-xyz" not in (report.error or "")
    with pytest.raises(AuthError):
        source.read(Window(h.now.date(), h.now.date()))


def test_check_reports_version_base_write_calls_and_rights(h: HpHarness) -> None:
    results = build_source(h.config()).check()
    assert [r.status for r in results] == ["ok", "ok", "ok", "ok"], results
    h.hp.set_read_only(True)
    refused = build_source(h.config()).check()
    assert refused[-1].status == "error" and "cannot write" in refused[-1].detail, refused


def test_tutors_on_off_and_exemptions_left_out(h: HpHarness) -> None:
    h.options = {"tutors": True}
    snapshot = h.read()
    assert any(p.role == "tutor" for p in snapshot.people) and snapshot.tutor_links
    assert any(s.exempt_learner_ids for s in snapshot.sessions)
    h.options = {}
    off = h.read()
    assert not any(p.role == "tutor" for p in off.people)
    assert h.down().status == "ok"
    exempt = next(s for s in off.sessions if s.exempt_learner_ids)
    course = h.course(exempt.source_id)
    learner = h.link(f"learner:{exempt.exempt_learner_ids[0]}")
    assert learner not in students(course)
