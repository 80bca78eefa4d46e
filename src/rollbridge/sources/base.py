"""The Source port: what every planning-system connector offers the engine.

A connector declares its capabilities, reads a `Snapshot` that knows whether it is whole,
and writes marks back where the system accepts them. Anything it cannot write is
returned as a `MarkResult` with `written=False` and a reason, never silently dropped.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol

from rollbridge.model import Mark, Snapshot, Window

Progress = Callable[[str, int, int | None], None]
"""`progress(stage, done, total)`: sources call it on long reads; total may be unknown."""


class Capability(enum.Enum):
    """What a connector can do, declared on the class rather than inferred."""

    DELTA_READ = "delta_read"
    WRITE_MARKS = "write_marks"
    WRITE_JUSTIFIED = "write_justified"
    WRITE_LATE = "write_late"
    WRITE_LEFT_EARLY = "write_left_early"


CheckStatus = Literal["ok", "warning", "error"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One line of `rollbridge check`."""

    name: str
    status: CheckStatus
    detail: str


@dataclass(frozen=True, slots=True)
class MarkResult:
    """What became of one mark handed to `write_marks`."""

    mark: Mark
    written: bool
    reason: str = ""


def no_progress(stage: str, done: int, total: int | None) -> None:
    """Progress sink that ignores everything."""


class Source(Protocol):
    """A planning system, seen from the engine."""

    system: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]

    def read(self, window: Window, progress: Progress = no_progress) -> Snapshot:
        """Everything in scope for `window`; `complete=False` when anything went wrong."""
        ...

    def write_marks(self, marks: Sequence[Mark]) -> Sequence[MarkResult]:
        """Write attendance back; one result per mark, in order."""
        ...

    def check(self) -> Sequence[CheckResult]:
        """Connectivity and rights, for `rollbridge check`; never raises for a bad answer."""
        ...
