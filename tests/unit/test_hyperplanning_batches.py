"""Hyperplanning session batches, pure parts: what each batch's fingerprint covers, that the
batches build exactly the sessions one build gives, the séance chunks decoded only when
built, the raw chunk answers and the never-expiring séance digests of the cache."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields, replace
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, get_type_hints
from zoneinfo import ZoneInfo

import pytest

from rollbridge.model import Rejected, Snapshot, Window
from rollbridge.sources.hyperplanning import batches
from rollbridge.sources.hyperplanning.batches import batch_fingerprint, read_digest
from rollbridge.sources.hyperplanning.cache import SEANCES, EntityCache
from rollbridge.sources.hyperplanning.chunks import ChunkAnswer, SeanceChunk
from rollbridge.sources.hyperplanning.inputs import (
    HpCourse,
    HpExemption,
    HpFamilyIndex,
    HpRead,
    HpSection,
)
from rollbridge.sources.hyperplanning.records import BuildOptions, build_snapshot
from rollbridge.sources.hyperplanning.roster import build_roster
from rollbridge.sources.hyperplanning.timetable import Clock, Naming

from .test_hyperplanning_parse import BASE, FIRST_DAY, MONDAY, PARIS, YEAR, _school, _seance

CLOCK = Clock(FIRST_DAY, PARIS, YEAR)
NAMING = Naming()


def digest_of(read: HpRead, **changes: Any) -> str:
    args: dict[str, Any] = {"base": BASE, "clock": CLOCK, "naming": NAMING, "tutors": False}
    args.update(changes)
    roster = build_roster(read, args["base"], tutors=args["tutors"])
    return read_digest(read, roster, **args)


def chunked(read: HpRead, groups: tuple[tuple[int, ...], ...]) -> tuple[SeanceChunk, ...]:
    """The read's séances in chunks of whole courses, as `gather` makes them."""
    return tuple(
        SeanceChunk.of(
            index,
            keys,
            f"answer-{index}",
            [s for s in read.seances if s.course_key in keys],
        )
        for index, keys in enumerate(groups)
    )


def build(read: HpRead, chunks: tuple[SeanceChunk, ...] | None, **options: bool) -> Snapshot:
    return build_snapshot(
        replace(read, seances=()) if chunks is not None else read,
        base=BASE,
        first_day=FIRST_DAY,
        tz=PARIS,
        window=YEAR,
        options=BuildOptions(**options),
        chunks=chunks,
    ).snapshot


# ----- the batches build what one build gives ----------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{}, {"name_with_course_type": True, "name_with_memo": True, "tutors": True}],
)
def test_batches_build_exactly_the_sessions_of_one_build(options: dict[str, bool]) -> None:
    read = _school()
    whole = build(read, None, **options)
    batched = build(read, chunked(read, ((1, 2), (3, 4, 5), (6,))), **options)
    assert batched.sessions == () and len(batched.batches) == 3
    assert [b.batch_id for b in batched.batches] == [f"{BASE}:c0", f"{BASE}:c1", f"{BASE}:c2"]
    assert (batched.people, batched.groups, batched.memberships, batched.tutor_links) == (
        whole.people,
        whole.groups,
        whole.memberships,
        whole.tutor_links,
    )
    built = batched.built()
    assert built.sessions == whole.sessions and whole.sessions
    assert set(built.rejected) == set(whole.rejected)
    contents = [b.build() for b in batched.batches]
    ids = [s.source_id for c in contents for s in c.sessions]
    assert len(ids) == len(set(ids))  # disjoint
    for content in contents:
        assert list(content.sessions) == sorted(
            content.sessions, key=lambda s: (s.start_at, s.source_id)
        )


