"""The operations the emulator serves, per interface: names, `A…` parameters and answers.

One declarative table feeds the WSDL (`wsdl.py`), request decoding and answer encoding
(`wire.py`); the behaviour behind each name lives in the `ops_*` modules. Names follow
shared/apis/hyperplanning.md §5; calls marked [U] there are our best guess (e.g. the
learner/course family-membership calls) and may differ on real servers.

Each interface `IHpSvcW<Domain>` becomes a port `Port<Domain>`: of service `HpSvcWAdmin` for
Admin, of service `HpSvcWDonnees` for every other domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from rollbridge.sandbox.hyperplanning.schema import is_known, keys_of

ADMIN: Final = "IHpSvcWAdmin"
DATA_SERVICE: Final = "HpSvcWDonnees"
ADMIN_SERVICE: Final = "HpSvcWAdmin"


@dataclass(frozen=True, slots=True)
class Operation:
    """One SOAP operation: its interface, parameters, and answer (a type or named outs)."""

    name: str
    interface: str
    params: tuple[tuple[str, str], ...]
    result: str | None  # None: nothing, or the named `outs`
    outs: tuple[tuple[str, str], ...] = ()

    @property
    def port(self) -> str:
        """The WSDL port serving the operation: `IHpSvcWCours` -> `PortCours`."""
        return port_of(self.interface)


def port_of(interface: str) -> str:
    """`IHpSvcWCours` -> `PortCours`."""
    return "Port" + interface.removeprefix("IHpSvcW")


def service_of(interface: str) -> str:
    """The WSDL service holding the interface's port."""
    return ADMIN_SERVICE if interface == ADMIN else DATA_SERVICE


def _params(spec: str) -> tuple[tuple[str, str], ...]:
    """`"ACours:C ASemaine:W"` as (name, type) pairs; short type names expand via `_SHORT`."""
    out = []
    for item in spec.split():
        name, _, type_name = item.partition(":")
        out.append((name, _SHORT.get(type_name, type_name)))
    return tuple(out)


# Short names used in the table below.
_SHORT: Final[dict[str, str]] = {
    "C": "THpSvcWCleCours",
    "E": "THpSvcWCleEtudiant",
    "Ens": "THpSvcWCleEnseignant",
    "S": "THpSvcWCleSalle",
    "M": "THpSvcWCleMatiere",
    "F": "THpSvcWCleFamille",
    "R": "THpSvcWCleRubrique",
    "P": "THpSvcWClePromotion",
    "TD": "THpSvcWCleTDOption",
    "Abs": "THpSvcWCleAbsenceEtudiant",
    "Ret": "THpSvcWCleRetardEtudiant",
    "W": "THpSvcWSemaine",
    "TC": keys_of("Cours"),
    "TE": keys_of("Etudiant"),
    "TEns": keys_of("Enseignant"),
    "TS": keys_of("Salle"),
    "TM": keys_of("Matiere"),
    "TF": keys_of("Famille"),
    "TR": keys_of("Rubrique"),
    "TP": keys_of("Promotion"),
    "TTD": keys_of("TDOption"),
    "TAbs": keys_of("AbsenceEtudiant"),
    "TRet": keys_of("RetardEtudiant"),
    "TW": "THpSvcWTableauSemaines",
    "TStr": "THpSvcWTableauChaines",
    "TBool": "THpSvcWTableauBooleens",
    "Seances": "THpSvcWTableauSeances",
    "Maitres": "THpSvcWTableauMaitres",
    "Genre": "THpSvcWGenreFamille",
}

_SPAN = "ADateHeureDebut:dateTime ADateHeureFin:dateTime"

