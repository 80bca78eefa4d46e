"""The synthetic school reshaped as one Hyperplanning base, by index (keys come from `base`).

From `generate_school` records: learners, instructors, promotions (formation + level) and
their TD groups (a promotion split into "Groupe A/B…"; a promotion of one group has none, its
courses hang on the promotion itself; the study groups become options), rooms with a distinct
name, code and long label, subjects, courses and séances (`courses.py`), families and
sections, exemptions by subject and apprenticeship masters.

Planted for the connector's traps (§11), and listed in `Planted`: an instructor without
e-mail, homonym learners and instructors (renamed only when the school has none already),
multi-section members in the "Site" (gfEtudiant) and "Modalité" (gfCours) families, and a
course lacking any "Modalité" section (the unplaced one).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

from rollbridge.model import Person
from rollbridge.sandbox.hyperplanning.courses import Course, GroupPlace, derive_courses
from rollbridge.sandbox.school import STUDY_SUBJECT, SyntheticSchool, email_slug, subject_code

_STUDY_PREFIX = f"{STUDY_SUBJECT} — "
_TD_MARK = " — Groupe "
ONLINE_SITE = "Campus numérique"
MODALITIES = ("Présentiel", "Distanciel", "Autonomie")
STATUSES = ("Permanent", "Vacataire")


@dataclass(frozen=True, slots=True)
class Room:
    """A room: Hyperplanning keeps a name, a code and a long label (§5)."""

    name: str
    code: str
    label: str


@dataclass(frozen=True, slots=True)
class Family:
    """A family of one genre and its sections (indexes into `Layout.rubrics`)."""

    label: str
    genre: str
    rubrics: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Tutor:
    """An apprenticeship master as `THpSvcWTypeMaitre` gives it."""

    last_name: str
    first_name: str
    email: str
    company: str


@dataclass(frozen=True, slots=True)
class Planted:
    """The traps, by index: what tests and the quirks control point at."""

    instructor_without_email: int
    homonym_learners: tuple[int, int]
    homonym_instructors: tuple[int, int]
    multi_site_learner: int
    multi_modality_course: int


@dataclass(frozen=True, slots=True)
class Layout:
    """One base's content, by index; immutable (marks and switches live elsewhere). Test
    controls edit it into a new one (`edits.py`); a course deleted from the planning stays
    in `courses` (keys come from counts) and is listed in `removed`."""

    school: SyntheticSchool
    learners: tuple[Person, ...]
    logins: tuple[str, ...]
    learner_promotion: tuple[int, ...]
    instructors: tuple[Person, ...]
    instructor_codes: tuple[str, ...]
    promotions: tuple[str, ...]
    promotion_learners: tuple[tuple[int, ...], ...]
    tds: tuple[str, ...]
    td_promotion: tuple[int, ...]
    td_learners: tuple[tuple[int, ...], ...]
    rooms: tuple[Room, ...]
    subjects: tuple[tuple[str, str], ...]  # (label, code)
    courses: tuple[Course, ...]
    families: tuple[Family, ...]
    rubrics: tuple[str, ...]
    members: dict[tuple[int, int], tuple[int, ...]]  # (family, entity index) -> sections
    exemptions: tuple[tuple[int, ...], ...]  # per learner: exempted subjects
    tutors: tuple[tuple[Tutor, ...], ...]  # per learner
    groups: dict[str, GroupPlace]  # generator group id -> place
    planted: Planted
    removed: frozenset[int] = frozenset()  # course indexes deleted from the planning


def _homonyms(people: list[Person]) -> tuple[int, int]:
    """A pair sharing first and last name; renames the second person if there is none."""
    seen: dict[tuple[str, str], int] = {}
    for index, person in enumerate(people):
        name = (person.first_name, person.last_name)
        if name in seen:
            return seen[name], index
        seen[name] = index
    twin = people[0]
    people[1] = replace(people[1], first_name=twin.first_name, last_name=twin.last_name)
    return 0, 1


def _numbered(stems: Sequence[str]) -> tuple[str, ...]:
    """Unique strings: the second `dupj` becomes `dupj2`."""
    taken: dict[str, int] = {}
    out = []
    for stem in stems:
        taken[stem] = taken.get(stem, 0) + 1
        out.append(stem if taken[stem] == 1 else f"{stem}{taken[stem]}")
    return tuple(out)


def _slug(text: str) -> str:
    return email_slug(text).replace("-", "").replace(".", "")


def build_layout(school: SyntheticSchool) -> Layout:
    """Reshape the school; deterministic (no set iteration, no randomness)."""
    learners = [p for p in school.people if p.role == "learner"]
    instructors = [p for p in school.people if p.role == "instructor"]
    learner_twins = _homonyms(learners)
    instructor_twins = _homonyms(instructors)
    learner_of = {p.source_id: i for i, p in enumerate(learners)}
    instructor_of = {p.source_id: i for i, p in enumerate(instructors)}

    promotions, td_names, td_promotion, places = _groups(school, learner_of)
    promotion_learners: list[list[int]] = [[] for _ in promotions]
    td_learners: list[tuple[int, ...]] = [() for _ in td_names]
    learner_promotion = [0] * len(learners)
    for place in places.values():
        if place.td is not None:
            td_learners[place.td] = place.learners
        if not place.is_study:
            promotion_learners[place.promotion].extend(place.learners)
            for learner in place.learners:
                learner_promotion[learner] = place.promotion

    city_of = {site.org_id: site.city for site in school.sites}
    rooms: dict[tuple[str, str, str], int] = {}
    room_list: list[Room] = []
    subjects: dict[str, int] = {}
    for session in school.sessions:
        org = next((value for name, value in session.attrs if name == "org"), "")
        place_key = (session.room_name or "", session.room_code or "", org)
        if place_key not in rooms:
            rooms[place_key] = len(room_list)
            room_list.append(_room(*place_key, city_of.get(org, "")))
        subjects.setdefault(session.name, len(subjects))
    courses = derive_courses(school.sessions, school.tz, places, rooms, subjects, instructor_of)

    # The last instructor who teaches loses the e-mail: Edusign needs one (§10).
    teaching = {i for course in courses for i in course.instructors}
    silent = max(teaching)
    instructors[silent] = replace(instructors[silent], email=None)

    families, rubrics, members, planted_multi = _families(
        school, courses, places, len(learners), len(instructors)
    )
    exempt: list[set[int]] = [set() for _ in learners]
    session_subject = {
        s.source_id: subjects[s.name] for s in school.sessions if s.exempt_learner_ids
    }
    for session_id, learner_id in school.quirks.exempt_pairs:
        exempt[learner_of[learner_id]].add(session_subject[session_id])
    tutor_of = {p.source_id: p for p in school.people if p.role == "tutor"}
    tutors: list[list[Tutor]] = [[] for _ in learners]
    for link in school.tutor_links:
        tutor = tutor_of[link.tutor_id]
        tutors[learner_of[link.learner_id]].append(
            Tutor(tutor.last_name, tutor.first_name, tutor.email or "", tutor.company or "")
        )
    return Layout(
        school=school,
        learners=tuple(learners),
        logins=_numbered([f"{_slug(p.first_name)[:1]}{_slug(p.last_name)}" for p in learners]),
        learner_promotion=tuple(learner_promotion),
        instructors=tuple(instructors),
        instructor_codes=_numbered(
            [(_slug(p.last_name)[:4] + _slug(p.first_name)[:1]).upper() for p in instructors]
        ),
        promotions=tuple(promotions),
        promotion_learners=tuple(tuple(sorted(ls)) for ls in promotion_learners),
        tds=tuple(td_names),
        td_promotion=tuple(td_promotion),
        td_learners=tuple(td_learners),
        rooms=tuple(room_list),
        subjects=tuple((label, subject_code(label)) for label in subjects),
        courses=tuple(courses),
        families=families,
        rubrics=rubrics,
        members=members,
        exemptions=tuple(tuple(sorted(e)) for e in exempt),
        tutors=tuple(tuple(t) for t in tutors),
        groups=places,
        planted=Planted(silent, learner_twins, instructor_twins, *planted_multi),
    )


def _groups(
    school: SyntheticSchool, learner_of: dict[str, int]
) -> tuple[list[str], list[str], list[int], dict[str, GroupPlace]]:
    """Promotions, TD names, each TD's promotion, and where each generator group went."""
    members: dict[str, list[int]] = {}
    for membership in school.memberships:
        members.setdefault(membership.group_id, []).append(learner_of[membership.learner_id])
    by_name = {g.name: g for g in school.groups}

    def promotion_name(name: str) -> str:
        if name.startswith(_STUDY_PREFIX):
            return promotion_name(by_name[name.removeprefix(_STUDY_PREFIX)].name)
        return name.split(_TD_MARK)[0]

    promotions: list[str] = []
    teaching_count: dict[str, int] = {}
    for group in school.groups:
        promo = promotion_name(group.name)
        if promo not in promotions:
            promotions.append(promo)
        if not group.name.startswith(_STUDY_PREFIX):
            teaching_count[promo] = teaching_count.get(promo, 0) + 1
    td_names: list[str] = []
    td_promotion: list[int] = []
    places: dict[str, GroupPlace] = {}
    for group in school.groups:
        promo = promotion_name(group.name)
        is_study = group.name.startswith(_STUDY_PREFIX)
        td = None
        if is_study or teaching_count[promo] > 1:
            td = len(td_names)
            td_names.append(group.name)
            td_promotion.append(promotions.index(promo))
        learners = tuple(sorted(members.get(group.source_id, [])))
        places[group.source_id] = GroupPlace(promotions.index(promo), td, learners, is_study)
    return promotions, td_names, td_promotion, places


