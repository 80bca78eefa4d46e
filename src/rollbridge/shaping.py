"""From one account's canonical records to the Edusign objects we want there.

Applies the setup options (tags from attributes, exemptions, room name or code, fixed room
for NFC, fallback instructor, tutors) and rejects what Edusign cannot take, each with a
plain reason. The result is a set of `Desired` objects whose `content_hash` covers exactly
what we write: an unchanged hash means no write.

References between objects (a course's instructors and learners, a group's members, a
learner's tutors) are held as source keys and resolved to Edusign ids at apply time, so
the hash does not depend on Edusign's ids.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from rollbridge.config import Options
from rollbridge.identity import ApiIds, EdusignKind, api_id, source_key
from rollbridge.model import Person, Rejected, Session, Snapshot, attr_values
from rollbridge.routing import members_by_group

FieldValue = str | int | bool | tuple[str, ...]

FALLBACK_INSTRUCTOR_ID = "__fallback_instructor__"

# A course's plain fields, sorted by name; one tuple shared by every course.
COURSE_FIELDS = ("API_ID", "API_TYPE", "CLASSROOM", "DESCRIPTION", "END", "NAME", "START")

# Pragmatic e-mail check: what Edusign accepts in practice, not RFC 5322.
_EMAIL = re.compile(r"^[^@\s,;<>()\[\]\"]+@[^@\s,;<>()\[\]\"]+\.[A-Za-z]{2,}$")

# Reference fields that hold one id rather than a list.
SCALAR_REFS = frozenset({"PROFESSOR"} | {f"PROFESSOR_{n}" for n in range(2, 21)})


def is_valid_email(email: str | None) -> bool:
    """Whether Edusign can create a person with this e-mail."""
    return bool(email) and _EMAIL.match(email or "") is not None


class Desired(NamedTuple):
    """One Edusign object as we want it: fields, references and the hash of both.

    A NamedTuple rather than a frozen dataclass: 60,000 are built per run, and a tuple is
    built several times faster while staying immutable and typed.
    """

    kind: EdusignKind
    key: str
    api_id: str
    names: tuple[str, ...]  # field names, sorted; shared by every course
    values: tuple[FieldValue, ...]  # one value per name
    refs: tuple[tuple[str, tuple[str, ...]], ...]
    content_hash: str
    email: str | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    label: str = ""

    @property
    def fields(self) -> tuple[tuple[str, FieldValue], ...]:
        """`(name, value)` pairs, sorted by name (references apart)."""
        return tuple(zip(self.names, self.values, strict=True))

    @property
    def display(self) -> str:
        """How a person recognises the object in a report."""
        if self.label:
            return self.label
        values = dict(self.fields)
        return f"{values.get('NAME', self.key)} {str(values.get('START', ''))[:16]}".strip()

    def field_dict(self) -> dict[str, FieldValue]:
        """The plain fields, without references."""
        return dict(self.fields)


@dataclass(frozen=True, slots=True)
class AccountDesired:
    """Everything one account should hold, by kind and key, plus what was rejected."""

    account: str
    objects: dict[EdusignKind, dict[str, Desired]] = field(default_factory=dict)
    rejected: tuple[Rejected, ...] = ()

    def count(self) -> int:
        return sum(len(by_key) for by_key in self.objects.values())


@dataclass(frozen=True, slots=True)
class ShapeContext:
    """Who we are writing for: identity inputs and the options."""

    tenant: str
    system: str
    account: str
    api_type: str
    options: Options


@functools.lru_cache(maxsize=8192)
def _ids_digest(ids: tuple[str, ...]) -> str:
    """A long list of references, hashed once: a timetable reuses each roster all year."""
    return hashlib.blake2b(repr(ids).encode(), digest_size=12).hexdigest()


class _SessionRefs(NamedTuple):
    refs: tuple[tuple[str, tuple[str, ...]], ...]
    token: str  # the refs as one string, for the course hash


def _compact_refs(refs: Iterable[tuple[str, tuple[str, ...]]]) -> tuple[tuple[str, object], ...]:
    return tuple((name, ids if len(ids) <= 4 else _ids_digest(ids)) for name, ids in refs)


def _course_hash(*texts: str) -> str:
    """The content hash of a course from its texts in a fixed order.

    Cheaper than `content_hash` (no repr of the whole record), which matters at 60,000
    sessions per run.
    """
    return hashlib.blake2b("\x1f".join(texts).encode(), digest_size=12).hexdigest()


def _hash(kind: str, fields: tuple[tuple[str, FieldValue], ...], compact: object) -> str:
    text = repr((kind, fields, compact))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def content_hash(
    kind: str,
    fields: Iterable[tuple[str, FieldValue]],
    refs: Iterable[tuple[str, tuple[str, ...]]],
) -> str:
    """Stable hash of what we would write; bookkeeping never enters it."""
    return _hash(kind, tuple(fields), _compact_refs(refs))


def _make(
    ctx: ShapeContext,
    kind: EdusignKind,
    key: str,
    fields: dict[str, FieldValue],
    refs: dict[str, tuple[str, ...]],
    **extra: object,
) -> Desired:
    identifier = api_id(ctx.tenant, ctx.system, ctx.account, key)
    fields = {**fields, "API_ID": identifier, "API_TYPE": ctx.api_type}
    ordered = tuple(sorted(fields.items()))
    ordered_refs = tuple(sorted((name, ids) for name, ids in refs.items() if ids))
    return Desired(
        kind=kind,
        key=key,
        api_id=identifier,
        names=tuple(name for name, _ in ordered),
        values=tuple(value for _, value in ordered),
        refs=ordered_refs,
        content_hash=content_hash(kind, ordered, ordered_refs),
        **extra,  # type: ignore[arg-type]
    )


def _person_fields(person: Person) -> dict[str, FieldValue]:
    fields: dict[str, FieldValue] = {
        "FIRSTNAME": person.first_name,
        "LASTNAME": person.last_name,
        "EMAIL": (person.email or "").strip().lower(),
    }
    if person.phone:
        fields["PHONE"] = person.phone
    return fields


class _Shaper:
    """One account's shaping pass; a class only to share lookups between steps."""

    def __init__(self, snapshot: Snapshot, ctx: ShapeContext) -> None:
        self.snapshot = snapshot
        self.ctx = ctx
        self.options = ctx.options
        self.rejected: list[Rejected] = []
        self._api_ids = ApiIds(ctx.tenant, ctx.system, ctx.account)
        self._course_tag = f"course\x1f{ctx.api_type}"
        self._refs_cache: dict[
            tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]],
            _SessionRefs | str,
        ] = {}
        self.objects: dict[EdusignKind, dict[str, Desired]] = {
            "professor": {},
            "external": {},
            "student": {},
            "group": {},
            "course": {},
        }

    def run(self) -> AccountDesired:
        people = self._valid_people()
        learners = {p.source_id for p in people if p.role == "learner"}
        instructors = {p.source_id for p in people if p.role == "instructor"}
        tutors = (
            {p.source_id for p in people if p.role == "tutor"} if self.options.tutors else set()
        )
        tutors_of: dict[str, list[str]] = {}
        for link in self.snapshot.tutor_links:
            if link.tutor_id in tutors and link.learner_id in learners:
                tutors_of.setdefault(link.learner_id, []).append(link.tutor_id)
        for person in people:
            self._shape_person(person, tutors_of.get(person.source_id, ()), tutors)
        members = {
            group_id: tuple(i for i in ids if i in learners)
            for group_id, ids in members_by_group(self.snapshot).items()
        }
        group_ids = {g.source_id for g in self.snapshot.groups}
        for group in self.snapshot.groups:
            refs = {
                "STUDENTS": tuple(
                    source_key("learner", i) for i in members.get(group.source_id, ())
                )
            }
            self.objects["group"][source_key("group", group.source_id)] = _make(
                self.ctx,
                "group",
                source_key("group", group.source_id),
                {"NAME": group.name, "DESCRIPTION": group.description},
                refs,
                label=group.name,
            )
        fallback = self._fallback_instructor()
        for session in self.snapshot.sessions:
            self._shape_session(session, group_ids, instructors, learners, members, fallback)
        return AccountDesired(self.ctx.account, self.objects, tuple(self.rejected))

    def _valid_people(self) -> list[Person]:
        valid: list[Person] = []
        seen_emails: dict[tuple[str, str], str] = {}
        for person in self.snapshot.people:
            if person.role == "tutor" and not self.options.tutors:
                continue
            label = person.display_name or person.source_id
            if not (person.first_name.strip() or person.last_name.strip()):
                self.rejected.append(
                    Rejected(person.role, person.source_id, "no first or last name", label)
                )
                continue
            if not is_valid_email(person.email):
                self.rejected.append(
                    Rejected(
                        person.role,
                        person.source_id,
                        f"no valid e-mail (got {person.email or 'nothing'!r}); "
                        "Edusign needs one: fix it in the planning system",
                        label,
                    )
                )
                continue
            email_key = (person.role, (person.email or "").strip().lower())
            if email_key in seen_emails:
                self.rejected.append(
                    Rejected(
                        person.role,
                        person.source_id,
                        f"same e-mail as {person.role} {seen_emails[email_key]}; "
                        "Edusign allows one person per e-mail",
                        label,
                    )
                )
                continue
            seen_emails[email_key] = person.source_id
            valid.append(person)
        return valid

    def _shape_person(self, person: Person, tutor_ids: Iterable[str], tutors: set[str]) -> None:
        key = source_key(person.role, person.source_id)
        fields = _person_fields(person)
        refs: dict[str, tuple[str, ...]] = {}
        if person.role == "learner":
            kind: EdusignKind = "student"
            if person.badge_id:
                fields["BADGE_ID"] = person.badge_id
            if person.file_number:
                fields["FILE_NUMBER"] = person.file_number
            if person.company:
                fields["COMPANY"] = person.company
            tags = tuple(
                sorted(
                    {
                        v
                        for name in self.options.tag_attributes
                        for v in attr_values(person.attrs, name)
                    }
                )
            )
            if tags:
                fields["TAGS"] = tags
            refs["STUDENT_FOLLOWER_ID"] = tuple(sorted(source_key("tutor", t) for t in tutor_ids))
        elif person.role == "instructor":
            kind = "professor"
        else:
            if person.source_id not in tutors:
                return
            kind = "external"
            if person.company:
                fields["COMPANY"] = person.company
        self.objects[kind][key] = _make(
            self.ctx, kind, key, fields, refs, email=fields["EMAIL"], label=person.display_name
        )

    def _fallback_instructor(self) -> str | None:
        email = self.options.fallback_instructor_email.strip().lower()
        if not email:
            return None
        if not is_valid_email(email):
            self.rejected.append(
                Rejected("option", "fallback_instructor_email", f"{email!r} is not a valid e-mail")
            )
            return None
        key = source_key("instructor", FALLBACK_INSTRUCTOR_ID)
        self.objects["professor"][key] = _make(
            self.ctx,
            "professor",
            key,
            {"FIRSTNAME": "Formateur", "LASTNAME": "Non renseigné", "EMAIL": email},
            {},
            email=email,
            label="fallback instructor",
        )
        return key

    def _session_refs(
        self,
        session: Session,
        group_ids: set[str],
        instructors: set[str],
        learners: set[str],
        members: dict[str, tuple[str, ...]],
        fallback: str | None,
    ) -> _SessionRefs | str:
        """References of a session, or why it cannot be shaped; shared by every session
        with the same instructors, groups, learners and exemptions (a timetable repeats
        them all year, so this runs a few hundred times, not 60,000)."""
        exempt = () if self.options.sync_exemptions else session.exempt_learner_ids
        cache_key = (session.instructor_ids, session.group_ids, session.learner_ids, exempt)
        found = self._refs_cache.get(cache_key)
        if found is not None:
            return found
        unknown = [g for g in session.group_ids if g not in group_ids]
        teachers = [source_key("instructor", i) for i in session.instructor_ids if i in instructors]
        result: _SessionRefs | str
        if unknown:
            result = f"unknown group {', '.join(unknown)}"
        elif not teachers and fallback is None:
            result = (
                "no instructor with a valid e-mail, and no fallback_instructor_email "
                "is set (Edusign needs one per course)"
            )
        else:
            ids: set[str] = {i for i in session.learner_ids if i in learners}
            for group_id in session.group_ids:
                ids.update(members.get(group_id, ()))
            ids.difference_update(exempt)
            roster = tuple(source_key("learner", i) for i in sorted(ids))
            # Name order: PROFESSOR < PROFESSOR_2 < … < STUDENTS.
            refs: list[tuple[str, tuple[str, ...]]] = [
                ("PROFESSOR" if index == 0 else f"PROFESSOR_{index + 1}", (teacher,))
                for index, teacher in enumerate(teachers or [fallback or ""])
            ]
            if roster:
                refs.append(("STUDENTS", roster))
            ordered = tuple(refs)
            result = _SessionRefs(ordered, repr(_compact_refs(ordered)))
        self._refs_cache[cache_key] = result
        return result

    def _shape_session(
        self,
        session: Session,
        group_ids: set[str],
        instructors: set[str],
        learners: set[str],
        members: dict[str, tuple[str, ...]],
        fallback: str | None,
    ) -> None:
        # Session guarantees UTC: isoformat alone is `iso_z` without the conversion.
        start = session.start_at.isoformat(timespec="milliseconds")[:-6] + "Z"
        label = f"{session.name} {start[:16]}"
        if session.end_at <= session.start_at:
            self.rejected.append(
                Rejected("session", session.source_id, "ends before it starts", label)
            )
            return
        refs = self._session_refs(session, group_ids, instructors, learners, members, fallback)
        if isinstance(refs, str):
            self.rejected.append(Rejected("session", session.source_id, refs, label))
            return
        if self.options.fixed_room_name:
            room = self.options.fixed_room_name
        elif self.options.room_label == "code" and session.room_code:
            room = session.room_code
        else:
            room = session.room_name or ""
        key = f"session:{session.source_id}"
        identifier = self._api_ids(key)
        # Values in COURSE_FIELDS order (what `_make` sorts for the few thousand people and
        # groups): 60,000 sessions must plan in well under a second and in little memory.
        end = session.end_at.isoformat(timespec="milliseconds")[:-6] + "Z"
        # API_ID and API_TYPE are constant per account: `_course_tag` covers them.
        digest = _course_hash(
            self._course_tag, room, session.description, end, session.name, start, refs.token
        )
        self.objects["course"][key] = Desired(
            kind="course",
            key=key,
            api_id=identifier,
            names=COURSE_FIELDS,
            values=(
                identifier,
                self.ctx.api_type,
                room,
                session.description,
                end,
                session.name,
                start,
            ),
            refs=refs.refs,
            content_hash=digest,
            start_at=session.start_at,
            end_at=session.end_at,
        )


def shape_account(snapshot: Snapshot, ctx: ShapeContext) -> AccountDesired:
    """The Edusign objects one account should hold, and what could not be shaped."""
    return _Shaper(snapshot, ctx).run()
