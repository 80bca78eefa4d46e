"""Planned sessions checked against the roster and completed from it; pure.

A session's stated ids (CSV columns, `X-ROLLBRIDGE-*` properties) must name known,
active records. An unknown group rejects the session (who should attend is unknown); an
unknown or inactive instructor or learner is left out of it with a reason in the report,
and the session is kept, because a learner who left must not cancel a class for everyone.
Calendars that state no ids (ADE exports) are matched instead: a group when its title or
classCode is a DESCRIPTION line or a CATEGORIES value, an instructor when an
ATTENDEE/ORGANIZER e-mail is theirs or a DESCRIPTION line is their name ("Marie Dupont",
"DUPONT   Marie"), compared without case, accents or repeated spaces. A session naming no
instructor gets its groups' teachers from the enrollments, primary teachers first.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, time, timedelta

from rollbridge.model import Attrs, Rejected, Session, Window
from rollbridge.sources.files.calendar import PlannedSession
from rollbridge.sources.files.roster import Roster

# Group attributes a session inherits, for routing and tags (DESIGN: Routing).
INHERITED_ATTRS = frozenset({"org", "org_name", "course"})


def match_key(text: str) -> str:
    """Text compared without case, accents or repeated spaces ("DUPONT   Élodie")."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())


class SessionLinker:
    """The roster's groups and people, indexed once, against which sessions are checked."""

    def __init__(self, roster: Roster) -> None:
        self.groups = {group.source_id: group for group in roster.groups}
        self.learners = {p.source_id for p in roster.people if p.role == "learner"}
        instructors = [p for p in roster.people if p.role == "instructor"]
        self.instructors = {p.source_id for p in instructors}
        self.teachers: Mapping[str, tuple[str, ...]] = roster.teachers
        self.group_keys: dict[str, list[str]] = {}
        for group in roster.groups:
            for text in (group.name, group.description):
                if text:
                    _add(self.group_keys, match_key(text), group.source_id)
        self.emails: dict[str, list[str]] = {}
        self.names: dict[str, list[str]] = {}
        for person in instructors:
            if person.email:
                _add(self.emails, person.email.strip().lower(), person.source_id)
            for text in (
                f"{person.first_name} {person.last_name}",
                f"{person.last_name} {person.first_name}",
            ):
                _add(self.names, match_key(text), person.source_id)
        self._shared: dict[tuple[tuple[str, ...], str], tuple[Attrs, tuple[str, ...]]] = {}

    def link(
        self, planned: Iterable[PlannedSession], window: Window
    ) -> tuple[list[Session], list[Rejected]]:
        """Sessions inside `window` with checked references; the others left out."""
        sessions: list[Session] = []
        rejected: list[Rejected] = []
        # Window.covers compares UTC dates; comparing instants to its UTC bounds is the
        # same test without converting 60,000 datetimes.
        low = datetime.combine(window.start_on, time(), UTC)
        high = datetime.combine(window.end_on + timedelta(days=1), time(), UTC)
        groups, instructors, learners = set(self.groups), self.instructors, self.learners
        for item in planned:
            if not low <= item.start_at < high:
                continue  # out of scope, not wrong
            group_ids = item.class_ids
            if group_ids is None:
                group_ids = self._match_groups(item.hint_lines)
            instructor_ids = item.instructor_ids
            if instructor_ids is None:
                instructor_ids = self._match_instructors(item.hint_emails, item.hint_lines)
            if not groups.issuperset(group_ids):
                reason = self._unknown(item, group_ids, instructor_ids)
                rejected.append(Rejected("session", item.source_id, reason, label=item.title))
                continue
            learner_ids, exempt_ids = item.learner_ids, item.exempt_learner_ids
            if not (
                instructors.issuperset(instructor_ids)
                and learners.issuperset(learner_ids)
                and learners.issuperset(exempt_ids)
            ):
                reason = self._unknown(item, group_ids, instructor_ids)
                rejected.append(
                    Rejected(
                        "session-member",
                        item.source_id,
                        f"{reason}: left out; the session is kept",
                        label=item.title,
                    )
                )
                instructor_ids = tuple(i for i in instructor_ids if i in instructors)
                learner_ids = tuple(i for i in learner_ids if i in learners)
                exempt_ids = tuple(i for i in exempt_ids if i in learners)
            attrs, teachers = self._from_groups(group_ids, item.title)
            sessions.append(
                Session(
                    source_id=item.source_id,
                    name=item.title,
                    start_at=item.start_at,
                    end_at=item.end_at,
                    instructor_ids=instructor_ids or teachers,
                    group_ids=group_ids,
                    learner_ids=learner_ids,
                    exempt_learner_ids=exempt_ids,
                    room_name=item.room_name,
                    room_code=item.room_code,
                    description=item.description,
                    attrs=attrs,
                )
            )
        return sessions, rejected

    def _unknown(
        self, item: PlannedSession, group_ids: tuple[str, ...], instructor_ids: tuple[str, ...]
    ) -> str:
        """Why the session's stated ids cannot be used."""
        problems: list[str] = []
        missing = [key for key in group_ids if key not in self.groups]
        if missing:
            problems.append(f"unknown group {', '.join(missing)}")
        missing = [key for key in instructor_ids if key not in self.instructors]
        if missing:
            problems.append(f"unknown or inactive instructor {', '.join(missing)}")
        learners = self.learners
        missing = [key for key in item.learner_ids if key not in learners]
        missing += [key for key in item.exempt_learner_ids if key not in learners]
        if missing:
            problems.append(f"unknown or inactive learner {', '.join(dict.fromkeys(missing))}")
        return "; ".join(problems)

    def _from_groups(self, group_ids: tuple[str, ...], title: str) -> tuple[Attrs, tuple[str, ...]]:
        """Attributes and default instructors shared by every session of these groups
        and title (a timetable repeats them all year: computed once)."""
        found = self._shared.get((group_ids, title))
        if found is None:
            pairs = {
                pair
                for key in group_ids
                for pair in self.groups[key].attrs
                if pair[0] in INHERITED_ATTRS
            }
            teachers = tuple(
                dict.fromkeys(user for key in group_ids for user in self.teachers.get(key, ()))
            )
            pairs.add(("subject", title))
            found = self._shared[(group_ids, title)] = (frozenset(pairs), teachers)
        return found

    def _match_groups(self, lines: tuple[str, ...]) -> tuple[str, ...]:
        matched: list[str] = []
        for line in lines:
            found = self.group_keys.get(match_key(line), [])
            if len(found) == 1:  # a title two classes share names neither for sure
                matched.extend(found)
        return tuple(dict.fromkeys(matched))

    def _match_instructors(
        self, emails: tuple[str, ...], lines: tuple[str, ...]
    ) -> tuple[str, ...]:
        matched: list[str] = []
        for email in emails:
            matched.extend(self.emails.get(email, ()))
        for line in lines:
            found = self.names.get(match_key(line), [])
            if len(found) == 1:  # two teachers with one name: do not guess
                matched.extend(found)
        return tuple(dict.fromkeys(matched))


def _add(index: dict[str, list[str]], key: str, value: str) -> None:
    if key:
        values = index.setdefault(key, [])
        if value not in values:
            values.append(value)
