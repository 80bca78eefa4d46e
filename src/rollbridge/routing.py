"""Which Edusign account(s) each record goes to.

Sources express their native filter (Hyperplanning families, Yparéo sites, Ammon
structures, SC-Form companies and bases, ADE folders...) as routing attributes; each
account has a learner rule and a session rule over them (`config.Rule`).

- One account with no rule: everything goes there, people without sessions included.
- Otherwise: learners go where their rule matches; a session goes to an account whose
  session rule matches it and that receives at least one of its learners ("every course
  with learners"); groups, instructors and tutors follow the learners and sessions that
  need them. A record matching two accounts goes to both, and `overlaps` says so, because
  that is how duplicates are born.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from rollbridge.config import Account
from rollbridge.model import Person, Session, Snapshot


@dataclass(frozen=True, slots=True)
class Overlap:
    """A record that lands in more than one account."""

    kind: str
    source_id: str
    label: str
    accounts: tuple[str, ...]


def session_learner_ids(
    session: Session, members_by_group: dict[str, tuple[str, ...]]
) -> frozenset[str]:
    """Every learner a session concerns: its groups' members plus individual enrolments."""
    ids: set[str] = set(session.learner_ids)
    for group_id in session.group_ids:
        ids.update(members_by_group.get(group_id, ()))
    return frozenset(ids)


def members_by_group(snapshot: Snapshot) -> dict[str, tuple[str, ...]]:
    """Group id → sorted learner ids."""
    found: dict[str, list[str]] = defaultdict(list)
    for membership in snapshot.memberships:
        found[membership.group_id].append(membership.learner_id)
    return {group_id: tuple(sorted(set(ids))) for group_id, ids in found.items()}


def _takes_everything(accounts: Sequence[Account]) -> bool:
    return (
        len(accounts) == 1
        and accounts[0].learners.is_everything
        and accounts[0].sessions.is_everything
    )


def route(snapshot: Snapshot, accounts: Sequence[Account]) -> dict[str, Snapshot]:
    """Split a snapshot into one per account (records may appear in several)."""
    if _takes_everything(accounts):
        return {accounts[0].name: snapshot}
    members = members_by_group(snapshot)
    learners = [p for p in snapshot.people if p.role == "learner"]
    routed: dict[str, Snapshot] = {}
    for account in accounts:
        learner_ids = frozenset(p.source_id for p in learners if account.learners.matches(p.attrs))
        sessions = tuple(
            s
            for s in snapshot.sessions
            if account.sessions.matches(s.attrs)
            and not learner_ids.isdisjoint(session_learner_ids(s, members))
        )
        group_ids = {g for s in sessions for g in s.group_ids}
        group_ids.update(m.group_id for m in snapshot.memberships if m.learner_id in learner_ids)
        instructor_ids = {i for s in sessions for i in s.instructor_ids}
        tutor_links = tuple(t for t in snapshot.tutor_links if t.learner_id in learner_ids)
        tutor_ids = {t.tutor_id for t in tutor_links}
        people = tuple(
            p
            for p in snapshot.people
            if (p.role == "learner" and p.source_id in learner_ids)
            or (p.role == "instructor" and p.source_id in instructor_ids)
            or (p.role == "tutor" and p.source_id in tutor_ids)
        )
        routed[account.name] = replace(
            snapshot,
            people=people,
            groups=tuple(g for g in snapshot.groups if g.source_id in group_ids),
            sessions=sessions,
            memberships=tuple(
                m
                for m in snapshot.memberships
                if m.learner_id in learner_ids and m.group_id in group_ids
            ),
            tutor_links=tutor_links,
            rejected=(),
        )
    return routed


def overlaps(routed: dict[str, Snapshot]) -> list[Overlap]:
    """Learners and sessions that land in two accounts or more."""
    if len(routed) < 2:
        return []
    seen: dict[tuple[str, str], list[str]] = defaultdict(list)
    labels: dict[tuple[str, str], str] = {}
    for account, snapshot in routed.items():
        for person in snapshot.people:
            if person.role == "learner":
                key = ("learner", person.source_id)
                seen[key].append(account)
                labels[key] = _person_label(person)
        for session in snapshot.sessions:
            key = ("session", session.source_id)
            seen[key].append(account)
            labels[key] = session.name
    return [
        Overlap(kind, source_id, labels[(kind, source_id)], tuple(names))
        for (kind, source_id), names in sorted(seen.items())
        if len(names) > 1
    ]


def rule_overlaps(accounts: Sequence[Account]) -> list[str]:
    """Attribute values named in two accounts' rules: a warning before any data is read."""
    owners: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for account in accounts:
        for which, rule in (("learners", account.learners), ("sessions", account.sessions)):
            if rule.match == "none":
                continue  # two accounts excluding the same value share nothing
            for name, values in rule.attrs.items():
                for value in values:
                    owners[(which, name, value)].append(account.name)
    return [
        f"{which} rule {name} = {value!r} appears in accounts {', '.join(names)}"
        for (which, name, value), names in sorted(owners.items())
        if len(names) > 1
    ]


def _person_label(person: Person) -> str:
    return person.display_name or person.source_id
