"""Hyperplanning's pure layer: wall-clock times labelled UTC, identity, records, write plans."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbridge.config import Rule
from rollbridge.model import Mark, Session, Window
from rollbridge.sources.hyperplanning import (
    AddAbsence,
    AddLateness,
    BuildOptions,
    HpAbsence,
    HpBuild,
    HpCourse,
    HpExemption,
    HpFamilyIndex,
    HpLateness,
    HpLearner,
    HpPromotion,
    HpRead,
    HpRoom,
    HpSeance,
    HpSection,
    HpSubject,
    HpTdOption,
    HpTeacher,
    HpTutor,
    OwnSpan,
    RemoveAbsence,
    WriteOp,
    WriteOptions,
    as_keys,
    base_id,
    build_snapshot,
    check_base,
    day_fraction_to_minutes,
    key_of,
    lateness_from_zeep,
    monday_of,
    normalise_url,
    parse_session_id,
    plan_mark_write,
    seance_from_zeep,
    seances_from_zeep,
    session_id,
    to_utc,
    wallclock,
    week_monday,
    week_of,
)

PARIS = ZoneInfo("Europe/Paris")
URL = "https://edt.ecole.example/hpsw/"
FIRST_DAY = date(2026, 8, 31)  # a Monday
BASE = base_id(URL, FIRST_DAY)
YEAR = Window(date(2026, 8, 31), date(2027, 7, 31))
TWO_HOURS = 0.0833333

# --- times ------------------------------------------------------------------------------

# 08:30 in Paris on the Friday before and the Monday after each DST change.
DST_CASES = [
    (datetime(2026, 10, 23, 8, 30), datetime(2026, 10, 23, 6, 30, tzinfo=UTC)),
    (datetime(2026, 10, 26, 8, 30), datetime(2026, 10, 26, 7, 30, tzinfo=UTC)),
    (datetime(2027, 3, 26, 8, 30), datetime(2027, 3, 26, 7, 30, tzinfo=UTC)),
    (datetime(2027, 3, 29, 8, 30), datetime(2027, 3, 29, 6, 30, tzinfo=UTC)),
]


def _as_zeep(wall: datetime, form: str) -> object:
    """How zeep may hand over a wall-clock time Hyperplanning labelled UTC."""
    return wall.replace(tzinfo=UTC) if form == "datetime" else f"{wall:%Y-%m-%dT%H:%M:%S}Z"


@pytest.mark.parametrize("form", ["datetime", "string"])
@pytest.mark.parametrize(("wall", "utc"), DST_CASES)
def test_wall_clock_labelled_utc_is_local_paris_time(
    wall: datetime, utc: datetime, form: str
) -> None:
    raw = {"Cours": 7, "JourEtHeureDebut": _as_zeep(wall, form), "Duree": TWO_HOURS}
    seance = seance_from_zeep(raw)
    assert seance.starts_wallclock == wall and seance.starts_wallclock.tzinfo is None
    assert to_utc(seance.starts_wallclock, PARIS) == utc

    built = _build(_one_course(seance))
    (session,) = built.snapshot.sessions
    assert session.start_at == utc
    assert session.end_at == utc + timedelta(hours=2)


def test_wallclock_drops_any_offset_and_rounds_to_the_minute() -> None:
    assert wallclock("2025-03-11T08:30:00+01:00") == datetime(2025, 3, 11, 8, 30)
    assert wallclock("2025-03-11T08:29:59.999Z") == datetime(2025, 3, 11, 8, 30)
    assert wallclock(datetime(2025, 3, 11, 8, 30, 29, tzinfo=UTC)) == datetime(2025, 3, 11, 8, 30)
    assert wallclock(date(2025, 3, 11)) == datetime(2025, 3, 11)
    for bad in ("tomorrow", 42, None, ""):
        with pytest.raises(ValueError, match="not a date-time"):
            wallclock(bad)


def test_time_in_the_spring_gap_is_rejected_with_a_reason() -> None:
    gap = HpSeance(7, datetime(2027, 3, 28, 2, 30), TWO_HOURS, subject_key=1)
    assert "does not exist in Europe/Paris" in str(to_utc(gap.starts_wallclock, PARIS))
    built = _build(_one_course(gap))
    assert built.snapshot.sessions == ()
    (rejected,) = [r for r in built.snapshot.rejected if r.kind == "session"]
    assert "Maths" in rejected.reason and "course 7" in rejected.reason
    assert "does not exist" in rejected.reason and "2027-03-28 02:30" in rejected.reason


def test_autumn_repeat_reads_as_first_occurrence() -> None:
    assert to_utc(datetime(2026, 10, 25, 2, 30), PARIS) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("days", "minutes"),
    [(TWO_HOURS, 120), (0.083333333333, 120), (0.0625, 90), (1 / 48, 30), (0, 0), ("0.5", 720)],
)
def test_day_fractions_become_minutes(days: object, minutes: int) -> None:
    assert day_fraction_to_minutes(days) == minutes


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "two hours", None, True])
def test_bad_day_fraction_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        day_fraction_to_minutes(bad)


@given(st.integers(min_value=0, max_value=14 * 1440), st.floats(min_value=-1e-7, max_value=1e-7))
def test_day_fraction_round_trips_to_the_minute(minutes: int, noise: float) -> None:
    assert day_fraction_to_minutes(max(0.0, minutes / 1440 + noise)) == minutes


def test_hp_weeks_count_from_the_base_first_week() -> None:
    assert week_of(FIRST_DAY, FIRST_DAY) == 1
    assert week_of(date(2026, 9, 6), FIRST_DAY) == 1  # Sunday of week 1
    assert week_of(date(2026, 9, 7), FIRST_DAY) == 2
    assert week_of(date(2026, 10, 26), FIRST_DAY) == 9
    assert week_monday(9, FIRST_DAY) == date(2026, 10, 26)
    assert week_of(date(2026, 8, 30), FIRST_DAY) == 0


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_week_monday_inverts_week_of(day: date) -> None:
    assert week_monday(week_of(day, FIRST_DAY), FIRST_DAY) == monday_of(day)


# --- raw zeep values ---------------------------------------------------------------------


def test_arrays_come_bare_wrapped_or_none() -> None:
    assert as_keys(None) == ()
    assert as_keys([12, "14", 12]) == (12, 14)
    assert as_keys({"THpSvcWCleSalle": [12, 14]}) == (12, 14)
    assert as_keys({"THpSvcWCleSalle": None}) == ()
    assert as_keys(5) == (5,)
    for bad in (["x"], [-1], [float("inf")], [True], [1.5]):
        with pytest.raises(ValueError, match="not a key"):
            as_keys(bad)


def test_seance_fields_and_unreadable_seances() -> None:
    good = {
        "Cours": 7,
        "JourEtHeureDebut": "2026-10-23T08:30:00Z",
        "Duree": TWO_HOURS,
        "Matiere": 1,
        "TypeCours": "TD",
        "TableauSalle": {"THpSvcWCleSalle": [3]},
        "TableauEnseignant": [21, 22],
    }
    seances, rejected = seances_from_zeep([good, {**good, "Duree": -1}, {"Cours": 8}, "junk"])
    assert seances == (
        HpSeance(7, datetime(2026, 10, 23, 8, 30), TWO_HOURS, None, 1, "TD", (3,), (21, 22)),
    )
    assert [r.source_id for r in rejected] == ["course 7", "course 8", "#3"]
    assert "no JourEtHeureDebut" in rejected[1].reason
    assert seances_from_zeep(None) == ((), ())


def test_lateness_from_zeep() -> None:
    late = lateness_from_zeep("2026-10-23T08:30:00Z", 10 / 1440, "true")
    assert late == HpLateness(datetime(2026, 10, 23, 8, 30), datetime(2026, 10, 23, 8, 40), True)


# --- identity ----------------------------------------------------------------------------


def test_base_id_ignores_url_spelling_but_not_server_or_year() -> None:
    same = [
        "https://EDT.ecole.example/hpsw",
        "https://edt.ecole.example:443/hpsw/wsdl",
        "https://user:pw@edt.ecole.example//hpsw/wsdl/IHpSvcWCours?x=1#f",
    ]
    assert {base_id(url, FIRST_DAY) for url in same} == {BASE}
    assert "pw" not in normalise_url(same[2])
    assert base_id(URL, date(2027, 8, 30)) != BASE
    assert base_id("https://edt.autre.example/hpsw/", FIRST_DAY) != BASE
    assert base_id("https://edt.ecole.example/hpsw/2019-2020/", FIRST_DAY) != BASE


def test_ids_read_back_only_in_their_base() -> None:
    sid = session_id(BASE, 7, 9)
    ref = parse_session_id(sid, BASE)
    assert ref is not None and (ref.course_key, ref.week) == (7, 9)
    assert parse_session_id(sid, "otherbase") is None
    assert key_of(f"{BASE}:learner:42", BASE, "learner") == 42
    assert key_of(f"{BASE}:learner:42", BASE, "instructor") is None
    assert key_of(f"{BASE}:learner:42", "otherbase", "learner") is None


def test_keys_differ_across_bases() -> None:
    read = _school()
    first = _build(read).snapshot
    second = _build(read, base=base_id(URL, date(2027, 8, 30))).snapshot
    ids_first = {p.source_id for p in first.people} | {s.source_id for s in first.sessions}
    ids_second = {p.source_id for p in second.people} | {s.source_id for s in second.sessions}
    assert ids_first and ids_second and ids_first.isdisjoint(ids_second)


# --- records -----------------------------------------------------------------------------

SUBJECTS = (HpSubject(1, "Maths", "MAT"), HpSubject(2, "Anglais", "ANG"))
TEACHERS = (
    HpTeacher(21, "Curie", "Marie", "marie.curie@ecole.example", "MC"),
    HpTeacher(22, "Sans", "Courriel", None, "SC"),
)
STUDENT_FAMILIES = HpFamilyIndex(
    families={100: "Contrat", 101: "Site"},
    sections={
        110: HpSection(110, 100, "Apprentissage"),
        111: HpSection(111, 100, "Professionnalisation"),
        120: HpSection(120, 101, "Paris"),
    },
)
COURSE_FAMILIES = HpFamilyIndex(
    families={200: "Modalité"},
    sections={
        210: HpSection(210, 200, "Distanciel"),
        211: HpSection(211, 200, "Autonomie"),
        212: HpSection(212, 200, "Présentiel"),
    },
)
MONDAY = datetime(2026, 10, 26, 8, 30)  # in HP week 9 of a base starting 2026-08-31


def _build(
    read: HpRead, *, base: str = BASE, options: BuildOptions | None = None, window: Window = YEAR
) -> HpBuild:
    return build_snapshot(
        read, base=base, first_day=FIRST_DAY, tz=PARIS, window=window, options=options
    )


def _one_course(*seances: HpSeance) -> HpRead:
    return HpRead(
        courses=(HpCourse(7, subject_key=1),), seances=seances, subjects=SUBJECTS, teachers=TEACHERS
    )


def _seance(course: int, wall: datetime, **changes: object) -> HpSeance:
    seance = HpSeance(course, wall, TWO_HOURS, subject_key=1, room_keys=(3,), teacher_keys=(21,))
    return replace(seance, **changes)  # type: ignore[arg-type]


def _school() -> HpRead:
    """Five courses (one parent, one unplaced), four learners (one nameless), two families."""
    return HpRead(
        courses=(
            HpCourse(1, subject_key=1, course_type="CM", memo="Salle info", promotion_keys=(50,)),
            HpCourse(2, subject_key=2, td_keys=(60,), learner_keys=(31, 33), section_keys=(211,)),
            HpCourse(3, is_parent=True, subject_key=1, promotion_keys=(50,)),
            HpCourse(4, is_placed=False, subject_key=1, promotion_keys=(50,)),
            HpCourse(
                5, subject_key=1, promotion_keys=(50,), section_keys=(210, 212), teacher_keys=(22,)
            ),
        ),
        seances=(
            _seance(1, MONDAY),
            _seance(1, MONDAY + timedelta(days=2)),  # a second séance of course 1 in week 9
            _seance(1, MONDAY + timedelta(days=7)),
            _seance(2, MONDAY, subject_key=None, course_type="TD", room_keys=(3, 4)),
            _seance(3, MONDAY),
            _seance(4, MONDAY),
            _seance(5, MONDAY + timedelta(hours=3), teacher_keys=()),
        ),
        learners=(
            HpLearner(
                31, "Durand", "Léa", "lea@ecole.example", "B31", None, (50,), (110, 111, 120)
            ),
            HpLearner(32, "Martin", "Hugo", None, None, None, (50,), (111,)),
            HpLearner(33, "Petit", "Inès", "ines@ecole.example"),
            HpLearner(34, " ", ""),
        ),
        teachers=TEACHERS,
        rooms=(HpRoom(3, "Amphi A", "A001", "Amphithéâtre A"), HpRoom(4, "", "B204", "Labo B")),
        subjects=SUBJECTS,
        promotions=(HpPromotion(50, "BTS SIO 1"),),
        td_options=(HpTdOption(60, "gr1", 50, learner_keys=(31,)),),
        tutors=(HpTutor("900", "Maître", "Paul", "paul@entreprise.example", learner_keys=(31,)),),
        exemptions=(HpExemption(32, subject_key=1), HpExemption(31, None, date(2026, 11, 1))),
        student_families=STUDENT_FAMILIES,
        course_families=COURSE_FAMILIES,
    )


def _sid(kind: str, key: int | str) -> str:
    return f"{BASE}:{kind}:{key}"


def _sessions_by_id() -> dict[str, Session]:
    return {s.source_id: s for s in _build(_school()).snapshot.sessions}


def test_parent_and_unplaced_courses_give_no_sessions() -> None:
    courses = {parse_session_id(sid, BASE).course_key for sid in _sessions_by_id()}  # type: ignore[union-attr]
    assert courses == {1, 2, 5}


def test_two_seances_in_one_week_fall_back_to_start_and_are_reported() -> None:
    built = _build(_school())
    ids = {s.source_id for s in built.snapshot.sessions}
    assert f"{BASE}:session:1:at20261026T0830" in ids
    assert f"{BASE}:session:1:at20261028T0830" in ids
    assert session_id(BASE, 1, 10) in ids  # the next week has one séance: (course, week)
    assert session_id(BASE, 2, 9) in ids and session_id(BASE, 1, 9) not in ids
    assert any("course 1 has 2 séances in HP week 9" in w for w in built.warnings)
    ref = parse_session_id(f"{BASE}:session:1:at20261028T0830", BASE)
    assert ref is not None and ref.start_wall == datetime(2026, 10, 28, 8, 30)


def test_same_course_same_start_twice_is_rejected() -> None:
    built = _build(_one_course(_seance(7, MONDAY), _seance(7, MONDAY)))
    assert len(built.snapshot.sessions) == 1
    assert any("two séances starting 2026-10-26 08:30" in r.reason for r in built.snapshot.rejected)


def test_session_fields() -> None:
    sessions = _sessions_by_id()
    first = sessions[f"{BASE}:session:1:at20261026T0830"]
    assert first.name == "Maths"
    assert first.instructor_ids == (_sid("instructor", 21),)
    assert first.group_ids == (_sid("promotion", 50),) and first.learner_ids == ()
    assert (first.room_name, first.room_code) == ("Amphi A", "A001")
    english = sessions[session_id(BASE, 2, 9)]
    assert english.name == "Anglais"  # the course's subject when the séance names none
    assert english.group_ids == (_sid("td", 60),)
    assert english.learner_ids == (_sid("learner", 33),)  # 31 already comes with the TD
    assert (english.room_name, english.room_code) == ("Amphi A, Labo B", "A001, B204")
    fifth = sessions[session_id(BASE, 5, 9)]
    assert fifth.instructor_ids == (_sid("instructor", 22),)  # the course's, séance has none
    assert fifth.start_at == datetime(2026, 10, 26, 10, 30, tzinfo=UTC)


def test_session_name_options() -> None:
    options = BuildOptions(name_with_course_type=True, name_with_memo=True)
    sessions = {s.source_id: s for s in _build(_school(), options=options).snapshot.sessions}
    assert sessions[session_id(BASE, 1, 10)].name == "Maths – CM – Salle info"
    assert sessions[session_id(BASE, 2, 9)].name == "Anglais – TD"


def test_people_groups_and_memberships() -> None:
    snapshot = _build(_school()).snapshot
    people = {p.source_id: p for p in snapshot.people}
    lea = people[_sid("learner", 31)]
    assert (lea.email, lea.badge_id, lea.role) == ("lea@ecole.example", "B31", "learner")
    assert people[_sid("learner", 32)].email is None
    no_mail = people[_sid("instructor", 22)]  # kept: shaping rejects or uses the fallback
    assert no_mail.role == "instructor" and no_mail.email is None
    assert _sid("learner", 34) not in people
    assert any(
        r.source_id == _sid("learner", 34) and "no name" in r.reason for r in snapshot.rejected
    )
    assert {g.name for g in snapshot.groups} == {"BTS SIO 1", "BTS SIO 1 gr1"}
    assert {(m.learner_id, m.group_id) for m in snapshot.memberships} == {
        (_sid("learner", 31), _sid("promotion", 50)),
        (_sid("learner", 32), _sid("promotion", 50)),
        (_sid("learner", 31), _sid("td", 60)),
    }
    assert snapshot.complete


def test_learners_carry_every_section_of_each_student_family() -> None:
    people = {p.source_id: p for p in _build(_school()).snapshot.people}
    assert people[_sid("learner", 31)].attrs == {
        ("family:Contrat", "Apprentissage"),
        ("family:Contrat", "Professionnalisation"),
        ("family:Site", "Paris"),
    }
    rule = Rule(attrs={"family:Contrat": ("Professionnalisation",)})
    chosen = {p.source_id for p in people.values() if p.role == "learner" and rule.matches(p.attrs)}
    assert chosen == {_sid("learner", 31), _sid("learner", 32)}


def test_course_family_attrs_allow_include_and_exclude_rules() -> None:
    sessions = _sessions_by_id()
    courses = {1: session_id(BASE, 1, 10), 2: session_id(BASE, 2, 9), 5: session_id(BASE, 5, 9)}

    def taken(rule: Rule) -> set[int]:
        return {key for key, sid in courses.items() if rule.matches(sessions[sid].attrs)}

    assert ("course_family:Modalité", "Autonomie") in sessions[courses[2]].attrs
    assert taken(Rule(attrs={"course_family:Modalité": ("Distanciel",)})) == {5}
    assert taken(Rule(match="none", attrs={"course_family:Modalité": ("Autonomie",)})) == {1, 5}
    exclude_two = Rule(match="none", attrs={"course_family:Modalité": ("Autonomie", "Distanciel")})
    assert taken(exclude_two) == {1}


def test_exemptions_by_subject_and_global_with_period() -> None:
    sessions = _sessions_by_id()
    assert sessions[f"{BASE}:session:1:at20261026T0830"].exempt_learner_ids == (
        _sid("learner", 32),
    )
    assert sessions[session_id(BASE, 1, 10)].exempt_learner_ids == (
        _sid("learner", 31),  # global exemption from 2026-11-01
        _sid("learner", 32),  # Maths
    )
    assert sessions[session_id(BASE, 2, 9)].exempt_learner_ids == ()  # Anglais, before Nov


def test_tutors_only_when_asked() -> None:
    off = _build(_school()).snapshot
    assert not [p for p in off.people if p.role == "tutor"] and off.tutor_links == ()
    on = _build(_school(), options=BuildOptions(tutors=True)).snapshot
    (tutor,) = [p for p in on.people if p.role == "tutor"]
    assert tutor.source_id == _sid("tutor", "900") and tutor.email == "paul@entreprise.example"
    assert [(t.learner_id, t.tutor_id) for t in on.tutor_links] == [
        (_sid("learner", 31), tutor.source_id)
    ]


def test_window_leaves_out_sessions_outside_it() -> None:
    week_9 = Window(date(2026, 10, 26), date(2026, 11, 1))
    ids = {s.source_id for s in _build(_school(), window=week_9).snapshot.sessions}
    assert session_id(BASE, 1, 10) not in ids and session_id(BASE, 2, 9) in ids


def test_bad_data_is_rejected_never_raised() -> None:
    read = HpRead(
        courses=(HpCourse(7, subject_key=1),),
        seances=(
            _seance(7, MONDAY, duration_days=0.0),
            _seance(8, MONDAY),  # a course Hyperplanning did not list
            _seance(7, MONDAY + timedelta(days=1), teacher_keys=(99,)),
        ),
        subjects=SUBJECTS,
        teachers=TEACHERS,
    )
    built = _build(read)
    reasons = " | ".join(r.reason for r in built.snapshot.rejected)
    assert "lasts no time" in reasons
    assert "course 8" in reasons
    assert "instructor 99, named by course 7" in reasons
    (session,) = built.snapshot.sessions
    assert session.instructor_ids == ()


def test_empty_read_is_not_complete() -> None:
    assert not _build(HpRead()).snapshot.complete


# --- the yearly base change --------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_day", "previous", "status", "severity"),
    [
        (date(2026, 8, 31), None, "ok", "ok"),
        (date(2026, 8, 31), BASE, "ok", "ok"),
        (date(2026, 6, 1), None, "ok", "ok"),  # a base opened early in the summer
        (date(2025, 9, 1), None, "last_year", "warning"),
        (date(2027, 8, 30), None, "later_year", "warning"),
        (date(2026, 8, 31), "0123456789", "switched", "stop"),
    ],
)
def test_check_base(first_day: date, previous: str | None, status: str, severity: str) -> None:
    verdict = check_base(
        first_day, date(2026, 9, 1), date(2027, 7, 31), previous, base_id=base_id(URL, first_day)
    )
    assert (verdict.status, verdict.severity) == (status, severity)
    assert (
        verdict.as_check().status == {"ok": "ok", "warning": "warning", "stop": "error"}[severity]
    )
    if status == "last_year":
        assert "last year's planning" in verdict.message
    if status == "switched":
        assert "stopped" in verdict.message and "mid-year" in verdict.message


# --- write-back planning -----------------------------------------------------------------

START = datetime(2026, 10, 26, 8, 30)
END = datetime(2026, 10, 26, 10, 30)
LEARNER = 31


def _mark(status: str = "absent", **changes: object) -> Mark:
    return Mark(f"{BASE}:session:1:w9", f"{BASE}:learner:31", status, **changes)  # type: ignore[arg-type]


def _plan(mark: Mark, **kwargs: object) -> tuple[tuple[WriteOp, ...], bool, str]:
    plan = plan_mark_write(
        mark,
        learner_key=LEARNER,
        seance_start=START,
        seance_end=END,
        **kwargs,  # type: ignore[arg-type]
    )
    result = plan.result()
    return plan.ops, result.written, result.reason


def test_absent_adds_one_span_with_the_justified_flag() -> None:
    assert _plan(_mark()) == ((AddAbsence(LEARNER, START, END, False),), True, "")
    assert _plan(_mark(justified=True)) == ((AddAbsence(LEARNER, START, END, True),), True, "")


def test_justified_flip_removes_our_span_then_adds_it_again() -> None:
    ours = [OwnSpan("absence", START, END, False)]
    held = [HpAbsence(START, END, False)]
    ops, written, _ = _plan(_mark(justified=True), absences=held, own=ours)
    assert ops == (RemoveAbsence(LEARNER, START, END), AddAbsence(LEARNER, START, END, True))
    assert written


def test_same_absence_again_writes_nothing() -> None:
    ours = [OwnSpan("absence", START, END, True)]
    assert _plan(_mark(justified=True), absences=[HpAbsence(START, END, True)], own=ours) == (
        (),
        True,
        "",
    )


def test_present_after_our_absence_removes_only_our_span() -> None:
    ours = [OwnSpan("absence", START, END, False)]
    held = [HpAbsence(START, END, False), HpAbsence(END, END + timedelta(hours=2), True)]
    ops, written, _ = _plan(_mark("present"), absences=held, own=ours)
    assert ops == (RemoveAbsence(LEARNER, START, END),)
    assert written


def test_present_never_touches_a_staff_span() -> None:
    day = HpAbsence(datetime(2026, 10, 26, 8), datetime(2026, 10, 26, 18), True)
    ops, written, reason = _plan(_mark("present"), absences=[day])
    assert ops == () and not written
    assert "never removes or splits" in reason and "2026-10-26 08:00–18:00" in reason


def test_absent_under_a_staff_span() -> None:
    day = HpAbsence(datetime(2026, 10, 26, 8), datetime(2026, 10, 26, 18), True)
    assert _plan(_mark(justified=True), absences=[day]) == ((), True, "")  # already said
    ops, written, reason = _plan(_mark(), absences=[day])
    assert ops == () and not written and "justified absence" in reason and "never changes" in reason


def test_absent_beside_a_staff_span_writes_only_the_rest() -> None:
    morning = HpAbsence(datetime(2026, 10, 26, 8), datetime(2026, 10, 26, 9, 30), False)
    ops, written, _ = _plan(_mark(), absences=[morning])
    assert ops == (AddAbsence(LEARNER, datetime(2026, 10, 26, 9, 30), END, False),)
    assert written


def test_late_with_the_lateness_call() -> None:
    options = WriteOptions(lateness_call=True)
    ops, written, _ = _plan(_mark("late", minutes_late=10), options=options)
    assert ops == (AddLateness(LEARNER, START, START + timedelta(minutes=10), False),)
    assert written


def test_late_fallbacks() -> None:
    ops, written, reason = _plan(_mark("late", minutes_late=10))
    assert ops == () and not written and "late_fallback is skip" in reason
    options = WriteOptions(late_fallback="absence_span")
    ops, written, _ = _plan(_mark("late", minutes_late=10, justified=True), options=options)
    assert ops == (AddAbsence(LEARNER, START, START + timedelta(minutes=10), True),)
    assert written


def test_late_after_our_absence_replaces_it() -> None:
    ours = [OwnSpan("absence", START, END, False)]
    options = WriteOptions(lateness_call=True)
    ops, written, _ = _plan(
        _mark("late", minutes_late=5),
        absences=[HpAbsence(START, END, False)],
        own=ours,
        options=options,
    )
    assert ops == (
        RemoveAbsence(LEARNER, START, END),
        AddLateness(LEARNER, START, START + timedelta(minutes=5), False),
    )
    assert written


def test_lateness_we_wrote_cannot_be_removed() -> None:
    late = HpLateness(START, START + timedelta(minutes=5))
    ours = [OwnSpan("lateness", late.start_wall, late.end_wall)]
    ops, written, reason = _plan(_mark("present"), lateness=[late], own=ours)
    assert ops == () and not written and "remove it by hand" in reason


def test_left_early_fallbacks() -> None:
    ops, written, reason = _plan(_mark("left_early", minutes_early=15))
    assert ops == () and not written and "left_early_fallback is skip" in reason
    options = WriteOptions(left_early_fallback="absence_span")
    ops, written, _ = _plan(_mark("left_early", minutes_early=15), options=options)
    assert ops == (AddAbsence(LEARNER, END - timedelta(minutes=15), END, False),)
    assert written


def test_no_absence_for_exempt_learners_or_optional_courses() -> None:
    ops, written, reason = _plan(_mark(), exempt=True)
    assert ops == () and not written and "exempted" in reason
    ops, written, reason = _plan(_mark(), compulsory=False)
    assert ops == () and not written and "PresenceObligatoireCours" in reason
    ops, _, _ = _plan(_mark(), exempt=True, options=WriteOptions(absences_for_exempt=True))
    assert ops == (AddAbsence(LEARNER, START, END, False),)


# --- write plans as properties: staff spans untouched, replanning is a no-op ---------------

_minutes = st.integers(min_value=-60, max_value=180)


@st.composite
def _staff_spans(draw: st.DrawFn) -> list[HpAbsence]:
    spans = []
    for _ in range(draw(st.integers(0, 2))):
        start = START + timedelta(minutes=draw(_minutes))
        length = timedelta(minutes=draw(st.integers(1, 300)))
        spans.append(HpAbsence(start, start + length, draw(st.booleans())))
    return spans


_marks = st.builds(
    Mark,
    st.just("s"),
    st.just("l"),
    st.sampled_from(["present", "absent", "late", "left_early"]),
    st.booleans(),
    st.integers(0, 150),
    st.integers(0, 150),
)
_options = st.builds(
    WriteOptions,
    st.booleans(),
    st.sampled_from(["skip", "absence_span"]),
    st.sampled_from(["skip", "absence_span"]),
)


def _apply(
    ops: tuple[WriteOp, ...], absences: list[HpAbsence], lateness: list[HpLateness]
) -> tuple[list[HpAbsence], list[HpLateness]]:
    """A Hyperplanning that stores spans as written, removing exact spans only."""
    absences, lateness = list(absences), list(lateness)
    for op in ops:
        if isinstance(op, RemoveAbsence):
            absences = [
                a for a in absences if (a.start_wall, a.end_wall) != (op.start_wall, op.end_wall)
            ]
        elif isinstance(op, AddAbsence):
            absences.append(HpAbsence(op.start_wall, op.end_wall, op.justified))
        else:
            lateness.append(HpLateness(op.start_wall, op.end_wall, op.justified))
    return absences, lateness


@settings(max_examples=300, deadline=None)
@given(_staff_spans(), st.lists(_marks, min_size=1, max_size=4), _options)
def test_staff_spans_survive_and_replanning_writes_nothing(
    staff: list[HpAbsence], marks: list[Mark], options: WriteOptions
) -> None:
    absences: list[HpAbsence] = list(staff)
    lateness: list[HpLateness] = []
    own: tuple[OwnSpan, ...] = ()
    for mark in marks:  # Edusign changes its mind a few times
        plan = plan_mark_write(
            mark,
            learner_key=LEARNER,
            seance_start=START,
            seance_end=END,
            absences=absences,
            lateness=lateness,
            own=own,
            options=options,
        )
        staff_spans = {(a.start_wall, a.end_wall) for a in staff}
        for op in plan.ops:
            if isinstance(op, RemoveAbsence):
                assert (op.start_wall, op.end_wall) not in staff_spans
            if isinstance(op, AddAbsence):
                assert all(
                    op.end_wall <= a.start_wall or a.end_wall <= op.start_wall for a in staff
                )
        absences, lateness = _apply(plan.ops, absences, lateness)
        own = plan.own_after
        assert all(a in absences for a in staff)
        again = plan_mark_write(
            mark,
            learner_key=LEARNER,
            seance_start=START,
            seance_end=END,
            absences=absences,
            lateness=lateness,
            own=own,
            options=options,
        )
        assert again.ops == ()
        assert again.own_after == plan.own_after
