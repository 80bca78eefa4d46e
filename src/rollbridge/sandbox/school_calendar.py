"""The synthetic school's calendar: breaks, public holidays, open days and offset (DST) changes.

Weekdays from `year_start` to 30 June, minus public holidays (jours fériés, Easter-based ones
from `easter_sunday`) and four breaks shaped on the French zone C dates (`school_calendar`).
`dst_days` finds the open days around each offset change of the school's time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rollbridge.timeconv import ONE_DAY


@dataclass(frozen=True, slots=True)
class Holiday:
    """A school break, inclusive of the surrounding weekends."""

    name: str
    first_on: date
    last_on: date


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (Meeus/Jones/Butcher), for Easter Monday and Ascension."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _monday_on_or_after(day: date) -> date:
    return day + timedelta(days=-day.weekday() % 7)


def _nth_monday(year: int, month: int, n: int) -> date:
    return _monday_on_or_after(date(year, month, 1)) + timedelta(weeks=n - 1)


def school_calendar(year_start: date) -> tuple[tuple[Holiday, ...], tuple[date, ...]]:
    """The breaks and public holidays of the school year starting on `year_start`."""
    y1, y2 = year_start.year, year_start.year + 1
    toussaint = _monday_on_or_after(date(y1, 11, 2))  # after the October DST change
    noel_back = _monday_on_or_after(date(y2, 1, 2))
    hiver = _nth_monday(y2, 2, 3)
    printemps = _nth_monday(y2, 4, 3)
    holidays = (
        Holiday(
            "Vacances de la Toussaint", toussaint - timedelta(days=2), toussaint + timedelta(days=6)
        ),
        Holiday("Vacances de Noël", noel_back - timedelta(days=16), noel_back - timedelta(days=1)),
        Holiday("Vacances d'hiver", hiver - timedelta(days=2), hiver + timedelta(days=13)),
        Holiday(
            "Vacances de printemps", printemps - timedelta(days=2), printemps + timedelta(days=13)
        ),
    )
    easter = easter_sunday(y2)
    public = (
        date(y1, 11, 1),
        date(y1, 11, 11),
        date(y1, 12, 25),
        date(y2, 1, 1),
        easter + timedelta(days=1),
        date(y2, 5, 1),
        date(y2, 5, 8),
        easter + timedelta(days=39),
        easter + timedelta(days=50),
    )
    return holidays, tuple(sorted(public))


def open_days(
    year_start: date, year_end: date, holidays: Sequence[Holiday], public: Sequence[date]
) -> list[date]:
    """The weekdays from `year_start` to `year_end` outside breaks and public holidays."""
    closed = set(public)
    for holiday in holidays:
        closed.update(
            holiday.first_on + timedelta(days=i)
            for i in range((holiday.last_on - holiday.first_on).days + 1)
        )
    days = (year_start + timedelta(days=i) for i in range((year_end - year_start).days + 1))
    return [day for day in days if day.weekday() < 5 and day not in closed]


def is_open(
    day: date,
    year_start: date,
    year_end: date,
    holidays: Sequence[Holiday],
    public_holidays: Sequence[date],
) -> bool:
    """Whether the school teaches on `day` (a weekday outside breaks and public holidays)."""
    if day.weekday() >= 5 or not year_start <= day <= year_end:
        return False
    if day in public_holidays:
        return False
    return not any(h.first_on <= day <= h.last_on for h in holidays)


def offset_changes(tz: ZoneInfo, first_on: date, last_on: date) -> tuple[datetime, ...]:
    """The UTC instants (to the quarter hour) where `tz` changes its offset between two dates."""
    out: list[datetime] = []
    day = datetime.combine(first_on, time(12), UTC)
    while day.date() <= last_on:
        following = day + ONE_DAY
        if day.astimezone(tz).utcoffset() != following.astimezone(tz).utcoffset():
            moment = day
            while moment.astimezone(tz).utcoffset() == day.astimezone(tz).utcoffset():
                moment += timedelta(minutes=15)
            out.append(moment)
        day = following
    return tuple(out)


def dst_days(days: Sequence[date], tz: ZoneInfo) -> tuple[date, ...]:
    """The open day (of `days`, in order) right before and right after each offset change.

    Changes are looked for from 1 July, so a year starting after the October change is
    refused rather than silently missing it.
    """
    out: list[date] = []
    for change in offset_changes(tz, date(days[0].year, 7, 1), days[-1]):
        local_day = change.astimezone(tz).date()
        before = [day for day in days if day < local_day]
        after = [day for day in days if day > local_day]
        if not before or not after:
            raise ValueError(f"the school year must span the {tz.key} offset change of {local_day}")
        out += [before[-1], after[0]]
    return tuple(out)