@pytest.mark.parametrize(
    ("types", "named"),
    [
        (("", "TD"), ("Maths – TD", "Maths – TD")),  # the course's type: its last séance's
        (("TD", ""), ("Maths – TD", "Maths")),
        (("CM", "TD"), ("Maths – CM", "Maths – TD")),
    ],
)
def test_a_seance_without_a_type_takes_its_course_s(
    types: tuple[str, str], named: tuple[str, str]
) -> None:
    """As when `gather` set each course's type from its séances (the last one read)."""
    read = HpRead(
        courses=(HpCourse(7, subject_key=1),),
        seances=(
            _seance(7, MONDAY, course_type=types[0]),
            _seance(7, MONDAY + timedelta(days=7), course_type=types[1]),
        ),
        subjects=_school().subjects,
        teachers=_school().teachers,
    )
    for chunks in (None, chunked(read, ((7,),))):
        sessions = build(read, chunks, name_with_course_type=True).built().sessions
        assert tuple(s.name for s in sessions) == named


def test_building_the_snapshot_decodes_no_chunk_and_a_batch_rejects_its_unreadable_seances() -> (
    None
):
    raw = {
        "Cours": 1,
        "JourEtHeureDebut": MONDAY,
        "Duree": 1 / 12,
        "Matiere": 1,
        "TableauSalle": {"THpSvcWCleSalle": [3]},
        "TableauEnseignant": {"THpSvcWCleEnseignant": [21]},
    }
    answer = _Answer((1,), [raw, "garbage", {"Cours": 1}])
    chunk = SeanceChunk(0, answer)
    snapshot = build(_school(), (chunk,))
    assert answer.decoded == 0 and not chunk.is_parsed
    assert not any("unreadable" in r.reason for r in snapshot.rejected)
    content = snapshot.batches[0].build()
    assert answer.decoded == 1
    assert [s.source_id for s in content.sessions] == [f"{BASE}:session:1:w9"]
    unreadable = [r for r in content.rejected if "unreadable" in r.reason]
    assert [r.source_id for r in unreadable] == ["#1", "course 1"]
    snapshot.batches[0].build()
    assert answer.decoded == 1  # parsed once


class _Answer:
    """A raw chunk answer whose decodes are counted."""

    def __init__(self, keys: tuple[int, ...], items: list[object]) -> None:
        self.keys = keys
        self.digest = "d"
        self._items = tuple(items)
        self.decoded = 0

    def items(self) -> tuple[object, ...]:
        self.decoded += 1
        return self._items


# ----- what the read-wide digest covers ----------------------------------------------------

READ_CHANGES: dict[str, Any] = {
    "a learner's promotion": lambda r: replace(
        r, learners=(replace(r.learners[0], promotion_keys=()), *r.learners[1:])
    ),
    "a room renamed": lambda r: replace(
        r, rooms=(replace(r.rooms[0], name="Amphi Z"), *r.rooms[1:])
    ),
    "a room's long label": lambda r: replace(
        r, rooms=(*r.rooms[:-1], replace(r.rooms[-1], long_label="Labo C"))
    ),
    "a subject renamed": lambda r: replace(
        r, subjects=(replace(r.subjects[0], label="Algèbre"), *r.subjects[1:])
    ),
    "a TD member added": lambda r: replace(
        r, td_options=(replace(r.td_options[0], learner_keys=(31, 32)),)
    ),
    "an exemption added": lambda r: replace(r, exemptions=(*r.exemptions, HpExemption(33, 2))),
    "an exemption's period": lambda r: replace(
        r, exemptions=(r.exemptions[0], replace(r.exemptions[1], end_on=date(2027, 1, 1)))
    ),
    "a course family renamed": lambda r: replace(
        r,
        course_families=HpFamilyIndex({200: "Mode"}, r.course_families.sections),
    ),
}


# Changes no session reads (the engine covers what shaping and routing read of people).
UNREAD_CHANGES: dict[str, Any] = {
    "a learner's e-mail": lambda r: replace(
        r, learners=(replace(r.learners[0], email=None), *r.learners[1:])
    ),
    "a learner renamed": lambda r: replace(
        r, learners=(replace(r.learners[0], last_name="Autre"), *r.learners[1:])
    ),
    "an instructor renamed": lambda r: replace(
        r, teachers=(replace(r.teachers[0], last_name="Autre"), *r.teachers[1:])
    ),
    "a promotion renamed": lambda r: replace(
        r, promotions=(replace(r.promotions[0], name="BTS SIO 2"),)
    ),
    "a student-family section renamed": lambda r: replace(
        r,
        student_families=HpFamilyIndex(
            r.student_families.families,
            {**r.student_families.sections, 120: HpSection(120, 101, "Lyon")},
        ),
    ),
}


