"""What `generate_school` returns: the school's sites, planted quirks and the school year itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from rollbridge.model import Group, Membership, Person, Session, TutorLink
from rollbridge.sandbox.school_calendar import Holiday, is_open


@dataclass(frozen=True, slots=True)
class Site:
    """One campus: an OneRoster `school` org and the `org` routing attribute value."""

    org_id: str
    city: str
    name: str


@dataclass(frozen=True, slots=True)
class Quirks:
    """The problems planted in the school, by id, so tests can look for each one."""

    invalid_email_learner_ids: tuple[str, ...]
    sessions_without_instructor_ids: tuple[str, ...]
    exempt_pairs: tuple[tuple[str, str], ...]  # (session_id, learner_id)
    unicode_name_ids: tuple[str, ...]  # names beyond plain ASCII letters and spaces
    dst_session_ids: tuple[str, ...]
    dst_days: tuple[date, ...]  # open day before / after each offset change, in order


@dataclass(frozen=True, slots=True)
class SyntheticSchool:
    """One generated school year: canonical records plus what a test needs to know."""

    name: str
    domain: str
    tz: ZoneInfo
    year_start: date
    year_end: date
    sites: tuple[Site, ...]
    holidays: tuple[Holiday, ...]
    public_holidays: tuple[date, ...]
    people: tuple[Person, ...]
    groups: tuple[Group, ...]
    sessions: tuple[Session, ...]
    memberships: tuple[Membership, ...]
    tutor_links: tuple[TutorLink, ...]
    quirks: Quirks

    @property
    def school_year(self) -> str:
        """The year label, e.g. `2026-2027`."""
        return f"{self.year_start.year}-{self.year_start.year + 1}"

    def is_open(self, day: date) -> bool:
        """Whether the school teaches on `day` (a weekday outside breaks and public holidays)."""
        return is_open(day, self.year_start, self.year_end, self.holidays, self.public_holidays)


def school_counts(school: SyntheticSchool) -> dict[str, int]:
    """Records per kind, for reports and benchmarks."""
    roles = [person.role for person in school.people]
    return {
        "learners": roles.count("learner"),
        "instructors": roles.count("instructor"),
        "tutors": roles.count("tutor"),
        "groups": len(school.groups),
        "sessions": len(school.sessions),
        "memberships": len(school.memberships),
        "tutor_links": len(school.tutor_links),
    }
