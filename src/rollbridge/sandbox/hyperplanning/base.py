"""One Hyperplanning base: the layout under a key space and a first day, plus read indexes.

Keys are opaque integers, one space per entity, ascending in creation order with gaps (as
deleted records leave). Each base number has its own spaces (`number * 100_000 + …`), so a
"new base" (§8) shares no key with the previous one while holding the same people.
HP weeks count from the Monday of `DatePremierJourBase` (week 1).

Séances are answered from per-course byte fragments, built on first use: the large school's
`DetailDesSeancesPlaceesTableauDeCours` on 200 keys then costs a join, not an XML build.

Test controls edit the planning (`edits.py`): `Base.edited` puts the same keys over the new
layout, keeping the fragments of untouched courses. A removed course keeps its slot but
leaves every index: its key faults like an unknown one and is never given again.
"""

from __future__ import annotations

import bisect
import copy
import random
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Final, Literal

from rollbridge.sandbox.hyperplanning.layout import Layout
from rollbridge.sandbox.hyperplanning.schema import SEANCE
from rollbridge.sandbox.hyperplanning.wire import SoapFault, Value, fragments

Entity = Literal[
    "Cours", "Etudiant", "Enseignant", "Salle", "Matiere", "Famille", "Rubrique", "Promotion",
    "TDOption",
]  # fmt: skip

_NAMES: Final[dict[Entity, str]] = {
    "Cours": "cours",
    "Etudiant": "étudiant",
    "Enseignant": "enseignant",
    "Salle": "salle",
    "Matiere": "matière",
    "Famille": "famille",
    "Rubrique": "rubrique",
    "Promotion": "promotion",
    "TDOption": "TD/option",
}
MAX_WEEK: Final = 62  # a base spans at most this many weeks


def _key_space(seed: str, number: int, count: int) -> list[int]:
    """`count` ascending keys with a few gaps, inside this base's space."""
    rng = random.Random(seed)
    key = number * 100_000 + rng.randrange(1, 900)
    out = []
    for _ in range(count):
        out.append(key)
        key += 1 + (rng.randrange(1, 6) if rng.random() < 0.08 else 0)
    return out


def _sizes(layout: Layout) -> dict[Entity, int]:
    """Records per entity: a base's keys follow from these counts."""
    return {
        "Cours": len(layout.courses),
        "Etudiant": len(layout.learners),
        "Enseignant": len(layout.instructors),
        "Salle": len(layout.rooms),
        "Matiere": len(layout.subjects),
        "Famille": len(layout.families),
        "Rubrique": len(layout.rubrics),
        "Promotion": len(layout.promotions),
        "TDOption": len(layout.tds),
    }


def monday(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())


