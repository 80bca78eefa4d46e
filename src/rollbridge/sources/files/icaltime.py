"""Times of iCalendar events: DATE-TIME values, zones, durations and recurrences; pure.

A local DATE-TIME (with a TZID, or floating: the tenant's zone) goes through
`timeconv.local_to_utc`, so a time in a DST gap is refused with a reason rather than
moved. TZIDs may be IANA names, Windows names (Outlook: "Romance Standard Time") or paths
ending in an IANA name. Recurring events (RRULE with EXDATE, moved occurrences by
RECURRENCE-ID) are expanded on the wall clock of their zone, so a weekly 09:00 stays at
09:00 across DST changes; an occurrence's id is `UID@<original start, UTC>`.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from rollbridge.model import Rejected, Window
from rollbridge.sources.files.ical import Event, Prop
from rollbridge.timeconv import NonexistentLocalTime, local_to_utc, zone

MAX_OCCURRENCES = 2000  # per recurring series inside one window: a runaway rule stops here

Occurrence = tuple[str, datetime, datetime]
"""An occurrence's session id, start and end (aware UTC)."""


class TimeValueError(ValueError):
    """A DATE or DATE-TIME value we cannot read."""


@functools.lru_cache(maxsize=64)
def resolve_zone(tzid: str) -> ZoneInfo:
    """The IANA zone for a TZID: an IANA name, a Windows name (Outlook), or a path that
    ends in one (`/mozilla.org/20050126_1/Europe/Paris`)."""
    name = tzid.strip().strip('"')
    candidates = [name, WINDOWS_TO_OLSON.get(name, "")]
    parts = [part for part in name.split("/") if part]
    if len(parts) >= 2:
        candidates.append("/".join(parts[-2:]))
    for candidate in candidates:
        if candidate:
            try:
                return zone(candidate)
            except ValueError:
                continue
    raise TimeValueError(f"unknown time zone TZID={tzid}")


def parse_when(prop: Prop) -> date | datetime:
    """A DATE (all-day), an aware UTC DATE-TIME (`Z`), or a naive wall-clock DATE-TIME.

    The caller decides the zone of a naive value (its TZID, else the tenant's zone), so
    that times in a DST gap are refused by `timeconv.local_to_utc`, not silently moved.
    """
    text = prop[1].strip()
    try:
        if prop[0].get("VALUE", "").upper() == "DATE" or len(text) == 8:
            return date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
        if len(text) < 15 or text[8] != "T":
            raise TimeValueError(f"not an iCalendar date-time: {text!r}")
        day = (int(text[0:4]), int(text[4:6]), int(text[6:8]))
        moment = datetime(*day, int(text[9:11]), int(text[11:13]), int(text[13:15]))
    except ValueError as exc:
        raise TimeValueError(f"not an iCalendar date-time: {text!r}") from exc
    if text.endswith(("Z", "z")):
        return moment.replace(tzinfo=UTC)
    return moment


def parse_duration(text: str) -> timedelta:
    """An RFC 5545 DURATION such as `PT1H30M`, `P1D`, `P2W`."""
    value = text.strip().upper()
    sign = -1 if value.startswith("-") else 1
    value = value.lstrip("+-")
    if not value.startswith("P") or len(value) < 3:
        raise TimeValueError(f"not a duration: {text!r}")
    total = timedelta()
    number = ""
    in_time = False
    units = {"W": timedelta(weeks=1), "D": timedelta(days=1)}
    time_units = {"H": timedelta(hours=1), "M": timedelta(minutes=1), "S": timedelta(seconds=1)}
    for char in value[1:]:
        if char.isdigit():
            number += char
        elif char == "T":
            in_time = True
        elif number and char in (time_units if in_time else units):
            total += int(number) * (time_units if in_time else units)[char]
            number = ""
        else:
            raise TimeValueError(f"not a duration: {text!r}")
    if number:
        raise TimeValueError(f"not a duration: {text!r}")
    return sign * total


def iter_values(prop: Prop) -> Iterator[Prop]:
    """The single values of a multi-valued date property (`EXDATE:a,b`), with its params."""
    for part in prop[1].split(","):
        if part.strip():
            yield prop[0], part.strip()


