"""The Hyperplanning per-entity cache's pure parts: expiry with spread, invalidation,
the file round trip, a damaged file ignored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from rollbridge.logging import configure_logging
from rollbridge.sources.hyperplanning.cache import (
    CACHE_FILE,
    COURSES,
    EXEMPTIONS,
    ROOMS,
    SECTIONS,
    TUTORS,
    CourseLinks,
    EntityCache,
    TutorRecord,
    is_fresh,
    max_age_s,
    seance_digests,
    spread,
)
from rollbridge.sources.hyperplanning.inputs import HpSeance

T0 = datetime(2026, 10, 19, 4, 0, tzinfo=UTC)
BASE = "0123456789"
LINKS = CourseLinks((1,), (2, 3), (40, 41), (7,), "memo")


def load(
    state_dir: Path,
    now: datetime = T0,
    *,
    refresh_hours: float = 24.0,
    full: bool = False,
    base: str = BASE,
) -> EntityCache:
    return EntityCache.load(state_dir, base, refresh_hours=refresh_hours, now=now, full=full)


@pytest.fixture
def info_logs() -> Iterator[None]:
    configure_logging("info")
    yield
    configure_logging("warning")


# ----- expiry ---------------------------------------------------------------------------


def test_spread_is_fixed_per_key_and_covers_the_range() -> None:
    values = [spread("course", k) for k in range(2000)]
    assert values == [spread("course", k) for k in range(2000)]
    assert all(0 <= v < 1 for v in values)
    assert min(values) < 0.05 and max(values) > 0.95
    assert sum(values) / len(values) == pytest.approx(0.5, abs=0.05)
    assert spread("course", 5) != spread("room", 5)


def test_entries_expire_between_three_quarters_and_all_of_the_max_age() -> None:
    hours = 24.0
    ages = [max_age_s("learner", k, hours) for k in range(1000)]
    assert all(0.75 * hours * 3600 <= a < hours * 3600 for a in ages)
    now = 1_000_000_000.0
    fresh_at_70 = [
        is_fresh("learner", k, now - 0.70 * hours * 3600, now, hours) for k in range(1000)
    ]
    fresh_at_90 = [
        is_fresh("learner", k, now - 0.90 * hours * 3600, now, hours) for k in range(1000)
    ]
    fresh_at_100 = [is_fresh("learner", k, now - hours * 3600, now, hours) for k in range(1000)]
    assert all(fresh_at_70) and not any(fresh_at_100)
    assert 0.2 < sum(fresh_at_90) / 1000 < 0.8  # the base does not expire all at once
    assert not is_fresh("learner", 1, now + 60, now, hours)  # from the future: not trusted


def test_a_view_serves_until_the_max_age_then_reads_again(tmp_path: Path) -> None:
    cache = load(tmp_path)
    cache.view(ROOMS).put(12, "Amphithéâtre Pasteur")
    assert cache.save()
    age = max_age_s("room", 12, 24.0)
    before = load(tmp_path, T0 + timedelta(seconds=age - 5)).view(ROOMS)
    after = load(tmp_path, T0 + timedelta(seconds=age + 5)).view(ROOMS)
    assert before.get(12) == "Amphithéâtre Pasteur" and (before.served, before.read) == (1, 0)
    assert after.get(12) is None and (after.served, after.read) == (0, 1)


# ----- invalidation -----------------------------------------------------------------------


def seance(course: int, day: int, hour: int = 8, **kw: object) -> HpSeance:
    fields: dict[str, object] = {
        "duration_days": 1 / 12,
        "subject_key": 3,
        "room_keys": (5,),
        "teacher_keys": (9,),
    } | kw
    return HpSeance(course, datetime(2026, 10, day, hour), **fields)  # type: ignore[arg-type]


def test_seance_digest_changes_with_start_duration_rooms_instructors_subject() -> None:
    base = [seance(1, 19), seance(1, 26), seance(2, 20)]
    digests = seance_digests(base)
    assert set(digests) == {1, 2}
    assert seance_digests(reversed(base)) == digests  # order does not matter
    for changed in (
        seance(1, 26, hour=9),
        seance(1, 26, duration_days=1 / 8),
        seance(1, 26, room_keys=(6,)),
        seance(1, 26, teacher_keys=(9, 10)),
        seance(1, 26, subject_key=4),
    ):
        other = seance_digests([base[0], changed, base[2]])
        assert other[1] != digests[1] and other[2] == digests[2]
    assert seance_digests([base[0], base[2]])[1] != digests[1]  # a séance gone


def test_a_course_is_read_again_when_its_seances_changed(tmp_path: Path) -> None:
    cache = load(tmp_path)
    cache.view(COURSES, "f").put(1, LINKS, "hash-a")
    cache.save()
    view = load(tmp_path, T0 + timedelta(hours=1)).view(COURSES, "f")
    assert view.get(1, "hash-a") == LINKS
    assert view.get(1, "hash-b") is None


def test_other_options_drop_the_kind(tmp_path: Path) -> None:
    cache = load(tmp_path)
    cache.view(COURSES, "memo|1,2").put(1, LINKS, "h")
    cache.view(SECTIONS, "4").put(8, (10, 11))
    cache.save()
    later = load(tmp_path, T0 + timedelta(hours=1))
    assert later.view(COURSES, "|1,2").get(1, "h") is None  # memo turned off
    assert later.view(SECTIONS, "4").get(8) == (10, 11)  # untouched
    later.save()
    again = load(tmp_path, T0 + timedelta(hours=2))
    assert again.view(COURSES, "memo|1,2").get(1, "h") is None  # dropped, not kept aside


def test_a_full_read_serves_nothing_but_stores_everything(tmp_path: Path) -> None:
    cache = load(tmp_path)
    cache.view(ROOMS).put(1, "old")
    cache.save()
    full = load(tmp_path, T0 + timedelta(hours=1), full=True)
    rooms = full.view(ROOMS)
    assert rooms.get(1) is None
    rooms.put(1, "new")
    full.save()
    assert load(tmp_path, T0 + timedelta(hours=2)).view(ROOMS).get(1) == "new"


def test_keys_no_longer_listed_are_dropped(tmp_path: Path) -> None:
    cache = load(tmp_path)
    rooms = cache.view(ROOMS)
    for key in (1, 2, 3):
        rooms.put(key, f"room {key}")
    cache.save()
    later = load(tmp_path)
    later.view(ROOMS).keep([1, 3])
    assert later.changed and later.save()
    kept = load(tmp_path).view(ROOMS)
    assert [kept.get(k) for k in (1, 2, 3)] == ["room 1", None, "room 3"]


def test_another_base_starts_empty(tmp_path: Path) -> None:
    cache = load(tmp_path)
    cache.view(ROOMS).put(1, "Salle 1")
    cache.save()
    assert load(tmp_path, base="fedcba9876").view(ROOMS).get(1) is None
    assert load(tmp_path).view(ROOMS).get(1) == "Salle 1"


# ----- the file -----------------------------------------------------------------------------


def test_round_trip_of_every_kind(tmp_path: Path) -> None:
    tutors = (
        TutorRecord("Martin", "Anne", "a.martin@acme.test", None, "ACME"),
        TutorRecord("Durand", "Luc"),
    )
    cache = load(tmp_path)
    cache.view(COURSES, "opts").put(100, LINKS, "digest")
    cache.view(SECTIONS, "fam").put(7, (1, 2))
    cache.view(EXEMPTIONS).put(7, ())
    cache.view(TUTORS).put(7, tutors)
    cache.view(ROOMS).put(3, "Salle des Actes")
    assert cache.save()
    text = (tmp_path / CACHE_FILE).read_text(encoding="utf-8")
    assert "\n" not in text and ", " not in text  # compact
    again = load(tmp_path, T0 + timedelta(hours=12))
    assert again.view(COURSES, "opts").get(100, "digest") == LINKS
    assert again.view(SECTIONS, "fam").get(7) == (1, 2)
    assert again.view(EXEMPTIONS).get(7) == ()
    assert again.view(TUTORS).get(7) == tutors
    assert again.view(ROOMS).get(3) == "Salle des Actes"
    assert not again.changed and not again.save()  # nothing changed: nothing written


def test_written_only_when_something_changed(tmp_path: Path) -> None:
    cache = load(tmp_path)
    assert not cache.save()
    cache.view(ROOMS)  # a new kind is a change
    assert cache.save()
    path = tmp_path / CACHE_FILE
    before = path.stat().st_mtime_ns
    again = load(tmp_path)
    again.view(ROOMS).keep([])
    assert not again.save() and path.stat().st_mtime_ns == before
    assert not list(tmp_path.glob(".hp-cache-*"))  # no temporary file left


def test_refresh_hours_zero_is_no_cache(tmp_path: Path) -> None:
    cache = load(tmp_path, refresh_hours=0)
    assert not cache.enabled
    rooms = cache.view(ROOMS)
    rooms.put(1, "Salle 1")
    assert rooms.get(1) is None
    assert not cache.save() and not (tmp_path / CACHE_FILE).exists()


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe\x00",
        b"[]",
        b'{"format": 99, "base": "0123456789", "kinds": {}}',
        b'{"format": 1, "base": "0123456789"}',
        b'{"format": 1, "base": "0123456789", "kinds": {"course": 3}}',
        b'{"format": 1, "base": "0123456789", "kinds": {"planet": {"options": "", "entries": {}}}}',
    ],
)
def test_a_damaged_file_is_ignored_with_a_warning_and_rebuilt(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / CACHE_FILE
    path.write_bytes(content)
    with capture_logs() as logs:
        cache = load(tmp_path)
    assert [e["event"] for e in logs] == ["hp.cache_ignored"]
    assert logs[0]["log_level"] == "warning"
    rooms = cache.view(ROOMS)
    assert rooms.get(1) is None
    rooms.put(1, "Salle 1")
    assert cache.save()
    assert load(tmp_path).view(ROOMS).get(1) == "Salle 1"


def test_a_damaged_entry_is_read_again(tmp_path: Path) -> None:
    cache = load(tmp_path)
    cache.view(COURSES, "o").put(1, LINKS, "h")
    cache.view(COURSES, "o").put(2, LINKS, "h")
    cache.save()
    path = tmp_path / CACHE_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data["kinds"]["course"]["entries"]["1"][2][0] = ["x"]  # a promotion key that is text
    data["kinds"]["course"]["entries"]["2"] = [1]
    path.write_text(json.dumps(data), encoding="utf-8")
    view = load(tmp_path).view(COURSES, "o")
    assert view.get(1, "h") is None and view.get(2, "h") is None


def test_an_unwritable_cache_is_a_warning_only(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    with capture_logs() as logs:
        cache = load(blocker / "state")
        cache.view(ROOMS).put(1, "Salle 1")
        assert not cache.save()
    assert [e["event"] for e in logs] == ["hp.cache_ignored", "hp.cache_not_saved"]


def test_the_summary_counts_served_and_read(tmp_path: Path, info_logs: None) -> None:
    cache = load(tmp_path)
    cache.view(ROOMS).put(1, "Salle 1")
    cache.save()
    again = load(tmp_path)
    rooms = again.view(ROOMS)
    rooms.get(1)
    rooms.get(2)
    assert again.summary() == {"room": {"served": 1, "read": 1}}
    with capture_logs() as logs:
        again.log_summary()
    assert logs == [
        {
            "event": "hp.cache",
            "log_level": "info",
            "enabled": True,
            "full": False,
            "served": {"room": 1},
            "read": {"room": 1},
        }
    ]
