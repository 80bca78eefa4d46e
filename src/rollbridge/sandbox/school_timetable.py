"""The timetable of a synthetic school: who teaches what, how many sessions a day, and when.

Teachers are assigned per (group, subject), sessions spread over each group's days to total
the profile, a few subjects waived for some learners (exemptions), then `schedule` lays the
sessions day by day on local-time day templates, stored in UTC, keeping instructors and rooms
in one place at a time. Days around an offset change start at 08:30 (`DST_TEMPLATES`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, time

from rollbridge.model import Attrs, Session, attrs_of
from rollbridge.sandbox.school_catalogue import (
    DST_TEMPLATES,
    MAX_SESSIONS_PER_DAY,
    ROOM_NAMES,
    SUBJECTS,
    TEMPLATES,
)
from rollbridge.sandbox.school_plan import GroupPlan, SchoolRun, group_days, split
from rollbridge.timeconv import local_to_utc


def assign_teachers(
    run: SchoolRun, groups: list[GroupPlan], count: int
) -> tuple[dict[tuple[int, str], int], dict[str, list[int]]]:
    """Who teaches each (group, subject): specialists reused across groups, loads balanced."""
    rng = run.rng("teachers")
    pairs = [(g.index, s) for g in groups if g.parent is None for s in g.subjects]
    rng.shuffle(pairs)
    load = [0] * count
    specialists: dict[str, list[int]] = {}
    assigned: dict[tuple[int, str], int] = {}
    for n, (g, subject) in enumerate(pairs):
        known = specialists.get(subject)
        if known and n >= count and rng.random() < 0.75:
            teacher = min(known, key=lambda k: (load[k], k))
        else:
            teacher = min(range(count), key=lambda k: (load[k], k))
            specialists.setdefault(subject, [])
            if teacher not in specialists[subject]:
                specialists[subject].append(teacher)
        assigned[(g, subject)] = teacher
        load[teacher] += SUBJECTS[subject][1]
    return assigned, specialists


def allocate_sessions(run: SchoolRun, groups: list[GroupPlan]) -> None:
    """How many sessions each group has on each of its days, totalling the profile."""
    rng = run.rng("allocation")
    teaching = [g for g in groups if g.parent is None]
    days = {g.index: group_days(run, g) for g in teaching}
    study_total = round(run.profile.sessions * 0.01)
    study = [(g, groups[g.parent]) for g in groups if g.parent is not None]
    study_split = split(study_total, [1.0] * len(study)) if study else []
    for (g, parent), n in zip(study, study_split, strict=True):
        parent_days = days[parent.index]
        parent.study_days = frozenset(rng.sample(parent_days, min(n, len(parent_days))))
        g.day_counts = dict.fromkeys(sorted(parent.study_days), 1)
    target = run.profile.sessions - sum(len(g.day_counts or {}) for g, _ in study)
    totals = split(target, [len(days[g.index]) * rng.uniform(0.85, 1.15) for g in teaching])
    for g, total in zip(teaching, totals, strict=True):
        g_days = days[g.index]
        caps = [MAX_SESSIONS_PER_DAY - (d in g.study_days) for d in g_days]
        missing = min(total, sum(caps))
        counts = [0] * len(g_days)
        order = rng.sample(range(len(g_days)), len(g_days))
        while missing:  # spread evenly, in a shuffled order, within each day's cap
            for i in order:
                if missing and counts[i] < caps[i]:
                    counts[i] += 1
                    missing -= 1
        for _ in range(len(g_days) // 2):  # vary the days without changing the total
            a, b = rng.randrange(len(g_days)), rng.randrange(len(g_days))
            if counts[a] > 1 and counts[b] < caps[b]:
                counts[a] -= 1
                counts[b] += 1
        g.day_counts = {d: c for d, c in zip(g_days, counts, strict=True) if c or d in g.study_days}


def plan_exemptions(
    run: SchoolRun, groups: list[GroupPlan]
) -> dict[tuple[int, str], tuple[str, ...]]:
    """About 0.5 % of (session, learner) pairs: whole subjects waived for a few learners."""
    rng = run.rng("exemptions")
    teaching = [g for g in groups if g.parent is None]
    expected: dict[tuple[int, str], float] = {}
    pairs = 0.0
    for g in groups:
        sessions = sum((g.day_counts or {}).values())
        pairs += sessions * len(g.learner_ids)
        for subject, weight in zip(g.subjects, _weights(g.cum_weights), strict=True):
            expected[(g.index, subject)] = sessions * weight / g.cum_weights[-1]
    chosen: dict[tuple[int, str], set[str]] = {}
    covered, goal = 0.0, pairs * 0.005
    while covered < goal:
        group = rng.choice(teaching)
        languages = [s for s in group.subjects if s.startswith(("Anglais", "Espagnol"))]
        subject = (
            rng.choice(languages)
            if languages and rng.random() < 0.7
            else rng.choice(group.subjects)
        )
        learner = rng.choice(group.learner_ids)
        if learner not in chosen.setdefault((group.index, subject), set()):
            chosen[(group.index, subject)].add(learner)
            covered += expected[(group.index, subject)]
    return {key: tuple(sorted(ids)) for key, ids in chosen.items()}


def schedule(
    run: SchoolRun,
    groups: list[GroupPlan],
    assigned: dict[tuple[int, str], int],
    specialists: dict[str, list[int]],
    exemptions: dict[tuple[int, str], tuple[str, ...]],
    instructor_count: int,
) -> tuple[tuple[Session, ...], list[set[int]]]:
    """Lay the sessions day by day, keeping instructors and rooms in one place at a time.

    Only if every instructor (or room) is taken would one be double-booked; the
    profiles have enough of both for that not to happen.
    """
    rng = run.rng("schedule")
    rooms = _rooms(run)
    for g in groups:
        home = [r for r, room in enumerate(rooms) if room[2] == g.site]
        g.home_room = (
            home[g.index // len(run.sites) % len(home)]
            if g.parent is None
            else groups[g.parent].home_room
        )
    instructor_ids = [f"usr-i{i + 1:05d}" for i in range(instructor_count)]
    taught_sites: list[set[int]] = [set() for _ in range(instructor_count)]
    teams: dict[tuple[int, ...], tuple[str, ...]] = {}
    attrs_cache: dict[tuple[int, str], Attrs] = {}
    group_ids = [(g.record.source_id,) for g in groups]
    study_of = {g.parent: g for g in groups if g.parent is not None}
    dst = set(run.dst_days)
    reserve = run.profile.groups - run.profile.study_groups
    sessions: list[Session] = []
    for day_index, day in enumerate(run.days):
        busy_teacher = [0] * instructor_count
        busy_room = [0] * len(rooms)
        utc_at: dict[int, datetime] = {}
        templates = DST_TEMPLATES if day in dst else TEMPLATES
        for g in groups:
            if g.parent is not None or not g.day_counts or day_index not in g.day_counts:
                continue
            has_study = day_index in g.study_days
            slots = rng.choice(templates[g.day_counts[day_index] + has_study])
            for n, (start, end) in enumerate(slots):
                owner = study_of[g.index] if has_study and n == len(slots) - 1 else g
                mask = ((1 << ((end - start) // 15)) - 1) << ((start - 480) // 15)
                subject = owner.subjects[0]
                team: tuple[int, ...] = ()
                if owner is g:
                    subject = rng.choices(g.subjects, cum_weights=g.cum_weights)[0]
                    team = _team(
                        rng,
                        mask,
                        busy_teacher,
                        assigned[(g.index, subject)],
                        specialists[subject],
                        reserve,
                    )
                    for t in team:
                        busy_teacher[t] |= mask
                        taught_sites[t].add(g.site)
                room = _room(rng, mask, busy_room, owner.home_room, rooms, g.site)
                busy_room[room] |= mask
                for minute in (start, end):
                    if minute not in utc_at:
                        utc_at[minute] = local_to_utc(
                            datetime.combine(day, time(minute // 60, minute % 60)), run.tz
                        )
                if team not in teams:
                    teams[team] = tuple(instructor_ids[t] for t in team)
                if (g.site, subject) not in attrs_cache:
                    attrs_cache[(g.site, subject)] = attrs_of(
                        {"org": run.sites[g.site].org_id, "subject": subject}
                    )
                sessions.append(
                    Session(
                        f"ses-{len(sessions) + 1:06d}",
                        subject,
                        utc_at[start],
                        utc_at[end],
                        instructor_ids=teams[team],
                        group_ids=group_ids[owner.index],
                        exempt_learner_ids=exemptions.get((owner.index, subject), ()),
                        room_name=rooms[room][0],
                        room_code=rooms[room][1],
                        description=_description(rng, owner.record.name, subject),
                        attrs=attrs_cache[(g.site, subject)],
                    )
                )
    return tuple(sessions), taught_sites


def _team(
    rng: random.Random,
    mask: int,
    busy: list[int],
    first: int,
    specialists: list[int],
    reserve: int,
) -> tuple[int, ...]:
    """The instructor(s) of one session: the assigned one, else a free colleague.

    A second instructor (co-teaching) is added only while more than `reserve` (the
    number of teaching groups) are free, so every group always finds a lead.
    """
    lead = _free(busy, mask, (first, *specialists), rng.randrange(len(busy)), -1)
    if lead is None:  # everyone is busy: the assigned instructor is double-booked
        return (first,)
    if rng.random() >= 0.05 or sum(not b & mask for b in busy) <= reserve:
        return (lead,)
    second = _free(busy, mask, specialists, rng.randrange(len(busy)), lead)  # co-teaching
    return (lead,) if second is None else (lead, second)


def _room(
    rng: random.Random,
    mask: int,
    busy: list[int],
    home: int,
    rooms: Sequence[tuple[str, str, int]],
    site: int,
) -> int:
    """The group's home room, else any free room of the same site."""
    if not busy[home] & mask:
        return home
    start = rng.randrange(len(rooms))
    for k in range(len(rooms)):
        r = (start + k) % len(rooms)
        if rooms[r][2] == site and not busy[r] & mask:
            return r
    return home  # all taken: double-book the home room rather than drop the session