@pytest.mark.parametrize("change", sorted(READ_CHANGES))
def test_the_read_digest_changes_with_every_input_of_the_timetable(change: str) -> None:
    read = _school()
    assert digest_of(READ_CHANGES[change](read)) != digest_of(read)


@pytest.mark.parametrize("change", sorted(UNREAD_CHANGES))
def test_the_read_digest_ignores_what_no_session_reads(change: str) -> None:
    read = _school()
    assert digest_of(UNREAD_CHANGES[change](read)) == digest_of(read)


@pytest.mark.parametrize(
    "changes",
    [
        {"base": "ffffffffff"},
        {"clock": Clock(FIRST_DAY + timedelta(days=7), PARIS, YEAR)},
        {"clock": Clock(FIRST_DAY, ZoneInfo("Europe/Brussels"), YEAR)},
        {"clock": Clock(FIRST_DAY, PARIS, Window(date(2026, 9, 7), YEAR.end_on))},
        {"clock": Clock(FIRST_DAY, PARIS, Window(YEAR.start_on, date(2027, 6, 30)))},
        {"naming": Naming(with_course_type=True)},
        {"naming": Naming(with_memo=True)},
        {"tutors": True},
    ],
)
def test_the_read_digest_changes_with_the_base_the_clock_and_the_options(
    changes: dict[str, Any],
) -> None:
    assert digest_of(_school(), **changes) != digest_of(_school())


def test_the_read_digest_leaves_out_what_batches_cover_or_no_session_reads() -> None:
    read = _school()
    assert digest_of(read) == digest_of(_school())  # equal records, not the same objects
    assert digest_of(replace(read, seances=(), courses=(), tutors=())) == digest_of(read)


def test_the_read_digest_is_the_same_in_another_process(tmp_path: Path) -> None:
    """String hashing is randomised per process: a set or dict order must not leak in."""
    script = (
        "from tests.unit.test_hyperplanning_batches import digest_of, _school\n"
        "print(digest_of(_school()))\n"
    )
    root = Path(__file__).resolve().parents[2]
    outs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(  # this interpreter, a fixed script
            [sys.executable, "-c", script], cwd=root, env=env, capture_output=True, check=True
        )
        outs.add(done.stdout.decode().strip())
    assert outs == {digest_of(_school())}


# ----- what a batch's fingerprint covers ---------------------------------------------------

COURSE = HpCourse(
    5,
    subject_key=1,
    memo="m",
    promotion_keys=(50,),
    td_keys=(60,),
    learner_keys=(31,),
    teacher_keys=(21,),
    section_keys=(210,),
)


def _other(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, tuple):
        return (*value, 99)
    return 1  # None: a key


@pytest.mark.parametrize("name", [f.name for f in fields(HpCourse)])
def test_a_batch_fingerprint_changes_with_every_field_of_its_courses(name: str) -> None:
    chunk = SeanceChunk.of(0, (4, 5), "answer", ())
    changed = replace(COURSE, **{name: _other(getattr(COURSE, name))})
    assert batch_fingerprint(chunk, {5: changed}, "read") != batch_fingerprint(
        chunk, {5: COURSE}, "read"
    )


def test_a_batch_fingerprint_changes_with_its_answer_keys_read_and_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chunk = SeanceChunk.of(0, (4, 5), "answer", ())
    courses = {5: COURSE}
    same = batch_fingerprint(chunk, courses, "read")
    assert batch_fingerprint(SeanceChunk.of(3, (4, 5), "answer", ()), courses, "read") == same
    assert batch_fingerprint(SeanceChunk.of(0, (4, 5), "other", ()), courses, "read") != same
    assert batch_fingerprint(SeanceChunk.of(0, (5,), "answer", ()), courses, "read") != same
    assert batch_fingerprint(chunk, {}, "read") != same  # a course that could not be read
    assert batch_fingerprint(chunk, courses, "read 2") != same
    monkeypatch.setattr(batches, "BUILD_VERSION", batches.BUILD_VERSION + 1)
    assert batch_fingerprint(chunk, courses, "read") != same


