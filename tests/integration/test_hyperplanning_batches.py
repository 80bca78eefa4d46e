"""Séance chunks and session batches against the HPSW emulator (small school): chunk answers
fetched raw with a stable digest, a no-change read that decodes no séance, one séance moved
that decodes and changes one batch only, every other input changing every fingerprint, and
the batches building exactly the sessions of the read decoded at once."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any, cast

import pytest
from pydantic import SecretStr

from rollbridge.config import HyperplanningSource as HpSettings
from rollbridge.engine.down import sync_window
from rollbridge.model import Snapshot
from rollbridge.sandbox.hyperplanning.server import HyperplanningSandbox
from rollbridge.sources.hyperplanning.cache import EntityCache
from rollbridge.sources.hyperplanning.chunks import ChunkAnswer
from rollbridge.sources.hyperplanning.client import (
    READ_ATTEMPTS,
    HpswClient,
    HpswFault,
    HpswUnreachable,
)
from rollbridge.sources.hyperplanning.gather import GatherOptions, gather
from rollbridge.sources.hyperplanning.ids import base_id, key_of
from rollbridge.sources.hyperplanning.parse import as_keys, seance_from_zeep
from rollbridge.sources.hyperplanning.records import BuildOptions, build_snapshot
from rollbridge.sources.hyperplanning.soapcodec import OperationCodec
from rollbridge.sources.hyperplanning.source import HyperplanningSource, default_client
from rollbridge.timeconv import zone

from .hp_harness import HpHarness, future_seance, hp_source, spring

COURS, DETAIL, KEY = "PortCours", "DetailDesSeancesPlaceesTableauDeCours", "THpSvcWCleCours"
YEAR = (date(2026, 9, 1), date(2027, 7, 31))
CHUNK = 12  # the small school's courses in several chunks
SMALL = 4  # the same for the few courses of a read's short window
HOUR = timedelta(hours=1)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Lean answers decoded, per operation."""
    counts: Counter[str] = Counter()
    decode = OperationCodec.decode

    def counted(self: OperationCodec, content: bytes) -> object:
        counts[self.name] += 1
        return decode(self, content)

    monkeypatch.setattr(OperationCodec, "decode", counted)
    return counts


def make(hp: HyperplanningSandbox, *, lean: bool = True, **kwargs: Any) -> HpswClient:
    return HpswClient(hp.url, hp.username, SecretStr(hp.password), lean=lean, chunk=CHUNK, **kwargs)


def course_keys(client: HpswClient) -> list[int]:
    return sorted(as_keys(client.call(COURS, "TousLesCoursEntre2Dates", *YEAR)))


def digests(answers: Sequence[ChunkAnswer]) -> list[str]:
    return [a.digest for a in answers]


# ----- raw chunks ---------------------------------------------------------------------------


@pytest.mark.parametrize("lean", [True, False])
def test_chunks_answer_what_chunked_answers_with_a_digest_stable_until_a_change(
    hp: HyperplanningSandbox, lean: bool
) -> None:
    client = make(hp, lean=lean)
    keys = course_keys(client)
    first = client.fetch_chunks(COURS, DETAIL, KEY, keys)
    again = client.fetch_chunks(COURS, DETAIL, KEY, keys)
    assert [a.keys for a in first] == [
        tuple(keys[i : i + CHUNK]) for i in range(0, len(keys), CHUNK)
    ]
    assert len(first) > 3 and digests(first) == digests(again)
    assert len(set(digests(first))) == len(first)
    assert [i for a in first for i in a.items()] == client.chunked(COURS, DETAIL, KEY, keys)
    # A séance moved: its course's chunk, and only it, answers otherwise.
    index, raw = next((i, r) for i, a in enumerate(first) for r in a.items() if i >= 2)
    seance = seance_from_zeep(cast(dict[str, object], raw))
    assert seance.week is not None
    hp.move_seance(seance.course_key, seance.week, seance.starts_wallclock + HOUR)
    moved = client.fetch_chunks(COURS, DETAIL, KEY, keys)
    changed = [i for i, (a, b) in enumerate(zip(first, moved, strict=True)) if a.digest != b.digest]
    assert changed == [index]


def test_a_lean_chunk_is_decoded_on_first_use_only(
    hp: HyperplanningSandbox, decodes: Counter[str]
) -> None:
    client = make(hp)
    answers = client.fetch_chunks(COURS, DETAIL, KEY, course_keys(client))
    assert decodes[DETAIL] == 0 and not any(a.is_decoded for a in answers)
    answers[1].items()
    answers[1].items()
    assert decodes[DETAIL] == 1 and answers[1].is_decoded and not answers[0].is_decoded


