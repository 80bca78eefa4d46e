"""The engine's promises, run with every source: the same scenarios with the files source
(a tiny school on disk) and with Hyperplanning (the HPSW emulator over SOAP).

Idempotence (a second run writes nothing; one change is one write), crash-resume (killed
between "Edusign created it" and "we recorded it", the next run heals without
duplicates), absent-is-not-deleted (a failed read deletes nothing) and the deletion guard
(a mass deletion waits for a person's approval)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest

from rollbridge.engine import ApplyHooks, sync_down
from rollbridge.plan import Step
from rollbridge.report import RunReport
from rollbridge.sandbox.edusign_server import EdusignSandbox
from rollbridge.sandbox.hyperplanning.server import HyperplanningSandbox
from rollbridge.sources.hyperplanning.ids import parse_session_id
from rollbridge.store import Store
from rollbridge.timeconv import zone

from .harness import API_KEY, Harness
from .hp_harness import KEY_A, HpHarness
from .tiny_school import TinySchool


class Tenant(Protocol):
    """One tenant under test, whatever its source; changes go through the source's side."""

    edusign: EdusignSandbox
    store: Store
    tenant: str
    api_key: str
    hooks: ApplyHooks | None

    def down(self) -> RunReport: ...

    def move_one_session(self) -> str:
        """Move one future session an hour later the same day; returns its source key."""
        ...

    def rename_one_learner(self) -> str:
        """Rename one learner; returns their e-mail."""
        ...

    def remove_sessions(self, *, many: bool) -> int:
        """Remove future sessions from the planning (many: half of them, else a few);
        returns how many Edusign courses that should cancel."""
        ...

    def break_read(self) -> None:
        """Make every later read fail part-way."""
        ...


class _Wrapping:
    """A tenant adapter: what it does not define comes from the harness it wraps."""

    h: Any

    def __getattr__(self, name: str) -> Any:
        return getattr(self.h, name)

    @property
    def hooks(self) -> ApplyHooks | None:
        hooks: ApplyHooks | None = self.h.hooks
        return hooks

    @hooks.setter
    def hooks(self, value: ApplyHooks | None) -> None:
        self.h.hooks = value


