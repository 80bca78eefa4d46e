"""`HyperplanningSource`: the Source port over HYPERPLANNING Service web.

`read` checks the base (the yearly planning change: a base switched mid-year stops the run
before any mass deletion), gathers the window (`gather.py`) and builds the snapshot with
the pure layer: people and groups at once, sessions as one batch per séance chunk, built
when the engine asks for them (`batches.py`). The per-entity answers are kept in
`<state_dir>/hyperplanning-cache.json` (`cache.py`) for up to `settings.refresh_hours`;
`full_read` reads everything again and refreshes it. `write_marks` reads each learner's
spans over the séance, plans with `marks.plan_mark_write` and runs the writes; the spans it
wrote are kept in the state file (`writeback.HpState`, under `settings.state_dir`).
`check` answers for the WSDL, the credentials, the base and the write calls.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from rollbridge.config import HyperplanningSource as HpSettings
from rollbridge.config import SchoolYear
from rollbridge.errors import AuthError, RollbridgeError, SourceError
from rollbridge.model import Mark, Rejected, Snapshot, Window
from rollbridge.sources.base import Capability, CheckResult, MarkResult, Progress, no_progress
from rollbridge.sources.hyperplanning.basecheck import BaseVerdict, check_base
from rollbridge.sources.hyperplanning.cache import EntityCache
from rollbridge.sources.hyperplanning.client import HpswClient
from rollbridge.sources.hyperplanning.gather import GatherOptions, gather
from rollbridge.sources.hyperplanning.ids import base_id, key_of, parse_session_id
from rollbridge.sources.hyperplanning.inputs import HpSeance
from rollbridge.sources.hyperplanning.marks import WriteOptions, plan_mark_write
from rollbridge.sources.hyperplanning.parse import as_flag, as_keys
from rollbridge.sources.hyperplanning.probe import probe_write_rights
from rollbridge.sources.hyperplanning.records import BuildOptions, build_snapshot
from rollbridge.sources.hyperplanning.times import day_fraction_to_minutes, end_of, week_of
from rollbridge.sources.hyperplanning.writeback import (
    ABSENCES,
    HpState,
    absences_of,
    lateness_of,
    run_op,
    seances_of_course,
)

ClientFactory = Callable[[HpSettings], HpswClient]
Clock = Callable[[], datetime]
UNUSABLE = (
    "part of the Hyperplanning read failed (see the lines above): nothing is written to "
    "Edusign this run, since records built without it would be wrong; the next run retries"
)


def utc_now() -> datetime:
    """The wall clock, in UTC: the age of the cache's entries."""
    return datetime.now(UTC)


def default_client(settings: HpSettings) -> HpswClient:
    """An `HpswClient` for the configured URL and credentials."""
    return HpswClient(
        str(settings.url),
        settings.username,
        settings.password,
        timeout_s=settings.timeout_s,
        chunk=settings.chunk,
    )


@dataclass(slots=True)
class _Lookups:
    """What one `write_marks` asks HPSW once per course or learner, not once per mark."""

    client: HpswClient
    _seances: dict[int, tuple[HpSeance, ...]] = field(default_factory=dict)
    _exempted: dict[int, tuple[int, ...]] = field(default_factory=dict)
    _compulsory: dict[int, bool] = field(default_factory=dict)

    def seances(self, course: int) -> tuple[HpSeance, ...]:
        if course not in self._seances:
            self._seances[course] = seances_of_course(self.client, course)
        return self._seances[course]

    def exempted_subjects(self, learner: int) -> tuple[int, ...]:
        if learner not in self._exempted:
            self._exempted[learner] = as_keys(
                self.client.call("PortDispenses", "MatieresDispenseesEtudiant", learner)
            )
        return self._exempted[learner]

    def compulsory(self, course: int) -> bool:
        if course not in self._compulsory:
            self._compulsory[course] = as_flag(
                self.client.call(ABSENCES, "PresenceObligatoireCours", course)
            )
        return self._compulsory[course]


