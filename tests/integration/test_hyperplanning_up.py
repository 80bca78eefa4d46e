"""`sync up` into Hyperplanning, the cases beyond plain absences: early departures, the late
fallback, a justification given later, spans entered by staff, and HPSW failing."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rollbridge.report import RunReport
from rollbridge.timeconv import parse_instant

from .hp_harness import KEY_A, HpHarness, students

PARIS = ZoneInfo("Europe/Paris")


def wall(instant: str) -> datetime:
    """An Edusign UTC instant as Hyperplanning's naive Paris wall-clock time."""
    return parse_instant(instant).astimezone(PARIS).replace(tzinfo=None)


def ops(h: HpHarness) -> Counter[str]:
    return Counter(w["op"] for w in h.hp.writes())


def hp_learner(h: HpHarness, student_id: str) -> int:
    """The Hyperplanning key of an Edusign learner, from the link rollbridge keeps."""
    key = next(
        link.key
        for link in h.store.load_links(h.tenant, "main").values()
        if link.kind == "student" and link.edusign_id == student_id
    )
    return int(key.rsplit(":", 1)[1])


def spans_of(spans: list[dict[str, Any]], learner: int) -> list[tuple[str, str, bool, str]]:
    return sorted(
        (s["start"][:16], s["end"][:16], s["justified"], s["origin"])
        for s in spans
        if s["learner"] == learner
    )


def marked(h: HpHarness, count: int) -> tuple[dict[str, Any], list[str]]:
    """A down run, then an ended course whose first `count` learners the test marks; the
    others signed (unsigned would mean absent)."""
    assert h.down().status == "ok"
    course = h.ended_course(learners=count)
    ids = students(course)
    for student in ids[count:]:
        h.edusign.sign(KEY_A, course["ID"], student)
    h.hp.clear_log()
    return course, ids[:count]


def not_written(report: RunReport) -> list[str]:
    return [p.reason for a in report.accounts for p in a.not_written]


def test_left_early_is_reported_not_written_by_default(h: HpHarness) -> None:
    course, (s1,) = marked(h, 1)
    end = parse_instant(course["END"])
    h.edusign.mark_left_early(KEY_A, course["ID"], s1, at=end - timedelta(minutes=30))
    report = h.up()
    assert any("early departure of 30 min" in reason for reason in not_written(report))
    assert h.hp.writes() == []
    labels = {p.label for a in report.accounts for p in a.not_written}
    assert labels == {f"{course['NAME']} {wall(course['START']):%Y-%m-%d %H:%M}"}
    assert h.up().accounts[0].marks_changed == 0  # reported once, not retried every run


def test_left_early_becomes_an_absence_span_with_the_fallback(h: HpHarness) -> None:
    h.source = {"left_early_fallback": "absence_span"}
    course, (s1,) = marked(h, 1)
    end = parse_instant(course["END"])
    h.edusign.mark_left_early(KEY_A, course["ID"], s1, at=end - timedelta(minutes=30))
    report = h.up()
    assert report.status == "ok", not_written(report)
    assert ops(h) == Counter({"AjouterAbsenceEtudiant": 1})
    departure, finish = wall(course["END"]) - timedelta(minutes=30), wall(course["END"])
    assert spans_of(h.hp.absences(), hp_learner(h, s1)) == [
        (departure.isoformat()[:16], finish.isoformat()[:16], False, "hpsw")
    ]
    h.up()
    assert len(h.hp.writes()) == 1


