"""The Hyperplanning per-entity cache against the HPSW emulator: what a run still asks,
what it no longer asks, and that the records come out the same."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import Result
from typer.testing import CliRunner

from rollbridge.cli import app
from rollbridge.engine.down import sync_window
from rollbridge.logging import configure_logging
from rollbridge.model import Snapshot
from rollbridge.sources.hyperplanning.cache import CACHE_FILE, max_age_s
from rollbridge.sources.hyperplanning.client import HpswClient
from rollbridge.sources.hyperplanning.ids import key_of
from rollbridge.sources.hyperplanning.parse import as_keys
from rollbridge.sources.hyperplanning.source import HyperplanningSource

from .hp_harness import KEY_A, HpHarness, future_seance, hp_source

PER_COURSE = (
    "PromotionsDuCours",
    "TDOptionsDuCours",
    "EtudiantsDuCours",
    "RubriquesDuCoursDeFamille",
    "MemoCours",
)
PER_LEARNER = (
    "RubriquesDeLEtudiantDeFamille",
    "MatieresDispenseesEtudiant",
    "MaitresDApprentissageEtudiant",
)
PER_ENTITY = (*PER_COURSE, *PER_LEARNER, "LibelleLongSalle")
HOUR = timedelta(hours=1)


def per_entity(h: HpHarness) -> dict[str, int]:
    """The cacheable per-entity calls made since the log was last cleared."""
    counts = h.hp.counts()
    return {op: counts[op] for op in PER_ENTITY if counts.get(op)}


def everything_on(h: HpHarness) -> None:
    """Student and course families, tutors: every kind of cached entry is used."""
    h.source = {"student_families": ["Site"], "course_families": ["Modalité"]}
    h.options = {"tutors": True}


def cache_file(h: HpHarness) -> Path:
    return h.state_dir / CACHE_FILE


# ----- a source with its own clock and, when asked, edited answers ---------------------------


@dataclass
class Edits:
    """Answers edited the way Hyperplanning would answer after changes the emulator cannot
    make: a learner moved to another promotion, a learner enrolled in a course on their own."""

    promotion_of: dict[int, int] = field(default_factory=dict)  # learner → new promotion
    added: dict[int, set[int]] = field(default_factory=dict)  # course → individual learners
    moved_from: dict[int, int] = field(default_factory=dict)  # learner → old promotion

    def move(self, learner: int, old: int, new: int) -> None:
        self.promotion_of[learner] = new
        self.moved_from[learner] = old

    def learners_of(self, client: HpswClient, course: int, learners: tuple[int, ...]) -> list[int]:
        promotions = set(as_keys(client.call("PortCours", "PromotionsDuCours", course)))
        out = list(learners)
        for learner, new in self.promotion_of.items():
            if self.moved_from[learner] in promotions and learner in out:
                out.remove(learner)
            if new in promotions and learner not in out:
                out.append(learner)
        out.extend(k for k in sorted(self.added.get(course, ())) if k not in out)
        return out


class EditedClient:
    """An HPSW client whose answers go through `Edits` (the emulator is still called, so
    its counts stay right)."""

    def __init__(self, inner: HpswClient, edits: Edits) -> None:
        self.inner = inner
        self.edits = edits

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def call(self, port: str, operation: str, *args: object, write: bool = False) -> object:
        answer = self.inner.call(port, operation, *args, write=write)
        if operation == "EtudiantsDuCours":
            return self.edits.learners_of(self.inner, cast(int, args[0]), as_keys(answer))
        return answer

    def parallel(
        self, port: str, operation: str, item_type: str, keys: Sequence[int]
    ) -> list[object]:
        found = self.inner.parallel(port, operation, item_type, keys)
        if operation == "PromotionsTableauDEtudiants":
            return [self.edits.promotion_of.get(k, v) for k, v in zip(keys, found, strict=True)]
        return found


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def source(
    h: HpHarness, *, clock: Clock | None = None, full: bool = False, edits: Edits | None = None
) -> HyperplanningSource:
    wrap = None if edits is None else (lambda client: EditedClient(client, edits))
    return hp_source(h, full=full, wrap=wrap, clock=clock or Clock(h.now))


def read(
    h: HpHarness, *, clock: Clock | None = None, full: bool = False, edits: Edits | None = None
) -> Snapshot:
    """A read with every session built (batches hold a build function: never equal)."""
    found = source(h, clock=clock, full=full, edits=edits).read(sync_window(h.config(), h.now))
    return found.built()


def fresh(h: HpHarness, edits: Edits | None = None) -> Snapshot:
    """A read without the cache: every answer asked now, the cache file left alone."""
    kept = dict(h.source)
    h.source = {**kept, "refresh_hours": 0}
    try:
        return read(h, edits=edits)
    finally:
        h.source = kept


def course_of(session_id: str) -> int:
    return int(session_id.split(":")[2])


def members(snapshot: Snapshot) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for m in snapshot.memberships:
        out.setdefault(m.group_id, set()).add(m.learner_id)
    return out


# ----- runs ------------------------------------------------------------------------------


def test_second_down_asks_no_entity_again_and_writes_nothing(h: HpHarness) -> None:
    everything_on(h)
    assert h.down().status == "ok"
    first = per_entity(h)
    assert set(first) == set(PER_ENTITY) - {"MemoCours"}  # memo is not read by default
    assert cache_file(h).exists()
    h.hp.clear_log()
    h.edusign.clear_log()
    again = h.down()
    assert again.status == "ok", again.error
    assert per_entity(h) == {}
    assert h.edusign.writes() == 0
    counts = h.hp.counts()
    for still_read in (  # never cached: memberships, séances, listings
        "EtudiantsDuTDOption",
        "PromotionTDOption",
        "PromotionsTableauDEtudiants",
        "DetailDesSeancesPlaceesTableauDeCours",
        "TousLesCoursEntre2Dates",
        "ToutesLesRubriquesDeLaFamille",
    ):
        assert counts.get(still_read), still_read


def test_a_moved_seance_reads_that_course_again_and_only_it(h: HpHarness) -> None:
    h.source = {"course_families": ["Modalité"]}
    assert h.down().status == "ok"
    course, week, start = future_seance(h, h.read())  # h.down and h.read: the wall clock
    h.hp.move_seance(course, week, start + HOUR)
    h.hp.clear_log()
    h.edusign.clear_log()
    report = h.down()
    assert report.status == "ok"
    assert per_entity(h) == {
        "PromotionsDuCours": 1,
        "TDOptionsDuCours": 1,
        "EtudiantsDuCours": 1,
        "RubriquesDuCoursDeFamille": 1,
    }
    assert h.edusign.writes() == 1, h.edusign.counts()
    h.hp.clear_log()
    assert h.down().status == "ok" and per_entity(h) == {}


def test_a_renamed_learner_shows_on_the_next_run(h: HpHarness) -> None:
    assert h.down().status == "ok"
    person = next(p for p in h.read().people if p.role == "learner" and p.email)
    h.hp.rename_learner(int(person.source_id.rsplit(":", 1)[1]), "N'Diaye-Hervé")
    h.hp.clear_log()
    h.edusign.clear_log()
    assert h.down().status == "ok"
    assert per_entity(h) == {}
    assert h.edusign.writes() == 1, h.edusign.counts()
    student = next(s for s in h.state(KEY_A)["students"] if s["EMAIL"] == person.email)
    assert student["LASTNAME"] == "N'Diaye-Hervé"


def test_a_learner_moved_to_another_group_shows_on_the_next_run(h: HpHarness) -> None:
    """Group memberships are read every run: a learner changing promotion is in the new
    group's sessions at once, although the courses come from the cache."""
    edits = Edits()
    before = read(h, edits=edits)
    groups = members(before)
    old, new = sorted(groups, key=lambda g: -len(groups[g]))[:2]
    learner = sorted(groups[old])[0]
    old_key, new_key = (key_of(g, g.split(":")[0], "promotion") for g in (old, new))
    learner_key = key_of(learner, learner.split(":")[0], "learner")
    assert old_key is not None and new_key is not None and learner_key is not None
    edits.move(learner_key, old_key, new_key)
    h.hp.clear_log()
    after = read(h, edits=edits)
    assert per_entity(h) == {}
    moved = members(after)
    assert learner in moved[new] and learner not in moved[old]
    assert after == fresh(h, edits)


