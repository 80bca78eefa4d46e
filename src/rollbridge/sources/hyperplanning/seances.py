"""Séance identity: `(base, course key, HP week)`, or `(course key, start)` when a week has two.

Roll-call calls address a séance as (`ACours`, `ASemaine`), so that is the session key; a
course's time can differ between weeks, so the start is content, not identity (API notes
§7). If one course yields several séances in one HP week [U], each of them is identified by
its wall-clock start instead, and a warning says so. The grouping is per (course, week):
reads should cover whole HP weeks so that a week is never seen half, which would switch a
séance's id between runs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from rollbridge.model import Rejected
from rollbridge.sources.hyperplanning.ids import session_id, session_id_by_start
from rollbridge.sources.hyperplanning.inputs import HpSeance
from rollbridge.sources.hyperplanning.times import week_of


@dataclass(frozen=True, slots=True)
class IdentifiedSeance:
    """A séance with its session source id and HP week."""

    source_id: str
    week: int
    seance: HpSeance


def identify_seances(
    seances: Iterable[HpSeance], base: str, first_day: date
) -> tuple[tuple[IdentifiedSeance, ...], tuple[Rejected, ...], tuple[str, ...]]:
    """Session ids for séances; a repeated (course, start) is rejected; fallbacks are warned."""
    by_week: dict[tuple[int, int], dict[datetime, HpSeance]] = defaultdict(dict)
    rejected: list[Rejected] = []
    for seance in seances:
        week = seance.week
        if week is None:
            week = week_of(seance.starts_wallclock.date(), first_day)
        same_week = by_week[seance.course_key, week]
        if seance.starts_wallclock in same_week:
            rejected.append(
                Rejected(
                    "session",
                    session_id_by_start(base, seance.course_key, seance.starts_wallclock),
                    f"course {seance.course_key} has two séances starting "
                    f"{seance.starts_wallclock:%Y-%m-%d %H:%M}; the first one is kept",
                )
            )
            continue
        same_week[seance.starts_wallclock] = seance
    out: list[IdentifiedSeance] = []
    warnings: list[str] = []
    for (course_key, week), starts in by_week.items():
        if len(starts) == 1:  # the rule: one séance per course and week
            (only,) = starts.values()
            out.append(IdentifiedSeance(session_id(base, course_key, week), week, only))
            continue
        group = sorted(starts.values(), key=lambda s: s.starts_wallclock)
        listed = ", ".join(f"{s.starts_wallclock:%Y-%m-%d %H:%M}" for s in group)
        warnings.append(
            f"course {course_key} has {len(group)} séances in HP week {week} ({listed}): "
            "each is identified by its start time instead of the week"
        )
        out.extend(
            IdentifiedSeance(session_id_by_start(base, course_key, s.starts_wallclock), week, s)
            for s in group
        )
    return tuple(out), tuple(rejected), tuple(warnings)
