"""Raw HPSW values (as `zeep.helpers.serialize_object` leaves them) → typed inputs.

zeep hands over dicts, lists, ints, strings, floats, datetimes and None. Arrays
(`THpSvcWTableauClesSalles`…) come as a bare list, as a wrapper dict with one repeated
child named after the item type (`{"THpSvcWCleSalle": [12, 14]}`), or as None when empty
(API notes §4). Functions here raise ValueError with a plain reason; callers that hold a
record turn it into a `Rejected`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal

from rollbridge.model import Rejected
from rollbridge.sources.hyperplanning.inputs import HpLateness, HpSeance
from rollbridge.sources.hyperplanning.times import (
    as_days,
    day_fraction_to_minutes,
    end_of,
    wallclock,
)


def as_items(value: object) -> tuple[object, ...]:
    """The items of an HPSW array, whichever way zeep shaped it; None is empty."""
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(value)
    if isinstance(value, Mapping):
        if not value:
            return ()
        if len(value) == 1:
            return as_items(next(iter(value.values())))
        raise ValueError(f"not an array: a structure with fields {sorted(map(str, value))}")
    return (value,)  # a one-item array flattened by the serializer


def as_key(value: object) -> int:
    """An HPSW key (`THpSvcWCle…`): a non-negative integer, possibly sent as text."""
    if isinstance(value, bool):
        raise ValueError(f"not a key: {value!r}")
    if isinstance(value, int):
        key = value
    elif isinstance(value, str) and value.strip().isdigit():
        key = int(value.strip())
    elif isinstance(value, float | Decimal) and math.isfinite(value) and value == int(value):
        key = int(value)
    else:
        raise ValueError(f"not a key: {value!r}")
    if key < 0:
        raise ValueError(f"not a key: {value!r}")
    return key


def as_optional_key(value: object) -> int | None:
    """A key, or None when absent (None or an empty text)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return as_key(value)


def as_keys(value: object) -> tuple[int, ...]:
    """An array of keys, duplicates dropped, order kept."""
    items = value
    if type(items) is dict and len(items) == 1:
        items = next(iter(items.values()))  # the array wrapper: {"THpSvcWCleSalle": [...]}
    if type(items) is list and all(type(item) is int and item >= 0 for item in items):
        return tuple(dict.fromkeys(items))  # the usual answer, 120,000 times a large read
    return tuple(dict.fromkeys(as_key(item) for item in as_items(value)))


def as_text(value: object) -> str:
    """Text with outer spaces trimmed; None is empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"not a text: {value!r}")


def as_optional_text(value: object) -> str | None:
    """Text, or None when empty: an e-mail or a badge Hyperplanning does not hold."""
    return as_text(value) or None


def as_texts(value: object) -> tuple[str, ...]:
    """An array of texts, in order (a parallel `…TableauDe…` answer)."""
    return tuple(as_text(item) for item in as_items(value))


def as_flag(value: object) -> bool:
    """An `xsd:boolean`, however zeep or a client left it."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise ValueError(f"not a boolean: {value!r}")


def _field(raw: Mapping[str, object], name: str) -> object:
    if name not in raw:
        raise ValueError(f"no {name}")
    return raw[name]


def seance_from_zeep(raw: Mapping[str, object]) -> HpSeance:
    """One `THpSvcWTypeSeance`: `Cours`, `JourEtHeureDebut`, `Duree`, `Matiere`, `TypeCours`,
    `TableauSalle`, `TableauEnseignant`, and `Semaine` when the server sends it [U]."""
    week = raw.get("Semaine")
    return HpSeance(
        course_key=as_key(_field(raw, "Cours")),
        starts_wallclock=wallclock(_field(raw, "JourEtHeureDebut")),
        duration_days=as_days(_field(raw, "Duree")),
        week=None if week is None else as_key(week),
        subject_key=as_optional_key(raw.get("Matiere")),
        course_type=as_text(raw.get("TypeCours")),
        room_keys=as_keys(raw.get("TableauSalle")),
        teacher_keys=as_keys(raw.get("TableauEnseignant")),
    )


def seances_from_zeep(raws: object) -> tuple[tuple[HpSeance, ...], tuple[Rejected, ...]]:
    """Every readable séance of a `DetailDesSeancesPlacees…` answer (an array of
    `THpSvcWTypeSeance`, however zeep shaped it), and what was not readable."""
    seances: list[HpSeance] = []
    rejected: list[Rejected] = []
    for index, raw in enumerate(as_items(raws)):
        if not isinstance(raw, Mapping):
            rejected.append(Rejected("session", f"#{index}", f"unreadable séance: {raw!r:.80}"))
            continue
        try:
            seances.append(seance_from_zeep(raw))
        except (ValueError, TypeError) as exc:
            course = raw.get("Cours")
            rejected.append(
                Rejected(
                    "session",
                    f"course {course}" if course is not None else f"#{index}",
                    f"unreadable séance of course {course}: {exc}",
                )
            )
    return tuple(seances), tuple(rejected)


def lateness_from_zeep(start: object, duration_days: object, justified: object) -> HpLateness:
    """A lateness from `DateHeureRetardEtudiant`, `DureeRetardEtudiant`, `…EstJustifie`."""
    start_wall = wallclock(start)
    minutes = day_fraction_to_minutes(duration_days)
    return HpLateness(start_wall, end_of(start_wall, minutes), as_flag(justified))
