"""Dated sessions from a planning file: our CSV contract or an iCalendar export; pure.

Both formats give `PlannedSession`s: a session as the file states it, with times already
in UTC, before `link.py` checks its references against the roster. Every row or event
that cannot become one is a `Rejected` with a reason; the rest is read.

CSV contract (header required, column order free, extra columns ignored)::

    session_id,title,start,end,class_ids,instructor_ids,learner_ids,
    exempt_learner_ids,room_name,room_code,description

`session_id`, `title`, `start` and `end` are required. `start`/`end` are local wall-clock
`YYYY-MM-DDTHH:MM` (or `YYYY-MM-DD HH:MM`, seconds allowed) in the tenant's zone, or carry
an explicit offset or `Z`. The `*_ids` columns hold comma-separated OneRoster sourcedIds,
quoted when there are several (`"cls-1,cls-2"`).

iCalendar: one session per VEVENT (UID, SUMMARY, DTSTART, DTEND or DURATION, LOCATION,
DESCRIPTION). Our exports link by `X-ROLLBRIDGE-CLASS`, `-INSTRUCTOR`, `-LEARNER`,
`-EXEMPT` (comma lists of sourcedIds) and `X-ROLLBRIDGE-ROOM-CODE`; planning tools'
exports (ADE) carry none, so DESCRIPTION lines, CATEGORIES and ATTENDEE/ORGANIZER
e-mails are kept as hints for `link.py`. Recurring events (RRULE, EXDATE, RECURRENCE-ID)
are expanded inside the read window; an occurrence's id is `UID@<original start, UTC>`.
`STATUS:CANCELLED` events are reported as cancelled, not read as sessions.
"""

from __future__ import annotations

import io
from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

from rollbridge.model import Rejected, Session, Window
from rollbridge.sources.files.csvio import (
    BadRow,
    Record,
    csv_bytes,
    decode_text,
    header_index,
    read_csv,
    split_values,
    write_atomically,
)
from rollbridge.sources.files.ical import Event, iter_events, split_text_list
from rollbridge.sources.files.icaltime import EventTimes, TimeValueError
from rollbridge.timeconv import NonexistentLocalTime, local_to_utc, utc_to_local

SESSION_COLUMNS = (
    "session_id",
    "title",
    "start",
    "end",
    "class_ids",
    "instructor_ids",
    "learner_ids",
    "exempt_learner_ids",
    "room_name",
    "room_code",
    "description",
)
REQUIRED_COLUMNS = ("session_id", "title", "start", "end")

# ADE appends "(Exporté le:dd/mm/yyyy hh:mm)" (English UI: "(Exported :...)") to every
# description; it changes at each export and would rewrite every session for nothing.
_EXPORT_STAMPS = ("(exporté le", "(exported :", "(exported le", "(export le")


class PlannedSession(NamedTuple):
    """A session as its planning file states it (a NamedTuple: 60,000 are built per read)."""

    source_id: str
    title: str
    start_at: datetime
    end_at: datetime
    class_ids: tuple[str, ...] | None  # None: not stated; `link.py` matches the hints
    instructor_ids: tuple[str, ...] | None  # None or (): the classes' teachers
    learner_ids: tuple[str, ...] = ()
    exempt_learner_ids: tuple[str, ...] = ()
    room_name: str | None = None
    room_code: str | None = None
    description: str = ""
    hint_lines: tuple[str, ...] = ()  # DESCRIPTION lines and CATEGORIES (ADE group names...)
    hint_emails: tuple[str, ...] = ()  # ATTENDEE / ORGANIZER e-mails, lower-cased


@dataclass(frozen=True, slots=True)
class SessionFile:
    """What a planning file gave: sessions, rejections, cancellations, and if it was whole."""

    sessions: tuple[PlannedSession, ...] = ()
    rejected: tuple[Rejected, ...] = ()
    cancelled: frozenset[str] = frozenset()
    is_whole: bool = True  # False: some row or line could not be read at all
    count: int = 0  # rows or events read, for `check`


# --------------------------------------------------------------------------- CSV


