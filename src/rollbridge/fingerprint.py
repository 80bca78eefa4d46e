"""Stable fingerprints of records: the same data gives the same digest in every process.

`repr` alone is not enough: a frozenset's order follows string hashing, which Python
randomises per process. `canonical` writes records in one fixed order (dataclass fields in
declaration order, sets and dict items sorted), and `Fingerprint` hashes a stream of them
with BLAKE2b. Used to know that a batch of sessions is built from exactly the inputs it was
built from last time (`model.SessionBatch`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from datetime import date, datetime, tzinfo
from enum import Enum
from typing import Any

_FIELDS: dict[type, tuple[str, ...]] = {}
_ATOMS = (str, int, float, bool, type(None), bytes, date, datetime)


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def canonical(value: Any) -> str:
    """A text that depends on `value`'s content only, never on set or hash order."""
    return repr(_stable(value))


def _stable(value: Any) -> Any:
    """`value` rebuilt from atoms and tuples only, sets sorted: its `repr` is stable (and
    written by C, which matters for a few thousand people per run)."""
    if isinstance(value, _ATOMS):
        return value
    if isinstance(value, tuple | list):
        if all(isinstance(item, _ATOMS) for item in value):
            return tuple(value)  # the common case: keys, ids, texts
        return tuple(_stable(item) for item in value)
    if isinstance(value, frozenset | set):
        return ("set", *_sorted([_stable(item) for item in value]))
    if isinstance(value, dict):
        return ("dict", *_sorted([(_stable(k), _stable(v)) for k, v in value.items()]))
    if isinstance(value, tzinfo):
        return f"tz:{value}"  # a ZoneInfo prints its key
    if isinstance(value, Enum):
        return f"{type(value).__name__}.{value.name}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        out: list[Any] = [cls.__name__]
        for name in _field_names(cls):
            item = getattr(value, name)
            out.append(item if isinstance(item, _ATOMS) else _stable(item))
        return tuple(out)
    raise TypeError(f"no canonical form for {type(value).__name__}")


def _sorted(items: list[Any]) -> list[Any]:
    """Sorted by value when the items compare (texts, pairs of texts), else by `repr`."""
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=repr)


class Fingerprint:
    """A running digest of canonical texts and raw bytes."""

    __slots__ = ("_hash",)

    def __init__(self, label: str = "") -> None:
        self._hash = hashlib.blake2b(digest_size=16)
        if label:
            self.add(label)

    def add(self, value: Any) -> Fingerprint:
        """Add one value (bytes as they are, anything else in its canonical form)."""
        data = value if isinstance(value, bytes) else canonical(value).encode()
        # The length first, so that ("ab", "c") and ("a", "bc") differ.
        self._hash.update(len(data).to_bytes(8, "little"))
        self._hash.update(data)
        return self

    def add_all(self, values: Iterable[Any]) -> Fingerprint:
        """Add the values as one sequence (one canonical text: far cheaper than each
        value on its own)."""
        return self.add(tuple(values))

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def fingerprint(*values: Any) -> str:
    """The digest of `values`, in order."""
    return Fingerprint().add_all(values).hexdigest()