def test_late_without_a_lateness_call_follows_the_fallback(h: HpHarness) -> None:
    h.hp.hide_operations(["CreerRetardEtudiant"])  # an HPSW version without the call
    course, (s1, s2) = marked(h, 2)
    h.edusign.mark_late(KEY_A, course["ID"], s1, minutes=10)
    h.edusign.sign(KEY_A, course["ID"], s2)
    skipped = h.up()
    assert any("lateness of 10 min not written" in r for r in not_written(skipped))
    assert h.hp.writes() == []

    # Turning the fallback on writes the mark left unwritten and a new one.
    h.source = {"late_fallback": "absence_span"}
    h.edusign.mark_late(KEY_A, course["ID"], s2, minutes=15)
    report = h.up()
    assert report.status == "ok", not_written(report)
    assert ops(h) == Counter({"AjouterAbsenceEtudiant": 2})
    start = wall(course["START"])
    for student, minutes in ((s1, 10), (s2, 15)):
        late = (start + timedelta(minutes=minutes)).isoformat()[:16]
        assert spans_of(h.hp.absences(), hp_learner(h, student)) == [
            (start.isoformat()[:16], late, False, "hpsw")
        ]
    h.up()
    assert len(h.hp.writes()) == 2


def test_a_justification_given_later_replaces_our_absence(h: HpHarness) -> None:
    course, (s1,) = marked(h, 1)
    h.edusign.mark_absent(KEY_A, course["ID"], s1)
    assert h.up().status == "ok"
    learner = hp_learner(h, s1)
    assert [j for _, _, j, _ in spans_of(h.hp.absences(), learner)] == [False]
    h.edusign.justify(KEY_A, course["ID"], s1)
    report = h.up()
    assert report.status == "ok", not_written(report)
    assert [w["op"] for w in h.hp.writes()] == [
        "AjouterAbsenceEtudiant",
        "EnleverAbsenceEtudiant",
        "AjouterAbsenceEtudiant",
    ]
    assert [j for _, _, j, _ in spans_of(h.hp.absences(), learner)] == [True]
    h.up()
    assert len(h.hp.writes()) == 3


def test_spans_entered_by_staff_are_never_changed(h: HpHarness) -> None:
    course, (s1, s2, s3) = marked(h, 3)
    day = wall(course["START"]).replace(hour=0, minute=0)
    whole_day = (day, day + timedelta(hours=23, minutes=59))
    l1, l2, l3 = (hp_learner(h, s) for s in (s1, s2, s3))
    h.hp.add_staff_absence(l1, *whole_day, justified=True, motif="Rendez-vous médical")
    h.hp.add_staff_absence(l2, *whole_day)
    h.edusign.mark_absent(KEY_A, course["ID"], s1)  # unjustified in Edusign
    h.edusign.sign(KEY_A, course["ID"], s2)  # present in Edusign
    h.edusign.mark_absent(KEY_A, course["ID"], s3)
    staff_before = [s for s in h.hp.absences() if s["origin"] == "staff"]
    report = h.up()
    reasons = not_written(report)
    assert any("justified absence entered in Hyperplanning" in r for r in reasons), reasons
    assert any("where Edusign says present" in r for r in reasons), reasons
    assert [s for s in h.hp.absences() if s["origin"] == "staff"] == staff_before
    assert ops(h) == Counter({"AjouterAbsenceEtudiant": 1})  # s3 only
    assert [w["learner"] for w in h.hp.writes()] == [l3]


def test_hpsw_failing_a_read_is_retried_and_a_failed_write_waits_for_the_next_run(
    h: HpHarness,
) -> None:
    course, (s1, s2) = marked(h, 2)
    h.edusign.mark_absent(KEY_A, course["ID"], s1)
    h.edusign.mark_absent(KEY_A, course["ID"], s2)
    h.hp.fail("AbsencesEtudiantEntre2Dates", times=1, status=503)
    h.hp.fail("AjouterAbsenceEtudiant", times=1, status=503)
    first = h.up()
    assert first.status == "partial"
    assert any("503" in r for r in not_written(first)), not_written(first)
    assert ops(h) == Counter({"AjouterAbsenceEtudiant": 1})  # the failed one is not logged
    second = h.up()
    assert second.status == "ok", not_written(second)
    assert ops(h) == Counter({"AjouterAbsenceEtudiant": 2})
    assert {hp_learner(h, s1), hp_learner(h, s2)} == {w["learner"] for w in h.hp.writes()}
    h.up()
    assert len(h.hp.writes()) == 2
