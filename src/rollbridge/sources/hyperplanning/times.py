"""Hyperplanning time values: wall-clock date-times labelled UTC, day fractions, HP weeks.

HPSW sends local school time with a `Z` (`2025-03-11T08:30:00Z` is 08:30 in Paris) and zeep
turns it into a datetime aware in UTC: the label is wrong, so it is dropped, never
converted (API notes §4). Durations are Delphi `TDateTime` day fractions. HP weeks count
Monday-based weeks from the base's first day (`DatePremierJourBase`), week 1 holding it.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from rollbridge.timeconv import NonexistentLocalTime, local_to_utc

MINUTES_PER_DAY = 1440
_MINUTE = timedelta(minutes=1)
_HALF_MINUTE_US = 30_000_000


def _to_minute(moment: datetime) -> datetime:
    """Round to the nearest minute: a `TDateTime` float can land on 08:29:59.999."""
    micros = moment.second * 1_000_000 + moment.microsecond
    floored = moment.replace(second=0, microsecond=0)
    return floored + _MINUTE if micros >= _HALF_MINUTE_US else floored


def wallclock(value: object) -> datetime:
    """The naive local wall-clock time an HPSW date-time means, to the minute.

    Accepts what zeep hands over: a datetime (its zone label, if any, is dropped without
    converting), a date (midnight) or an ISO 8601 string with `Z`, an offset or nothing.
    Raises ValueError on anything else.
    """
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=None)
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str):
        text = value.strip()
        if text[-1:] in ("Z", "z"):
            text = text[:-1]
        try:
            moment = datetime.fromisoformat(text).replace(tzinfo=None)
        except ValueError:
            raise ValueError(f"not a date-time: {value!r}") from None
    else:
        raise ValueError(f"not a date-time: {value!r}")
    return _to_minute(moment)


def to_utc(wall: datetime, tz: ZoneInfo) -> datetime | str:
    """The UTC instant of a naive wall-clock time in `tz`, or why it has none (DST gap)."""
    try:
        return local_to_utc(wall.replace(tzinfo=None), tz)
    except NonexistentLocalTime as exc:
        return str(exc)


def as_days(value: object) -> float:
    """A `TDateTime` duration in days, checked: finite and not negative."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ValueError(f"not a duration in days: {value!r}")
    try:
        days = float(value)
    except ValueError:
        raise ValueError(f"not a duration in days: {value!r}") from None
    if not math.isfinite(days) or days < 0:
        raise ValueError(f"not a duration in days: {value!r}")
    return days


def day_fraction_to_minutes(value: object) -> int:
    """Minutes in a `TDateTime` day fraction (2 h = 0.0833333 → 120), rounded to the minute."""
    return round(as_days(value) * MINUTES_PER_DAY)


def end_of(start_wall: datetime, minutes: int) -> datetime:
    """Wall-clock end of a séance: Hyperplanning places séances on the wall clock."""
    return start_wall + timedelta(minutes=minutes)


def monday_of(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())


def week_of(day: date, first_day: date) -> int:
    """The HP week (`THpSvcWSemaine`) holding `day`: 1 for the base's first week.

    Days before the base give 0 or less; the caller decides what that means.
    """
    return (monday_of(day) - monday_of(first_day)).days // 7 + 1


def week_monday(week: int, first_day: date) -> date:
    """The Monday starting HP week `week`."""
    return monday_of(first_day) + timedelta(weeks=week - 1)
