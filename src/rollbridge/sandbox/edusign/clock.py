"""The emulator's clock: real time, or a moment frozen by a test."""

from __future__ import annotations

from datetime import UTC, datetime

from rollbridge.timeconv import iso_z


class Clock:
    """The emulator's now: the real time, or a moment frozen by a test."""

    def __init__(self) -> None:
        self._frozen: datetime | None = None

    def freeze(self, moment: datetime | None) -> None:
        """Freeze now at the aware `moment`, or return to real time with None."""
        if moment is not None and moment.tzinfo is None:
            raise ValueError("the sandbox clock needs an aware datetime")
        self._frozen = moment

    def now(self) -> datetime:
        """The current instant, aware UTC."""
        return self._frozen if self._frozen is not None else datetime.now(UTC)

    def stamp(self) -> str:
        """Now, written the way Edusign writes instants."""
        return iso_z(self.now())