def parse_sessions_csv(data: bytes, *, tz: ZoneInfo, origin: str) -> SessionFile:
    """Sessions from a CSV following the contract above.

    Built for 60,000 rows well under a second: column positions are looked up once, each
    distinct time text is converted once (a school's timetable repeats a few hundred
    slots), and no regular expression runs per row.
    """
    header, records = read_csv(decode_text(data))
    failure = _header_failure(header, origin)
    if failure is not None:
        return failure
    reader = CsvRowReader(header_index(header), tz=tz, name=Path(origin).name)
    sessions, rejected, is_whole, count = reader.read(records)
    return SessionFile(tuple(sessions), tuple(rejected), frozenset(), is_whole, count)


def _header_failure(header: list[str], origin: str) -> SessionFile | None:
    """The file-level failure of a header that lacks a required column, or None."""
    index = header_index(header)
    missing = [name for name in REQUIRED_COLUMNS if name not in index]
    if not missing:
        return None
    reason = f"the header lacks {', '.join(missing)} (found: {', '.join(header) or 'nothing'})"
    return SessionFile(rejected=(Rejected("file", origin, reason),), is_whole=False)


def _bad_row(name: str, item: BadRow) -> Rejected:
    return Rejected("row", f"{name}:{item.line}", item.reason)


def _no_id(name: str, line: int) -> Rejected:
    return Rejected("row", f"{name}:{line}", "no session_id")


class CsvRowReader:
    """Turns rows of a sessions CSV into planned sessions, given the header's columns.

    One reader may read a file in several parts (`batches.py`): what it caches (times,
    shared texts and id lists) depends only on the texts and the time zone.
    """

    def __init__(self, index: dict[str, int], *, tz: ZoneInfo, name: str) -> None:
        self.tz = tz
        self.name = name
        self.at = [index.get(column, -1) for column in SESSION_COLUMNS]
        self.times: dict[str, datetime | str] = {}
        # A timetable repeats titles, rooms and id lists all year: one object per distinct
        # text keeps a 60,000-row read tens of megabytes smaller (and later lookups cheaper).
        self.shared_ids: dict[str, tuple[str, ...]] = {}
        self.shared_text: dict[str, str] = {}

    def _time(self, raw: str) -> datetime | str:
        found = self.times.get(raw)
        if found is None:
            found = self.times[raw] = _instant(raw, self.tz)
        return found

    def usable(self, row: list[str]) -> bool:
        """Whether a row with a session_id becomes a session unless its id repeats: the
        test `read` applies before it looks at earlier ids."""
        i_title, i_start, i_end = self.at[1:4]
        start = self._time(row[i_start].strip())
        end = self._time(row[i_end].strip())
        if isinstance(start, str) or isinstance(end, str):
            return False
        return end > start and bool(row[i_title].strip())

    def read(
        self, records: Iterable[Record | BadRow], repeats: Container[int] = ()
    ) -> tuple[list[PlannedSession], list[Rejected], bool, int]:
        """Sessions and rejections of `records`, whether every row was readable, and the
        rows read. A row whose id repeats an earlier accepted row is rejected; so is one
        whose line is in `repeats` (the earlier row was in another part of the file)."""
        name = self.name
        (
            i_id,
            i_title,
            i_start,
            i_end,
            i_class,
            i_instr,
            i_learn,
            i_exempt,
            i_room,
            i_code,
            i_desc,
        ) = self.at
        times = self.times
        tz = self.tz
        shared_ids = self.shared_ids
        shared_text = self.shared_text

        def ids(text: str) -> tuple[str, ...]:
            found = shared_ids.get(text)
            if found is None:
                found = shared_ids[text] = split_values(text)
            return found

        def text_of(value: str) -> str | None:
            value = value.strip()
            return shared_text.setdefault(value, value) if value else None

        sessions: list[PlannedSession] = []
        rejected: list[Rejected] = []
        seen: set[str] = set()
        is_whole = True
        count = 0
        for item in records:
            count += 1
            if isinstance(item, BadRow):
                rejected.append(_bad_row(name, item))
                is_whole = False
                continue
            line, row = item
            key = row[i_id].strip()
            if not key:
                rejected.append(_no_id(name, line))
                is_whole = False
                continue
            raw_start, raw_end = row[i_start].strip(), row[i_end].strip()
            start = times.get(raw_start)
            if start is None:
                start = times[raw_start] = _instant(raw_start, tz)
            end = times.get(raw_end)
            if end is None:
                end = times[raw_end] = _instant(raw_end, tz)
            title = text_of(row[i_title]) or ""
            if (
                isinstance(start, str)
                or isinstance(end, str)
                or end <= start
                or not title
                or key in seen
                or line in repeats
            ):
                shown = (raw_start, raw_end)
                reason = _problem(start, end, title, shown) or "session_id repeats an earlier row"
                rejected.append(Rejected("session", key, reason, label=f"{name}:{line}"))
                continue
            seen.add(key)
            sessions.append(
                PlannedSession(
                    key,
                    title,
                    start,
                    end,
                    ids(row[i_class]) if i_class >= 0 else None,
                    ids(row[i_instr]) if i_instr >= 0 else None,
                    ids(row[i_learn]) if i_learn >= 0 else (),
                    ids(row[i_exempt]) if i_exempt >= 0 else (),
                    text_of(row[i_room]) if i_room >= 0 else None,
                    text_of(row[i_code]) if i_code >= 0 else None,
                    row[i_desc].strip() if i_desc >= 0 else "",
                )
            )
        return sessions, rejected, is_whole, count