def test_individual_learners_are_kept_beside_current_group_members(h: HpHarness) -> None:
    """A learner enrolled on their own is cached as such; removed, the change shows once
    the entry is older than its max age (bounded staleness)."""
    clock = Clock(h.now)
    edits = Edits()
    base = read(h, edits=edits, clock=clock)
    learners = sorted(p.source_id for p in base.people if p.role == "learner")
    session = next(s for s in base.sessions if s.group_ids)
    course = course_of(session.source_id)
    groups = members(base)
    outsider = next(
        lid for lid in learners if not any(lid in groups.get(g, ()) for g in session.group_ids)
    )
    outsider_key = key_of(outsider, outsider.split(":")[0], "learner")
    assert outsider_key is not None
    cache_file(h).unlink()
    edits.added[course] = {outsider_key}
    first = read(h, edits=edits, clock=clock)
    assert first == fresh(h, edits)
    alone = [s for s in first.sessions if course_of(s.source_id) == course]
    assert alone and all(s.learner_ids == (outsider,) for s in alone)
    h.hp.clear_log()
    clock.now += HOUR
    assert read(h, edits=edits, clock=clock) == first and per_entity(h) == {}
    del edits.added[course]  # no longer enrolled on their own
    clock.now += HOUR
    assert read(h, edits=edits, clock=clock) == first  # still cached: at most refresh_hours
    clock.now += 24 * HOUR
    last = read(h, edits=edits, clock=clock)
    assert last == fresh(h, edits) == base
    assert not any(s.learner_ids for s in last.sessions)


