"""A per-entity cache of the Hyperplanning read, with bounded staleness.

HPSW has no bulk twin for some per-key calls and no modification dates (API notes §4): a
read of a large base makes tens of thousands of them, and most answers do not change from
one run to the next. This cache keeps those answers in `<state_dir>/hyperplanning-cache.json`,
for one base at a time (keyed by its `base_id`: a new base starts empty):

- per course: its promotions and TD/options (`PromotionsDuCours`, `TDOptionsDuCours`), the
  learners it lists *individually* (`EtudiantsDuCours` minus the members, when it was read,
  of those promotions and TDs), its course-family sections and its memo;
- per learner: its student-family sections, its exempted subjects and its apprenticeship
  masters (three kinds, each read only when its option is on);
- per room: its long label;
- per course: the digest of its séances (`seance_digests`), checked against the digest of
  the séance-detail answer it was computed from: an answer seen before needs no decoding.
  Derived from the answer's bytes, this entry never goes stale, so it never expires.

An entry is read again when its key is new, when it is older than
`refresh_hours × (0.75 + 0.25 × h)` (h in [0, 1) hashed from the key, so a base does not
expire all at once), when a course's séances (start, duration, rooms, instructors, subject)
changed since it was read, when the options it was read with changed (families, memo), and
on a full read (`rollbridge sync down --full`). Keys no longer listed are dropped.

Never cached, read every run: every bulk `…TableauDe…` call and listing, séance details
(fetched every run; only decoding an answer seen before is spared), families and sections,
TD parents and TD members, promotion members. So group membership is never stale: a
course's learners are rebuilt each run as the current members of its groups plus its
cached individual learners; only an individual enrolment, a section, an exemption, a tutor
or a room label can lag, by at most `refresh_hours`.

Deleting the file is always safe (the next run reads everything); a file that cannot be
read is ignored with a warning. Failed calls are never stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import structlog

from rollbridge.sources.hyperplanning.inputs import HpSeance

CACHE_FILE = "hyperplanning-cache.json"
FORMAT = 1
_SPREAD_SCALE = float(1 << 64)

T = TypeVar("T")
log = structlog.get_logger("rollbridge.hyperplanning")


# ----- cached values ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CourseLinks:
    """What the per-course calls said about a course; `individual_keys` are the learners
    `EtudiantsDuCours` listed beyond the members of its promotions and TDs."""

    promotion_keys: tuple[int, ...] = ()
    td_keys: tuple[int, ...] = ()
    individual_keys: tuple[int, ...] = ()
    section_keys: tuple[int, ...] = ()
    memo: str = ""


@dataclass(frozen=True, slots=True)
class TutorRecord:
    """One apprenticeship master of a learner, as `MaitresDApprentissageEtudiant` said."""

    last_name: str = ""
    first_name: str = ""
    email: str | None = None
    phone: str | None = None
    company: str | None = None


def _keys(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(k, int) and not isinstance(k, bool) for k in value
    ):
        raise ValueError("not a list of keys")
    return tuple(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not a text")
    return value


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _encode_course(links: CourseLinks) -> Any:
    return [
        list(links.promotion_keys),
        list(links.td_keys),
        list(links.individual_keys),
        list(links.section_keys),
        links.memo,
    ]


def _decode_course(value: Any) -> CourseLinks:
    promotions, tds, individuals, sections, memo = value
    return CourseLinks(
        _keys(promotions), _keys(tds), _keys(individuals), _keys(sections), _text(memo)
    )


def _encode_tutors(records: tuple[TutorRecord, ...]) -> Any:
    return [[r.last_name, r.first_name, r.email, r.phone, r.company] for r in records]


def _decode_tutors(value: Any) -> tuple[TutorRecord, ...]:
    if not isinstance(value, list):
        raise ValueError("not a list of tutors")
    out: list[TutorRecord] = []
    for item in value:
        last, first, email, phone, company = item
        out.append(
            TutorRecord(
                _text(last),
                _text(first),
                _optional_text(email),
                _optional_text(phone),
                _optional_text(company),
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Kind(Generic[T]):
    """One kind of cached entry: its name in the file and its JSON codec."""

    name: str
    encode: Callable[[T], Any]
    decode: Callable[[Any], T]
    expires: bool = True  # False: derived from what its check names, fresh while it matches


COURSES: Kind[CourseLinks] = Kind("course", _encode_course, _decode_course)
SECTIONS: Kind[tuple[int, ...]] = Kind("learner", list, _keys)  # student-family sections
EXEMPTIONS: Kind[tuple[int, ...]] = Kind("exemption", list, _keys)  # exempted subjects
TUTORS: Kind[tuple[TutorRecord, ...]] = Kind("tutor", _encode_tutors, _decode_tutors)
ROOMS: Kind[str] = Kind("room", str, _text)  # long label
# A course's séance digest; its check is the digest of the séance-detail answer it came from.
SEANCES: Kind[str] = Kind("seance", str, _text, expires=False)
KIND_NAMES = (
    COURSES.name,
    SECTIONS.name,
    EXEMPTIONS.name,
    TUTORS.name,
    ROOMS.name,
    SEANCES.name,
)


# ----- pure rules ---------------------------------------------------------------------------


def spread(kind: str, key: int) -> float:
    """A number in [0, 1) fixed by the kind and key: where in the last quarter of the
    maximum age this entry expires."""
    digest = hashlib.blake2b(f"{kind}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SPREAD_SCALE


def max_age_s(kind: str, key: int, refresh_hours: float) -> float:
    """How long an entry stays fresh: `refresh_hours × (0.75 + 0.25 × spread)`, in seconds."""
    return refresh_hours * 3600.0 * (0.75 + 0.25 * spread(kind, key))


def is_fresh(kind: str, key: int, fetched_at: float, now: float, refresh_hours: float) -> bool:
    """Whether an entry read at `fetched_at` (epoch seconds) may still be served at `now`.
    An entry from the future (the clock went back) is not trusted."""
    age = now - fetched_at
    return 0 <= age < max_age_s(kind, key, refresh_hours)


def seance_digests(seances: Iterable[HpSeance]) -> dict[int, str]:
    """Per course, a short hash of its séances (start, duration, rooms, instructors,
    subject): when it changes, the course's cached entry is read again."""
    parts: dict[int, list[str]] = defaultdict(list)
    for s in seances:
        parts[s.course_key].append(
            f"{s.starts_wallclock.isoformat()}|{s.duration_days!r}|{s.room_keys}|"
            f"{s.teacher_keys}|{s.subject_key}"
        )
    return {
        course: hashlib.blake2b("\n".join(sorted(texts)).encode(), digest_size=8).hexdigest()
        for course, texts in parts.items()
    }


