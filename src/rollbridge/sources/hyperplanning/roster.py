"""People, groups, memberships and tutor links from one base's inputs. Pure.

Every learner (e-mail, badge, student number, `family:` attributes) and every instructor
becomes a `Person`, with or without an e-mail: shaping rejects those without, or puts the
fallback instructor in their place. Groups are promotions and TD/options; a learner's
promotions and a TD's learner list make the memberships. Tutors (apprenticeship masters)
and their links come only when asked. A nameless or repeated record is a `Rejected`; a
reference to something Hyperplanning did not list is a warning.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from rollbridge.model import Group, Membership, Person, Rejected, TutorLink
from rollbridge.sources.hyperplanning.families import learner_family_attrs
from rollbridge.sources.hyperplanning.ids import source_id
from rollbridge.sources.hyperplanning.inputs import HpLearner, HpRead


@dataclass(frozen=True, slots=True)
class HpRoster:
    """The records, plus the key → source id lookups sessions need."""

    people: tuple[Person, ...] = ()
    groups: tuple[Group, ...] = ()
    memberships: tuple[Membership, ...] = ()
    tutor_links: tuple[TutorLink, ...] = ()
    learner_ids: Mapping[int, str] = field(default_factory=dict)
    teacher_ids: Mapping[int, str] = field(default_factory=dict)
    group_ids: Mapping[tuple[str, int], str] = field(default_factory=dict)  # ("td", key) → id
    members: Mapping[str, frozenset[int]] = field(default_factory=dict)  # group id → keys
    rejected: tuple[Rejected, ...] = ()
    warnings: tuple[str, ...] = ()


def build_roster(read: HpRead, base: str, *, tutors: bool) -> HpRoster:
    """Learners, instructors, groups, memberships, and tutors when `tutors` is on."""
    return _Builder(read, base).build(tutors=tutors)


def _name(first: str, last: str) -> str:
    return f"{first} {last}".strip()


class _Builder:
    """One pass over the people and groups, with the lookups it fills on the way."""

    def __init__(self, read: HpRead, base: str) -> None:
        self.read = read
        self.base = base
        self.rejected: list[Rejected] = []
        self.warnings: list[str] = []
        self.learner_ids: dict[int, str] = {}
        self.accepted: list[HpLearner] = []
        self.teacher_ids: dict[int, str] = {}
        self.group_ids: dict[tuple[str, int], str] = {}
        self.members: dict[str, set[int]] = defaultdict(set)

    def build(self, *, tutors: bool) -> HpRoster:
        people = [*self._learners(), *self._teachers()]
        groups = self._groups()
        memberships = self._memberships()
        tutor_people, links = self._tutors() if tutors else ([], [])
        return HpRoster(
            people=(*people, *tutor_people),
            groups=tuple(groups),
            memberships=tuple(memberships),
            tutor_links=tuple(links),
            learner_ids=self.learner_ids,
            teacher_ids=self.teacher_ids,
            group_ids=self.group_ids,
            members={group: frozenset(keys) for group, keys in self.members.items()},
            rejected=tuple(self.rejected),
            warnings=tuple(self.warnings),
        )

    def _learners(self) -> list[Person]:
        out: list[Person] = []
        index = self.read.student_families
        for learner in self.read.learners:
            sid = source_id(self.base, "learner", learner.key)
            label = _name(learner.first_name, learner.last_name)
            if learner.key in self.learner_ids:
                self.rejected.append(
                    Rejected("learner", sid, "learner listed twice by Hyperplanning", label)
                )
                continue
            if not label:
                self.rejected.append(
                    Rejected("learner", sid, f"learner {learner.key} has no name in Hyperplanning")
                )
                continue
            attrs, unknown = learner_family_attrs(learner.section_keys, index)
            if unknown:
                self.warnings.append(
                    f"learner {label} ({learner.key}) sits in unknown family sections "
                    f"{list(unknown)}: they were ignored"
                )
            self.learner_ids[learner.key] = sid
            self.accepted.append(learner)
            out.append(
                Person(
                    source_id=sid,
                    role="learner",
                    first_name=learner.first_name.strip(),
                    last_name=learner.last_name.strip(),
                    email=(learner.email or "").strip() or None,
                    badge_id=(learner.badge or "").strip() or None,
                    file_number=(learner.student_number or "").strip() or None,
                    attrs=attrs,
                )
            )
        return out

    def _teachers(self) -> list[Person]:
        out: list[Person] = []
        for teacher in self.read.teachers:
            sid = source_id(self.base, "instructor", teacher.key)
            label = _name(teacher.first_name, teacher.last_name) or teacher.code
            if teacher.key in self.teacher_ids:
                self.rejected.append(
                    Rejected("instructor", sid, "instructor listed twice by Hyperplanning", label)
                )
                continue
            if not _name(teacher.first_name, teacher.last_name):
                self.rejected.append(
                    Rejected(
                        "instructor",
                        sid,
                        f"instructor {teacher.key} has no name in Hyperplanning",
                        label,
                    )
                )
                continue
            self.teacher_ids[teacher.key] = sid
            out.append(
                Person(
                    source_id=sid,
                    role="instructor",
                    first_name=teacher.first_name.strip(),
                    last_name=teacher.last_name.strip(),
                    email=(teacher.email or "").strip() or None,
                )
            )
        return out

    def _tutors(self) -> tuple[list[Person], list[TutorLink]]:
        people: list[Person] = []
        links: list[TutorLink] = []
        seen: set[str] = set()
        for tutor in self.read.tutors:
            sid = source_id(self.base, "tutor", tutor.key)
            label = _name(tutor.first_name, tutor.last_name) or (tutor.email or "")
            if sid in seen:
                self.rejected.append(Rejected("tutor", sid, "tutor listed twice", label))
                continue
            if not label:
                self.rejected.append(
                    Rejected("tutor", sid, f"tutor {tutor.key} has neither name nor e-mail")
                )
                continue
            seen.add(sid)
            people.append(
                Person(
                    source_id=sid,
                    role="tutor",
                    first_name=tutor.first_name.strip(),
                    last_name=tutor.last_name.strip(),
                    email=(tutor.email or "").strip() or None,
                    phone=(tutor.phone or "").strip() or None,
                    company=(tutor.company or "").strip() or None,
                )
            )
            missing = 0
            for key in dict.fromkeys(tutor.learner_keys):
                learner_id = self.learner_ids.get(key)
                if learner_id is None:
                    missing += 1
                else:
                    links.append(TutorLink(learner_id, sid))
            if missing:
                self.warnings.append(
                    f"tutor {label} follows {missing} learner(s) Hyperplanning did not list"
                )
        return people, links

    # Groups ----------------------------------------------------------------------------

    def _groups(self) -> list[Group]:
        out: list[Group] = []
        promotion_names: dict[int, str] = {}
        for promotion in self.read.promotions:
            sid = source_id(self.base, "promotion", promotion.key)
            name = promotion.name.strip()
            if ("promotion", promotion.key) in self.group_ids or not name:
                why = "listed twice" if name else "has no name"
                self.rejected.append(
                    Rejected("group", sid, f"promotion {promotion.key} {why}", name)
                )
                continue
            self.group_ids["promotion", promotion.key] = sid
            promotion_names[promotion.key] = name
            out.append(Group(sid, name))
        for td in self.read.td_options:
            sid = source_id(self.base, "td", td.key)
            name = td.name.strip()
            if ("td", td.key) in self.group_ids or not name:
                why = "listed twice" if name else "has no name"
                self.rejected.append(Rejected("group", sid, f"TD/option {td.key} {why}", name))
                continue
            parent = None if td.promotion_key is None else promotion_names.get(td.promotion_key)
            self.group_ids["td", td.key] = sid
            out.append(
                Group(
                    sid,
                    f"{parent} {name}" if parent and not name.startswith(parent) else name,
                    f"TD/option of {parent}" if parent else "TD/option",
                )
            )
        return out

    def _memberships(self) -> list[Membership]:
        out: dict[tuple[str, str], Membership] = {}
        for learner in self.accepted:
            learner_id = self.learner_ids[learner.key]
            for key in learner.promotion_keys:
                group_id = self.group_ids.get(("promotion", key))
                if group_id is None:
                    self.warnings.append(
                        f"learner {_name(learner.first_name, learner.last_name)} "
                        f"({learner.key}) is in promotion {key}, which Hyperplanning did not list"
                    )
                    continue
                self.members[group_id].add(learner.key)
                out[learner_id, group_id] = Membership(learner_id, group_id)
        for td in self.read.td_options:
            group_id = self.group_ids.get(("td", td.key))
            if group_id is None:
                continue
            missing = 0
            for key in td.learner_keys:
                member = self.learner_ids.get(key)
                if member is None:
                    missing += 1
                    continue
                self.members[group_id].add(key)
                out[member, group_id] = Membership(member, group_id)
            if missing:
                self.warnings.append(
                    f"TD/option {td.name} ({td.key}) lists {missing} learner(s) "
                    "Hyperplanning did not list"
                )
        return list(out.values())
