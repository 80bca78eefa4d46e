"""`IHpSvcWCours` and `IHpSvcWAdmin`: courses, séances, weeks, and the base's identity."""

from __future__ import annotations

from collections import Counter
from datetime import date

from rollbridge.sandbox.hyperplanning.context import VERSION, Ctx, Handler, linked
from rollbridge.sandbox.hyperplanning.wire import Args, Fragments, SoapFault, Value


def _window(args: Args) -> tuple[date, date]:
    first, last = args.day("ADate1"), args.day("ADate2")
    if last < first:
        raise SoapFault(f"ADate2 ({last}) précède ADate1 ({first})", client=True)
    return first, last


def _all_between(ctx: Ctx, args: Args) -> Value:
    return ctx.base.keys("Cours", ctx.base.courses_between(*_window(args)))


def _learner_between(ctx: Ctx, args: Args) -> Value:
    learner = ctx.base.find("Etudiant", args.key("AEtudiant"))
    return ctx.base.keys("Cours", ctx.base.courses_between(*_window(args), learner=learner))


def _instructor_between(ctx: Ctx, args: Args) -> Value:
    instructor = ctx.base.find("Enseignant", args.key("AEnseignant"))
    found = ctx.base.courses_between(*_window(args), instructor=instructor)
    return ctx.base.keys("Cours", found)


def _tableau(ctx: Ctx, args: Args) -> list[int]:
    return ctx.base.find_all("Cours", args.keys("ATableau"))


def _course(ctx: Ctx, args: Args) -> int:
    return ctx.base.find("Cours", args.key("ACours"))


def _only_placed(ctx: Ctx, args: Args) -> Value:
    courses = ctx.layout.courses
    placed = [i for i in _tableau(ctx, args) if courses[i].is_placed]
    return ctx.base.keys("Cours", placed)  # same order as asked, unplaced dropped


def _duration(ctx: Ctx, args: Args) -> Value:
    seances = ctx.layout.courses[_course(ctx, args)].seances
    minutes = Counter(s.minutes for s in seances).most_common(1)
    return (minutes[0][0] if minutes else 60) / 1440


def _role_is(role: str) -> Handler:
    def handler(ctx: Ctx, args: Args) -> Value:
        return ctx.layout.courses[_course(ctx, args)].role == role

    return handler


def _hours_and_minutes(_: Ctx, args: Args) -> Value:
    minutes = round(args.number("ADuree") * 1440)
    return {"AHeure": minutes // 60, "AMinute": minutes % 60}


HANDLERS: dict[str, Handler] = {
    "Version": lambda ctx, args: VERSION,
    "DatePremierJourBase": lambda ctx, args: ctx.base.first_day,
    "HpSvcWDureeEnHeureMinute": _hours_and_minutes,
    "TousLesCoursEntre2Dates": _all_between,
    "CoursEtudiantEntre2Dates": _learner_between,
    "CoursEnseignantEntre2Dates": _instructor_between,
    "RestreindreTableauDeCoursAuxCoursPlaces": _only_placed,
    "EstCoursNonPlace": lambda ctx, args: not ctx.layout.courses[_course(ctx, args)].is_placed,
    "SontCoursNonPlaces": lambda ctx, args: [
        not ctx.layout.courses[i].is_placed for i in _tableau(ctx, args)
    ],
    "CoursEstUnCoursPere": _role_is("parent"),
    "CoursEstUnCoursFils": _role_is("child"),
    "CoursEstUnCoursSimple": _role_is("simple"),
    "SontCoursPeres": lambda ctx, args: [
        ctx.layout.courses[i].role == "parent" for i in _tableau(ctx, args)
    ],
    "DetailDesSeancesPlaceesTableauDeCours": lambda ctx, args: Fragments(
        ctx.base.seances(_tableau(ctx, args))
    ),
    "DetailDesSeancesPlaceesDuCours": lambda ctx, args: Fragments(
        ctx.base.seances([_course(ctx, args)])
    ),
    "MatiereCours": lambda ctx, args: ctx.base.key(
        "Matiere", ctx.layout.courses[_course(ctx, args)].subject
    ),
    "MatieresTableauDeCours": lambda ctx, args: ctx.base.keys(
        "Matiere", [ctx.layout.courses[i].subject for i in _tableau(ctx, args)]
    ),
    "TypeCours": lambda ctx, args: ctx.layout.courses[_course(ctx, args)].kind,
    "MemoCours": lambda ctx, args: ctx.layout.courses[_course(ctx, args)].memo,
    "DureeCours": _duration,
    "EtudiantsDuCours": linked(
        "Cours", "ACours", "Etudiant", lambda lay, i: lay.courses[i].learners
    ),
    "PromotionsDuCours": linked(
        "Cours", "ACours", "Promotion", lambda lay, i: lay.courses[i].promotions
    ),
    "TDOptionsDuCours": linked("Cours", "ACours", "TDOption", lambda lay, i: lay.courses[i].tds),
    "EnseignantsDuCours": linked(
        "Cours", "ACours", "Enseignant", lambda lay, i: lay.courses[i].instructors
    ),
    "SallesDuCours": linked("Cours", "ACours", "Salle", lambda lay, i: lay.courses[i].rooms),
    "DomaineCours": lambda ctx, args: ctx.base.domain(_course(ctx, args)),
    "SemaineEnDate": lambda ctx, args: ctx.base.monday_of(args.key("ASemaine")),
}
