"""Wall-clock ↔ UTC conversion at the edges, strict about DST gaps.

Sources often send local wall-clock times (sometimes labelled UTC). A local time that
does not exist (the spring-forward gap, e.g. 02:30 on the last Sunday of March in
Europe/Paris) is refused with a reason; an ambiguous one (the autumn repeat) is read as
its first occurrence, the way planning tools display it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class NonexistentLocalTime(ValueError):
    """The local wall-clock time falls in a DST gap."""


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`, or a ValueError naming what is allowed."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Paris"
        ) from exc


def local_to_utc(wall: datetime, tz: ZoneInfo) -> datetime:
    """Convert a naive local wall-clock time in `tz` to an aware UTC datetime."""
    if wall.tzinfo is not None:
        return wall.astimezone(UTC)
    first = wall.replace(tzinfo=tz, fold=0)
    utc = first.astimezone(UTC)
    # A time in the gap does not survive the round trip back to the wall clock.
    if utc.astimezone(tz).replace(tzinfo=None) != wall:
        raise NonexistentLocalTime(
            f"{wall.isoformat(timespec='minutes')} does not exist in {tz.key} "
            "(clocks jump forward at that hour)"
        )
    return utc


def utc_to_local(moment: datetime, tz: ZoneInfo) -> datetime:
    """An aware instant as naive wall-clock time in `tz`."""
    return moment.astimezone(tz).replace(tzinfo=None)


def iso_z(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z` and milliseconds, the way Edusign writes instants."""
    # isoformat is implemented in C; strftime is several times slower on 60,000 sessions.
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant (with `Z` or an offset) to aware UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"instant without a zone: {text!r}")
    return value.astimezone(UTC)


ONE_DAY = timedelta(days=1)
