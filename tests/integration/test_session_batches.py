"""Session batches end to end: the engine builds only what changed, and stays exact.

The files source is wrapped so that its sessions come as `SessionBatch`es (one per class,
or per day), fingerprinted by their content, as a Hyperplanning read hands them over.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from rollbridge.config import Account
from rollbridge.engine import RunContext, sync_down
from rollbridge.engine.ports import EdusignPort
from rollbridge.errors import RollbridgeError
from rollbridge.fingerprint import fingerprint
from rollbridge.model import BatchContent, Mark, Session, SessionBatch, Snapshot, Window
from rollbridge.sandbox.edusign_server import EdusignSandbox
from rollbridge.sources.base import Progress, no_progress
from rollbridge.store import Store

from .harness import API_KEY, BatchHarness, Harness
from .tiny_school import TinySchool

BatchOf = Callable[[Session], str]


def by_day(session: Session) -> str:
    return f"day:{session.start_at.date().isoformat()}"


class BatchedSource:
    """The files source, its sessions handed over in batches; counts what it builds."""

    def __init__(
        self, inner: object, batch_of: BatchOf, *, blind: frozenset[str] = frozenset()
    ) -> None:
        self.inner = inner
        self.system = inner.system  # type: ignore[attr-defined]
        self.capabilities = inner.capabilities  # type: ignore[attr-defined]
        self.batch_of = batch_of
        self.blind = blind  # batches whose fingerprint ignores content (a broken source)
        self.built: list[str] = []

    def read(self, window: Window, progress: Progress = no_progress) -> Snapshot:
        snapshot: Snapshot = self.inner.read(window, progress).built()  # type: ignore[attr-defined]
        groups: dict[str, list[Session]] = {}
        for session in snapshot.sessions:
            groups.setdefault(self.batch_of(session), []).append(session)
        batches = tuple(
            SessionBatch(
                batch_id,
                "constant" if batch_id in self.blind else fingerprint(tuple(sessions)),
                self._builder(batch_id, tuple(sessions)),
            )
            for batch_id, sessions in sorted(groups.items())
        )
        # Session rejections come out of a batch's build, as a Hyperplanning read's do.
        moved = tuple(r for r in snapshot.rejected if r.kind == "session")
        if moved and batches:
            first = batches[0]
            build = first.build
            batches = (
                dataclasses.replace(
                    first, build=lambda: dataclasses.replace(build(), rejected=moved)
                ),
                *batches[1:],
            )
        kept = tuple(r for r in snapshot.rejected if r.kind != "session")
        return dataclasses.replace(snapshot, sessions=(), batches=batches, rejected=kept)

    def _builder(self, batch_id: str, sessions: tuple[Session, ...]) -> Callable[[], BatchContent]:
        def build() -> BatchContent:
            self.built.append(batch_id)
            return BatchContent(sessions)

        return build

    def write_marks(self, marks: list[Mark]) -> object:
        return self.inner.write_marks(marks)  # type: ignore[attr-defined]

    def check(self) -> object:
        return self.inner.check()  # type: ignore[attr-defined]


class BatchedHarness(BatchHarness):
    source: BatchedSource | None = None
    batch_of: BatchOf = staticmethod(by_day)  # type: ignore[assignment]
    blind: frozenset[str] = frozenset()
    rebuild_all: bool = False

    def ctx(self) -> RunContext:
        ctx = super().ctx()
        if self.source is None:
            self.source = BatchedSource(ctx.source, self.batch_of, blind=self.blind)
        else:
            self.source.inner = ctx.source
        return dataclasses.replace(ctx, source=self.source, rebuild_all=self.rebuild_all)  # type: ignore[arg-type]


@pytest.fixture
def h(
    tmp_path: Path, edusign: EdusignSandbox, store: Store, tenant: str, first_day: date
) -> BatchedHarness:
    edusign.add_school(API_KEY)
    school = TinySchool.build(tmp_path / "school", first_day)
    return BatchedHarness(school, edusign, store, tenant)


def course_api_ids(h: Harness) -> Counter[str]:
    return Counter(c["API_ID"] for c in h.courses())


def test_second_run_builds_no_batch_and_writes_nothing(h: BatchedHarness) -> None:
    first = h.run()
    assert len(h.built()) == 10  # one per school day
    assert sum(first.accounts[0].applied.values()) == 34
    again = h.run()
    assert h.built() == []
    assert h.sandbox.writes() == 0
    assert again.sessions_reused == 20
    assert again.source_counts["session"] == 20
    assert again.accounts[0].unchanged == 34
    assert again.accounts[0].planned == {}


def test_one_moved_session_rebuilds_its_batch_only(h: BatchedHarness) -> None:
    h.run()
    h.built()
    moved = h.school.session("ses-003a")
    moved["start"] = moved["start"].replace("09:00", "10:00")
    report = h.run()
    assert h.built() == [f"day:{moved['start'][:10]}"]
    assert h.sandbox.writes() == 1
    assert report.accounts[0].applied == {"update course": 1}
    assert report.sessions_reused == 18
    assert h.course("ses-003a")["START"].startswith(f"{moved['start'][:10]}T09:00")  # UTC
    h.run()
    assert h.built() == [] and h.sandbox.writes() == 0


def test_a_session_removed_from_a_batch_is_cancelled(h: BatchedHarness) -> None:
    h.run()
    h.built()
    h.school.sessions = [s for s in h.school.sessions if s["session_id"] != "ses-004b"]
    report = h.run()
    assert len(h.built()) == 1
    assert report.accounts[0].applied == {"cancel course": 1}
    assert len(h.courses()) == 19 or all(
        c.get("ARCHIVED") for c in h.courses() if c["API_ID"].endswith("ses-004b")
    )
    h.run()
    assert h.built() == [] and h.sandbox.writes() == 0


def test_a_person_renamed_rebuilds_no_batch_and_writes_only_the_person(
    h: BatchedHarness,
) -> None:
    h.run()
    h.built()
    h.school.user("stu-3")["familyName"] = "Durand"
    report = h.run()
    assert h.built() == []  # no session reads a name
    assert report.accounts[0].applied == {"update student": 1}


def test_an_e_mail_made_invalid_rebuilds_every_batch_and_drops_the_learner(
    h: BatchedHarness,
) -> None:
    """Shaping leaves out a person without a valid e-mail, so every roster they are on
    changes: the batches must be built again."""
    h.guard = {"max_delete_ratio": 0.5}  # the learner is archived: 1 of 8
    h.run()
    h.built()
    h.school.user("stu-3")["email"] = "not-an-e-mail"
    report = h.run()
    assert len(h.built()) == 10
    applied = report.accounts[0].applied
    assert applied["update course"] == 10 and applied["cancel student"] == 1, applied
    assert all(len(c["STUDENTS"]) == 3 for c in h.courses() if "Math" in c["NAME"])
    h.run()
    assert h.built() == [] and h.sandbox.writes() == 0


def test_an_option_changed_rebuilds_every_batch(h: BatchedHarness) -> None:
    h.run()
    h.built()
    h.options = {"fixed_room_name": "NFC-1"}
    report = h.run()
    assert len(h.built()) == 10
    assert report.accounts[0].applied == {"update course": 20}


class RefusesCourse:
    """A client that refuses to update one course (Edusign said no)."""

    def __init__(self, inner: EdusignPort, course_id: str) -> None:
        self.inner = inner
        self.course_id = course_id

    def update_course(self, course_id: str, fields: Mapping[str, Any]) -> None:
        if course_id == self.course_id:
            raise RollbridgeError("Edusign refused this course (test)")
        self.inner.update_course(course_id, fields)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_run_that_failed_half_way_leaves_no_stale_batch(h: BatchedHarness) -> None:
    """Run 2 moves two sessions (two batches); one update fails. The moves are then undone
    in the planning, so both batches have their run-1 fingerprint again: run 3 must still
    rebuild them and write the session that did move back."""
    h.run()
    h.built()
    sessions = [h.school.session("ses-002a"), h.school.session("ses-005a")]
    originals = [s["start"] for s in sessions]
    for session, start in zip(sessions, originals, strict=True):
        session["start"] = start.replace("09:00", "10:00")
    refused = h.edusign_id("session:ses-005a")
    ctx = h.ctx()

    def failing_client(account: Account) -> EdusignPort:
        return RefusesCourse(ctx.client_for(account), refused)

    h.school.write()
    failed = sync_down(dataclasses.replace(ctx, client_for=failing_client))
    assert failed.status == "partial"
    assert sorted(failed.accounts[0].applied.items()) == [("update course", 1)]
    for session, start in zip(sessions, originals, strict=True):
        session["start"] = start
    h.built()
    report = h.run()
    assert len(h.built()) == 2
    assert report.accounts[0].applied == {"update course": 1}
    for session, start in zip(sessions, originals, strict=True):
        assert h.course(session["session_id"])["START"].startswith(f"{start[:10]}T08:00")


def test_a_link_lost_from_a_settled_batch_rebuilds_it_without_duplicate(
    h: BatchedHarness,
) -> None:
    h.run()
    h.built()
    key = "session:ses-005b"
    edusign_id = h.edusign_id(key)
    h.store.delete_links(h.tenant, "main", [key])
    report = h.run()
    assert len(h.built()) == 1
    assert h.edusign_id(key) == edusign_id  # found again by API_ID, not created twice
    assert max(course_api_ids(h).values()) == 1
    assert report.accounts[0].applied.get("create course", 0) <= 1
    assert h.sandbox.duplicate_api_ids(API_KEY) == []


def test_batches_that_overlap_are_caught_and_every_batch_rebuilt(h: BatchedHarness) -> None:
    """A source whose fingerprint for b1 misses a session moving out of it into b2: b1 is
    reused, b2 rebuilt with a session whose link b1 still holds; the engine notices the
    create of a session it already linked, and plans again with every batch built."""
    h.blind = frozenset({"b1"})
    h.batch_of = staticmethod(lambda s: "b1" if s.source_id.endswith("a") else "b2")  # type: ignore[assignment]
    h.run()
    h.built()
    assert h.source is not None
    h.source.batch_of = lambda s: (
        "b1" if s.source_id.endswith("a") and s.source_id != "ses-002a" else "b2"
    )
    report = h.run()
    assert any("overlapped" in w for w in report.warnings), report.warnings
    assert sorted(h.built()) == ["b1", "b2", "b2"]  # b2, then both once caught
    assert h.sandbox.writes() == 0
    assert max(course_api_ids(h).values()) == 1
    h.run()  # the links now carry their new batch: both are reused again
    assert h.built() == [] and h.sandbox.writes() == 0


def test_rejections_of_a_reused_batch_are_still_reported(h: BatchedHarness) -> None:
    """One rejected by the source while building its batch, one rejected by shaping."""
    broken = h.school.session("ses-006a")
    broken["end"] = broken["start"].replace("09:00", "08:00")
    h.school.user("tea-2")["email"] = "not-an-e-mail"  # shaping rejects cls-b's sessions
    first = h.run()
    reasons = {(p.kind, p.key): p.reason for p in first.rejected}
    assert "not after start" in reasons["session", "ses-006a"], first.rejected
    assert "no instructor" in reasons["session", "ses-007b"], first.rejected
    h.built()
    again = h.run()
    assert h.built() == []
    assert {(p.kind, p.key): p.reason for p in again.rejected} == reasons


def test_a_dry_run_settles_nothing_and_full_rebuilds_everything(h: BatchedHarness) -> None:
    h.school.write()
    sync_down(h.ctx(), dry_run=True)
    assert h.store.settled_batches(h.tenant) == {}
    h.run()
    h.built()
    h.rebuild_all = True
    h.run()
    assert len(h.built()) == 10 and h.sandbox.writes() == 0
    h.rebuild_all = False
    h.run()
    assert h.built() == []


def test_an_incomplete_read_reuses_nothing(h: BatchedHarness) -> None:
    h.run()
    h.built()
    assert h.source is not None
    inner_read = h.source.read

    def incomplete(window: Window, progress: Progress = no_progress) -> Snapshot:
        return dataclasses.replace(inner_read(window, progress), complete=False)

    h.source.read = incomplete  # type: ignore[method-assign]
    h.run()
    assert len(h.built()) == 10
    assert h.sandbox.writes() == 0
    h.source.read = inner_read  # type: ignore[method-assign]
    h.run()
    assert h.built() == []


def test_the_guard_counts_the_links_of_reused_batches(h: BatchedHarness) -> None:
    """One session removed out of twenty is 5 %: under a 10 % guard it must apply, even
    though the other batches' links were never loaded."""
    h.guard = {"max_delete_ratio": 0.1, "max_delete_count": 100}
    h.run()
    h.built()
    h.school.sessions = [s for s in h.school.sessions if s["session_id"] != "ses-007a"]
    report = h.run()
    assert report.accounts[0].applied == {"cancel course": 1}


def test_a_session_removed_after_it_started_stays_reported_while_its_batch_is_reused(
    h: BatchedHarness,
) -> None:
    h.run()
    h.built()
    h.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # the sessions of 30 November are past
    h.run()  # a new day moves the window: every batch is checked once
    h.built()
    h.school.sessions = [s for s in h.school.sessions if s["session_id"] != "ses-001a"]
    report = h.run()
    assert h.built() == ["day:2026-11-30"]
    assert [c.key for c in report.accounts[0].conflicts] == ["session:ses-001a"]
    again = h.run()
    assert h.built() == []  # the conflict's link left the batch: the batch is settled
    assert [c.key for c in again.accounts[0].conflicts] == ["session:ses-001a"]
    assert h.sandbox.writes() == 0


def test_batches_that_build_to_nothing_are_an_empty_read(h: BatchedHarness) -> None:
    h.run()
    h.built()
    assert h.source is not None

    def empty(window: Window, progress: Progress = no_progress) -> Snapshot:
        return Snapshot(batches=(SessionBatch("b", "f", BatchContent),))

    h.source.read = empty  # type: ignore[method-assign]
    report = h.run()
    assert report.read_complete is False
    assert "no records" in " ".join(report.warnings)
    assert h.sandbox.writes() == 0