class EventTimes:
    """Converts events' times to UTC occurrences for one tenant zone and read window."""

    def __init__(self, tz: ZoneInfo, window: Window | None) -> None:
        self.tz = tz
        self.window = window
        # Occurrences of a series refused one by one (a DST gap), for the report.
        self.rejected: list[Rejected] = []
        # A timetable repeats its slots all year: each distinct time text is converted once.
        self.instants: dict[tuple[str, str, str], datetime] = {}

    def instant(self, prop: Prop, what: str) -> datetime:
        """A DATE-TIME property as aware UTC; raises TimeValueError with a reason."""
        params, raw = prop
        key = (params.get("TZID", ""), params.get("VALUE", ""), raw)
        found = self.instants.get(key)
        if found is not None:
            return found
        value = parse_when(prop)
        if not isinstance(value, datetime):
            raise TimeValueError(f"{what} is a date without a time")
        if value.tzinfo is None:
            try:
                value = local_to_utc(value, self._zone(prop))
            except NonexistentLocalTime as exc:
                raise TimeValueError(f"{what.lower()} {exc}") from None
        self.instants[key] = value
        return value

    def _zone(self, prop: Prop) -> ZoneInfo:
        """The zone of a naive DATE-TIME: its TZID, else the tenant's."""
        tzid = prop[0].get("TZID")
        return resolve_zone(tzid) if tzid else self.tz

    def occurrences(self, event: Event, uid: str, overridden: set[datetime]) -> list[Occurrence]:
        """The event's occurrences inside the window (one unless it recurs); raises
        TimeValueError when its times cannot be read. All-day events outside the window
        give none, inside it a refusal: there is no time to sign."""
        start_prop = event.first("DTSTART")
        if start_prop is None:
            raise TimeValueError("no DTSTART")
        first = parse_when(start_prop)
        if not isinstance(first, datetime):
            if self.window is None or self.window.start_on <= first <= self.window.end_on:
                raise TimeValueError(f"all-day event on {first.isoformat()}: no time to sign")
            return []
        recurrence = event.first("RECURRENCE-ID")
        rule = event.first("RRULE")
        if rule is not None and recurrence is None:
            return self._expand(event, uid, start_prop, first, rule[1], overridden)
        start = self.instant(start_prop, "Start")
        end_prop, duration = event.first("DTEND"), event.first("DURATION")
        if end_prop is not None:
            end = self.instant(end_prop, "End")
        elif duration is not None:
            end = start + parse_duration(duration[1])
        else:
            raise TimeValueError("no DTEND nor DURATION")
        key = (
            uid
            if recurrence is None
            else f"{uid}@{stamp(self.instant(recurrence, 'Recurrence-id'))}"
        )
        return [(key, start, end)]

    def _expand(
        self,
        event: Event,
        uid: str,
        start_prop: Prop,
        first: datetime,
        rule_text: str,
        overridden: set[datetime],
    ) -> list[Occurrence]:
        """Occurrences of a recurring event inside the window, computed on its own zone's
        wall clock so that a weekly 09:00 stays 09:00 across DST changes."""
        zone = None if first.tzinfo is not None else self._zone(start_prop)
        wall_length, exact_length = self._lengths(event, start_prop, first)
        parts = [part for part in rule_text.split(";") if part]
        until_text = next((p[6:] for p in parts if p.upper().startswith("UNTIL=")), None)
        # dateutil insists UNTIL and DTSTART agree on having a zone; we bound by UNTIL
        # ourselves, in UTC, instead.
        try:
            rule: Any = rrulestr(
                ";".join(p for p in parts if not p.upper().startswith("UNTIL=")), dtstart=first
            )
        except (ValueError, TypeError) as exc:
            raise TimeValueError(f"RRULE {rule_text!r} is not valid: {exc}") from None
        until = self._until(until_text, zone) if until_text else None
        excluded = self._excluded(event, zone)
        low, high = self._bounds(first)
        results: list[Occurrence] = []
        for wall in itertools.islice(rule.xafter(low, inc=True), MAX_OCCURRENCES):
            if wall > high:
                break
            try:
                start = wall if zone is None else local_to_utc(wall, zone)
                if wall_length is not None and zone is not None:
                    end = local_to_utc(wall + wall_length, zone)
                else:
                    end = start + (exact_length or timedelta())
            except NonexistentLocalTime as exc:
                key = f"{uid}@{wall:%Y%m%dT%H%M%S}"
                self.rejected.append(Rejected("session", key, f"start {exc}"))
                continue
            if until is not None and start > until:
                break
            if start not in excluded and start not in overridden:
                results.append((f"{uid}@{stamp(start)}", start, end))
        return results

    def _lengths(
        self, event: Event, start_prop: Prop, first: datetime
    ) -> tuple[timedelta | None, timedelta | None]:
        """A series' length on the wall clock (DTEND in DTSTART's zone) or exact."""
        end_prop, duration = event.first("DTEND"), event.first("DURATION")
        if end_prop is not None:
            end = parse_when(end_prop)
            same_zone = end_prop[0].get("TZID") == start_prop[0].get("TZID")
            is_wall = isinstance(end, datetime) and end.tzinfo is None and first.tzinfo is None
            if is_wall and same_zone and isinstance(end, datetime):
                return end - first, None
            return None, self.instant(end_prop, "End") - self.instant(start_prop, "Start")
        if duration is not None:
            return None, parse_duration(duration[1])
        raise TimeValueError("no DTEND nor DURATION")

    def _bounds(self, first: datetime) -> tuple[datetime, datetime]:
        """The expansion span, with a day of margin for zone offsets."""
        if self.window is None:
            return first, first + timedelta(days=3 * 366)
        low = datetime.combine(self.window.start_on - timedelta(days=1), time())
        high = datetime.combine(self.window.end_on + timedelta(days=2), time())
        if first.tzinfo is not None:
            low, high = low.replace(tzinfo=UTC), high.replace(tzinfo=UTC)
        return max(low, first), high

    def _until(self, text: str, zone: ZoneInfo | None) -> datetime:
        """RRULE's UNTIL as a UTC instant, whatever form it was written in."""
        value = parse_when(({}, text))
        if not isinstance(value, datetime):
            # A date UNTIL includes that whole day in the series' zone.
            value = datetime.combine(value + timedelta(days=1), time()) - timedelta(seconds=1)
        if value.tzinfo is not None:
            return value
        try:
            return local_to_utc(value, zone or self.tz)
        except NonexistentLocalTime:
            return local_to_utc(value + timedelta(hours=1), zone or self.tz)

    def _excluded(self, event: Event, zone: ZoneInfo | None) -> set[datetime]:
        """EXDATE instants (UTC); a floating EXDATE is in the series' zone."""
        excluded: set[datetime] = set()
        for prop in event.all("EXDATE"):
            for single in iter_values(prop):
                value = parse_when(single)
                if not isinstance(value, datetime):
                    continue  # a date EXDATE cannot name a timed occurrence
                if value.tzinfo is None and "TZID" not in single[0] and zone is not None:
                    single = ({**single[0], "TZID": zone.key}, single[1])
                try:
                    excluded.add(self.instant(single, "EXDATE"))
                except TimeValueError:
                    continue
        return excluded


def stamp(moment: datetime) -> str:
    """An instant as iCalendar UTC text, the suffix of an occurrence's id."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
