"""Write-back planning: one Edusign mark → the fewest HPSW writes. Pure.

An absence in Hyperplanning is a time span on a learner, not a row tied to a course
(API notes §6). Given the mark, the séance's wall-clock span, the learner's absences and
lateness Hyperplanning holds over it, and the spans rollbridge wrote there before, the
planner returns the writes that make Hyperplanning say what the mark says:

- absent → one absence over the séance (`AJustifie` = justified); a justified flag that
  changed means remove our span, then add it again (no modify call is known [U]);
- present → remove the absence spans rollbridge wrote, nothing else;
- late (n min) → a lateness `[start, start + n]` where the lateness call exists [U], else
  the configured fallback: `skip`, or an absence over those n minutes;
- left early (n min) → no call is known [U]: `skip`, or an absence from departure to end.

A span rollbridge did not write was entered by staff (a whole day, say): it is never
removed, split or changed, and the part of the séance it covers is not written again.
Whatever cannot be written is said in `unwritten`, which becomes the `MarkResult` reason.
Times are naive local wall-clock values, as HPSW reads and writes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from rollbridge.model import Mark
from rollbridge.sources.base import MarkResult
from rollbridge.sources.hyperplanning.inputs import HpAbsence, HpLateness

LateFallback = Literal["skip", "absence_span"]
LeftEarlyFallback = Literal["skip", "absence_span"]
OwnKind = Literal["absence", "lateness"]

_Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """How marks are written; the defaults write only what Hyperplanning surely takes."""

    lateness_call: bool = False  # `CreerRetardEtudiant` found in the WSDL [U]
    late_fallback: LateFallback = "skip"  # used when there is no lateness call
    left_early_fallback: LeftEarlyFallback = "skip"
    absences_for_exempt: bool = False  # write absences for learners exempted from the séance
    absences_when_not_compulsory: bool = False  # ... and where `PresenceObligatoireCours` is off


@dataclass(frozen=True, slots=True)
class OwnSpan:
    """A span rollbridge wrote on a learner for one séance (kept in the store)."""

    kind: OwnKind
    start_wall: datetime
    end_wall: datetime
    justified: bool = False


@dataclass(frozen=True, slots=True)
class AddAbsence:
    """`AjouterAbsenceEtudiant(AEtudiant, ADateHeureDebut, ADateHeureFin, AJustifie)`."""

    learner_key: int
    start_wall: datetime
    end_wall: datetime
    justified: bool


@dataclass(frozen=True, slots=True)
class RemoveAbsence:
    """`EnleverAbsenceEtudiant(AEtudiant, ADateHeureDebut, ADateHeureFin)`."""

    learner_key: int
    start_wall: datetime
    end_wall: datetime


@dataclass(frozen=True, slots=True)
class AddLateness:
    """`CreerRetardEtudiant(AEtudiant, start, end, justified)` [U: signature unconfirmed]."""

    learner_key: int
    start_wall: datetime
    end_wall: datetime
    justified: bool


WriteOp = AddAbsence | RemoveAbsence | AddLateness


@dataclass(frozen=True, slots=True)
class WritePlan:
    """The writes for one mark, the spans rollbridge owns once they succeed, what is left."""

    mark: Mark
    ops: tuple[WriteOp, ...]
    own_after: tuple[OwnSpan, ...]
    unwritten: tuple[str, ...] = ()

    @property
    def written(self) -> bool:
        """Whether Hyperplanning says all the mark says once `ops` succeed."""
        return not self.unwritten

    def result(self) -> MarkResult:
        """The outcome for the engine, once every op succeeded."""
        return MarkResult(self.mark, self.written, "; ".join(self.unwritten))


def _when(start: datetime, end: datetime) -> str:
    tail = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    return f"{start:%Y-%m-%d %H:%M}–{tail}"


def _merge(spans: Iterable[_Span]) -> list[_Span]:
    merged: list[_Span] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(spans: Iterable[_Span], cuts: Sequence[_Span]) -> list[_Span]:
    """The parts of `spans` outside every cut."""
    pieces = _merge(spans)
    for cut_start, cut_end in cuts:
        rest: list[_Span] = []
        for start, end in pieces:
            if cut_end <= start or end <= cut_start:
                rest.append((start, end))
                continue
            if start < cut_start:
                rest.append((start, cut_start))
            if cut_end < end:
                rest.append((cut_end, end))
        pieces = rest
    return pieces


def _intersect(span: _Span, spans: Sequence[_Span]) -> list[_Span]:
    """The parts of `span` inside some of `spans`."""
    return _subtract([span], _subtract([span], spans))


@dataclass(frozen=True, slots=True)
class _Wanted:
    absences: list[_Span]
    lateness: _Span | None
    unwritten: list[str]


def _wanted(
    mark: Mark,
    seance: _Span,
    options: WriteOptions,
    *,
    exempt: bool,
    compulsory: bool,
) -> _Wanted:
    """The spans the mark asks for, after fallbacks, exemptions and compulsory attendance."""
    start, end = seance
    length = int((end - start).total_seconds() // 60)
    absences: list[_Span] = []
    lateness: _Span | None = None
    unwritten: list[str] = []
    if mark.status == "absent":
        absences.append(seance)
    late = min(max(mark.minutes_late, 0), length) if mark.status != "absent" else 0
    if mark.status in ("late", "left_early") and late:
        span = (start, start + timedelta(minutes=late))
        if options.lateness_call:
            lateness = span
        elif options.late_fallback == "absence_span":
            absences.append(span)
        else:
            unwritten.append(
                f"lateness of {late} min not written: this Hyperplanning has no lateness call "
                "and late_fallback is skip"
            )
    early = min(max(mark.minutes_early, 0), length)
    if mark.status == "left_early" and early:
        if options.left_early_fallback == "absence_span":
            absences.append((end - timedelta(minutes=early), end))
        else:
            unwritten.append(
                f"early departure of {early} min not written: Hyperplanning has no call for "
                "it and left_early_fallback is skip"
            )
    if absences or lateness:
        if exempt and not options.absences_for_exempt:
            unwritten.append(
                "the learner is exempted from this séance: no absence or lateness written"
            )
            absences, lateness = [], None
        elif not compulsory and not options.absences_when_not_compulsory:
            unwritten.append(
                "attendance is not compulsory for this course (PresenceObligatoireCours): "
                "no absence or lateness written"
            )
            absences, lateness = [], None
    return _Wanted(_merge(absences), lateness, unwritten)


@dataclass(slots=True)
class _Draft:
    """The plan being built: writes, spans we will own, what stays unwritten."""

    ops: list[WriteOp]
    own_after: list[OwnSpan]
    unwritten: list[str]


def _plan_absences(
    draft: _Draft,
    wanted: _Wanted,
    *,
    learner_key: int,
    seance: _Span,
    justified: bool,
    absences: Sequence[HpAbsence],
    own: Sequence[OwnSpan],
) -> None:
    """Remove our spans that no longer fit, add what is missing around staff spans."""
    seance_start, seance_end = seance
    own_spans = {(o.start_wall, o.end_wall) for o in own if o.kind == "absence"}
    around = [a for a in absences if a.start_wall < seance_end and a.end_wall > seance_start]
    mine = [a for a in around if (a.start_wall, a.end_wall) in own_spans]
    staff = [a for a in around if (a.start_wall, a.end_wall) not in own_spans]
    pieces = _subtract(wanted.absences, [(a.start_wall, a.end_wall) for a in staff])
    kept = [a for a in mine if (a.start_wall, a.end_wall) in pieces and a.justified == justified]
    kept_spans = {(a.start_wall, a.end_wall) for a in kept}
    added = [piece for piece in pieces if piece not in kept_spans]
    # Removals first: a justified flag flips as "remove our span, then add it again".
    draft.ops.extend(
        RemoveAbsence(learner_key, a.start_wall, a.end_wall) for a in mine if a not in kept
    )
    draft.ops.extend(AddAbsence(learner_key, s, e, justified) for s, e in added)
    draft.own_after.extend(OwnSpan("absence", a.start_wall, a.end_wall, a.justified) for a in kept)
    draft.own_after.extend(OwnSpan("absence", s, e, justified) for s, e in added)
    for absence in staff:
        span = (max(absence.start_wall, seance_start), min(absence.end_wall, seance_end))
        when = _when(absence.start_wall, absence.end_wall)
        if _subtract([span], wanted.absences):
            draft.unwritten.append(
                f"an absence entered in Hyperplanning ({when}) covers the séance where "
                "Edusign says present; rollbridge never removes or splits it"
            )
        if absence.justified != justified and _intersect(span, wanted.absences):
            flag = "justified" if absence.justified else "unjustified"
            draft.unwritten.append(
                f"an {flag} absence entered in Hyperplanning ({when}) covers the séance; "
                "rollbridge never changes it"
            )


def _plan_lateness(
    draft: _Draft,
    wanted: _Wanted,
    *,
    learner_key: int,
    seance: _Span,
    justified: bool,
    lateness: Sequence[HpLateness],
    own: Sequence[OwnSpan],
) -> None:
    """Add the lateness if none is there; no call changes or removes one, so say so."""
    own_spans = {(o.start_wall, o.end_wall) for o in own if o.kind == "lateness"}
    around = [item for item in lateness if seance[0] <= item.start_wall < seance[1]]
    mine = [item for item in around if (item.start_wall, item.end_wall) in own_spans]
    draft.own_after.extend(
        OwnSpan("lateness", item.start_wall, item.end_wall, item.justified) for item in mine
    )
    if wanted.lateness is None:
        if mine:
            when = ", ".join(_when(item.start_wall, item.end_wall) for item in mine)
            draft.unwritten.append(
                f"the lateness rollbridge wrote ({when}) cannot be removed: Hyperplanning has "
                "no call for it; remove it by hand"
            )
        return
    start, end = wanted.lateness
    if any((i.start_wall, i.end_wall, i.justified) == (start, end, justified) for i in around):
        return  # already recorded, whoever wrote it
    if around:
        when = ", ".join(_when(item.start_wall, item.end_wall) for item in around)
        draft.unwritten.append(
            f"a different lateness is already recorded ({when}); Hyperplanning has no call "
            "to change or remove it: correct it by hand"
        )
        return
    draft.ops.append(AddLateness(learner_key, start, end, justified))
    draft.own_after.append(OwnSpan("lateness", start, end, justified))


def plan_mark_write(
    mark: Mark,
    *,
    learner_key: int,
    seance_start: datetime,
    seance_end: datetime,
    absences: Sequence[HpAbsence] = (),
    lateness: Sequence[HpLateness] = (),
    own: Sequence[OwnSpan] = (),
    options: WriteOptions | None = None,
    exempt: bool = False,
    compulsory: bool = True,
) -> WritePlan:
    """The writes that bring the learner's spans over one séance in line with `mark`.

    `absences` and `lateness` are what Hyperplanning holds for the learner around the
    séance (read just before); `own` the spans rollbridge wrote for this séance and learner.
    """
    seance = (seance_start, seance_end)
    wanted = _wanted(mark, seance, options or WriteOptions(), exempt=exempt, compulsory=compulsory)
    draft = _Draft([], [], list(wanted.unwritten))
    flag = mark.justified
    _plan_absences(
        draft,
        wanted,
        learner_key=learner_key,
        seance=seance,
        justified=flag,
        absences=absences,
        own=own,
    )
    _plan_lateness(
        draft,
        wanted,
        learner_key=learner_key,
        seance=seance,
        justified=flag,
        lateness=lateness,
        own=own,
    )
    return WritePlan(mark, tuple(draft.ops), tuple(draft.own_after), tuple(draft.unwritten))
