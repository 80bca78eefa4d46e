"""People and groups: `IHpSvcWEtudiants`, `…Enseignants`, `…Promotions`, `…TDOptions`,
`…Dispenses` (exemptions by subject) and `…Stages` (apprenticeship masters)."""

from __future__ import annotations

from rollbridge.sandbox.hyperplanning.context import (
    Ctx,
    Handler,
    bulk,
    every,
    linked,
    not_found,
    one,
)
from rollbridge.sandbox.hyperplanning.wire import Args, Value


def _learner_by_login(ctx: Ctx, args: Args) -> Value:
    login = args.text("AIdentifiant")
    for index, candidate in enumerate(ctx.layout.logins):
        if candidate == login:
            return ctx.base.key("Etudiant", index)
    raise not_found(f"étudiant d'identifiant {login!r}")


def _instructor_by_name(ctx: Ctx, args: Args) -> Value:
    wanted = (args.text("ANom"), args.text("APrenom"), args.text("ACode"))
    layout = ctx.layout
    for index, person in enumerate(layout.instructors):
        if (person.last_name, person.first_name, layout.instructor_codes[index]) == wanted:
            return ctx.base.key("Enseignant", index)
    raise not_found(f"enseignant {' '.join(wanted)!r}")


def _masters(ctx: Ctx, args: Args) -> Value:
    learner = ctx.base.find("Etudiant", args.key("AEtudiant"))
    return [
        {"Nom": t.last_name, "Prenom": t.first_name, "EMail": t.email, "Entreprise": t.company}
        for t in ctx.layout.tutors[learner]
    ]


def _promotion_of(ctx: Ctx, args: Args) -> Value:
    learner = ctx.base.find("Etudiant", args.key("AEtudiant"))
    return ctx.base.key("Promotion", ctx.layout.learner_promotion[learner])


def _promotions_of(ctx: Ctx, args: Args) -> Value:
    learners = ctx.base.find_all("Etudiant", args.keys("ATableau"))
    return ctx.base.keys("Promotion", [ctx.layout.learner_promotion[i] for i in learners])


def _td_promotion(ctx: Ctx, args: Args) -> Value:
    td = ctx.base.find("TDOption", args.key("ATDOption"))
    return ctx.base.key("Promotion", ctx.layout.td_promotion[td])


HANDLERS: dict[str, Handler] = {
    # Learners
    "TousLesEtudiants": every("Etudiant"),
    "NomEtudiant": one("Etudiant", "AEtudiant", lambda lay, i: lay.learners[i].last_name),
    "PrenomEtudiant": one("Etudiant", "AEtudiant", lambda lay, i: lay.learners[i].first_name),
    "EMailEtudiant": one("Etudiant", "AEtudiant", lambda lay, i: lay.learners[i].email or ""),
    "IdentifiantConnexionEtudiant": one("Etudiant", "AEtudiant", lambda lay, i: lay.logins[i]),
    "PromotionEtudiant": _promotion_of,
    "NomsTableauDEtudiants": bulk("Etudiant", lambda lay, i: lay.learners[i].last_name),
    "PrenomsTableauDEtudiants": bulk("Etudiant", lambda lay, i: lay.learners[i].first_name),
    "EMailsTableauDEtudiants": bulk("Etudiant", lambda lay, i: lay.learners[i].email or ""),
    "NumerosBadgeTableauDEtudiants": bulk(
        "Etudiant", lambda lay, i: lay.learners[i].badge_id or ""
    ),
    "IdentifiantsConnexionTableauDEtudiants": bulk("Etudiant", lambda lay, i: lay.logins[i]),
    "PromotionsTableauDEtudiants": _promotions_of,
    "AccederEtudiantParIdentifiant": _learner_by_login,
    # Instructors
    "TousLesEnseignants": every("Enseignant"),
    "NomsTableauDEnseignants": bulk("Enseignant", lambda lay, i: lay.instructors[i].last_name),
    "PrenomsTableauDEnseignants": bulk("Enseignant", lambda lay, i: lay.instructors[i].first_name),
    "CodesTableauDEnseignants": bulk("Enseignant", lambda lay, i: lay.instructor_codes[i]),
    "EMailsTableauDEnseignants": bulk("Enseignant", lambda lay, i: lay.instructors[i].email or ""),
    "AccederEnseignantParNomPrenomEtCode": _instructor_by_name,
    # Promotions, TD groups and options
    "ToutesLesPromotions": every("Promotion"),
    "NomPromotion": one("Promotion", "APromotion", lambda lay, i: lay.promotions[i]),
    "NomsTableauDePromotions": bulk("Promotion", lambda lay, i: lay.promotions[i]),
    "EtudiantsDeLaPromotion": linked(
        "Promotion", "APromotion", "Etudiant", lambda lay, i: lay.promotion_learners[i]
    ),
    "TousLesTDOptions": every("TDOption"),
    "NomTDOption": one("TDOption", "ATDOption", lambda lay, i: lay.tds[i]),
    "NomsTableauDeTDOptions": bulk("TDOption", lambda lay, i: lay.tds[i]),
    "PromotionTDOption": _td_promotion,
    "EtudiantsDuTDOption": linked(
        "TDOption", "ATDOption", "Etudiant", lambda lay, i: lay.td_learners[i]
    ),
    # Exemptions and apprenticeship masters
    "MatieresDispenseesEtudiant": linked(
        "Etudiant", "AEtudiant", "Matiere", lambda lay, i: lay.exemptions[i]
    ),
    "MaitresDApprentissageEtudiant": _masters,
}