def test_chunks_fail_and_retry_as_calls_do(hp: HyperplanningSandbox) -> None:
    slept: list[float] = []
    client = make(hp, sleep=slept.append)
    keys = course_keys(client)
    expected = digests(client.fetch_chunks(COURS, DETAIL, KEY, keys))
    hp.fail(DETAIL, times=1, status=503)
    assert digests(client.fetch_chunks(COURS, DETAIL, KEY, keys)) == expected
    assert slept == [0.5]
    slept.clear()
    hp.fail(DETAIL, times=10, status=503)
    with pytest.raises(HpswUnreachable, match=f"answered HTTP 503 to {DETAIL}"):
        client.fetch_chunks(COURS, DETAIL, KEY, keys)
    assert len(slept) == READ_ATTEMPTS - 1
    hp.clear_faults()
    for lean in (True, False):
        hp.fail(DETAIL, times=1, fault="Base en cours de maintenance")
        with pytest.raises(HpswFault, match=f"{DETAIL}: Base en cours de maintenance"):
            make(hp, lean=lean).fetch_chunks(COURS, DETAIL, KEY, keys)


# ----- reads ----------------------------------------------------------------------------


def source(
    h: HpHarness, *, full: bool = False, wrap: Callable[[HpswClient], Any] | None = None
) -> HyperplanningSource:
    return hp_source(h, full=full, wrap=wrap)


def read(
    h: HpHarness, *, full: bool = False, wrap: Callable[[HpswClient], Any] | None = None
) -> Snapshot:
    """A read as the engine gets it: sessions in batches, none built."""
    return source(h, full=full, wrap=wrap).read(sync_window(h.config(), h.now))


def prints(snapshot: Snapshot) -> dict[str, str]:
    return {b.batch_id: b.fingerprint for b in snapshot.batches}


def test_a_second_read_decodes_no_seance(h: HpHarness, decodes: Counter[str]) -> None:
    h.source = {"chunk": SMALL}
    first = read(h)
    assert len(first.batches) > 3 and not first.sessions
    assert decodes[DETAIL] == len(first.batches)  # nothing seen yet: each decoded once
    decodes.clear()
    second = read(h)
    assert decodes[DETAIL] == 0
    assert prints(second) == prints(first)
    base = (first.key_space or "").rstrip(":")
    assert list(prints(first)) == [f"{base}:c{i}" for i in range(len(first.batches))]
    built = second.built()
    assert decodes[DETAIL] == len(second.batches)  # decoded when built, once each
    assert built == first.built() and built.sessions


def test_a_moved_seance_decodes_and_changes_its_batch_only(
    h: HpHarness, decodes: Counter[str]
) -> None:
    h.source = {"chunk": SMALL}
    before = read(h)
    course, week, start = future_seance(h, before.built())
    h.hp.move_seance(course, week, start + HOUR)
    h.hp.clear_log()
    decodes.clear()
    after = read(h)
    assert decodes[DETAIL] == 1
    changed = [i for i, b in prints(after).items() if prints(before)[i] != b]
    assert len(changed) == 1
    # The course's cache entry is read again (its séances changed), and only it.
    counts = h.hp.counts()
    assert counts.get("EtudiantsDuCours") == counts.get("PromotionsDuCours") == 1
    batch = next(b for b in after.batches if b.batch_id == changed[0])
    moved = [s for s in batch.build().sessions if f":session:{course}:" in s.source_id]
    local = [s.start_at.astimezone(zone("Europe/Paris")).replace(tzinfo=None) for s in moved]
    assert start + HOUR in local and start not in local


class Edited:
    """An HPSW client answering a room renamed and an exemption added."""

    def __init__(self, inner: HpswClient, *, room: bool = False, learner: int | None = None):
        self.inner, self.room, self.learner = inner, room, learner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def parallel(
        self, port: str, operation: str, item_type: str, keys: Sequence[int]
    ) -> list[object]:
        found = self.inner.parallel(port, operation, item_type, keys)
        if self.room and operation == "NomsTableauDeSalles":
            return ["Salle renommée", *found[1:]]
        return found

    def call(self, port: str, operation: str, *args: object, write: bool = False) -> object:
        found = self.inner.call(port, operation, *args, write=write)
        if operation == "MatieresDispenseesEtudiant" and args[0] == self.learner:
            subjects = as_keys(self.inner.call("PortMatieres", "ToutesLesMatieres"))
            return [*as_keys(found), subjects[0]]
        return found


