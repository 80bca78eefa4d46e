"""Chunk answers and séance chunks: one `…TableauDe…` answer per chunk of keys, decoded and
parsed only when its items are needed.

A large base answers 60,000 séances a read; decoding and parsing them costs more than
fetching them. `HpswClient.fetch_chunks` keeps each chunk's answer undecoded (`ChunkAnswer`)
with the answer's digest, and `SeanceChunk` parses a séance chunk on first use: a read that
saw that digest before knows the chunk's séances did not change (`gather.py`, the `seance`
kind of `cache.py`) and builds its sessions only if asked (`batches.py`). Every séance of a
course is in its course's chunk (HPSW answers the séances of the courses asked), so a chunk
holds whole courses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time
from typing import Protocol

from rollbridge.model import Rejected
from rollbridge.sources.hyperplanning.inputs import HpSeance
from rollbridge.sources.hyperplanning.parse import as_items, seances_from_zeep

Parsed = tuple[tuple[HpSeance, ...], tuple[Rejected, ...]]


def digest_bytes(data: bytes) -> str:
    """BLAKE2b of an answer's bytes (128 bits, hex)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _stable_value(value: object) -> object:
    """A decoded answer rebuilt from texts, numbers and tuples in a fixed order: its `repr`
    is the same in every process (a zeep datetime's tzinfo prints its address)."""
    if isinstance(value, Mapping):
        pairs = ((str(k), _stable_value(v)) for k, v in value.items())
        return ("map", *sorted(pairs, key=lambda pair: pair[0]))
    if isinstance(value, list | tuple):
        return ("seq", *(_stable_value(item) for item in value))
    if isinstance(value, datetime | date | time):
        return (type(value).__name__, value.isoformat())
    if value is None or isinstance(value, str | int | float | bool | bytes):
        return value
    return (type(value).__name__, str(value))  # a Decimal, a duration: by its text


class ChunkAnswer:
    """One chunk of a `…TableauDe…` read: its keys, a digest of its answer, and the answer's
    items decoded on first use (once). On the lean path the digest is BLAKE2b of the HTTP
    body: the same bytes decode to the same items, so an unchanged digest means unchanged
    items. An answer read by zeep is decoded at once and digested in a stable text form."""

    __slots__ = ("_decode", "_items", "digest", "keys")

    def __init__(
        self, keys: tuple[int, ...], digest: str, decode: Callable[[], object] | None
    ) -> None:
        self.keys = keys
        self.digest = digest
        self._decode = decode
        self._items: tuple[object, ...] | None = None

    @classmethod
    def decoded(cls, keys: tuple[int, ...], value: object) -> ChunkAnswer:
        """A chunk whose answer was decoded already."""
        chunk = cls(keys, digest_bytes(repr(_stable_value(value)).encode()), None)
        chunk._items = as_items(value)
        return chunk

    @property
    def is_decoded(self) -> bool:
        """Whether `items()` was computed (callers count decodes with it)."""
        return self._items is not None

    def items(self) -> tuple[object, ...]:
        """The answer's items, as `HpswClient.chunked` gives them for these keys."""
        if self._items is None:
            assert self._decode is not None
            self._items = as_items(self._decode())
            self._decode = None  # the raw answer is no longer needed
        return self._items


class RawChunk(Protocol):
    """What `HpswClient.fetch_chunks` answers per chunk (a `ChunkAnswer`)."""

    @property
    def keys(self) -> tuple[int, ...]: ...

    @property
    def digest(self) -> str: ...

    def items(self) -> tuple[object, ...]: ...


class SeanceChunk:
    """The séances of one chunk of course keys: parsed once, on first use."""

    __slots__ = ("_answer", "_parsed", "digest", "index", "keys")

    def __init__(self, index: int, answer: RawChunk) -> None:
        self.index = index  # position in the read: the batch id
        self.keys = answer.keys
        self.digest = answer.digest
        self._answer: RawChunk | None = answer
        self._parsed: Parsed | None = None

    @classmethod
    def of(
        cls,
        index: int,
        keys: Iterable[int],
        digest: str,
        seances: Iterable[HpSeance],
        rejected: Iterable[Rejected] = (),
    ) -> SeanceChunk:
        """A chunk parsed already (tests, and reads made without the chunked path)."""
        chunk = cls(index, _Parsed(tuple(keys), digest))
        chunk._answer = None
        chunk._parsed = (tuple(seances), tuple(rejected))
        return chunk

    @property
    def is_parsed(self) -> bool:
        return self._parsed is not None

    def seances(self) -> Parsed:
        """The chunk's readable séances, and a `Rejected` per unreadable one (`#n` counts
        from the start of this chunk's answer)."""
        if self._parsed is None:
            assert self._answer is not None
            self._parsed = seances_from_zeep(self._answer.items())
            self._answer = None  # its decoded items are not needed again: free them
        return self._parsed


class _Parsed:
    """A stand-in answer for `SeanceChunk.of`: keys and digest, nothing to decode."""

    __slots__ = ("digest", "keys")

    def __init__(self, keys: tuple[int, ...], digest: str) -> None:
        self.keys = keys
        self.digest = digest

    def items(self) -> tuple[object, ...]:
        raise AssertionError("a parsed chunk is never decoded")  # pragma: no cover


def all_seances(chunks: Iterable[SeanceChunk]) -> Parsed:
    """Every chunk's séances and unreadable séances, in chunk order (the eager read)."""
    seances: list[HpSeance] = []
    rejected: list[Rejected] = []
    for chunk in chunks:
        found, bad = chunk.seances()
        seances.extend(found)
        rejected.extend(bad)
    return tuple(seances), tuple(rejected)