class HyperplanningSource:
    """Hyperplanning (HPSW, SOAP) in; absences, justification and lateness out."""

    system: ClassVar[str] = "hyperplanning"
    # WRITE_LATE holds when the WSDL has `CreerRetardEtudiant` or the fallback writes a span;
    # without either, late marks come back unwritten with a reason (`marks.py`).
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.WRITE_MARKS, Capability.WRITE_JUSTIFIED, Capability.WRITE_LATE}
    )

    def __init__(
        self,
        settings: HpSettings,
        tz: ZoneInfo,
        *,
        school_year: SchoolYear | None = None,
        tutors: bool = False,
        client_factory: ClientFactory = default_client,
        full_read: bool = False,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self.tz = tz
        self.school_year = school_year
        self.tutors = tutors
        self.full_read = full_read  # every per-entity call again; the cache is refreshed
        self.clock = clock
        self._client_factory = client_factory
        self._client: HpswClient | None = None
        if settings.left_early_fallback == "absence_span":
            # Per instance: the left-early fallback writes an absence span.
            self.capabilities = type(self).capabilities | {Capability.WRITE_LEFT_EARLY}  # type: ignore[misc]

    @property
    def client(self) -> HpswClient:
        if self._client is None:
            self._client = self._client_factory(self.settings)
        return self._client

    # ----- base -------------------------------------------------------------------------

    def _verdict(self, state: HpState) -> tuple[BaseVerdict, date]:
        first = self.client.first_day()
        base = base_id(str(self.settings.url), first)
        year = self.school_year or SchoolYear(start=first, end=date(first.year + 1, 7, 31))
        previous = state.bases.get(year.start.isoformat())
        return check_base(first, year.start, year.end, previous, base_id=base), first

    def _base(self, state: HpState) -> tuple[BaseVerdict, date]:
        """The base, checked; SourceError when it switched mid-year."""
        verdict, first = self._verdict(state)
        if verdict.severity == "stop":
            raise SourceError(verdict.message)
        year = self.school_year.start.isoformat() if self.school_year else first.isoformat()
        if state.bases.get(year) != verdict.base_id:
            state.bases[year] = verdict.base_id
            state.save()
        return verdict, first

    # ----- read -------------------------------------------------------------------------

    def read(self, window: Window, progress: Progress = no_progress) -> Snapshot:
        """Everything in `window`; `complete=False` when any part was not read. Sessions
        come as one `SessionBatch` per séance chunk (`batches.py`): `sessions` is empty,
        `built()` builds them all; each batch rejects its own séances (unreadable, out of
        place) when built."""
        state = HpState.load(self.settings.state_dir)
        verdict, first = self._base(state)
        options = GatherOptions(
            student_families=self.settings.student_families,
            course_families=self.settings.course_families,
            tutors=self.tutors,
        )
        cache = EntityCache.load(
            self.settings.state_dir,
            verdict.base_id,
            refresh_hours=self.settings.refresh_hours,
            now=self.clock(),
            full=self.full_read,
        )
        found = gather(self.client, window, options, progress, cache)
        cache.save()
        cache.log_summary()
        build = build_snapshot(
            found.read,
            base=verdict.base_id,
            first_day=first,
            tz=self.tz,
            window=window,
            options=BuildOptions(tutors=self.tutors),
            complete=found.complete,
            chunks=found.chunks,
        )
        extra = list(found.rejected)
        if verdict.severity == "warning":
            extra.append(Rejected("base", verdict.base_id, verdict.message))
        snapshot = build.snapshot
        if not found.usable:
            # Records built from a part that failed would be wrong (a group without the
            # learners that could not be read): plan nothing, say why, retry next run.
            extra.append(Rejected("read", verdict.base_id, UNUSABLE))
            snapshot = Snapshot(complete=False, window=window, key_space=snapshot.key_space)
        if extra:
            snapshot = dataclasses.replace(snapshot, rejected=(*snapshot.rejected, *extra))
        return snapshot

    # ----- write ------------------------------------------------------------------------

    def write_marks(self, marks: Sequence[Mark]) -> list[MarkResult]:
        """One result per mark; the spans written are remembered in the state file."""
        state = HpState.load(self.settings.state_dir)
        verdict, first = self._base(state)
        options = WriteOptions(
            lateness_call=self.client.has_operation(ABSENCES, "CreerRetardEtudiant"),
            late_fallback=self.settings.late_fallback,
            left_early_fallback=self.settings.left_early_fallback,
        )
        lookups = _Lookups(self.client)
        results: list[MarkResult] = []
        try:
            for mark in marks:
                results.append(
                    self._write_one(mark, verdict.base_id, first, options, lookups, state)
                )
        finally:
            state.save()
        return results

    def _write_one(
        self,
        mark: Mark,
        base: str,
        first: date,
        options: WriteOptions,
        lookups: _Lookups,
        state: HpState,
    ) -> MarkResult:
        ref = parse_session_id(mark.session_id, base)
        learner = key_of(mark.learner_id, base, "learner")
        if ref is None or learner is None:
            return MarkResult(mark, False, "not a session or learner of the current base")
        client = self.client
        try:
            seance = next(
                (
                    s
                    for s in lookups.seances(ref.course_key)
                    if (ref.start_wall is not None and s.starts_wallclock == ref.start_wall)
                    or (
                        ref.week is not None
                        and (s.week or week_of(s.starts_wallclock.date(), first)) == ref.week
                    )
                ),
                None,
            )
            if seance is None:
                return MarkResult(mark, False, "the séance is no longer in Hyperplanning")
            start = seance.starts_wallclock
            end = end_of(start, day_fraction_to_minutes(seance.duration_days))
            own_key = f"{mark.session_id}|{mark.learner_id}"
            plan = plan_mark_write(
                mark,
                learner_key=learner,
                seance_start=start,
                seance_end=end,
                absences=absences_of(client, learner, start, end),
                lateness=lateness_of(client, learner, start, end),
                own=state.own.get(own_key, ()),
                options=options,
                exempt=seance.subject_key in lookups.exempted_subjects(learner),
                compulsory=lookups.compulsory(ref.course_key),
            )
            for op in plan.ops:
                run_op(client, op)
        except AuthError:
            raise
        except (RollbridgeError, ValueError) as exc:
            return MarkResult(mark, False, f"Hyperplanning refused or failed: {exc}")
        state.own[own_key] = list(plan.own_after)
        return plan.result()

    # ----- check ------------------------------------------------------------------------

    def check(self) -> list[CheckResult]:
        """WSDL and credentials (`Version()`), the base's school year, the write calls, and
        the user's write rights (a harmless write: `probe.py`)."""
        try:
            version = self.client.version()
        except RollbridgeError as exc:
            return [CheckResult("hyperplanning", "error", exc.message)]
        results = [CheckResult("hyperplanning", "ok", f"HPSW answered Version(): {version}")]
        try:
            verdict, first = self._verdict(HpState.load(self.settings.state_dir))
            results.append(verdict.as_check())
        except RollbridgeError as exc:
            results.append(CheckResult("hyperplanning base", "error", exc.message))
            return results
        calls = ("AjouterAbsenceEtudiant", "EnleverAbsenceEtudiant", "CreerRetardEtudiant")
        missing = [c for c in calls if not self.client.has_operation(ABSENCES, c)]
        results.append(
            CheckResult(
                "hyperplanning write-back",
                "warning" if missing else "ok",
                f"missing calls: {', '.join(missing)}" if missing else "every write call exists",
            )
        )
        results.append(probe_write_rights(self.client, first))
        return results