# interface -> (operation, parameters, answer); answer "" is nothing.
_TABLE: Final[dict[str, tuple[tuple[str, str, str], ...]]] = {
    ADMIN: (
        ("Version", "", "string"),
        ("DatePremierJourBase", "", "date"),
        ("HpSvcWDureeEnHeureMinute", "ADuree:double", ""),  # outs AHeure, AMinute
    ),
    "IHpSvcWCours": (
        ("TousLesCoursEntre2Dates", "ADate1:date ADate2:date", "TC"),
        ("CoursEtudiantEntre2Dates", "AEtudiant:E ADate1:date ADate2:date", "TC"),
        ("CoursEnseignantEntre2Dates", "AEnseignant:Ens ADate1:date ADate2:date", "TC"),
        ("RestreindreTableauDeCoursAuxCoursPlaces", "ATableau:TC", "TC"),
        ("EstCoursNonPlace", "ACours:C", "boolean"),
        ("SontCoursNonPlaces", "ATableau:TC", "TBool"),
        ("CoursEstUnCoursPere", "ACours:C", "boolean"),
        ("CoursEstUnCoursFils", "ACours:C", "boolean"),
        ("CoursEstUnCoursSimple", "ACours:C", "boolean"),
        ("SontCoursPeres", "ATableau:TC", "TBool"),
        ("DetailDesSeancesPlaceesTableauDeCours", "ATableau:TC", "Seances"),
        ("DetailDesSeancesPlaceesDuCours", "ACours:C", "Seances"),
        ("MatiereCours", "ACours:C", "M"),
        ("MatieresTableauDeCours", "ATableau:TC", "TM"),
        ("TypeCours", "ACours:C", "string"),
        ("MemoCours", "ACours:C", "string"),
        ("DureeCours", "ACours:C", "double"),
        ("EtudiantsDuCours", "ACours:C", "TE"),
        ("PromotionsDuCours", "ACours:C", "TP"),
        ("TDOptionsDuCours", "ACours:C", "TTD"),
        ("EnseignantsDuCours", "ACours:C", "TEns"),
        ("SallesDuCours", "ACours:C", "TS"),
        ("DomaineCours", "ACours:C", "TW"),
        ("SemaineEnDate", "ASemaine:W", "date"),
    ),
    "IHpSvcWEtudiants": (
        ("TousLesEtudiants", "", "TE"),
        ("NomEtudiant", "AEtudiant:E", "string"),
        ("PrenomEtudiant", "AEtudiant:E", "string"),
        ("EMailEtudiant", "AEtudiant:E", "string"),
        ("IdentifiantConnexionEtudiant", "AEtudiant:E", "string"),
        ("PromotionEtudiant", "AEtudiant:E", "P"),
        ("NomsTableauDEtudiants", "ATableau:TE", "TStr"),
        ("PrenomsTableauDEtudiants", "ATableau:TE", "TStr"),
        ("EMailsTableauDEtudiants", "ATableau:TE", "TStr"),
        ("NumerosBadgeTableauDEtudiants", "ATableau:TE", "TStr"),
        ("IdentifiantsConnexionTableauDEtudiants", "ATableau:TE", "TStr"),
        ("PromotionsTableauDEtudiants", "ATableau:TE", "TP"),
        ("AccederEtudiantParIdentifiant", "AIdentifiant:string", "E"),
    ),
    "IHpSvcWEnseignants": (
        ("TousLesEnseignants", "", "TEns"),
        ("NomsTableauDEnseignants", "ATableau:TEns", "TStr"),
        ("PrenomsTableauDEnseignants", "ATableau:TEns", "TStr"),
        ("CodesTableauDEnseignants", "ATableau:TEns", "TStr"),
        ("EMailsTableauDEnseignants", "ATableau:TEns", "TStr"),
        ("AccederEnseignantParNomPrenomEtCode", "ANom:string APrenom:string ACode:string", "Ens"),
    ),
    "IHpSvcWPromotions": (
        ("ToutesLesPromotions", "", "TP"),
        ("NomPromotion", "APromotion:P", "string"),
        ("NomsTableauDePromotions", "ATableau:TP", "TStr"),
        ("EtudiantsDeLaPromotion", "APromotion:P", "TE"),
    ),
    "IHpSvcWTDOptions": (
        ("TousLesTDOptions", "", "TTD"),
        ("NomTDOption", "ATDOption:TD", "string"),
        ("NomsTableauDeTDOptions", "ATableau:TTD", "TStr"),
        ("PromotionTDOption", "ATDOption:TD", "P"),
        ("EtudiantsDuTDOption", "ATDOption:TD", "TE"),
    ),
    "IHpSvcWSalles": (
        ("ToutesLesSalles", "", "TS"),
        ("NomSalle", "ASalle:S", "string"),
        ("NomsTableauDeSalles", "ATableau:TS", "TStr"),
        ("CodesTableauDeSalles", "ATableau:TS", "TStr"),
        ("LibelleLongSalle", "ASalle:S", "string"),
    ),
    "IHpSvcWMatieres": (
        ("ToutesLesMatieres", "", "TM"),
        ("LibelleMatiere", "AMatiere:M", "string"),
        ("LibellesTableauDeMatieres", "ATableau:TM", "TStr"),
        ("CodesTableauDeMatieres", "ATableau:TM", "TStr"),
    ),
    "IHpSvcWFamilles": (
        ("ToutesLesFamillesDuGenre", "AGenre:Genre", "TF"),
        ("LibellesTableauDeFamilles", "ATableau:TF", "TStr"),
        ("ToutesLesRubriquesDeLaFamille", "AFamille:F", "TR"),
        ("LibellesTableauDeRubriques", "ATableau:TR", "TStr"),
        ("RubriquesDeLEtudiantDeFamille", "AFamille:F AEtudiant:E", "TR"),
        ("RubriquesDuCoursDeFamille", "AFamille:F ACours:C", "TR"),
        ("RubriqueDeLEnseignantDeFamille", "AFamille:F AEnseignant:Ens", "TR"),
    ),
    "IHpSvcWDispenses": (("MatieresDispenseesEtudiant", "AEtudiant:E", "TM"),),
    "IHpSvcWStages": (("MaitresDApprentissageEtudiant", "AEtudiant:E", "Maitres"),),
    "IHpSvcWAbsences": (
        ("AbsencesEtudiantEntre2Dates", f"AEtudiant:E {_SPAN}", "TAbs"),
        ("AbsencesEntre2Dates", _SPAN, "TAbs"),
        ("EtudiantAbsenceEtudiant", "AAbsence:Abs", "E"),
        ("DateHeureDebutAbsenceEtudiant", "AAbsence:Abs", "dateTime"),
        ("DateHeureFinAbsenceEtudiant", "AAbsence:Abs", "dateTime"),
        ("AbsenceEtudiantEstJustifiee", "AAbsence:Abs", "boolean"),
        ("MotifAbsenceEtudiant", "AAbsence:Abs", "string"),
        ("CoursManquesAbsenceEtudiant", "AAbsence:Abs", "TC"),
        ("AjouterAbsenceEtudiant", f"AEtudiant:E {_SPAN} AJustifie:boolean", "Abs"),
        ("EnleverAbsenceEtudiant", f"AEtudiant:E {_SPAN}", ""),
        ("RetardsEtudiantEntre2Dates", f"AEtudiant:E {_SPAN}", "TRet"),
        ("CreerRetardEtudiant", f"AEtudiant:E {_SPAN} AJustifie:boolean", "Ret"),
        ("EtudiantRetardEtudiant", "ARetard:Ret", "E"),
        ("DateHeureRetardEtudiant", "ARetard:Ret", "dateTime"),
        ("DureeRetardEtudiant", "ARetard:Ret", "double"),
        ("RetardEtudiantEstJustifie", "ARetard:Ret", "boolean"),
        ("MotifRetardEtudiant", "ARetard:Ret", "string"),
        ("TousLesMotifs", "", "TStr"),
        ("PresenceObligatoireCours", "ACours:C", "boolean"),
        ("ModifierPresenceObligatoireCours", "ACours:C APresenceObligatoire:boolean", ""),
        ("AppelTermineCours", "ACours:C ASemaine:W", "boolean"),
        ("ModifierAppelTermineCours", "ACours:C ASemaine:W AAppelTermine:boolean", ""),
    ),
}

