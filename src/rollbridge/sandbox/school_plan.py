"""The working state of one generation run: its settings, e-mail book and planned groups.

`SchoolRun` holds what every stage shares (profile, calendar, sites, a seeded generator per
concern); `plan_groups` turns the profile into teaching groups drawn from shuffled cohorts plus
the teacher-less study groups, and `group_days` lays a group's rhythm over the open days.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from rollbridge.model import Group, attrs_of
from rollbridge.sandbox.school_calendar import dst_days, open_days, school_calendar
from rollbridge.sandbox.school_catalogue import (
    ALL_WEEK,
    FORMATIONS,
    RHYTHMS,
    SCHOOLS,
    STUDY_SUBJECT,
    SUBJECTS,
    Profile,
    Rhythm,
    email_slug,
)
from rollbridge.sandbox.school_records import Site


class Emails:
    """Hands out unique addresses, numbering homonyms (`lea.martin2@…`)."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def take(self, local: str, domain: str) -> str:
        """A free address for `local@domain`, numbered if taken."""
        n, candidate = 1, local
        while f"{candidate}@{domain}" in self._taken:
            n += 1
            candidate = f"{local}{n}"
        address = f"{candidate}@{domain}"
        self._taken.add(address)
        return address


@dataclass(slots=True)
class GroupPlan:
    """Working state for one group while generating (mutable, internal to the run)."""

    index: int
    record: Group
    site: int
    rhythm: Rhythm | None  # None: a study group following its parent's days
    subjects: tuple[str, ...]
    cum_weights: tuple[int, ...]
    learner_ids: list[str]
    trades: tuple[str, ...]  # the kinds of employers of its apprentices
    parent: int | None = None
    home_room: int = 0
    day_counts: dict[int, int] | None = None  # open-day index -> sessions that day
    study_days: frozenset[int] = frozenset()  # days whose last slot goes to the study group


class SchoolRun:
    """One generation run, built and used once by `generate_school`."""

    def __init__(self, seed: int, profile: Profile, year_start: date, tz: ZoneInfo) -> None:
        self.profile = profile
        self.tz = tz
        self.year_start = year_start
        self.year_end = date(year_start.year + 1, 6, 30)
        self.key = f"rollbridge-school:{seed}:{profile.learners}:{year_start.isoformat()}"
        self.school_name, slug = self.rng("school").choice(SCHOOLS)
        self.domain = f"{slug}.test"
        self.label = f"{year_start.year}-{year_start.year + 1}"
        self.holidays, self.public = school_calendar(year_start)
        self.days = open_days(year_start, self.year_end, self.holidays, self.public)
        self.dst_days = dst_days(self.days, tz)
        self.sites = tuple(
            Site(f"site-{email_slug(city)}", city, f"{self.school_name} — {city}")
            for city in profile.cities
        )
        self.site_attrs = [attrs_of({"org": s.org_id, "org_name": s.name}) for s in self.sites]
        self.emails = Emails()

    def rng(self, part: str) -> random.Random:
        """A generator per concern, so changing one part leaves the others' output alone."""
        return random.Random(f"{self.key}:{part}")


def plan_groups(run: SchoolRun) -> list[GroupPlan]:
    """Teaching groups from shuffled cohorts (formation, level), then the study groups."""
    rng = run.rng("groups")
    teaching = run.profile.groups - run.profile.study_groups
    cohorts = [(f, level) for f in FORMATIONS for level in f.levels]
    rng.shuffle(cohorts)
    chosen = cohorts[: min(len(cohorts), -(-teaching // run.profile.groups_per_cohort))]
    per_cohort = [0] * len(chosen)
    for i in range(teaching):
        per_cohort[i % len(chosen)] += 1
    sizes = split(run.profile.learners, [rng.uniform(0.7, 1.3) for _ in range(teaching)])
    plans: list[GroupPlan] = []
    learner_no = 0
    for (formation, level), count in zip(chosen, per_cohort, strict=True):
        short, subjects, trades = formation.short, formation.subjects, formation.trades
        for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:count]:
            index = len(plans)
            name = f"{short} {level}" + (f" — Groupe {letter}" if count > 1 else "")
            rhythm = RHYTHMS[run.profile.rhythms[index % len(run.profile.rhythms)]]
            site = index % len(run.sites)
            members = [f"usr-l{learner_no + i + 1:05d}" for i in range(sizes[index])]
            learner_no += sizes[index]
            attrs = run.site_attrs[site] | attrs_of(
                {
                    "family:Formation": short,
                    "family:Promotion": run.label,
                    "family:Rythme": "Alternance" if rhythm.is_apprenticeship else "Temps plein",
                }
            )
            record = Group(
                f"cls-{index + 1:04d}", name, f"{name} ({rhythm.label}), {run.label}", attrs
            )
            weights = [SUBJECTS[s][1] for s in subjects]
            cum = tuple(sum(weights[: i + 1]) for i in range(len(weights)))
            plans.append(GroupPlan(index, record, site, rhythm, subjects, cum, members, trades))
    # Study groups hang on full-time parents and use the parents' free last slot.
    parents = [
        g
        for g in plans
        if g.rhythm is not None and g.rhythm.weekdays == ALL_WEEK and g.rhythm.period_weeks == 1
    ]
    for parent in parents[: run.profile.study_groups]:
        index = len(plans)
        name = f"{STUDY_SUBJECT} — {parent.record.name}"
        members = sorted(rng.sample(parent.learner_ids, max(1, len(parent.learner_ids) // 2)))
        record = Group(
            f"cls-{index + 1:04d}",
            name,
            f"Travail en autonomie, sans formateur, {run.label}",
            parent.record.attrs,
        )
        plans.append(
            GroupPlan(
                index,
                record,
                parent.site,
                None,
                (STUDY_SUBJECT,),
                (1,),
                members,
                (),
                parent.index,
            )
        )
    return plans


def group_days(run: SchoolRun, group: GroupPlan) -> list[int]:
    """The open days (indexes) a group attends, following its rhythm."""
    rhythm = group.rhythm
    if rhythm is None:
        return []
    offset = run.rng(f"rhythm:{group.index}").randrange(rhythm.period_weeks)
    first_monday = run.days[0] - timedelta(days=run.days[0].weekday())
    out = []
    for i, day in enumerate(run.days):
        week = (day - first_monday).days // 7
        if (
            day.weekday() in rhythm.weekdays
            and (week + offset) % rhythm.period_weeks < rhythm.weeks_on
        ):
            out.append(i)
    return out


def split(total: int, weights: Sequence[float]) -> list[int]:
    """Integers proportional to `weights` summing to `total` (largest remainder)."""
    scale = total / sum(weights)
    raw = [w * scale for w in weights]
    out = [int(x) for x in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))
    for i in by_remainder[: total - sum(out)]:
        out[i] += 1
    return out
