"""`FilesSource`: the questionnaire's "Other" — files the school drops in a folder.

People and groups come from a OneRoster CSV bundle (`settings.oneroster`, a folder or a
zip) with optional delta bundles applied on top in order (`settings.deltas`); sessions
from an iCalendar or CSV planning file (`settings.sessions`); attendance goes back to a
CSV (`settings.attendance_out`) that the planning system imports.

A read is complete only when the bulk bundle, every delta and the planning file were
read whole and something was found: a missing file, an unreadable row or an empty read
makes `complete=False`, so the engine deletes nothing on its account (DESIGN promise 2).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

from rollbridge.config import FilesSource as FilesSettings
from rollbridge.errors import RollbridgeError, SourceError
from rollbridge.model import Mark, Rejected, Snapshot, Window
from rollbridge.sources.base import (
    Capability,
    CheckResult,
    MarkResult,
    Progress,
    no_progress,
)
from rollbridge.sources.files import attendance_csv
from rollbridge.sources.files.batches import CHUNK_ROWS, read_digest, session_batches
from rollbridge.sources.files.calendar import (
    CsvRows,
    SessionFile,
    is_icalendar,
    parse_ics,
    parse_sessions,
    split_sessions_csv,
)
from rollbridge.sources.files.link import SessionLinker
from rollbridge.sources.files.oneroster import (
    REQUIRED_FILES,
    Bundle,
    RosterState,
    load_bundle,
    parse_bundle,
)
from rollbridge.sources.files.roster import Roster, build_roster

KNOWN_VERSIONS = ("1.1", "1.2")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FilesSource:
    """OneRoster CSV + iCalendar/CSV sessions in, attendance CSV out."""

    system: ClassVar[str] = "files"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.WRITE_MARKS,
            Capability.WRITE_JUSTIFIED,
            Capability.WRITE_LATE,
            Capability.WRITE_LEFT_EARLY,
            Capability.DELTA_READ,
        }
    )

    def __init__(
        self,
        settings: FilesSettings,
        tz: ZoneInfo,
        *,
        clock: Callable[[], datetime] = _utc_now,
        chunk_rows: int | None = CHUNK_ROWS,
    ) -> None:
        self.settings = settings
        self.tz = tz
        self._clock = clock  # stamps `updated_at` in the attendance file; tests pin it
        # Rows per session batch of a CSV planning; None reads every session at once (the
        # reference the batched read is tested against).
        self.chunk_rows = chunk_rows

    def read(self, window: Window, progress: Progress = no_progress) -> Snapshot:
        """Roster and sessions in `window`; `complete=False` when anything was not read.

        A CSV planning's sessions come as batches of rows (`batches.py`), built only when
        the engine needs them; an iCalendar planning's are read at once.
        """
        rejected: list[Rejected] = []
        roster, roster_whole = self._read_roster(rejected, progress)
        progress("sessions", 0, None)
        planning, planning_whole = self._read_planning(rejected, window)
        # Two cases need the built sessions, so the CSV is read at once: the "nothing at
        # all" rule when no person was read, and a session key the roster deleted (none
        # today: it deletes people and groups) that a present session must keep.
        if (
            isinstance(planning, CsvRows)
            and self.chunk_rows is not None
            and roster.people
            and not any(kind == "session" for kind, _ in roster.deleted)
        ):
            return self._batched(roster, planning, rejected, roster_whole, window, progress)
        if isinstance(planning, CsvRows):
            planning = planning.parsed()
        whole = roster_whole and planning_whole
        return self._eager(roster, planning, rejected, whole, window, progress)

    def _eager(
        self,
        roster: Roster,
        planning: SessionFile,
        rejected: list[Rejected],
        whole: bool,
        window: Window,
        progress: Progress,
    ) -> Snapshot:
        """Every session built and linked now (an iCalendar planning, or a rare case)."""
        sessions, bad = SessionLinker(roster).link(planning.sessions, window)
        progress("sessions", len(sessions), len(sessions))
        rejected.extend(roster.rejected)
        rejected.extend(planning.rejected)
        rejected.extend(bad)
        complete = whole
        if not roster.people and not sessions:
            # Nothing at all is far likelier a broken export than a school that closed.
            rejected.append(
                Rejected(
                    "file",
                    str(self.settings.oneroster),
                    "no people and no sessions were "
                    "read: the read is treated as incomplete and nothing will be deleted",
                )
            )
            complete = False
        present = {("session", session.source_id) for session in sessions}
        deleted = roster.deleted | {("session", key) for key in planning.cancelled}
        return Snapshot(
            people=roster.people,
            groups=roster.groups,
            sessions=tuple(sessions),
            memberships=roster.memberships,
            tutor_links=roster.tutor_links,
            rejected=tuple(rejected),
            complete=complete,
            window=window,
            deleted=frozenset(deleted - present),
        )

    def _batched(
        self,
        roster: Roster,
        rows: CsvRows,
        rejected: list[Rejected],
        roster_whole: bool,
        window: Window,
        progress: Progress,
    ) -> Snapshot:
        """The CSV planning's sessions as batches; file-level rejections (unreadable rows,
        rows without a session_id) stay in the snapshot, each batch rejects its own rows.
        A CSV states no cancellation, and the roster deletes no session key here (`read`
        checked), so `deleted` is the roster's whatever sessions are present."""
        digest = read_digest(
            rows,
            roster,
            tz=self.tz.key,
            window=window,
            settings=self.settings.model_dump_json(),
            origin=str(self.settings.sessions),
        )
        batches = session_batches(
            rows,
            SessionLinker(roster),
            window,
            digest_of_read=digest,
            size=self.chunk_rows or CHUNK_ROWS,
        )
        progress("sessions", len(rows.records), len(rows.records))
        rejected.extend(roster.rejected)
        rejected.extend(rows.rejected)
        return Snapshot(
            people=roster.people,
            groups=roster.groups,
            memberships=roster.memberships,
            tutor_links=roster.tutor_links,
            rejected=tuple(rejected),
            complete=roster_whole and rows.is_whole,
            window=window,
            deleted=roster.deleted,
            batches=batches,
        )

    def _read_roster(self, rejected: list[Rejected], progress: Progress) -> tuple[Roster, bool]:
        """The bulk bundle then each delta, merged; whether all were read whole."""
        paths = [self.settings.oneroster, *self.settings.deltas]
        state = RosterState()
        whole = True
        for done, path in enumerate(paths):
            progress("oneroster", done, len(paths))
            try:
                bundle = parse_bundle(str(path), load_bundle(path))
            except SourceError as exc:
                rejected.append(Rejected("file", str(path), exc.message))
                whole = False
                continue
            rejected.extend(bundle.rejected)
            whole = whole and bundle.is_whole
            if done == 0:
                whole = _is_bulk_base(bundle, rejected) and whole
            state.apply(bundle)
        progress("oneroster", len(paths), len(paths))
        return build_roster(state, self.settings.tutor_roles), whole

    def _read_planning(
        self, rejected: list[Rejected], window: Window
    ) -> tuple[SessionFile | CsvRows, bool]:
        """An iCalendar planning parsed; a CSV one split into rows, not parsed yet."""
        path = self.settings.sessions
        try:
            data = path.read_bytes()
        except OSError as exc:
            reason = f"cannot read the planning file ({exc.strerror or exc})"
            rejected.append(Rejected("file", str(path), reason))
            return SessionFile(is_whole=False), False
        if is_icalendar(data, str(path)):
            planning = parse_ics(data, tz=self.tz, origin=str(path), window=window)
            return planning, planning.is_whole
        rows = split_sessions_csv(data, tz=self.tz, origin=str(path))
        return rows, rows.is_whole

    def write_marks(self, marks: Sequence[Mark]) -> list[MarkResult]:
        """Merge marks into the attendance CSV, atomically; SourceError if it is unreadable."""
        return attendance_csv.write_marks(self.settings.attendance_out, marks, now=self._clock())

    def check(self) -> list[CheckResult]:
        """Each file readable, the manifest's version, counts; the output folder writable."""
        results: list[CheckResult] = []
        for label, path in [
            ("oneroster", self.settings.oneroster),
            *((f"oneroster delta {n}", p) for n, p in enumerate(self.settings.deltas, 1)),
        ]:
            results.append(_check_bundle(label, path, is_base=label == "oneroster"))
        results.append(self._check_planning())
        results.append(_check_output(self.settings.attendance_out))
        return results

    def _check_planning(self) -> CheckResult:
        path = self.settings.sessions
        try:
            planning = parse_sessions(path.read_bytes(), tz=self.tz, origin=str(path), window=None)
        except OSError as exc:
            return CheckResult("sessions", "error", f"cannot read {path} ({exc.strerror or exc})")
        detail = (
            f"{path}: {planning.count} rows or events, {len(planning.sessions)} sessions, "
            f"{len(planning.rejected)} rejected"
        )
        if not planning.is_whole or not planning.sessions:
            first = planning.rejected[0].reason if planning.rejected else "no sessions"
            return CheckResult("sessions", "error", f"{detail} ({first})")
        return CheckResult("sessions", "warning" if planning.rejected else "ok", detail)


