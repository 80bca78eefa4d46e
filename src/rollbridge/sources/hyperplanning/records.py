"""One base's typed inputs → a canonical `Snapshot`. Pure.

`roster` makes the people, groups, memberships and tutor links; `timetable` the sessions.
Bad data becomes a `Rejected` naming the learner or course; odd but usable data (a course
with two séances in one week, a dangling reference) a warning. Nothing raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from rollbridge.model import Snapshot, Window
from rollbridge.sources.hyperplanning.inputs import HpRead
from rollbridge.sources.hyperplanning.roster import build_roster
from rollbridge.sources.hyperplanning.timetable import Clock, Naming, build_sessions


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
) -> HpBuild:
    """Canonical records of one base's read; `complete=False` if the read was partial.

    A read that found nothing usable is never complete: the planner deletes nothing then.
    """
    options = options or BuildOptions()
    roster = build_roster(read, base, tutors=options.tutors)
    timetable = build_sessions(
        read,
        roster,
        base=base,
        clock=Clock(first_day, tz, window),
        naming=Naming(options.name_with_course_type, options.name_with_memo),
    )
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
    )
    if snapshot.is_empty:
        snapshot = Snapshot(
            rejected=snapshot.rejected, complete=False, window=window, key_space=f"{base}:"
        )
    warnings = tuple(dict.fromkeys((*roster.warnings, *timetable.warnings)))
    return HpBuild(snapshot, warnings)