@dataclass
class FilesTenant(_Wrapping):
    """The files source: OneRoster + sessions CSV written by `TinySchool`."""

    h: Harness
    api_key: str = API_KEY
    broken: bool = False

    @property
    def edusign(self) -> EdusignSandbox:
        return self.h.sandbox

    def down(self) -> RunReport:
        if self.broken:  # keep the broken files: `Harness.down` would write them again
            return sync_down(self.h.ctx())
        return self.h.down()

    def move_one_session(self) -> str:
        session = self.h.school.session("ses-003a")
        session["start"] = session["start"].replace("09:00", "10:00")
        session["end"] = session["end"].replace("11:00", "12:00")
        return "session:ses-003a"

    def rename_one_learner(self) -> str:
        self.h.school.user("stu-3")["familyName"] = "N'Diaye-Hervé"
        return "eleve3@cfa.test"

    def remove_sessions(self, *, many: bool) -> int:
        before = len(self.h.school.sessions)
        if many:
            kept = [s for s in self.h.school.sessions if not s["session_id"].endswith("b")]
        else:
            kept = [s for s in self.h.school.sessions if s["session_id"] != "ses-010b"]
        self.h.school.sessions = kept
        return before - len(kept)

    def break_read(self) -> None:
        # The sessions file cut half-way through a row.
        self.h.school.write()
        text = self.h.school.sessions_csv.read_text(encoding="utf-8")
        self.h.school.sessions_csv.write_text(
            text[: len(text) // 2] + '"unterminated', encoding="utf-8"
        )
        self.broken = True


@dataclass
class HpTenant(_Wrapping):
    """The Hyperplanning source: the HPSW emulator's small school, edited by its controls."""

    h: HpHarness
    api_key: str = KEY_A

    def _future_seances(self) -> list[tuple[str, int, int]]:
        """(session key, course key, HP week) of the sessions read, soonest first."""
        snapshot = self.h.read()
        base = (snapshot.key_space or "").rstrip(":")
        found = []
        for session in sorted(snapshot.sessions, key=lambda s: s.start_at):
            ref = parse_session_id(session.source_id, base)
            if ref is not None and ref.week is not None and session.start_at > self.h.now:
                found.append((f"session:{session.source_id}", ref.course_key, ref.week))
        return found

    def move_one_session(self) -> str:
        key, course, week = self._future_seances()[0]
        start = self.h.read()
        session = next(s for s in start.sessions if f"session:{s.source_id}" == key)
        wall = session.start_at.astimezone(zone("Europe/Paris")).replace(tzinfo=None)
        self.h.hp.move_seance(course, week, wall + timedelta(hours=1))
        return key

    def rename_one_learner(self) -> str:
        person = next(p for p in self.h.read().people if p.role == "learner" and p.email)
        learner = int(person.source_id.rsplit(":", 1)[1])
        self.h.hp.rename_learner(learner, "N'Diaye-Hervé")
        assert person.email is not None
        return person.email

    def remove_sessions(self, *, many: bool) -> int:
        linked = self.h.store.load_links(self.h.tenant, "main")
        seances = [s for s in self._future_seances() if s[0] in linked]  # not the rejected
        courses = sorted({course for _, course, _ in seances})
        gone = set(courses[::2] if many else courses[:1])
        self.h.hp.remove_courses(sorted(gone))
        return sum(1 for _, course, _ in seances if course in gone)

    def break_read(self) -> None:
        # Read every run (group membership is never cached), and every course needs it.
        self.h.hp.fail("EtudiantsDuTDOption", times=1_000_000, status=503)


@pytest.fixture(params=["files", "hyperplanning"])
def school(request: pytest.FixtureRequest, tmp_path: Path, store: Store, tenant: str) -> Tenant:
    edusign: EdusignSandbox = request.getfixturevalue("edusign")
    if request.param == "files":
        edusign.add_school(API_KEY)
        tiny = TinySchool.build(tmp_path / "school", date(2026, 11, 30))
        return FilesTenant(Harness(tiny, edusign, store, tenant))
    hp: HyperplanningSandbox = request.getfixturevalue("hp")
    edusign.add_school(KEY_A)
    edusign.set_rate_limit(600_000)
    return HpTenant(HpHarness(hp, edusign, store, tenant, tmp_path / "state"))


def state(school: Tenant) -> dict[str, Any]:
    return school.edusign.dump(school.api_key)


def api_id_counts(school: Tenant) -> Counter[str]:
    return Counter(
        obj["API_ID"]
        for kind in ("students", "professors", "groups", "courses", "externals")
        for obj in state(school)[kind]
    )


def first_down(school: Tenant) -> int:
    """The first run; returns how many objects it put in Edusign."""
    report = school.down()
    assert report.status == "ok", report.error
    school.edusign.clear_log()
    return sum(api_id_counts(school).values())


def test_first_run_writes_each_object_once_and_the_second_nothing(school: Tenant) -> None:
    report = school.down()
    assert report.status == "ok", report.error
    counts = api_id_counts(school)
    assert counts and max(counts.values()) == 1
    assert school.edusign.writes() == len(counts)
    school.edusign.clear_log()
    again = school.down()
    assert again.status == "ok" and school.edusign.writes() == 0
    assert sum(a.unchanged for a in again.accounts) == len(counts)


def test_one_session_moved_is_exactly_one_write(school: Tenant) -> None:
    first_down(school)
    school.move_one_session()
    report = school.down()
    assert school.edusign.writes() == 1, school.edusign.counts()
    assert report.accounts[0].applied == Counter({"update course": 1})


def test_one_learner_renamed_is_exactly_one_write(school: Tenant) -> None:
    first_down(school)
    email = school.rename_one_learner()
    school.down()
    assert school.edusign.writes() == 1, school.edusign.counts()
    student = next(s for s in state(school)["students"] if s["EMAIL"] == email)
    assert student["LASTNAME"] == "N'Diaye-Hervé"


class CrashAfter:
    """Dies like `kill -9` right after Edusign answered and before we recorded it."""

    class Killed(BaseException):
        pass

    def __init__(self, writes: int) -> None:
        self.left = writes

    def after_write(self, step: Step, edusign_id: str | None) -> None:
        self.left -= 1
        if self.left < 0:
            raise self.Killed


@pytest.mark.parametrize("crash_after", [0, 5, 13, 30])
def test_crash_between_create_and_record_heals_without_duplicates(
    school: Tenant, crash_after: int
) -> None:
    school.hooks = CrashAfter(crash_after)
    with pytest.raises(CrashAfter.Killed):
        school.down()
    school.hooks = None
    report = school.down()
    assert report.status == "ok", report.error
    counts = api_id_counts(school)
    assert max(counts.values()) == 1
    assert school.edusign.duplicate_api_ids(school.api_key) == []
    school.edusign.clear_log()
    assert school.down().status == "ok"
    assert school.edusign.writes() == 0


def test_failed_read_deletes_or_edits_nothing(school: Tenant) -> None:
    objects = first_down(school)
    school.break_read()
    report = school.down()
    assert report.read_complete is False
    assert school.edusign.writes() == 0, school.edusign.counts()
    assert sum(api_id_counts(school).values()) == objects


def test_deletion_guard_holds_then_approve_applies(school: Tenant) -> None:
    first_down(school)
    courses = len(state(school)["courses"])
    removed = school.remove_sessions(many=True)
    report = school.down()
    assert report.status == "held" and report.exit_code() == 3
    assert report.held_plan_id
    assert school.edusign.writes() == 0 and len(state(school)["courses"]) == courses
    school.store.resolve_plan(report.held_plan_id, "approved", at=school.now, by="test")
    applied = school.down()
    assert applied.status == "ok", applied.error
    assert applied.accounts[0].applied["cancel course"] == removed
    assert len(state(school)["courses"]) == courses - removed
    assert school.store.get_plan(report.held_plan_id).status == "applied"


def test_deletion_guard_reject_drops_the_plan(school: Tenant) -> None:
    first_down(school)
    courses = len(state(school)["courses"])
    school.remove_sessions(many=True)
    held = school.down()
    assert held.status == "held"
    school.store.resolve_plan(held.held_plan_id, "rejected", at=school.now, by="test")
    assert school.store.get_plan(held.held_plan_id).status == "rejected"
    again = school.down()
    assert again.status == "held" and again.held_plan_id != held.held_plan_id
    assert len(state(school)["courses"]) == courses


def test_a_few_deletions_under_the_guard_apply_directly(school: Tenant) -> None:
    first_down(school)
    courses = len(state(school)["courses"])
    removed = school.remove_sessions(many=False)
    report = school.down()
    assert report.status == "ok" and report.accounts[0].applied["cancel course"] == removed
    assert len(state(school)["courses"]) == courses - removed
