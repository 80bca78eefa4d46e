"""`IHpSvcWAbsences`: absences and lateness as learner time spans, reasons, the presence
obligation and the roll-call-done flag per (course, week). Writes take naive local times."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rollbridge.sandbox.hyperplanning.attendance import MOTIFS, Span
from rollbridge.sandbox.hyperplanning.context import Ctx, Handler
from rollbridge.sandbox.hyperplanning.wire import Args, SoapFault, Value


def _span(args: Args) -> tuple[datetime, datetime]:
    return args.moment("ADateHeureDebut"), args.moment("ADateHeureFin")


def _journal(ctx: Ctx, op: str, args: Args, **result: Any) -> None:
    """One write call for tests: keys, naive local times, and whether a zone was sent."""
    start, end = _span(args)
    ctx.marks.writes.append(
        {
            "op": op,
            "learner": args.key("AEtudiant"),
            "start": start.isoformat(),
            "end": end.isoformat(),
            "zone_sent": args.had_offset("ADateHeureDebut") or args.had_offset("ADateHeureFin"),
            **result,
        }
    )


def _add_absence(ctx: Ctx, args: Args) -> Value:
    learner = ctx.base.find("Etudiant", args.key("AEtudiant"))
    key = ctx.marks.add_absence(learner, *_span(args), justified=args.flag("AJustifie"))
    _journal(ctx, "AjouterAbsenceEtudiant", args, justified=args.flag("AJustifie"), key=key)
    return key


def _remove_absence(ctx: Ctx, args: Args) -> Value:
    learner = ctx.base.find("Etudiant", args.key("AEtudiant"))
    gone = ctx.marks.remove_absences(learner, *_span(args))
    _journal(ctx, "EnleverAbsenceEtudiant", args, removed=gone)
    return None


def _create_lateness(ctx: Ctx, args: Args) -> Value:
    learner = ctx.base.find("Etudiant", args.key("AEtudiant"))
    key = ctx.marks.add_lateness(learner, *_span(args), justified=args.flag("AJustifie"))
    _journal(ctx, "CreerRetardEtudiant", args, justified=args.flag("AJustifie"), key=key)
    return key


def _absences_of(ctx: Ctx, args: Args) -> Value:
    learner = ctx.base.find("Etudiant", args.key("AEtudiant"))
    return ctx.marks.between(ctx.marks.absences, *_span(args), learner)


def _lateness_of(ctx: Ctx, args: Args) -> Value:
    learner = ctx.base.find("Etudiant", args.key("AEtudiant"))
    return ctx.marks.between(ctx.marks.lateness, *_span(args), learner)


def _missed_courses(ctx: Ctx, args: Args) -> Value:
    """The learner's (non-parent) courses with a séance meeting the absence, by séance start."""
    span = ctx.marks.absence(args.key("AAbsence"))
    courses = ctx.layout.courses
    hits: list[tuple[datetime, int]] = []
    for index in ctx.base.learner_courses[span.learner]:
        for seance in courses[index].seances:
            end = seance.start + timedelta(minutes=seance.minutes)
            if seance.start < span.end and span.start < end:
                hits.append((seance.start, index))
    ordered = dict.fromkeys(index for _, index in sorted(hits))
    return ctx.base.keys("Cours", ordered)


def _absence(field: str) -> Handler:
    def handler(ctx: Ctx, args: Args) -> Value:
        return _field(ctx, ctx.marks.absence(args.key("AAbsence")), field)

    return handler


def _late(field: str) -> Handler:
    def handler(ctx: Ctx, args: Args) -> Value:
        return _field(ctx, ctx.marks.late(args.key("ARetard")), field)

    return handler


def _field(ctx: Ctx, span: Span, field: str) -> Value:
    values: dict[str, Value] = {
        "learner": ctx.base.key("Etudiant", span.learner),
        "start": span.start,
        "end": span.end,
        "justified": span.justified,
        "motif": span.motif,
        "days": (span.end - span.start).total_seconds() / 86_400,  # a day fraction
    }
    return values[field]


def _presence(ctx: Ctx, args: Args) -> Value:
    course = ctx.base.find("Cours", args.key("ACours"))
    return ctx.marks.presence.get(course, ctx.layout.courses[course].presence_required)


def _set_presence(ctx: Ctx, args: Args) -> Value:
    course = ctx.base.find("Cours", args.key("ACours"))
    ctx.marks.presence[course] = args.flag("APresenceObligatoire")
    return None


def _seance_week(ctx: Ctx, args: Args) -> tuple[int, int]:
    course = ctx.base.find("Cours", args.key("ACours"))
    week = args.key("ASemaine")
    if week not in ctx.base.domain(course) or not ctx.layout.courses[course].is_placed:
        raise SoapFault(f"Le cours {args.key('ACours')} n'a pas de séance en semaine {week}")
    return course, week


def _roll_call_done(ctx: Ctx, args: Args) -> Value:
    return _seance_week(ctx, args) in ctx.marks.roll_calls


def _set_roll_call(ctx: Ctx, args: Args) -> Value:
    seance = _seance_week(ctx, args)
    if args.flag("AAppelTermine"):
        ctx.marks.roll_calls.add(seance)
    else:
        ctx.marks.roll_calls.discard(seance)
    ctx.marks.writes.append(
        {
            "op": "ModifierAppelTermineCours",
            "course": args.key("ACours"),
            "week": seance[1],
            "done": args.flag("AAppelTermine"),
        }
    )
    return None


HANDLERS: dict[str, Handler] = {
    "AbsencesEtudiantEntre2Dates": _absences_of,
    "AbsencesEntre2Dates": lambda ctx, args: ctx.marks.between(ctx.marks.absences, *_span(args)),
    "EtudiantAbsenceEtudiant": _absence("learner"),
    "DateHeureDebutAbsenceEtudiant": _absence("start"),
    "DateHeureFinAbsenceEtudiant": _absence("end"),
    "AbsenceEtudiantEstJustifiee": _absence("justified"),
    "MotifAbsenceEtudiant": _absence("motif"),
    "CoursManquesAbsenceEtudiant": _missed_courses,
    "AjouterAbsenceEtudiant": _add_absence,
    "EnleverAbsenceEtudiant": _remove_absence,
    "RetardsEtudiantEntre2Dates": _lateness_of,
    "CreerRetardEtudiant": _create_lateness,
    "EtudiantRetardEtudiant": _late("learner"),
    "DateHeureRetardEtudiant": _late("start"),
    "DureeRetardEtudiant": _late("days"),
    "RetardEtudiantEstJustifie": _late("justified"),
    "MotifRetardEtudiant": _late("motif"),
    "TousLesMotifs": lambda ctx, args: list(MOTIFS),
    "PresenceObligatoireCours": _presence,
    "ModifierPresenceObligatoireCours": _set_presence,
    "AppelTermineCours": _roll_call_done,
    "ModifierAppelTermineCours": _set_roll_call,
}