@dataclass(frozen=True, slots=True)
class CsvRows:
    """A sessions CSV split into rows, before any row becomes a session (`batches.py`).

    `records` are the rows that have a session_id, in file order; the rows that cannot be
    read or have no session_id are already in `rejected` and make the file not whole.
    `lines` are the file's physical lines (line n is `lines[n - 1]`), so a part of the file
    can be fingerprinted by its raw text.
    """

    name: str
    header: tuple[str, ...]
    reader: CsvRowReader
    records: tuple[Record, ...]
    lines: tuple[str, ...]
    rejected: tuple[Rejected, ...]
    is_whole: bool
    count: int

    def parsed(self) -> SessionFile:
        """Every row read at once, as `parse_sessions_csv` reads them."""
        sessions, rejected, _, _ = self.reader.read(self.records)
        return SessionFile(
            tuple(sessions), (*self.rejected, *rejected), frozenset(), self.is_whole, self.count
        )


def split_sessions_csv(data: bytes, *, tz: ZoneInfo, origin: str) -> CsvRows | SessionFile:
    """The rows of a sessions CSV, checked only as far as the whole file needs (readable,
    with a session_id); a `SessionFile` when the header lacks a required column."""
    text = decode_text(data)
    header, items = read_csv(text)
    failure = _header_failure(header, origin)
    if failure is not None:
        return failure
    name = Path(origin).name
    reader = CsvRowReader(header_index(header), tz=tz, name=name)
    i_id = reader.at[0]
    records: list[Record] = []
    rejected: list[Rejected] = []
    count = 0
    for item in items:
        count += 1
        if isinstance(item, BadRow):
            rejected.append(_bad_row(name, item))
        elif not item[1][i_id].strip():
            rejected.append(_no_id(name, item[0]))
        else:
            records.append(item)
    lines = tuple(io.StringIO(text, newline="").readlines())
    return CsvRows(
        name, tuple(header), reader, tuple(records), lines, tuple(rejected), not rejected, count
    )


def _instant(text: str, tz: ZoneInfo) -> datetime | str:
    """A CSV time as aware UTC, or the reason it is not one."""
    try:
        if len(text) < 16:
            raise ValueError(text)
        value = datetime.fromisoformat(text)
    except ValueError:
        return f"{text!r} is not a date and time (expected YYYY-MM-DDTHH:MM in {tz.key})"
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    try:
        return local_to_utc(value, tz)
    except NonexistentLocalTime as exc:
        return str(exc)