def test_snapshots_with_and_without_the_cache_are_equal(h: HpHarness) -> None:
    everything_on(h)
    without = fresh(h)
    assert not cache_file(h).exists()
    filling = read(h)
    h.hp.clear_log()
    served = read(h)
    assert per_entity(h) == {}
    assert without.sessions and without.memberships and without.tutor_links
    assert without == filling == served


def test_refresh_hours_zero_reads_everything_every_run(h: HpHarness) -> None:
    h.source = {"refresh_hours": 0}
    first = read(h)
    counts = per_entity(h)
    assert counts["EtudiantsDuCours"] and counts["MatieresDispenseesEtudiant"]
    h.hp.clear_log()
    assert read(h) == first
    assert per_entity(h) == counts
    assert not cache_file(h).exists()


def test_a_full_read_reads_everything_and_refreshes_the_cache(h: HpHarness) -> None:
    everything_on(h)
    clock = Clock(h.now)
    first = read(h, clock=clock)
    counts = per_entity(h)
    h.hp.clear_log()
    clock.now += HOUR
    assert read(h, clock=clock, full=True) == first
    assert per_entity(h) == counts
    saved = json.loads(cache_file(h).read_text(encoding="utf-8"))
    fetched = {e[0] for kind in saved["kinds"].values() for e in kind["entries"].values()}
    assert fetched == {int(clock.now.timestamp())}  # every entry refreshed
    h.hp.clear_log()
    assert read(h, clock=clock) == first and per_entity(h) == {}


def test_entries_older_than_their_max_age_are_read_again(h: HpHarness) -> None:
    clock = Clock(h.now)
    read(h, clock=clock)
    courses = [int(k) for k in json.loads(cache_file(h).read_text())["kinds"]["course"]["entries"]]
    total = per_entity(h)["EtudiantsDuCours"]
    assert total == len(courses)
    h.hp.clear_log()
    clock.now = h.now + 12 * HOUR
    read(h, clock=clock)
    assert per_entity(h) == {}
    clock.now = h.now + 21 * HOUR  # between 75 % and 100 % of refresh_hours = 24
    expired = sum(1 for k in courses if max_age_s("course", k, 24.0) <= 21 * 3600)
    assert 0 < expired < total  # spread: the base does not expire at once
    read(h, clock=clock)
    assert per_entity(h).get("EtudiantsDuCours", 0) == expired
    h.hp.clear_log()
    clock.now = h.now + 25 * HOUR  # the rest is older than 24 h; what was read at 21 h is not
    read(h, clock=clock)
    assert per_entity(h).get("EtudiantsDuCours", 0) == total - expired
    h.hp.clear_log()
    h.source = {"refresh_hours": 48}  # a longer max age applies to entries already kept
    clock.now = h.now + 50 * HOUR
    read(h, clock=clock)
    assert per_entity(h) == {}