# Named answers instead of one `return` (Delphi out parameters).
_OUTS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "HpSvcWDureeEnHeureMinute": (("AHeure", "int"), ("AMinute", "int")),
}

# With learner management off, these interfaces and calls fault (§9).
LEARNER_INTERFACES: Final = frozenset(
    {"IHpSvcWEtudiants", "IHpSvcWAbsences", "IHpSvcWDispenses", "IHpSvcWStages"}
)
_LEARNER_CALLS: Final = frozenset(
    {
        "CoursEtudiantEntre2Dates",
        "EtudiantsDuCours",
        "EtudiantsDeLaPromotion",
        "EtudiantsDuTDOption",
        "RubriquesDeLEtudiantDeFamille",
    }
)


def _build() -> dict[str, Operation]:
    out: dict[str, Operation] = {}
    for interface, rows in _TABLE.items():
        for name, params, answer in rows:
            if name in out:
                raise ValueError(f"operation {name} is declared twice")
            op = Operation(
                name,
                interface,
                _params(params),
                _SHORT.get(answer, answer) or None,
                _OUTS.get(name, ()),
            )
            for type_name in (*(t for _, t in op.params), *(t for _, t in op.outs)):
                if not is_known(type_name):
                    raise ValueError(f"{name}: unknown type {type_name}")
            if op.result is not None and not is_known(op.result):
                raise ValueError(f"{name}: unknown type {op.result}")
            out[name] = op
    return out


OPERATIONS: Final[dict[str, Operation]] = _build()
INTERFACES: Final[tuple[str, ...]] = tuple(_TABLE)


def needs_learner_module(op: Operation) -> bool:
    """Whether the call belongs to learner management (faults while it is switched off)."""
    return op.interface in LEARNER_INTERFACES or op.name in _LEARNER_CALLS


_WRITE_PREFIXES: Final = ("Ajouter", "Enlever", "Creer", "Modifier")


def is_write(op: Operation) -> bool:
    """Whether the call changes the base (refused for a user without write rights)."""
    return op.name.startswith(_WRITE_PREFIXES)


def operations_of(interface: str) -> tuple[Operation, ...]:
    """The operations of one interface, in table order."""
    return tuple(op for op in OPERATIONS.values() if op.interface == interface)
