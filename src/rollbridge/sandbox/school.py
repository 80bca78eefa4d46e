"""A synthetic French school (CFA / business school), deterministic from a seed.

`generate_school(seed, size, year_start=...)` builds canonical records (`model.py`) for one
school year: learners, instructors, apprenticeship tutors (maîtres d'apprentissage),
groups, memberships, tutor links and dated sessions, plus the planted problems real data
has (`Quirks`). The emulators, the demo, the tests and the benchmarks all start from it;
`school_files.py` writes it as a OneRoster 1.2 bundle, a sessions CSV and an iCalendar file.

The calendar is the school's own: weekdays from `year_start` to 30 June, minus public
holidays (jours fériés) and four breaks shaped on the French zone C dates — a one-week
Toussaint break placed after the October DST change (private schools and CFAs set their
own), two weeks at Christmas, in February and in April. Every session is planned in local
wall-clock time in `tz` and stored in UTC through `timeconv.local_to_utc`; the last open
day before and the first open day after each offset change of `tz` (both DST changes for
Europe/Paris) always hold sessions starting at 08:30 local time (`Quirks.dst_days`). That
is the Friday before and the Monday after, unless a public holiday intervenes: Easter
Monday 29 March 2027 follows the March 2027 change, so that year's "after" day is Tuesday.

Sizes (exact counts, given the profile): small 60 learners / 4 groups / 8 instructors /
600 sessions; medium 400 / 20 / 30 / 3,000; large 3,000 / 150 / 200 / 60,000; tutors are a
third of the learner count. Groups include teacher-less "Étude dirigée" groups (1, 2, 4)
whose sessions (1 % of all) have no instructor.

Ids are stable strings: `usr-l00001` (learners), `usr-i00001` (instructors),
`usr-t00001` (tutors), `cls-0001` (groups), `ses-000001` (sessions), `site-paris` (sites).
Nothing iterates over a set while generating, so output does not depend on hash seeds.

The generator is split by concern: `school_catalogue.py` (sizes, formations, subjects, names,
rooms, day templates), `school_calendar.py` (breaks, public holidays, offset changes),
`school_records.py` (`SyntheticSchool`, `Site`, `Quirks`), `school_plan.py` (one run's state
and its groups), `school_people.py` and `school_timetable.py`. This module is the entry point
and re-exports their public names.
"""

from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo

from rollbridge.model import Membership
from rollbridge.sandbox.school_calendar import (
    Holiday,
    easter_sunday,
    offset_changes,
    school_calendar,
)
from rollbridge.sandbox.school_catalogue import (
    MAX_SESSIONS_PER_DAY,
    PROFILES,
    SIZES,
    STUDY_SUBJECT,
    Size,
    email_slug,
    subject_code,
)
from rollbridge.sandbox.school_people import make_instructors, make_learners, make_tutors
from rollbridge.sandbox.school_plan import SchoolRun, plan_groups
from rollbridge.sandbox.school_records import Quirks, Site, SyntheticSchool, school_counts
from rollbridge.sandbox.school_timetable import (
    allocate_sessions,
    assign_teachers,
    plan_exemptions,
    schedule,
)

__all__ = [
    "MAX_SESSIONS_PER_DAY",
    "SIZES",
    "STUDY_SUBJECT",
    "Holiday",
    "Quirks",
    "Site",
    "Size",
    "SyntheticSchool",
    "easter_sunday",
    "email_slug",
    "generate_school",
    "offset_changes",
    "school_calendar",
    "school_counts",
    "subject_code",
]

_PLAIN_NAME = re.compile(r"[A-Za-z ]*")


def generate_school(
    seed: int,
    size: Size,
    *,
    year_start: date,
    tz: ZoneInfo = ZoneInfo("Europe/Paris"),
) -> SyntheticSchool:
    """Build a whole school year, deterministically from (seed, size, year_start)."""
    if size not in PROFILES:
        raise ValueError(f"unknown size {size!r}: use one of {', '.join(SIZES)}")
    if year_start.month < 7 or year_start.month > 10:
        raise ValueError(f"year_start {year_start} must fall between July and October")
    return _assemble(SchoolRun(seed, PROFILES[size], year_start, tz))


def _assemble(run: SchoolRun) -> SyntheticSchool:
    """Groups, then people, then teaching assignments and the day-by-day timetable."""
    groups = plan_groups(run)
    learners, invalid = make_learners(run, groups)
    tutors, links, learners = make_tutors(run, groups, learners)
    instructor_count = run.profile.instructors
    assigned, specialists = assign_teachers(run, groups, instructor_count)
    allocate_sessions(run, groups)
    exemptions = plan_exemptions(run, groups)
    sessions, taught_sites = schedule(
        run, groups, assigned, specialists, exemptions, instructor_count
    )
    instructors = make_instructors(run, taught_sites)
    people = (*learners, *instructors, *tutors)
    memberships = tuple(
        Membership(lid, g.record.source_id) for g in groups for lid in g.learner_ids
    )
    dst = set(run.dst_days)
    quirks = Quirks(
        invalid_email_learner_ids=tuple(sorted(invalid)),
        sessions_without_instructor_ids=tuple(
            s.source_id for s in sessions if not s.instructor_ids
        ),
        exempt_pairs=tuple((s.source_id, lid) for s in sessions for lid in s.exempt_learner_ids),
        unicode_name_ids=tuple(
            p.source_id
            for p in people
            if not (_PLAIN_NAME.fullmatch(p.first_name) and _PLAIN_NAME.fullmatch(p.last_name))
        ),
        dst_session_ids=tuple(
            s.source_id for s in sessions if s.start_at.astimezone(run.tz).date() in dst
        ),
        dst_days=run.dst_days,
    )
    return SyntheticSchool(
        name=run.school_name,
        domain=run.domain,
        tz=run.tz,
        year_start=run.year_start,
        year_end=run.year_end,
        sites=run.sites,
        holidays=run.holidays,
        public_holidays=run.public,
        people=people,
        groups=tuple(g.record for g in groups),
        sessions=sessions,
        memberships=memberships,
        tutor_links=links,
        quirks=quirks,
    )
