"""The people of a synthetic school: learners, apprenticeship tutors and instructors.

Learners carry the planted hard names and invalid e-mails (`Quirks`); one tutor per three
learners follows one to three apprentices; instructors are made last, attributed to the sites
where the timetable (`school_timetable.py`) had them teach.
"""

from __future__ import annotations

import random
from dataclasses import replace

from rollbridge.model import Person, TutorLink, attrs_of
from rollbridge.sandbox.school_catalogue import FIRST_NAMES, LAST_NAMES, PLANTED_NAMES, email_slug
from rollbridge.sandbox.school_plan import GroupPlan, SchoolRun


def make_learners(run: SchoolRun, groups: list[GroupPlan]) -> tuple[list[Person], list[str]]:
    """Learners with planted hard names and invalid e-mails; also the invalid ids."""
    rng = run.rng("learners")
    ids = [lid for g in groups if g.parent is None for lid in g.learner_ids]
    planted = dict(zip(rng.sample(range(len(ids)), len(PLANTED_NAMES)), PLANTED_NAMES, strict=True))
    n_invalid = max(3, round(len(ids) * 0.005))
    invalid_at = set(rng.sample(sorted(set(range(len(ids))) - set(planted)), n_invalid))
    learners: list[Person] = []
    invalid: list[str] = []
    attrs_by_id = {lid: g.record.attrs for g in groups if g.parent is None for lid in g.learner_ids}
    for i, lid in enumerate(ids):
        first, last, local = planted.get(i, (rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), None))
        local = local or f"{email_slug(first)}.{email_slug(last)}"
        email: str | None = run.emails.take(local, run.domain)
        if i in invalid_at:
            kind = len(invalid) % 3
            email = (f"{local}@", f"{local}.{run.domain}", None)[kind]
            invalid.append(lid)
        learners.append(
            Person(
                lid,
                "learner",
                first,
                last,
                email,
                badge_id=f"{rng.getrandbits(32):08X}" if rng.random() < 0.7 else None,
                phone=_phone(rng) if rng.random() < 0.6 else None,
                file_number=f"{run.year_start.year}{i + 1:05d}",
                attrs=attrs_by_id[lid],
            )
        )
    return learners, invalid


def make_tutors(
    run: SchoolRun, groups: list[GroupPlan], learners: list[Person]
) -> tuple[list[Person], tuple[TutorLink, ...], list[Person]]:
    """One tutor per three learners, each following one to three apprentices."""
    rng = run.rng("tutors")
    apprentices = [
        (lid, g)
        for g in groups
        if g.rhythm is not None and g.rhythm.is_apprenticeship
        for lid in g.learner_ids
    ]
    count = min(len(apprentices), round(run.profile.learners / 3))
    rng.shuffle(apprentices)
    # The law allows a tutor two apprentices plus one repeating a year.
    cap = max(3, -(-len(apprentices) // count))
    load = [1] * count
    tutor_of: dict[str, int] = {}
    for n, (lid, _) in enumerate(apprentices):
        t = n
        if n >= count:
            t = rng.randrange(count)
            while load[t] >= cap:
                t = (t + 1) % count
            load[t] += 1
        tutor_of[lid] = t
    tutors: list[Person] = []
    for t, (_, group) in enumerate(apprentices[:count]):
        company = f"{rng.choice(group.trades)} {rng.choice(LAST_NAMES)}"
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = run.emails.take(
            f"{email_slug(first)}.{email_slug(last)}", f"{email_slug(company)}.test"
        )
        tutors.append(
            Person(
                f"usr-t{t + 1:05d}",
                "tutor",
                first,
                last,
                email,
                phone=_phone(rng),
                company=company,
                attrs=run.site_attrs[group.site],
            )
        )
    links = tuple(TutorLink(lid, tutors[tutor_of[lid]].source_id) for lid in sorted(tutor_of))
    learners = [
        replace(p, company=tutors[tutor_of[p.source_id]].company) if p.source_id in tutor_of else p
        for p in learners
    ]
    return tutors, links, learners


def make_instructors(run: SchoolRun, taught_sites: list[set[int]]) -> list[Person]:
    """Instructors, attributed to the sites where they taught."""
    rng = run.rng("instructors")
    out = []
    for i, sites in enumerate(taught_sites):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = run.emails.take(f"{email_slug(first)}.{email_slug(last)}", run.domain)
        attrs = attrs_of(
            {
                "org": [run.sites[s].org_id for s in sorted(sites or {0})],
                "org_name": [run.sites[s].name for s in sorted(sites or {0})],
            }
        )
        out.append(
            Person(
                f"usr-i{i + 1:05d}",
                "instructor",
                first,
                last,
                email,
                phone=_phone(rng) if rng.random() < 0.8 else None,
                attrs=attrs,
            )
        )
    return out


def _phone(rng: random.Random) -> str:
    """A French mobile number."""
    return f"+33{rng.choice('67')}{rng.randrange(10**8):08d}"
