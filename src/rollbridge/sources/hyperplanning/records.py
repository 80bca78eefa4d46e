"""One base's typed inputs → a canonical `Snapshot`. Pure.

`roster` makes the people, groups, memberships and tutor links; `timetable` the sessions,
at once or, per séance chunk, on demand (`batches`).
Bad data becomes a `Rejected` naming the learner or course; odd but usable data (a course
with two séances in one week, a dangling reference) a warning. Nothing raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from rollbridge.model import SessionBatch, Snapshot, Window
from rollbridge.sources.hyperplanning.batches import read_digest, session_batches
from rollbridge.sources.hyperplanning.chunks import SeanceChunk
from rollbridge.sources.hyperplanning.inputs import HpRead
from rollbridge.sources.hyperplanning.roster import build_roster
from rollbridge.sources.hyperplanning.timetable import Clock, HpTimetable, Naming, SessionBuilder


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """The read-side options the pure layer needs (room label, NFC room, fallback
    instructor and tags are shaping's)."""

    name_with_course_type: bool = False
    name_with_memo: bool = False
    tutors: bool = False


@dataclass(frozen=True, slots=True)
class HpBuild:
    """A snapshot and what a person should know about it (kept records, odd data)."""

    snapshot: Snapshot
    warnings: tuple[str, ...] = ()


def build_snapshot(
    read: HpRead,
    *,
    base: str,
    first_day: date,
    tz: ZoneInfo,
    window: Window,
    options: BuildOptions | None = None,
    complete: bool = True,
    chunks: Sequence[SeanceChunk] | None = None,
) -> HpBuild:
    """Canonical records of one base's read; `complete=False` if the read was partial.

    Without `chunks`, every session of `read.seances` is built now. With them (the séances
    as read, one chunk per `…TableauDe…` call; `read.seances` is then unused), sessions
    come as one `SessionBatch` per chunk, built when the engine asks (`batches.py`);
    people, groups, memberships and tutor links are built now either way.

    A read that found nothing usable is never complete: the planner deletes nothing then.
    """
    options = options or BuildOptions()
    roster = build_roster(read, base, tutors=options.tutors)
    clock = Clock(first_day, tz, window)
    naming = Naming(options.name_with_course_type, options.name_with_memo)
    builder = SessionBuilder(read, roster, base=base, clock=clock, naming=naming)
    batches: tuple[SessionBatch, ...] = ()
    if chunks is None:
        timetable = builder.build(read.seances)
    else:
        timetable = HpTimetable()
        digest = read_digest(
            read, roster, base=base, clock=clock, naming=naming, tutors=options.tutors
        )
        batches = session_batches(builder, chunks, digest_of_read=digest)
    snapshot = Snapshot(
        people=roster.people,
        groups=roster.groups,
        sessions=timetable.sessions,
        memberships=roster.memberships,
        tutor_links=roster.tutor_links,
        rejected=(*roster.rejected, *timetable.rejected),
        complete=complete,
        window=window,
        key_space=f"{base}:",  # keys are never carried across bases (ids.py)
        batches=batches,
    )
    if snapshot.is_empty:
        snapshot = Snapshot(
            rejected=snapshot.rejected, complete=False, window=window, key_space=f"{base}:"
        )
    warnings = tuple(dict.fromkeys((*roster.warnings, *timetable.warnings)))
    return HpBuild(snapshot, warnings)