def test_each_batch_fingerprint_follows_its_own_chunk_and_the_read() -> None:
    read = _school()
    groups = ((1, 2), (3, 4, 5))

    def prints(r: HpRead, chunks: tuple[SeanceChunk, ...] | None = None) -> list[str]:
        return [b.fingerprint for b in build(r, chunks or chunked(r, groups)).batches]

    first = prints(read)
    assert prints(_school()) == first
    chunks = chunked(read, groups)
    moved = prints(read, (SeanceChunk.of(0, (1, 2), "moved", chunks[0].seances()[0]), chunks[1]))
    assert [a == b for a, b in zip(moved, first, strict=True)] == [False, True]
    relinked = replace(read, courses=(*read.courses[:4], replace(read.courses[4], memo="autre")))
    assert [a == b for a, b in zip(prints(relinked), first, strict=True)] == [True, False]
    renamed = READ_CHANGES["a room renamed"](read)
    assert all(a != b for a, b in zip(prints(renamed), first, strict=True))


def test_course_fields_are_atoms_or_tuples_of_keys() -> None:
    """`batches.course_row` hashes the `repr` of a course's values: only types whose `repr`
    is the same in every process (no set, no object) may be fields of `HpCourse`."""
    allowed = {int, bool, str, int | None, tuple[int, ...]}
    hints = get_type_hints(HpCourse)
    assert {name: hints[name] for name in hints if hints[name] not in allowed} == {}


# ----- raw chunk answers ------------------------------------------------------------------


def test_a_chunk_answer_decodes_once_on_first_use() -> None:
    calls: list[int] = []

    def decode() -> object:
        calls.append(1)
        return {"THpSvcWTypeSeance": [{"Cours": 1}, {"Cours": 2}]}

    answer = ChunkAnswer((1, 2), "digest", decode)
    assert not answer.is_decoded and calls == []
    assert answer.items() == ({"Cours": 1}, {"Cours": 2})
    assert answer.items() == ({"Cours": 1}, {"Cours": 2}) and calls == [1]


class _Tz(tzinfo):
    """A tzinfo whose `repr` shows its address, as zeep's isodate one does."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(0)


def test_a_decoded_chunk_answer_is_digested_in_a_stable_form() -> None:
    def value(order: int) -> object:
        fields_ = [("Cours", 1), ("JourEtHeureDebut", datetime(2026, 9, 1, 8, tzinfo=_Tz()))]
        return [dict(fields_ if order else reversed(fields_))]

    a, b = ChunkAnswer.decoded((1,), value(0)), ChunkAnswer.decoded((1,), value(1))
    assert a.is_decoded and a.items() == tuple(value(0))  # type: ignore[arg-type]
    assert a.digest == b.digest  # neither key order nor a tzinfo's address matters
    moved = [{"Cours": 1, "JourEtHeureDebut": datetime(2026, 9, 1, 9, tzinfo=_Tz())}]
    assert ChunkAnswer.decoded((1,), moved).digest != a.digest


# ----- séance digests in the cache --------------------------------------------------------

T0 = datetime(2026, 10, 19, 4, 0, tzinfo=ZoneInfo("UTC"))


def test_a_seance_digest_is_served_for_its_answer_only_and_never_expires(tmp_path: Path) -> None:
    cache = EntityCache.load(tmp_path, "base", refresh_hours=24, now=T0)
    cache.view(SEANCES).put(7, "course-digest", "answer-digest")
    assert cache.save()
    later = EntityCache.load(tmp_path, "base", refresh_hours=24, now=T0 + timedelta(days=90))
    view = later.view(SEANCES)
    assert view.get(7, "answer-digest") == "course-digest"
    assert view.get(7, "another answer") is None
    full = EntityCache.load(tmp_path, "base", refresh_hours=24, now=T0, full=True)
    assert full.view(SEANCES).get(7, "answer-digest") is None


def test_unreadable_seances_keep_their_place_in_their_chunk() -> None:
    chunk = SeanceChunk(0, _Answer((1,), ["x", "y"]))
    seances, rejected = chunk.seances()
    assert seances == () and [r.source_id for r in rejected] == ["#0", "#1"]
    assert all(isinstance(r, Rejected) for r in rejected)