def _is_bulk_base(bundle: Bundle, rejected: list[Rejected]) -> bool:
    """Whether the first bundle can be the whole truth; a delta there cannot."""
    partial = [name for name in REQUIRED_FILES if bundle.modes.get(name) != "bulk"]
    if partial:
        names = ", ".join(f"{name}.csv" for name in partial)
        rejected.append(
            Rejected(
                "file",
                bundle.origin,
                f"the base bundle must hold {names} in bulk; "
                "read as partial, nothing will be deleted",
            )
        )
    return not partial


def _check_bundle(label: str, path: Path, *, is_base: bool) -> CheckResult:
    try:
        bundle = parse_bundle(str(path), load_bundle(path))
    except RollbridgeError as exc:
        return CheckResult(label, "error", exc.message)
    counts = ", ".join(
        f"{name} {count} ({bundle.modes.get(name, 'absent')})"
        for name, count in sorted(bundle.counts().items())
    )
    detail = f"{path}: OneRoster {bundle.version or 'version unknown'}; {counts}"
    notes: list[Rejected] = []
    if is_base and not _is_bulk_base(bundle, notes):
        return CheckResult(label, "error", f"{detail}; {notes[0].reason}")
    if bundle.rejected:
        detail += f"; {len(bundle.rejected)} problems, first: {bundle.rejected[0].source_id} "
        detail += bundle.rejected[0].reason
        return CheckResult(label, "warning", detail)
    if bundle.version not in KNOWN_VERSIONS:
        return CheckResult(label, "warning", f"{detail}; read as OneRoster 1.2")
    return CheckResult(label, "ok", detail)


def _check_output(path: Path) -> CheckResult:
    folder = path.parent
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".rollbridge-check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return CheckResult("attendance_out", "error", f"cannot write in {folder} ({reason})")
    try:
        _, rows = attendance_csv.read_attendance(path)
    except SourceError as exc:
        return CheckResult("attendance_out", "error", exc.message)
    state = f"{len(rows)} rows" if path.exists() else "will be created"
    return CheckResult("attendance_out", "ok", f"{path}: writable, {state}")