def _problem(
    start: datetime | str, end: datetime | str, title: str, shown: tuple[str, str] | None = None
) -> str:
    """Why a session cannot be used, or "" when it can; `shown` is how the file wrote
    start and end, so the reason quotes what the school can find in it."""
    if isinstance(start, str):
        return f"start {start}"
    if isinstance(end, str):
        return f"end {end}"
    if end <= start:
        first, last = shown or (start.isoformat(), end.isoformat())
        return f"end {last} is not after start {first}"
    return "" if title else "no title"


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One row of the sessions CSV, for `write_sessions_csv` (the synthetic school).

    `start`/`end`: a naive datetime is written as the tenant's wall-clock time
    (`2026-10-24T09:00`); an aware one with its offset (`2026-10-24T09:00+02:00`).
    """

    session_id: str
    title: str
    start: datetime
    end: datetime
    class_ids: tuple[str, ...] = ()
    instructor_ids: tuple[str, ...] = ()
    learner_ids: tuple[str, ...] = ()
    exempt_learner_ids: tuple[str, ...] = ()
    room_name: str = ""
    room_code: str = ""
    description: str = ""

    @classmethod
    def from_session(cls, session: Session, tz: ZoneInfo) -> SessionRow:
        """A canonical session as a row with wall-clock times in `tz`."""
        return cls(
            session_id=session.source_id,
            title=session.name,
            start=utc_to_local(session.start_at, tz),
            end=utc_to_local(session.end_at, tz),
            class_ids=session.group_ids,
            instructor_ids=session.instructor_ids,
            learner_ids=session.learner_ids,
            exempt_learner_ids=session.exempt_learner_ids,
            room_name=session.room_name or "",
            room_code=session.room_code or "",
            description=session.description,
        )

    def fields(self) -> list[str]:
        """The row's cells, in SESSION_COLUMNS order."""
        return [
            self.session_id,
            self.title,
            _format_time(self.start),
            _format_time(self.end),
            ",".join(self.class_ids),
            ",".join(self.instructor_ids),
            ",".join(self.learner_ids),
            ",".join(self.exempt_learner_ids),
            self.room_name,
            self.room_code,
            self.description,
        ]


def _format_time(moment: datetime) -> str:
    spec = "minutes" if moment.second == 0 and moment.microsecond == 0 else "seconds"
    return moment.isoformat(timespec=spec)


def write_sessions_csv(path: Path, rows: Iterable[SessionRow]) -> int:
    """Write a sessions CSV atomically (readers never see half a file); returns the rows."""
    cells = [row.fields() for row in rows]
    write_atomically(path, csv_bytes(SESSION_COLUMNS, cells))
    return len(cells)


# --------------------------------------------------------------------------- iCalendar


def parse_ics(data: bytes, *, tz: ZoneInfo, origin: str, window: Window | None) -> SessionFile:
    """Sessions from an iCalendar file; floating times are in `tz`.

    `window` bounds the expansion of recurring events and silences all-day events
    outside it; without one, a series is expanded from its start, at most
    MAX_OCCURRENCES times.
    """
    name = Path(origin).name
    reader = _IcsReader(tz, name, window)
    skipped: list[str] = []
    overrides: dict[str, set[datetime]] = {}
    series: list[Event] = []  # expanded last, once every moved occurrence is known
    count = 0
    for event in iter_events(data, skipped):
        count += 1
        recurrence = event.first("RECURRENCE-ID")
        if recurrence is None and event.first("RRULE") is not None:
            series.append(event)
            continue
        if recurrence is not None:
            try:
                moment = reader.times.instant(recurrence, "RECURRENCE-ID")
            except TimeValueError:
                pass  # reported when the override itself is read, just below
            else:
                overrides.setdefault(event.text("UID").strip(), set()).add(moment)
        reader.read(event, overrides)
    for event in series:
        reader.read(event, overrides)
    rejected = [Rejected("row", name, f"not an iCalendar line: {line!r}") for line in skipped]
    return SessionFile(
        tuple(reader.sessions),
        tuple(rejected + reader.rejected + reader.times.rejected),
        frozenset(reader.cancelled) - {s.source_id for s in reader.sessions},
        not skipped,
        count,
    )


