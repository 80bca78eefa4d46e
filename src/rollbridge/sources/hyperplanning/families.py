"""Families and sections (`familles`, `rubriques`) → routing attributes.

- A learner gets `("family:<family>", <section>)` for every section of a student family
  (genre gfEtudiant) it sits in; one learner can sit in several sections of one family.
  An account's learner filter is then `{"family:<family>": [sections…]}` and tag
  families are `tag_attributes = ["family:<family>"]`.
- A course gets `("course_family:<family>", <section>)` for each course-family section
  (genre gfCours) it sits in. Including sections is `{"course_family:F": [A, B]}`;
  excluding them is the same attrs with `match = "none"` on the account's session rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from rollbridge.model import Attrs
from rollbridge.sources.hyperplanning.inputs import HpFamilyIndex


def _family_attrs(
    name: str, section_keys: Iterable[int], index: HpFamilyIndex
) -> tuple[Attrs, tuple[int, ...]]:
    """`("<name>:<family>", <section>)` per known section, and the unknown section keys."""
    pairs: set[tuple[str, str]] = set()
    unknown: list[int] = []
    for key in section_keys:
        section = index.sections.get(key)
        family = None if section is None else index.families.get(section.family_key)
        if section is None or family is None:
            unknown.append(key)
            continue
        pairs.add((f"{name}:{family}", section.label))
    return frozenset(pairs), tuple(unknown)


def learner_family_attrs(
    section_keys: Iterable[int], index: HpFamilyIndex
) -> tuple[Attrs, tuple[int, ...]]:
    """A learner's `family:` attributes, and the section keys the index does not know."""
    return _family_attrs("family", section_keys, index)


def course_family_attrs(
    section_keys: Iterable[int], index: HpFamilyIndex
) -> tuple[Attrs, tuple[int, ...]]:
    """A course's `course_family:` attributes, and the section keys the index does not know."""
    return _family_attrs("course_family", section_keys, index)