def _room(name: str, code: str, org: str, city: str) -> Room:
    """Name, code and a long label that differs from both (e.g. for the NFC option)."""
    floor = code[1:2] or "0"
    label = f"{name} — bâtiment {code[:1] or '?'}, étage {floor}" + (f", {city}" if city else "")
    return Room(name or code, code, label)


def _families(
    school: SyntheticSchool,
    courses: Sequence[Course],
    places: dict[str, GroupPlace],
    n: int,
    instructors: int,
) -> tuple[
    tuple[Family, ...], tuple[str, ...], dict[tuple[int, int], tuple[int, ...]], tuple[int, int]
]:
    """Families "Formation" and "Site" (gfEtudiant), "Modalité" (gfCours), "Statut"
    (gfEnseignant), their sections and memberships, with multi-section members planted."""
    group_of = {g.source_id: g for g in school.groups}
    city_of = {site.org_id: site.city for site in school.sites}
    formation = [""] * n
    site = [""] * n
    for group_id, place in places.items():
        if place.is_study:
            continue
        attrs = dict(group_of[group_id].attrs)
        for learner in place.learners:
            formation[learner] = attrs.get("family:Formation", "")
            site[learner] = city_of.get(attrs.get("org", ""), "")
    rubrics: list[str] = []
    families: list[Family] = []

    def family(label: str, genre: str, sections: Sequence[str]) -> tuple[int, dict[str, int]]:
        """Declare a family; its index and its sections' indexes by label."""
        first = len(rubrics)
        rubrics.extend(sections)
        families.append(Family(label, genre, tuple(range(first, len(rubrics)))))
        return len(families) - 1, {section: first + i for i, section in enumerate(sections)}

    by_formation, formations = family(
        "Formation", "gfEtudiant", list(dict.fromkeys(f for f in formation if f))
    )
    by_site, sites = family("Site", "gfEtudiant", [*(s.city for s in school.sites), ONLINE_SITE])
    by_modality, modalities = family("Modalité", "gfCours", MODALITIES)
    by_status, statuses = family("Statut", "gfEnseignant", STATUSES)
    members: dict[tuple[int, int], tuple[int, ...]] = {}
    multi_site = 7 % n
    for learner in range(n):
        if formation[learner]:
            members[(by_formation, learner)] = (formations[formation[learner]],)
        own = (sites[site[learner]],) if site[learner] else ()
        online = (sites[ONLINE_SITE],) if learner % 15 == multi_site else ()
        members[(by_site, learner)] = own + online
    multi_course = -1
    for index, course in enumerate(courses):
        if not course.is_placed:
            continue  # the unplaced course lacks a section: a filter must not crash on it
        if not course.presence_required:  # the self-study courses
            chosen: tuple[str, ...] = ("Autonomie",)
        else:
            draw = zlib.crc32(f"{course.group_id}|{course.subject}|{index}".encode()) % 20
            chosen = {0: ("Distanciel",), 1: ("Distanciel",), 2: ("Présentiel", "Distanciel")}.get(
                draw, ("Présentiel",)
            )
        if len(chosen) > 1 and multi_course < 0:
            multi_course = index
        members[(by_modality, index)] = tuple(modalities[c] for c in chosen)
    if multi_course < 0:  # tiny schools: force one hybrid course
        multi_course = 0
        members[(by_modality, 0)] = (modalities["Présentiel"], modalities["Distanciel"])
    for instructor in range(instructors):
        members[(by_status, instructor)] = (statuses[STATUSES[instructor % 3 == 2]],)
    return tuple(families), tuple(rubrics), members, (multi_site, multi_course)