# ----- the cache ----------------------------------------------------------------------------

Entry = list[Any]  # [fetched at (epoch seconds), check (séance hash or ""), encoded value]


@dataclass(slots=True)
class _KindData:
    options: str = ""
    entries: dict[str, Entry] = field(default_factory=dict)


class KindView(Generic[T]):
    """One kind of entry during one read: look up, store, prune, count."""

    def __init__(self, cache: EntityCache, kind: Kind[T], data: _KindData | None) -> None:
        self._cache = cache
        self.kind = kind
        self._data = data  # None: caching is off, or bypassed for this read
        self.served = 0
        self.read = 0

    def get(self, key: int, check: str = "") -> T | None:
        """The cached value when it may be served (fresh, same check, not a full read)."""
        value = self._lookup(key, check)
        if value is None:
            self.read += 1
        else:
            self.served += 1
        return value

    def _lookup(self, key: int, check: str) -> T | None:
        cache = self._cache
        if self._data is None or cache.full:
            return None
        entry = self._data.entries.get(str(key))
        if entry is None:
            return None
        try:
            fetched_at, stored_check, raw = entry
            if stored_check != check:
                return None
            if self.kind.expires and not is_fresh(
                self.kind.name, key, float(fetched_at), cache.now_s, cache.refresh_hours
            ):
                return None
            return self.kind.decode(raw)
        except (TypeError, ValueError):  # a hand-edited or damaged entry: read it again
            return None

    def put(self, key: int, value: T, check: str = "") -> None:
        """Store what was just read (never a failure)."""
        if self._data is None:
            return
        self._data.entries[str(key)] = [int(self._cache.now_s), check, self.kind.encode(value)]
        self._cache.changed = True

    def keep(self, keys: Iterable[int]) -> None:
        """Drop the entries of keys no longer listed."""
        if self._data is None:
            return
        listed = {str(k) for k in keys}
        gone = [k for k in self._data.entries if k not in listed]
        for k in gone:
            del self._data.entries[k]
        if gone:
            self._cache.changed = True


