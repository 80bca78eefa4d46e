"""Shaping: options, rejections with reasons, and hashes that only move on real change."""

from __future__ import annotations

from dataclasses import replace

from rollbridge.config import Options
from rollbridge.model import Person, Session, Snapshot, TutorLink, attrs_of
from rollbridge.shaping import FALLBACK_INSTRUCTOR_ID, is_valid_email, shape_account

from .core_builders import T0, ctx, small_snapshot


def test_every_record_becomes_an_edusign_object() -> None:
    desired = shape_account(small_snapshot(), ctx())
    assert {kind: len(v) for kind, v in desired.objects.items()} == {
        "professor": 1,
        "external": 0,
        "student": 4,
        "group": 2,
        "course": 2,
    }
    course = desired.objects["course"]["session:s1"]
    assert dict(course.refs)["STUDENTS"] == ("learner:l1", "learner:l2")
    assert dict(course.refs)["PROFESSOR"] == ("instructor:i1",)
    fields = course.field_dict()
    assert fields["START"] == "2026-12-02T08:00:00.000Z"
    assert fields["CLASSROOM"] == "Salle Turing"
    assert fields["API_ID"].startswith("rbc-")


def test_api_ids_differ_per_account_and_hold_no_personal_data() -> None:
    a = shape_account(small_snapshot(), ctx(account_name="a")).objects["student"]["learner:l1"]
    b = shape_account(small_snapshot(), ctx(account_name="b")).objects["student"]["learner:l1"]
    assert a.api_id != b.api_id
    assert "l1" not in a.api_id and "martin" not in a.api_id.lower()


def test_hash_ignores_record_order_and_moves_on_rename() -> None:
    snap = small_snapshot()
    first = shape_account(snap, ctx())
    reordered = replace(
        snap, people=tuple(reversed(snap.people)), memberships=tuple(reversed(snap.memberships))
    )
    again = shape_account(reordered, ctx())
    for kind, by_key in first.objects.items():
        for key, want in by_key.items():
            assert again.objects[kind][key].content_hash == want.content_hash
    renamed_people = tuple(
        replace(p, last_name="Dupont") if p.source_id == "l1" else p for p in snap.people
    )
    renamed = shape_account(replace(snap, people=renamed_people), ctx())
    changed = [
        key
        for kind, by_key in renamed.objects.items()
        for key, want in by_key.items()
        if first.objects[kind][key].content_hash != want.content_hash
    ]
    assert changed == ["learner:l1"]


def test_invalid_email_is_rejected_with_a_reason_and_left_out_of_sessions() -> None:
    snap = small_snapshot()
    people = tuple(
        replace(p, email="jean.dupont@") if p.source_id == "l1" else p for p in snap.people
    )
    desired = shape_account(replace(snap, people=people), ctx())
    assert "learner:l1" not in desired.objects["student"]
    assert [(r.source_id, "valid e-mail" in r.reason) for r in desired.rejected] == [("l1", True)]
    assert dict(desired.objects["course"]["session:s1"].refs)["STUDENTS"] == ("learner:l2",)


def test_session_without_instructor_skipped_unless_fallback() -> None:
    snap = small_snapshot()
    lonely = Session("s9", "Autonomie", T0, T0.replace(hour=10), group_ids=("g1",))
    snap = replace(snap, sessions=(*snap.sessions, lonely))
    desired = shape_account(snap, ctx())
    assert "session:s9" not in desired.objects["course"]
    assert any(
        r.source_id == "s9" and "fallback_instructor_email" in r.reason for r in desired.rejected
    )
    with_fallback = shape_account(
        snap, ctx(Options(fallback_instructor_email="Formateur@School.test"))
    )
    course = with_fallback.objects["course"]["session:s9"]
    assert dict(course.refs)["PROFESSOR"] == (f"instructor:{FALLBACK_INSTRUCTOR_ID}",)
    fallback = with_fallback.objects["professor"][f"instructor:{FALLBACK_INSTRUCTOR_ID}"]
    assert fallback.email == "formateur@school.test"


def test_end_before_start_and_unknown_group_are_rejected() -> None:
    snap = small_snapshot()
    backwards = Session(
        "s7", "Backwards", T0, T0.replace(hour=7), instructor_ids=("i1",), group_ids=("g1",)
    )
    unknown = Session(
        "s8", "Ghost", T0, T0.replace(hour=10), instructor_ids=("i1",), group_ids=("g404",)
    )
    desired = shape_account(replace(snap, sessions=(*snap.sessions, backwards, unknown)), ctx())
    reasons = {r.source_id: r.reason for r in desired.rejected}
    assert reasons["s7"] == "ends before it starts"
    assert "unknown group g404" in reasons["s8"]
    assert len(desired.objects["course"]) == 2


def test_exemptions_off_leaves_exempted_learners_out() -> None:
    snap = small_snapshot()
    exempted = replace(snap.sessions[0], exempt_learner_ids=("l2",))
    snap = replace(snap, sessions=(exempted, snap.sessions[1]))
    off = shape_account(snap, ctx(Options(sync_exemptions=False)))
    on = shape_account(snap, ctx(Options(sync_exemptions=True)))
    assert dict(off.objects["course"]["session:s1"].refs)["STUDENTS"] == ("learner:l1",)
    assert dict(on.objects["course"]["session:s1"].refs)["STUDENTS"] == ("learner:l1", "learner:l2")


def test_room_options() -> None:
    snap = small_snapshot()
    code = shape_account(snap, ctx(Options(room_label="code"))).objects["course"]["session:s1"]
    fixed = shape_account(
        snap, ctx(Options(room_label="code", fixed_room_name="NFC-HALL"))
    ).objects["course"]["session:s1"]
    assert code.field_dict()["CLASSROOM"] == "B204"
    assert fixed.field_dict()["CLASSROOM"] == "NFC-HALL"


def test_tags_from_attributes_and_tutors_toggle() -> None:
    snap = small_snapshot()
    tutor = Person("t1", "tutor", "Tom", "Maître", "tom@company.test", company="ACME")
    snap = replace(snap, people=(*snap.people, tutor), tutor_links=(TutorLink("l1", "t1"),))
    off = shape_account(snap, ctx(Options(tag_attributes=("org",))))
    assert off.objects["external"] == {}
    assert off.objects["student"]["learner:l1"].field_dict()["TAGS"] == ("paris",)
    on = shape_account(snap, ctx(Options(tutors=True)))
    assert "tutor:t1" in on.objects["external"]
    assert dict(on.objects["student"]["learner:l1"].refs)["STUDENT_FOLLOWER_ID"] == ("tutor:t1",)


def test_duplicate_emails_keep_the_first() -> None:
    snap = small_snapshot()
    twin = Person("l99", "learner", "Twin", "Twin", "L1@school.test", attrs=attrs_of({}))
    desired = shape_account(replace(snap, people=(*snap.people, twin)), ctx())
    assert "learner:l99" not in desired.objects["student"]
    assert any(r.source_id == "l99" and "same e-mail" in r.reason for r in desired.rejected)


def test_email_validation() -> None:
    assert is_valid_email("eloise.n'diaye@ecole.test")
    assert is_valid_email("herve-joel.martin@cfa-paris.fr")
    for bad in ("", None, "jean.dupont@", "no-at-sign.example", "a b@c.fr", "a@b"):
        assert not is_valid_email(bad), bad
    assert Snapshot().is_empty