def test_every_other_input_of_the_timetable_changes_every_fingerprint(h: HpHarness) -> None:
    h.source = {"chunk": SMALL}
    base = read(h)
    learner = next(p for p in base.people if p.role == "learner")
    learner_key = key_of(learner.source_id, (base.key_space or "").rstrip(":"), "learner")
    assert learner_key is not None

    def all_changed(snapshot: Snapshot, than: Snapshot = base) -> bool:
        now, before = prints(snapshot), prints(than)
        return list(now) == list(before) and all(now[i] != before[i] for i in now)

    assert prints(read(h)) == prints(base)
    assert all_changed(read(h, wrap=lambda c: Edited(c, room=True)))
    full_read = read(h, full=True)  # exemptions are cached: a full read asks again
    assert prints(full_read) == prints(base)
    assert all_changed(read(h, full=True, wrap=lambda c: Edited(c, learner=learner_key)))
    assert prints(read(h, full=True)) == prints(base)  # the exemption taken back
    h.options = {"tutors": True}
    assert all_changed(read(h))
    h.options = {}
    # Learners' family sections and names are read by routing and shaping, not by the
    # timetable: the engine's own digest covers them (`engine/batches.records_digest`).
    h.source = {"chunk": SMALL, "student_families": ["Site"]}  # "Formation" left out
    assert prints(read(h)) == prints(base)
    h.source = {"chunk": SMALL}
    h.hp.rename_learner(learner_key, "Renommé")
    renamed = read(h)
    assert prints(renamed) == prints(base)
    assert renamed.people != base.people


# ----- the batches build what the read decoded at once gives -------------------------------


def eager(h: HpHarness, options: GatherOptions) -> Snapshot:
    """The read as the code before batches made it: every séance decoded while gathering,
    each course's type taken from its séances, every session built at once."""
    config = h.config()
    settings = config.source
    assert isinstance(settings, HpSettings)
    client = default_client(settings)
    first = client.first_day()
    window = sync_window(config, h.now)
    found = gather(client, window, options, cache=EntityCache.disabled()).eager()
    types = {s.course_key: s.course_type for s in found.read.seances}
    courses = tuple(
        dataclasses.replace(c, course_type=types.get(c.key, "")) for c in found.read.courses
    )
    built = build_snapshot(
        dataclasses.replace(found.read, courses=courses),
        base=base_id(str(settings.url), first),
        first_day=first,
        tz=zone(config.timezone),
        window=window,
        options=BuildOptions(tutors=options.tutors),
        complete=found.complete,
    ).snapshot
    return dataclasses.replace(built, rejected=(*built.rejected, *found.rejected))


@pytest.mark.parametrize("season", ["autumn", "spring"])
def test_batches_build_the_sessions_of_the_read_decoded_at_once(h: HpHarness, season: str) -> None:
    if season == "spring":
        spring(h)  # the DST change, self-study courses without instructor
    h.source = {"chunk": SMALL, "student_families": ["Site"], "course_families": ["Modalité"]}
    h.options = {"tutors": True}
    expected = eager(
        h,
        GatherOptions(student_families=("Site",), course_families=("Modalité",), tutors=True),
    )
    cold = read(h)  # every chunk decoded while gathering
    warm = read(h)  # none: each decoded when its batch is built
    for snapshot in (cold.built(), warm.built()):
        assert snapshot.sessions == expected.sessions and expected.sessions
        assert snapshot.people == expected.people and snapshot.groups == expected.groups
        assert snapshot.memberships == expected.memberships
        assert snapshot.tutor_links == expected.tutor_links
        assert set(snapshot.rejected) == set(expected.rejected)
        assert snapshot.complete == expected.complete


# ----- end to end: what a run builds -----------------------------------------------------------


def test_a_learner_renamed_rebuilds_no_session_and_writes_only_the_learner(h: HpHarness) -> None:
    first = h.down()
    assert first.status == "ok", first.error
    sessions = first.source_counts["session"]
    assert sessions > 0 and first.sessions_reused == 0
    learner = next(p for p in h.read().people if p.role == "learner")
    base = (h.read().key_space or "").rstrip(":")
    key = key_of(learner.source_id, base, "learner")
    assert key is not None
    h.edusign.clear_log()
    h.hp.rename_learner(key, "Renommé")
    again = h.down()
    assert again.status == "ok", again.error
    assert again.sessions_reused == sessions  # no batch built, no session planned
    assert again.accounts[0].applied == {"update student": 1}
    h.hp.rename_learner(key, "Renommée", email="renommee@example.org")
    h.edusign.clear_log()
    third = h.down()
    assert third.sessions_reused == 0  # an e-mail can change who shaping keeps: all built
    assert third.accounts[0].applied == {"update student": 1}
    assert h.edusign.writes() == 1