class EntityCache:
    """The per-entity cache of one base (see the module docstring)."""

    def __init__(
        self,
        path: Path | None,
        base: str,
        *,
        refresh_hours: float,
        now: datetime,
        full: bool = False,
        kinds: dict[str, _KindData] | None = None,
    ) -> None:
        self.path = path
        self.base = base
        self.refresh_hours = refresh_hours
        self.now_s = now.timestamp()
        self.full = full
        self.kinds: dict[str, _KindData] = kinds or {}
        self.changed = False
        self.views: list[KindView[Any]] = []

    @property
    def enabled(self) -> bool:
        return self.path is not None and self.refresh_hours > 0

    @classmethod
    def disabled(cls) -> EntityCache:
        """No cache: every lookup misses, nothing is kept."""
        return cls(None, "", refresh_hours=0, now=datetime.fromtimestamp(0, UTC))

    @classmethod
    def load(
        cls,
        state_dir: Path,
        base: str,
        *,
        refresh_hours: float,
        now: datetime,
        full: bool = False,
    ) -> EntityCache:
        """The cache file of `base`; missing, unreadable or of another base: empty.
        `refresh_hours` 0 turns caching off (the file is neither read nor written)."""
        path = state_dir / CACHE_FILE
        if refresh_hours <= 0:
            return cls.disabled()
        kinds: dict[str, _KindData] = {}
        try:
            data = json.loads(path.read_bytes())
            kinds = _kinds_of(data, base)
        except FileNotFoundError:
            pass
        except Exception as exc:  # whatever the damage: the cache only saves calls
            log.warning("hp.cache_ignored", path=str(path), reason=str(exc) or type(exc).__name__)
        return cls(path, base, refresh_hours=refresh_hours, now=now, full=full, kinds=kinds)

    def view(self, kind: Kind[T], options: str = "", *, bypass: bool = False) -> KindView[T]:
        """The entries of `kind` read with `options` (a fingerprint: entries read with
        other options are dropped); `bypass`: neither served nor stored this read."""
        data: _KindData | None = None
        if self.enabled and not bypass:
            data = self.kinds.get(kind.name)
            if data is None or data.options != options:
                data = self.kinds[kind.name] = _KindData(options)
                self.changed = True
        found = KindView(self, kind, data)
        self.views.append(found)
        return found

    def drop(self, kind: Kind[Any]) -> None:
        """Forget a kind no longer read (its option was turned off)."""
        if self.kinds.pop(kind.name, None) is not None:
            self.changed = True

    def save(self) -> bool:
        """Write the file atomically if anything changed; True when written. A failure to
        write is a warning only: the next run reads more, nothing else."""
        if not self.enabled or not self.changed or self.path is None:
            return False
        data = {
            "format": FORMAT,
            "base": self.base,
            "kinds": {
                name: {"options": kind.options, "entries": kind.entries}
                for name, kind in self.kinds.items()
            },
        }
        try:
            _write_atomically(self.path, json.dumps(data, separators=(",", ":")))
        except OSError as exc:
            log.warning("hp.cache_not_saved", path=str(self.path), reason=str(exc))
            return False
        self.changed = False
        return True

    def summary(self) -> dict[str, dict[str, int]]:
        """Per kind, how many entries were served from the cache and how many were read."""
        out: dict[str, dict[str, int]] = {}
        for v in self.views:
            counts = out.setdefault(v.kind.name, {"served": 0, "read": 0})
            counts["served"] += v.served
            counts["read"] += v.read
        return out

    def log_summary(self) -> None:
        """One `hp.cache` info line: served and read per kind."""
        summary = self.summary()
        log.info(
            "hp.cache",
            enabled=self.enabled,
            full=self.full,
            served={k: c["served"] for k, c in summary.items()},
            read={k: c["read"] for k, c in summary.items()},
        )


def _kinds_of(data: Any, base: str) -> dict[str, _KindData]:
    """The kinds of a loaded file; ValueError when it is not a cache file of this format."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not a cache file of this version")
    if data.get("base") != base:
        return {}  # another base: its keys mean nothing here
    kinds: dict[str, _KindData] = {}
    for name, kind in dict(data["kinds"]).items():
        entries = kind["entries"]
        options = kind["options"]
        if name not in KIND_NAMES or not isinstance(entries, dict) or not isinstance(options, str):
            raise ValueError(f"bad kind {name!r}")
        kinds[name] = _KindData(options, entries)
    return kinds


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".hp-cache-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fingerprint(*parts: object) -> str:
    """The options an entry was read with, as a short text."""
    return "|".join(str(p) for p in parts)


def sorted_keys(keys: Sequence[int] | Iterable[int]) -> str:
    """Keys as a stable text, for a fingerprint."""
    return ",".join(str(k) for k in sorted(keys))
