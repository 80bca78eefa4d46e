"""The files source's CSV planning as session batches: exact, and built only when changed.

The reference is the same source reading every session at once (`chunk_rows=None`, the
path an iCalendar planning takes); chunks are made small so the tiny school has several.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rollbridge.config import FilesSource as FilesSettings
from rollbridge.engine import RunContext
from rollbridge.model import BatchContent, Snapshot, Window
from rollbridge.sandbox.edusign_server import EdusignSandbox
from rollbridge.sandbox.school import generate_school
from rollbridge.sandbox.school_files import write_school_files
from rollbridge.sources.base import Progress, no_progress
from rollbridge.sources.files import FilesSource
from rollbridge.store import Store
from rollbridge.timeconv import zone

from .harness import API_KEY, BatchHarness
from .tiny_school import TinySchool

PARIS = ZoneInfo("Europe/Paris")
YEAR = Window(date(2026, 9, 1), date(2027, 7, 31))
CHUNK = 4  # the tiny school's 20 rows make 5 batches


def by_start(snapshot: Snapshot) -> Snapshot:
    sessions = tuple(sorted(snapshot.sessions, key=lambda s: (s.start_at, s.source_id)))
    return dataclasses.replace(snapshot, sessions=sessions)


def assert_same_read(batched: Snapshot, eager: Snapshot) -> None:
    """`batched.built()` is the eager read: same records, same rejections (as a set)."""
    assert batched.batches, "the CSV planning was not handed over in batches"
    assert eager.batches == ()
    built = batched.built()
    assert built.sessions == by_start(eager).sessions
    assert set(built.rejected) == set(eager.rejected)
    assert len(built.rejected) == len(eager.rejected)
    rest = {"sessions", "rejected", "batches"}
    for name in (f.name for f in dataclasses.fields(Snapshot) if f.name not in rest):
        assert getattr(built, name) == getattr(eager, name), name


def files_source(settings: FilesSettings, chunk_rows: int | None) -> FilesSource:
    return FilesSource(settings, PARIS, chunk_rows=chunk_rows)


def tiny_settings(school: TinySchool) -> FilesSettings:
    return FilesSettings(
        oneroster=school.oneroster,
        sessions=school.sessions_csv,
        attendance_out=school.folder / "attendance.csv",
    )


def test_the_batched_read_is_the_eager_read_on_the_tiny_school(tmp_path: Path) -> None:
    school = TinySchool.build(tmp_path / "school", date(2026, 11, 30))
    school.write()
    settings = tiny_settings(school)
    for size in (1, 3, CHUNK, 1000):
        batched = files_source(settings, size).read(YEAR)
        assert len(batched.batches) == -(-20 // size)
        assert_same_read(batched, files_source(settings, None).read(YEAR))


def test_rejections_and_repeated_ids_hold_across_batches(tmp_path: Path) -> None:
    """A repeated id is rejected in the batch after its first accepted row; a row rejected
    for its times does not take its id; unreadable rows and rows without an id stay
    file-level and make the read incomplete; out-of-window rows are left out."""
    school = TinySchool.build(tmp_path / "school", date(2026, 11, 30))
    first = school.session("ses-001a")
    bad_time = dict(school.session("ses-002a"), session_id="ses-dup", end="garbage")
    school.sessions.insert(1, bad_time)  # rejected: its id stays free
    school.sessions.append(dict(first, title="Copy"))  # repeats ses-001a, 20 rows later
    school.sessions.append(dict(school.session("ses-003a"), session_id="ses-dup"))  # accepted
    school.sessions.append(dict(school.session("ses-004a"), session_id="ses-dup"))  # repeat
    school.sessions.append(dict(first, session_id=""))  # no id: file-level
    school.sessions.append(dict(first, session_id="ses-old", start="2020-01-06T09:00"))
    school.extra_session_lines = ['ses-quote,"broken']
    school.write()
    settings = tiny_settings(school)
    eager = files_source(settings, None).read(YEAR)
    reasons = {(r.kind, r.source_id, r.reason) for r in eager.rejected}
    assert ("session", "ses-001a", "session_id repeats an earlier row") in reasons
    assert ("session", "ses-dup", "session_id repeats an earlier row") in reasons
    assert "ses-dup" in {s.source_id for s in eager.sessions}
    assert not eager.complete
    for size in (1, 2, 5):
        batched = files_source(settings, size).read(YEAR)
        assert not batched.complete
        assert {r.kind for r in batched.rejected} <= {"row", "file"}
        assert_same_read(batched, eager)


def test_the_nothing_at_all_rule_and_an_icalendar_planning_stay_eager(tmp_path: Path) -> None:
    school = TinySchool.build(tmp_path / "school", date(2026, 11, 30))
    school.write()
    ics = tmp_path / "school" / "planning.ics"
    ics.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
    snapshot = files_source(tiny_settings(school).model_copy(update={"sessions": ics}), 4).read(
        YEAR
    )
    assert snapshot.batches == () and snapshot.sessions == ()
    empty = tmp_path / "empty"
    (empty / "oneroster").mkdir(parents=True)
    school.sessions = []
    school.write()
    nothing = tiny_settings(school).model_copy(update={"oneroster": empty / "oneroster"})
    read = files_source(nothing, 4).read(YEAR)
    assert read.complete is False
    assert read == files_source(nothing, None).read(YEAR)


@pytest.fixture(scope="module")
def medium_school(tmp_path_factory: pytest.TempPathFactory) -> FilesSettings:
    folder = tmp_path_factory.mktemp("medium")
    school = generate_school(42, "medium", year_start=date(2026, 9, 1), tz=PARIS)
    files = write_school_files(school, folder)
    return FilesSettings(
        oneroster=files.oneroster,
        sessions=files.sessions_csv,
        attendance_out=folder / "attendance.csv",
    )


def test_the_batched_read_is_the_eager_read_on_a_medium_school(
    medium_school: FilesSettings,
) -> None:
    eager = files_source(medium_school, None).read(YEAR)
    assert len(eager.sessions) > 1000
    batched = files_source(medium_school, 1000).read(YEAR)
    assert len(batched.batches) > 1
    assert_same_read(batched, eager)
    again = files_source(medium_school, 1000).read(YEAR)
    assert [b.fingerprint for b in again.batches] == [b.fingerprint for b in batched.batches]
    # Another window is another input of every batch.
    other = files_source(medium_school, 1000).read(Window(date(2026, 10, 1), YEAR.end_on))
    assert not {b.fingerprint for b in other.batches} & {b.fingerprint for b in batched.batches}


# --------------------------------------------------------------------------- sync


class CountingSource:
    """The files source with small chunks; counts the batches the engine builds."""

    def __init__(self, inner: FilesSource) -> None:
        self.inner = inner
        self.system = inner.system
        self.capabilities = inner.capabilities
        self.built: list[str] = []

    def read(self, window: Window, progress: Progress = no_progress) -> Snapshot:
        snapshot = self.inner.read(window, progress)
        assert snapshot.batches, "the CSV planning was not handed over in batches"
        batches = tuple(
            dataclasses.replace(batch, build=self._counted(batch.batch_id, batch.build))
            for batch in snapshot.batches
        )
        return dataclasses.replace(snapshot, batches=batches)

    def _counted(
        self, batch_id: str, build: Callable[[], BatchContent]
    ) -> Callable[[], BatchContent]:
        def counted() -> BatchContent:
            self.built.append(batch_id)
            return build()

        return counted

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


class CountingHarness(BatchHarness):
    source: CountingSource | None = None

    def ctx(self) -> RunContext:
        ctx = super().ctx()
        config = ctx.config
        assert isinstance(config.source, FilesSettings)
        inner = FilesSource(config.source, zone(config.timezone), chunk_rows=CHUNK)
        if self.source is None:
            self.source = CountingSource(inner)
        else:
            self.source.inner = inner
        return dataclasses.replace(ctx, source=self.source)  # type: ignore[arg-type]


@pytest.fixture
def h(
    tmp_path: Path, edusign: EdusignSandbox, store: Store, tenant: str, first_day: date
) -> CountingHarness:
    edusign.add_school(API_KEY)
    school = TinySchool.build(tmp_path / "school", first_day)
    return CountingHarness(school, edusign, store, tenant)


def test_a_second_run_builds_no_batch_and_writes_nothing(h: CountingHarness) -> None:
    first = h.run()
    assert sorted(h.built()) == [f"csv:c{i}" for i in range(5)]
    assert sum(first.accounts[0].applied.values()) == 34
    again = h.run()
    assert h.built() == []
    assert h.sandbox.writes() == 0
    assert again.sessions_reused == 20
    assert again.accounts[0].unchanged == 34
    assert again.accounts[0].planned == {}


def test_one_moved_row_builds_its_batch_only(h: CountingHarness) -> None:
    h.run()
    h.built()
    index = next(i for i, s in enumerate(h.school.sessions) if s["session_id"] == "ses-003a")
    moved = h.school.sessions[index]
    moved["start"] = moved["start"].replace("09:00", "10:00")
    report = h.run()
    assert h.built() == [f"csv:c{index // CHUNK}"]
    assert h.sandbox.writes() == 1
    assert report.accounts[0].applied == {"update course": 1}
    assert h.course("ses-003a")["START"].startswith(f"{moved['start'][:10]}T09:00")  # UTC
    h.run()
    assert h.built() == [] and h.sandbox.writes() == 0


def test_a_learner_renamed_rebuilds_every_batch_and_writes_the_learner(
    h: CountingHarness,
) -> None:
    h.run()
    h.built()
    h.school.user("stu-3")["familyName"] = "Durand"
    report = h.run()
    assert len(h.built()) == 5  # the roster is an input of every batch
    assert report.accounts[0].applied == {"update student": 1}
    h.run()
    assert h.built() == [] and h.sandbox.writes() == 0


def test_a_learner_left_out_of_a_session_is_written(h: CountingHarness) -> None:
    """A roster change that changes a session (a learner it names is gone) reaches it
    although no row of the planning changed."""
    h.guard = {"max_delete_ratio": 1.0, "max_delete_count": 100}  # a learner removed
    h.school.session("ses-003a")["learner_ids"] = "stu-3"
    h.run()
    h.built()
    h.school.users = [u for u in h.school.users if u["sourcedId"] != "stu-3"]
    report = h.run()
    assert len(h.built()) == 5
    assert any(p.key == "ses-003a" for p in report.rejected), report.rejected
    assert h.sandbox.writes() > 0
    h.run()
    assert h.built() == [] and h.sandbox.writes() == 0


def test_batch_ids_follow_the_rows(tmp_path: Path) -> None:
    school = TinySchool.build(tmp_path / "school", date(2026, 11, 30))
    school.write()
    snapshot = files_source(tiny_settings(school), CHUNK).read(YEAR)
    assert [b.batch_id for b in snapshot.batches] == [f"csv:c{i}" for i in range(5)]
    assert len({b.fingerprint for b in snapshot.batches}) == 5
    assert datetime(2026, 11, 30, tzinfo=UTC) < min(s.start_at for s in snapshot.built().sessions)
