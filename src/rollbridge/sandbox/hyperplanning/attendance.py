"""Absences and lateness as Hyperplanning stores them: time spans on a learner (§6).

An absence is not tied to a course; the courses it covers are derived
(`CoursManquesAbsenceEtudiant`). Write semantics here are our choices where the API notes say
[U]: adding a span that overlaps one of the learner's absences faults (the connector must
read before it writes); removing takes away the learner's absences lying wholly inside the
given span and leaves partial overlaps alone (a staff-entered whole day is never split).
Every write call is journaled for tests (`writes`), with whether the client sent a zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from rollbridge.sandbox.hyperplanning.wire import SoapFault

Origin = Literal["hpsw", "staff"]
MOTIFS: Final = (
    "Maladie",
    "Rendez-vous médical",
    "Transport",
    "Raison familiale",
    "Convocation entreprise",
    "Autre",
)


@dataclass(slots=True)
class Span:
    """One absence or lateness of one learner (naive local wall-clock times)."""

    key: int
    learner: int  # index into the layout's learners
    start: datetime
    end: datetime
    justified: bool
    motif: str
    origin: Origin  # written through HPSW, or entered by staff (a test control)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


class Attendance:
    """The marks of one base, the roll-call flags and presence overrides, and the write log."""

    def __init__(self, base_number: int) -> None:
        self.absences: dict[int, Span] = {}
        self.lateness: dict[int, Span] = {}
        self.roll_calls: set[tuple[int, int]] = set()  # (course index, week) marked done
        self.presence: dict[int, bool] = {}  # course index -> overridden obligation
        self.writes: list[dict[str, Any]] = []
        self._next_absence = base_number * 1_000_000 + 1
        self._next_late = base_number * 1_000_000 + 500_001

    def add_absence(
        self,
        learner: int,
        start: datetime,
        end: datetime,
        *,
        justified: bool,
        motif: str = "",
        origin: Origin = "hpsw",
    ) -> int:
        """A new absence span; a Fault if empty or overlapping one of the learner's."""
        _check_span(start, end)
        for span in self.absences.values():
            if span.learner == learner and span.overlaps(start, end):
                raise SoapFault(
                    "L'absence chevauche l'absence existante "
                    f"{span.key} ({span.start.isoformat()} – {span.end.isoformat()})"
                )
        key = self._next_absence
        self._next_absence += 1
        self.absences[key] = Span(key, learner, start, end, justified, motif, origin)
        return key

    def remove_absences(self, learner: int, start: datetime, end: datetime) -> list[int]:
        """Remove the learner's absences lying wholly inside [start, end]; their keys."""
        _check_span(start, end)
        gone = [
            key
            for key, span in self.absences.items()
            if span.learner == learner and start <= span.start and span.end <= end
        ]
        for key in gone:
            del self.absences[key]
        return gone

    def add_lateness(
        self, learner: int, start: datetime, end: datetime, *, justified: bool, motif: str = ""
    ) -> int:
        """A new lateness: the learner arrived at `end` instead of `start`."""
        _check_span(start, end)
        key = self._next_late
        self._next_late += 1
        self.lateness[key] = Span(key, learner, start, end, justified, motif, "hpsw")
        return key

    @staticmethod
    def between(
        spans: dict[int, Span], start: datetime, end: datetime, learner: int | None = None
    ) -> list[int]:
        """Keys of the spans meeting [start, end] (of one learner if given), by start time."""
        _check_span(start, end)
        found = [
            span
            for span in spans.values()
            if (learner is None or span.learner == learner) and span.overlaps(start, end)
        ]
        return [span.key for span in sorted(found, key=lambda s: (s.start, s.key))]

    def absence(self, key: int) -> Span:
        """One absence; a Fault for an unknown key."""
        span = self.absences.get(key)
        if span is None:
            raise SoapFault(f"Clé d'absence inconnue : {key}")
        return span

    def late(self, key: int) -> Span:
        """One lateness; a Fault for an unknown key."""
        span = self.lateness.get(key)
        if span is None:
            raise SoapFault(f"Clé de retard inconnue : {key}")
        return span


def _check_span(start: datetime, end: datetime) -> None:
    if end <= start:
        raise SoapFault(
            f"Période vide ou inversée : {start.isoformat()} – {end.isoformat()}", client=True
        )
