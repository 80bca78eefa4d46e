"""Canonical records from merged OneRoster rows: people, groups, memberships, tutor links.

`build_roster(state, tutor_roles)` is pure. OneRoster roles map to Person roles: student →
learner, teacher → instructor, each of `tutor_roles` (default `relative`) → tutor; a user
may hold several (one Person per role). Roles come from `roles.csv` (1.2) and
`users.role` (1.1); a user with neither takes the roles of its enrollments. Users that are
disabled, inactive or hold no synced role are left out without a word; a user without any
name is rejected. An enrollment that cannot become a membership (unknown class, user
without that role) is rejected unless its class or user was left out on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rollbridge.model import (
    Attrs,
    Group,
    Membership,
    Person,
    Rejected,
    Role,
    TutorLink,
    attrs_of,
)
from rollbridge.sources.files.csvio import split_values
from rollbridge.sources.files.oneroster import RosterState, Row

_FALSE = frozenset({"false", "0", "no", "n", "f"})
_BADGE_TYPES = frozenset({"badge", "nfc"})
_PERSON_KINDS: tuple[Role, ...] = ("learner", "instructor", "tutor")


@dataclass(frozen=True, slots=True)
class Roster:
    """Canonical records built from merged bundles."""

    people: tuple[Person, ...] = ()
    groups: tuple[Group, ...] = ()
    memberships: tuple[Membership, ...] = ()
    tutor_links: tuple[TutorLink, ...] = ()
    # Instructor ids per group, primary teachers first: a session's default instructors.
    teachers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    rejected: tuple[Rejected, ...] = ()
    deleted: frozenset[tuple[str, str]] = frozenset()


def build_roster(state: RosterState, tutor_roles: Iterable[str]) -> Roster:
    """People, groups, memberships and tutor links from the merged rows."""
    return _Builder(state, frozenset(role.lower() for role in tutor_roles)).build()


class _Builder:
    """One pass from merged rows to records, with the indexes it needs built once."""

    def __init__(self, state: RosterState, tutor_roles: frozenset[str]) -> None:
        self.state = state
        self.tutor_roles = tutor_roles
        self.rejected: list[Rejected] = list(state.rejected)
        tables = state.tables
        self.orgs = {key: row.get("name") for key, row in tables["orgs"].items() if row.is_active}
        self.roles: dict[str, list[Row]] = {}
        for row in tables["roles"].values():
            if row.is_active:
                self.roles.setdefault(row.get("usersourcedid"), []).append(row)
        self.enrolled_as: dict[str, set[str]] = {}
        for row in tables["enrollments"].values():
            if row.is_active:
                user = row.get("usersourcedid")
                self.enrolled_as.setdefault(user, set()).add(row.get("role").lower())

    def build(self) -> Roster:
        """Every record, with what was rejected and what `tobedeleted` removed."""
        people = self._people()
        kinds: dict[str, set[str]] = {}
        for person in people:
            kinds.setdefault(person.source_id, set()).add(person.role)
        groups = self._groups()
        group_ids = {group.source_id for group in groups}
        memberships, teachers = self._enrollments(kinds, group_ids)
        links = self._tutor_links(kinds)
        present = {(kind, key) for key, found in kinds.items() for kind in found}
        present.update(("group", key) for key in group_ids)
        deleted = self._deleted() - present
        return Roster(
            people=tuple(people),
            groups=tuple(groups),
            memberships=tuple(memberships),
            tutor_links=tuple(links),
            teachers=teachers,
            rejected=tuple(self.rejected),
            deleted=frozenset(deleted),
        )

    def _kinds_of(self, user: Row) -> list[Role]:
        """Person kinds a user takes: roles.csv (1.2), users.role (1.1), else enrollments."""
        names = {row.get("role").lower() for row in self.roles.get(user.sourced_id, ())}
        names.update(value.lower() for value in split_values(user.get("role", "roles")))
        if not names:
            names = self.enrolled_as.get(user.sourced_id, set())
        found = {self._kind_of_role(name) for name in names}
        return [kind for kind in _PERSON_KINDS if kind in found]

    def _people(self) -> list[Person]:
        people: list[Person] = []
        for key, user in self.state.tables["users"].items():
            if not user.is_active or user.get("enableduser").lower() in _FALSE:
                continue  # not active: absent from the read, never rejected
            kinds = self._kinds_of(user)
            if not kinds:
                continue  # administrators, parents outside tutor_roles...: not synced
            first, last = _names(user)
            if not first and not last:
                for kind in kinds:
                    self.rejected.append(
                        Rejected(kind, key, f"no givenName nor familyName ({user.where})")
                    )
                continue
            orgs = list(split_values(user.get("orgsourcedids")))
            orgs.extend(split_values(user.get("primaryorgsourcedid")))
            orgs.extend(row.get("orgsourcedid") for row in self.roles.get(key, ()))
            attrs = self._org_attrs(orgs, grades=split_values(user.get("grades", "grade")))
            for kind in kinds:
                people.append(
                    Person(
                        source_id=key,
                        role=kind,
                        first_name=first,
                        last_name=last,
                        email=user.get("email") or None,
                        badge_id=badge_of(user.get("userids", "userid")),
                        # Edusign texts signature links: prefer the number meant for SMS.
                        phone=user.get("sms", "phone") or None,
                        file_number=user.get("identifier") or None,
                        attrs=attrs,
                    )
                )
        return people

    def _org_attrs(self, orgs: Iterable[str], grades: Iterable[str] = ()) -> Attrs:
        values: dict[str, list[str]] = {"org": [], "org_name": [], "grade": list(grades)}
        for org in orgs:
            if org:
                values["org"].append(org)
                name = self.orgs.get(org)
                if name:
                    values["org_name"].append(name)
        return attrs_of(values)

    def _groups(self) -> list[Group]:
        groups: list[Group] = []
        for key, row in self.state.tables["classes"].items():
            if not row.is_active:
                continue
            code = row.get("classcode")
            name = row.get("title") or code
            if not name:
                self.rejected.append(
                    Rejected("group", key, f"no title nor classCode ({row.where})")
                )
                continue
            attrs = self._org_attrs(split_values(row.get("schoolsourcedid")))
            extra = {
                "course": split_values(row.get("coursesourcedid")),
                "term": split_values(row.get("termsourcedids", "termsourcedid")),
                "subject": split_values(row.get("subjects")),
            }
            groups.append(Group(key, name, code, attrs | attrs_of(extra)))
        return groups

    def _enrollments(
        self, kinds: Mapping[str, set[str]], group_ids: set[str]
    ) -> tuple[list[Membership], dict[str, tuple[str, ...]]]:
        """Student enrollments as memberships; teacher ones as each class's teachers."""
        memberships: set[Membership] = set()
        ranked: dict[str, list[tuple[bool, str, str]]] = {}
        classes, users = self.state.tables["classes"], self.state.tables["users"]
        for key, row in self.state.tables["enrollments"].items():
            role = row.get("role").lower()
            if not row.is_active or role not in ("student", "teacher"):
                continue
            group, user = row.get("classsourcedid"), row.get("usersourcedid")
            wanted = "learner" if role == "student" else "instructor"
            if group not in group_ids:
                if group not in classes and group not in self.state.removed["classes"]:
                    self.rejected.append(
                        Rejected("membership", key, f"unknown class {group} ({row.where})")
                    )
                continue  # an inactive or rejected class: nothing to join
            if wanted not in kinds.get(user, ()):
                if user in users and not self._is_quiet(users[user]):
                    self.rejected.append(
                        Rejected(
                            "membership",
                            key,
                            f"{user} is enrolled as {role} in {group} "
                            f"but is not a {role} ({row.where})",
                        )
                    )
                elif user not in users and user not in self.state.removed["users"]:
                    self.rejected.append(
                        Rejected("membership", key, f"unknown user {user} ({row.where})")
                    )
                continue
            if wanted == "learner":
                memberships.add(Membership(user, group))
            else:
                is_primary = row.get("primary").lower() == "true"
                ranked.setdefault(group, []).append((not is_primary, user, key))
        teachers = {
            group: tuple(dict.fromkeys(user for _, user, _ in sorted(rows)))
            for group, rows in ranked.items()
        }
        return sorted(memberships, key=lambda m: (m.group_id, m.learner_id)), teachers

    def _is_quiet(self, user: Row) -> bool:
        """Users whose enrollments are dropped without a word: inactive or rejected."""
        if not user.is_active or user.get("enableduser").lower() in _FALSE:
            return True
        return not any(_names(user))

    def _tutor_links(self, kinds: Mapping[str, set[str]]) -> list[TutorLink]:
        """Links from `agentSourcedIds`, read both ways: a learner's agents are its tutors,
        and a tutor's agents are the learners it follows (1.2 allows either)."""
        links: set[TutorLink] = set()
        for key, user in self.state.tables["users"].items():
            agents = split_values(user.get("agentsourcedids", "agents"))
            if not agents:
                continue
            mine = kinds.get(key, set())
            for agent in agents:
                theirs = kinds.get(agent, set())
                if "learner" in mine and "tutor" in theirs:
                    links.add(TutorLink(key, agent))
                if "tutor" in mine and "learner" in theirs:
                    links.add(TutorLink(agent, key))
        return sorted(links, key=lambda link: (link.learner_id, link.tutor_id))

    def _deleted(self) -> set[tuple[str, str]]:
        """Keys an explicit `tobedeleted` removed. A deleted user's kinds are not always
        known (a delta row may hold only its id), so every person kind is listed; the
        planner ignores keys it never linked."""
        removed = self.state.removed
        deleted: set[tuple[str, str]] = set()
        for key in removed["users"]:
            deleted.update((kind, key) for kind in _PERSON_KINDS)
        deleted.update(("group", key) for key in removed["classes"])
        for row in removed["roles"].values():
            kind = self._kind_of_role(row.get("role").lower())
            if kind is not None:
                deleted.add((kind, row.get("usersourcedid")))
        return deleted

    def _kind_of_role(self, role: str) -> Role | None:
        if role == "student":
            return "learner"
        if role == "teacher":
            return "instructor"
        return "tutor" if role in self.tutor_roles else None


def _names(user: Row) -> tuple[str, str]:
    """Given and family names; the preferred ones stand in when the legal ones are empty."""
    return user.get("givenname", "preferredgivenname"), user.get(
        "familyname", "preferredfamilyname"
    )


def badge_of(user_ids: str) -> str | None:
    """The badge or NFC identifier in a OneRoster `userIds` field like `{badge:1234}`."""
    if not user_ids:
        return None
    for part in user_ids.split("}"):
        kind, _, value = part.strip().lstrip(",").strip().lstrip("{").partition(":")
        if kind.strip().lower() in _BADGE_TYPES and value.strip():
            return value.strip()
    return None