def _rooms(run: SchoolRun) -> list[tuple[str, str, int]]:
    """(name, code, site) of every room: one per group and site plus spares."""
    rng = run.rng("rooms")
    per_site = -(-run.profile.groups // len(run.sites)) + 3
    out: list[tuple[str, str, int]] = []
    for site in range(len(run.sites)):
        names = list(ROOM_NAMES)
        rng.shuffle(names)
        for r in range(per_site):
            code = f"{'ABCDE'[r // 30]}{1 + r % 30 // 10}{r % 10 + 1:02d}"
            out.append((f"Salle {names[r]}" if r < len(names) else f"Salle {code}", code, site))
    return out


def _free(
    busy: Sequence[int], mask: int, preferred: Sequence[int], scan_from: int, skip: int
) -> int | None:
    """The first preferred, else any (scanning from `scan_from`), instructor free during `mask`."""
    for t in preferred:
        if t != skip and not busy[t] & mask:
            return t
    for k in range(len(busy)):
        t = (scan_from + k) % len(busy)
        if t != skip and not busy[t] & mask:
            return t
    return None


def _description(rng: random.Random, group_name: str, subject: str) -> str:
    """A short course note; a few carry commas, semicolons and line breaks on purpose."""
    if rng.random() < 0.03:
        note = "évaluation : QCM, étude de cas; calculatrice autorisée\nDocuments interdits"
        return f"{subject} — {note}"
    return f"{subject} — {group_name}"


def _weights(cum: Sequence[int]) -> list[int]:
    """The weights behind cumulative weights."""
    return [c - (cum[i - 1] if i else 0) for i, c in enumerate(cum)]