class _IcsReader:
    """Turns VEVENTs into planned sessions, one event at a time."""

    def __init__(self, tz: ZoneInfo, name: str, window: Window | None) -> None:
        self.tz = tz
        self.name = name
        self.window = window
        self.sessions: list[PlannedSession] = []
        self.rejected: list[Rejected] = []
        self.cancelled: set[str] = set()
        self.seen: set[str] = set()
        self.times = EventTimes(tz, window)

    def read(self, event: Event, overrides: dict[str, set[datetime]]) -> None:
        """Add the session(s) of one event, or say why not."""
        uid = event.text("UID").strip()
        label = uid or f"{self.name}#event{event.number}"
        if not uid:
            self.rejected.append(Rejected("session", label, "no UID"))
            return
        try:
            for key, start, end in self.times.occurrences(event, uid, overrides.get(uid, set())):
                self._add(event, key, start, end)
        except TimeValueError as exc:
            self.rejected.append(Rejected("session", uid, str(exc), label=event.text("SUMMARY")))

    def _add(self, event: Event, key: str, start: datetime, end: datetime) -> None:
        """One occurrence as a planned session, a cancellation or a rejection."""
        if event.text("STATUS").strip().upper() == "CANCELLED":
            self.cancelled.add(key)
            return
        title = event.text("SUMMARY").strip()
        problem = _problem(start, end, title)
        if not problem and key in self.seen:
            problem = "the UID repeats an earlier event"
        if problem:
            self.rejected.append(Rejected("session", key, problem, label=title))
            return
        self.seen.add(key)
        description = _clean_description(event.text("DESCRIPTION"))
        lines = [line.strip() for line in description.split("\n") if line.strip()]
        for prop in event.all("CATEGORIES"):
            lines.extend(split_text_list(prop[1]))
        self.sessions.append(
            PlannedSession(
                key,
                title,
                start,
                end,
                _id_list(event, "X-ROLLBRIDGE-CLASS"),
                _id_list(event, "X-ROLLBRIDGE-INSTRUCTOR"),
                _id_list(event, "X-ROLLBRIDGE-LEARNER") or (),
                _id_list(event, "X-ROLLBRIDGE-EXEMPT") or (),
                event.text("LOCATION").strip() or None,
                event.text("X-ROLLBRIDGE-ROOM-CODE").strip() or None,
                description,
                tuple(lines),
                _emails(event),
            )
        )


def _id_list(event: Event, name: str) -> tuple[str, ...] | None:
    """A comma list of ids, or None when the property is absent (so hints are used)."""
    props = event.all(name)
    if not props:
        return None
    return tuple(value for prop in props for value in split_text_list(prop[1]))


def _emails(event: Event) -> tuple[str, ...]:
    found: list[str] = []
    for prop in event.all("ATTENDEE") + event.all("ORGANIZER"):
        value = prop[1].strip()
        if value.lower().startswith("mailto:"):
            found.append(value[7:].strip().lower())
        elif "EMAIL" in prop[0]:
            found.append(prop[0]["EMAIL"].strip().lower())
    return tuple(dict.fromkeys(address for address in found if address))


def _clean_description(text: str) -> str:
    """The description without ADE's per-export stamp line, trimmed."""
    lines = text.split("\n")
    kept = [line for line in lines if not line.strip().lower().startswith(_EXPORT_STAMPS)]
    return "\n".join(kept).strip()


def is_icalendar(data: bytes, origin: str) -> bool:
    """Whether a planning file is iCalendar (by its name, else by its content) or CSV."""
    suffix = Path(origin).suffix.lower()
    return suffix in (".ics", ".ical", ".ifb") or (
        suffix != ".csv" and data.lstrip(b"\xef\xbb\xbf \r\n\t")[:15].upper() == b"BEGIN:VCALENDAR"
    )


def parse_sessions(data: bytes, *, tz: ZoneInfo, origin: str, window: Window | None) -> SessionFile:
    """Sessions from `.ics`/`.ical` or `.csv` bytes; other names are sniffed by content."""
    if is_icalendar(data, origin):
        return parse_ics(data, tz=tz, origin=origin, window=window)
    return parse_sessions_csv(data, tz=tz, origin=origin)


__all__ = [
    "REQUIRED_COLUMNS",
    "SESSION_COLUMNS",
    "CsvRowReader",
    "CsvRows",
    "PlannedSession",
    "SessionFile",
    "SessionRow",
    "is_icalendar",
    "parse_ics",
    "parse_sessions",
    "parse_sessions_csv",
    "split_sessions_csv",
    "write_sessions_csv",
]