class Base:
    """Keys, weeks and read indexes over one immutable `Layout`."""

    def __init__(self, layout: Layout, number: int, first_day: date) -> None:
        self.layout = layout
        self.number = number
        self.first_day = first_day
        self._week1 = monday(first_day)
        self._keys = {
            e: _key_space(f"hpsw:{number}:{e}", number, n) for e, n in _sizes(layout).items()
        }
        self._index = {e: {k: i for i, k in enumerate(keys)} for e, keys in self._keys.items()}
        self._fragments: list[bytes | None] = [None] * len(layout.courses)
        self._plan()

    def edited(self, layout: Layout, changed: Iterable[int] = ()) -> Base:
        """This base over an edited layout (same number, first day, record counts, so same
        keys): the séance answers of untouched courses are kept, those of `changed`
        courses are built again on next use. This base is left as it was."""
        if _sizes(layout) != _sizes(self.layout):
            raise ValueError("an edit must keep every record (keys come from the counts)")
        changed = tuple(changed)
        base = copy.copy(self)
        base.layout = layout
        base._fragments = list(self._fragments)
        for course in changed:
            base._fragments[course] = None
        if changed or layout.removed != self.layout.removed:
            base._plan()
        return base

    def _plan(self) -> None:
        """The read indexes over the layout's live (not removed) courses."""
        layout = self.layout
        removed = layout.removed
        keys = self._keys["Cours"]
        self._index = {
            **self._index,
            "Cours": {k: i for i, k in enumerate(keys) if i not in removed},
        }
        live = [
            (course, record)
            for course, record in enumerate(layout.courses)
            if course not in removed
        ]
        placed = sorted(
            (seance.start.date().toordinal(), course, n)
            for course, record in live
            if record.role != "parent"
            for n, seance in enumerate(record.seances)
        )
        self._days = [day for day, _, _ in placed]
        self._placed = [(course, n) for _, course, n in placed]
        self.unplaced = tuple(i for i, c in live if not c.is_placed)
        learner_courses: list[set[int]] = [set() for _ in layout.learners]
        for index, course in live:
            if course.role != "parent":
                for learner in course.learners:
                    learner_courses[learner].add(index)
        self.learner_courses = learner_courses

    def is_live(self, course: int) -> bool:
        """Whether a course is still in the planning (not removed by a test control)."""
        return course not in self.layout.removed

    # ----- keys --------------------------------------------------------------------------

    def key(self, entity: Entity, index: int) -> int:
        """The key of one record."""
        return self._keys[entity][index]

    def keys(self, entity: Entity, indexes: Iterable[int]) -> list[int]:
        """The keys of several records, in the given order."""
        keys = self._keys[entity]
        return [keys[i] for i in indexes]

    def all_keys(self, entity: Entity) -> list[int]:
        """Every key of an entity, ascending (removed courses left out)."""
        return list(self._index[entity])

    def find(self, entity: Entity, key: int) -> int:
        """The record a key names; a Fault for an unknown key (§9)."""
        index = self._index[entity].get(key)
        if index is None:
            raise SoapFault(f"Clé de {_NAMES[entity]} inconnue : {key}")
        return index

    def find_all(self, entity: Entity, keys: Sequence[int]) -> list[int]:
        """The records several keys name, in order; one unknown key faults the whole call."""
        return [self.find(entity, key) for key in keys]

    # ----- weeks -------------------------------------------------------------------------

    def week_of(self, day: date) -> int:
        """The HP week number of a day (week 1 holds `DatePremierJourBase`)."""
        return (monday(day) - self._week1).days // 7 + 1

    def monday_of(self, week: int) -> date:
        """The Monday starting an HP week; a Fault outside the base."""
        if not 1 <= week <= MAX_WEEK:
            raise SoapFault(f"Semaine hors de la base : {week} (1 à {MAX_WEEK})")
        return self._week1 + timedelta(weeks=week - 1)

    def domain(self, course: int) -> list[int]:
        """The HP weeks a course runs in; an unplaced course is planned over the whole year."""
        record = self.layout.courses[course]
        if record.is_placed:
            return sorted({self.week_of(seance.start.date()) for seance in record.seances})
        school = self.layout.school
        return list(range(self.week_of(school.year_start), self.week_of(school.year_end) + 1))

    # ----- courses and séances -----------------------------------------------------------

    def courses_between(
        self,
        first: date,
        last: date,
        *,
        learner: int | None = None,
        instructor: int | None = None,
    ) -> list[int]:
        """Courses with a séance in [first, last] (local dates), their parents, and the
        unplaced courses when the window meets the school year; ascending keys."""
        lo = bisect.bisect_left(self._days, first.toordinal())
        hi = bisect.bisect_right(self._days, last.toordinal())
        courses = self.layout.courses
        mine = None if learner is None else self.learner_courses[learner]
        found: set[int] = set()
        for course, n in self._placed[lo:hi]:
            if mine is not None and course not in mine:
                continue
            if instructor is not None and instructor not in courses[course].seances[n].instructors:
                continue
            found.add(course)
        parents = {courses[c].relatives[0] for c in found if courses[c].role == "child"}
        found.update(p for p in parents if self.is_live(p))
        school = self.layout.school
        if first <= school.year_end and last >= school.year_start:
            found.update(
                c
                for c in self.unplaced
                if (mine is None or c in mine)
                and (instructor is None or instructor in courses[c].instructors)
            )
        return sorted(found)

    def seances(self, indexes: Sequence[int]) -> bytes:
        """The `THpSvcWTypeSeance` items of several courses, serialised, in course order."""
        cache = self._fragments
        parts = []
        for index in indexes:
            data = cache[index]
            if data is None:
                data = cache[index] = fragments(SEANCE, self._seance_values(index))
            parts.append(data)
        return b"".join(parts)

    def _seance_values(self, index: int) -> list[dict[str, Value]]:
        course = self.layout.courses[index]
        key = self.key("Cours", index)
        subject = self.key("Matiere", course.subject)
        rooms = self._keys["Salle"]
        instructors = self._keys["Enseignant"]
        return [
            {
                "Cours": key,
                "Semaine": self.week_of(seance.start.date()),
                "JourEtHeureDebut": seance.start,
                "Duree": seance.minutes / 1440,
                "Matiere": subject,
                "TypeCours": course.kind,
                "TableauSalle": [rooms[r] for r in seance.rooms],
                "TableauEnseignant": [instructors[i] for i in seance.instructors],
            }
            for seance in course.seances
        ]

    def warm(self) -> None:
        """Build every séance fragment now (a process server does it before saying ready)."""
        self.seances(range(len(self.layout.courses)))
