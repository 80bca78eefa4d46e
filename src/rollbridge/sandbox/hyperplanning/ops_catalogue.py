"""Reference data: `IHpSvcWSalles`, `IHpSvcWMatieres` and `IHpSvcWFamilles` (families, sections
and multi-section membership of learners, courses and instructors)."""

from __future__ import annotations

from rollbridge.sandbox.hyperplanning.base import Entity
from rollbridge.sandbox.hyperplanning.context import Ctx, Handler, bulk, every, one
from rollbridge.sandbox.hyperplanning.wire import Args, SoapFault, Value


def _families_of_genre(ctx: Ctx, args: Args) -> Value:
    genre = args.text("AGenre")
    found = [i for i, family in enumerate(ctx.layout.families) if family.genre == genre]
    return ctx.base.keys("Famille", found)


def _sections(ctx: Ctx, args: Args) -> Value:
    family = ctx.base.find("Famille", args.key("AFamille"))
    return ctx.base.keys("Rubrique", ctx.layout.families[family].rubrics)


def _membership(genre: str, entity: Entity, param: str) -> Handler:
    """The sections (a list: one may sit in several) of one entity in one family."""

    def handler(ctx: Ctx, args: Args) -> Value:
        family = ctx.base.find("Famille", args.key("AFamille"))
        index = ctx.base.find(entity, args.key(param))
        record = ctx.layout.families[family]
        if record.genre != genre:
            raise SoapFault(f"La famille {record.label!r} est du genre {record.genre}, pas {genre}")
        return ctx.base.keys("Rubrique", ctx.layout.members.get((family, index), ()))

    return handler


HANDLERS: dict[str, Handler] = {
    # Rooms: name, code and long label all differ (§5)
    "ToutesLesSalles": every("Salle"),
    "NomSalle": one("Salle", "ASalle", lambda lay, i: lay.rooms[i].name),
    "NomsTableauDeSalles": bulk("Salle", lambda lay, i: lay.rooms[i].name),
    "CodesTableauDeSalles": bulk("Salle", lambda lay, i: lay.rooms[i].code),
    "LibelleLongSalle": one("Salle", "ASalle", lambda lay, i: lay.rooms[i].label),
    # Subjects
    "ToutesLesMatieres": every("Matiere"),
    "LibelleMatiere": one("Matiere", "AMatiere", lambda lay, i: lay.subjects[i][0]),
    "LibellesTableauDeMatieres": bulk("Matiere", lambda lay, i: lay.subjects[i][0]),
    "CodesTableauDeMatieres": bulk("Matiere", lambda lay, i: lay.subjects[i][1]),
    # Families and sections
    "ToutesLesFamillesDuGenre": _families_of_genre,
    "LibellesTableauDeFamilles": bulk("Famille", lambda lay, i: lay.families[i].label),
    "ToutesLesRubriquesDeLaFamille": _sections,
    "LibellesTableauDeRubriques": bulk("Rubrique", lambda lay, i: lay.rubrics[i]),
    "RubriquesDeLEtudiantDeFamille": _membership("gfEtudiant", "Etudiant", "AEtudiant"),
    "RubriquesDuCoursDeFamille": _membership("gfCours", "Cours", "ACours"),
    "RubriqueDeLEnseignantDeFamille": _membership("gfEnseignant", "Enseignant", "AEnseignant"),
}