def test_a_failed_refresh_is_not_cached_nor_served_stale(h: HpHarness) -> None:
    clock = Clock(h.now)
    before = read(h, clock=clock)
    course, week, start = future_seance(h, before)
    h.hp.move_seance(course, week, start + HOUR)
    h.hp.fail("EtudiantsDuCours", times=1_000, fault="Base en cours de maintenance")
    broken = read(h, clock=clock)
    assert broken.complete is False
    assert any(p.kind == "course" and str(course) in p.source_id for p in broken.rejected)
    assert not any(course_of(s.source_id) == course for s in broken.sessions)  # not stale
    assert broken.sessions  # a course failing hides that course only, as before
    h.hp.clear_faults()
    h.hp.clear_log()
    healed = read(h, clock=clock)
    assert per_entity(h) == {
        "PromotionsDuCours": 1,
        "TDOptionsDuCours": 1,
        "EtudiantsDuCours": 1,
        "RubriquesDuCoursDeFamille": 1,  # one course family ("Modalité")
    }
    assert healed.complete and healed == fresh(h)


def test_a_failed_learner_refresh_makes_the_read_unusable_and_is_not_cached(
    h: HpHarness,
) -> None:
    clock = Clock(h.now)
    first = read(h, clock=clock)
    learners = sum(1 for p in first.people if p.role == "learner")
    clock.now += 25 * HOUR  # everything expired
    h.hp.fail("MatieresDispenseesEtudiant", times=3, fault="Base en cours de maintenance")
    h.hp.clear_log()
    broken = read(h, clock=clock)
    assert broken.complete is False and not broken.sessions and not broken.people
    reasons = [p.reason for p in broken.rejected]
    assert any("nothing is written" in r for r in reasons)
    assert sum("MatieresDispenseesEtudiant" in r for r in reasons) == 3
    h.hp.clear_log()
    again = read(h, clock=clock)
    # The three that failed are asked again; everything read whole before was kept.
    assert per_entity(h) == {"MatieresDispenseesEtudiant": 3}
    assert again.complete and again == first and learners > 3


# ----- the command line ----------------------------------------------------------------------


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """The command sets logging up on the runner's stderr, closed once it returns."""
    yield
    configure_logging("warning")


@pytest.mark.usefixtures("logging_restored")
def test_sync_down_full_reads_everything(
    h: HpHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLLBRIDGE_STATE_DIR", str(tmp_path / "cli-state"))
    monkeypatch.delenv("ROLLBRIDGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("ROLLBRIDGE_SECRET_KEY", raising=False)
    config = tmp_path / "rollbridge.toml"
    config.write_text(
        f"""tenant = "hp-cli"
[school_year]
start = "2026-09-01"
end = "2027-07-31"
[source]
kind = "hyperplanning"
url = "{h.hp.url}"
allow_insecure_http = true
username = '{h.hp.username}'
password = {{ store = "hp-password" }}
state_dir = "{tmp_path / "hp-state"}"
[[accounts]]
name = "main"
api_key = "{KEY_A}"
base_url = "{h.edusign.url}"
allow_insecure_http = true
rate_per_minute = 60000
""",
        encoding="utf-8",
    )
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(app, [*args, "-c", str(config)], input=stdin, catch_exceptions=False)

    assert run("secret", "set", "hp-password", stdin=h.hp.password + "\n").exit_code == 0
    assert "--full" in run("sync", "down", "--help").output
    assert run("sync", "down").exit_code == 0
    learners = per_entity(h)["MatieresDispenseesEtudiant"]
    h.hp.clear_log()
    assert run("sync", "down").exit_code == 0
    assert "MatieresDispenseesEtudiant" not in per_entity(h)
    h.hp.clear_log()
    result = run("sync", "down", "--full")
    assert result.exit_code == 0, result.output
    assert per_entity(h)["MatieresDispenseesEtudiant"] == learners
