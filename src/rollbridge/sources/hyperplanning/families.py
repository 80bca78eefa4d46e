"""Families and sections (`familles`, `rubriques`) → routing attributes.

- A learner gets `("family:<family>", <section>)` for every section of a student family
  (genre gfEtudiant) it sits in; one learner can sit in several sections of one family.
  An account's learner filter is then `{"family:<family>": [sections…]}` and tag
  families are `tag_attributes = ["family:<family>"]`.
- A course gets `("course_family:<family>", <section>)` for each course-family section
  (genre gfCours) it sits in, and `("course_family:<family>:not:<section>", <section>)`
  for each section of that family it does not. Including sections is
  `{"course_family:F": [A, B]}` (match any); excluding them, which the generic rule has no
  negation for, is `{"course_family:F:not:A": ["A"], "course_family:F:not:B": ["B"]}` with
  `match = "all"`: a course outside every section of F passes, as "exclude" means.
"""

from __future__ import annotations

from collections.abc import Iterable

from rollbridge.model import Attrs
from rollbridge.sources.hyperplanning.inputs import HpFamilyIndex


def learner_family_attrs(
    section_keys: Iterable[int], index: HpFamilyIndex
) -> tuple[Attrs, tuple[int, ...]]:
    """A learner's `family:` attributes, and the section keys the index does not know."""
    pairs: set[tuple[str, str]] = set()
    unknown: list[int] = []
    for key in section_keys:
        section = index.sections.get(key)
        family = None if section is None else index.families.get(section.family_key)
        if section is None or family is None:
            unknown.append(key)
            continue
        pairs.add((f"family:{family}", section.label))
    return frozenset(pairs), tuple(unknown)


def course_family_attrs(
    section_keys: Iterable[int], index: HpFamilyIndex
) -> tuple[Attrs, tuple[int, ...]]:
    """A course's `course_family:` attributes (member and `:not:` ones), and unknown keys."""
    members: set[int] = set()
    unknown: list[int] = []
    for key in section_keys:
        section = index.sections.get(key)
        if section is None or section.family_key not in index.families:
            unknown.append(key)
        else:
            members.add(key)
    pairs: set[tuple[str, str]] = set()
    for family_key, family in index.families.items():
        for section in index.sections_of(family_key):
            if section.key in members:
                pairs.add((f"course_family:{family}", section.label))
            else:
                pairs.add((f"course_family:{family}:not:{section.label}", section.label))
    return frozenset(pairs), tuple(unknown)
