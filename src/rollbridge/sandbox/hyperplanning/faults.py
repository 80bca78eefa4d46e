"""Injected failures (`PUT /_sandbox/faults`): the next calls of one operation, or of any
with `*`, answer a bare HTTP status (a proxy or an overloaded server: no SOAP envelope) or a
SOAP Fault carrying a given message. Checked after authentication, before the handler.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

from rollbridge.sandbox.hyperplanning.catalog import OPERATIONS

ANY = "*"


@dataclass(slots=True)
class Injected:
    """What the next `times` calls answer: HTTP `status` with a plain body, or a Fault."""

    times: int
    status: int | None
    fault: str | None

    @property
    def text(self) -> str:
        """The plain body of a status answer (the reason phrase when there is one)."""
        assert self.status is not None
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return f"HTTP {self.status}"


class Faults:
    """The failures waiting, by operation name (`*`: any operation)."""

    def __init__(self) -> None:
        self._waiting: dict[str, Injected] = {}

    def inject(self, operation: str, times: int, *, status: int | None, fault: str | None) -> None:
        """Make the next `times` calls of `operation` fail (0 takes a failure back); replaces
        what was set for that operation. Exactly one of `status` (400–599) and `fault`."""
        if operation != ANY and operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r} (or '*' for any)")
        if times < 0:
            raise ValueError("'times' must not be negative")
        if (status is None) == (fault is None):
            raise ValueError("give either 'status' or 'fault'")
        if status is not None and not 400 <= status <= 599:
            raise ValueError("'status' must be an HTTP error status (400 to 599)")
        self._waiting.pop(operation, None)
        if times:
            self._waiting[operation] = Injected(times, status, fault)

    def clear(self) -> None:
        """No failure waiting any more."""
        self._waiting.clear()

    def take(self, operation: str) -> Injected | None:
        """The failure this call answers, if any (the operation's own before `*`), used up."""
        for name in (operation, ANY):
            injected = self._waiting.get(name)
            if injected is not None:
                injected.times -= 1
                if injected.times <= 0:
                    del self._waiting[name]
                return injected
        return None
