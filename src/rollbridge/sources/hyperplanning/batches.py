"""Sessions handed over as `SessionBatch`es: one per séance chunk, built on demand.

A batch's fingerprint covers everything its `build` reads (`model.SessionBatch`): the
digest of its chunk's séance answer, its courses' records, and one digest of the rest of
the read the timetable uses (the roster's ids and members, rooms, subjects, exemptions,
course families, the base, the clock and the options: `read_digest`), plus
`BUILD_VERSION`. The engine builds
only the batches whose fingerprint changed since it last synced them whole; the others'
sessions are what Edusign holds. So a change to anything `timetable.SessionBuilder` or the
séance parsing reads must show in the fingerprint: when unsure, add it to `read_digest`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

from rollbridge.fingerprint import Fingerprint
from rollbridge.model import BatchContent, SessionBatch
from rollbridge.sources.hyperplanning.chunks import SeanceChunk
from rollbridge.sources.hyperplanning.inputs import HpCourse, HpRead
from rollbridge.sources.hyperplanning.roster import HpRoster
from rollbridge.sources.hyperplanning.timetable import Clock, Naming, SessionBuilder

# Bump whenever what a batch builds from the same inputs changes: the séance parsing
# (`parse.seance_from_zeep`), ids (`ids.py`, `seances.py`), times (`times.py`), the
# timetable (`timetable.py`, `families.py`). Every batch is then built again once.
BUILD_VERSION = 1


def read_digest(
    read: HpRead,
    roster: HpRoster,
    *,
    base: str,
    clock: Clock,
    naming: Naming,
    tutors: bool = False,
) -> str:
    """One digest of every input of the timetable beside a chunk's séances and courses:
    the roster's lookups (learner, instructor and group ids by Hyperplanning key, and each
    group's members), rooms, subjects, exemptions, the course families, the base, first
    day, time zone, window, naming and the tutors flag. People's names and e-mails, group
    names and student families are left out: no session reads them (the engine covers
    what shaping and routing read of people, `engine/batches.py`), so a learner renamed
    does not rebuild every batch."""
    found = Fingerprint("hyperplanning read")
    found.add((base, clock.first_day, clock.tz, clock.window, naming, tutors))
    found.add(roster.learner_ids)
    found.add(roster.teacher_ids)
    found.add(roster.group_ids)
    found.add(roster.members)
    for records in (read.rooms, read.subjects, read.exemptions):
        found.add_all(records)
    found.add(read.course_families)
    return found.hexdigest()


def chunk_courses(chunk: SeanceChunk, courses: Mapping[int, HpCourse]) -> dict[int, HpCourse]:
    """The courses of a chunk's keys (a course that could not be read is absent)."""
    return {key: courses[key] for key in chunk.keys if key in courses}


# Every field of `HpCourse` is a number, a text, a flag or a tuple of keys: the `repr` of
# its values is the same in every process (a unit test holds the field types to that).
_COURSE_FIELDS = tuple(f.name for f in dataclasses.fields(HpCourse))


def course_row(course: HpCourse | None) -> tuple[object, ...] | None:
    """A course's fields in declaration order (None: a course that could not be read)."""
    return None if course is None else tuple(getattr(course, name) for name in _COURSE_FIELDS)


def batch_fingerprint(
    chunk: SeanceChunk, courses: Mapping[int, HpCourse], digest_of_read: str
) -> str:
    """The fingerprint of one chunk's batch: version, answer digest, the chunk's keys and
    the courses found for them, and the read-wide digest."""
    found = Fingerprint("hyperplanning batch")
    found.add(BUILD_VERSION)
    found.add(chunk.digest)
    found.add(chunk.keys)
    # `repr` written by C: `canonical` walks 8,000 courses field by field, 5x slower.
    rows = tuple((key, course_row(courses.get(key))) for key in chunk.keys)
    found.add(repr(rows).encode())
    found.add(digest_of_read)
    return found.hexdigest()


def session_batches(
    builder: SessionBuilder,
    chunks: Sequence[SeanceChunk],
    *,
    digest_of_read: str,
) -> tuple[SessionBatch, ...]:
    """One batch per chunk, `{base}:c{index}`; `build` parses the chunk if the read did not
    (its unreadable séances are rejected there) and builds its sessions with `builder`."""
    courses = builder.courses
    out: list[SessionBatch] = []
    for chunk in chunks:
        own = chunk_courses(chunk, courses)
        out.append(
            SessionBatch(
                batch_id=f"{builder.base}:c{chunk.index}",
                fingerprint=batch_fingerprint(chunk, own, digest_of_read),
                build=_build_of(builder, chunk, own),
            )
        )
    return tuple(out)


def _build_of(
    builder: SessionBuilder, chunk: SeanceChunk, courses: Mapping[int, HpCourse]
) -> Callable[[], BatchContent]:
    def build() -> BatchContent:
        seances, unreadable = chunk.seances()
        timetable = builder.build(seances, courses)
        return BatchContent(timetable.sessions, (*unreadable, *timetable.rejected))

    return build
