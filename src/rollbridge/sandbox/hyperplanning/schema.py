"""The XML Schema types of the emulated HPSW: keys, weeks, arrays, records, enumerations.

Shapes follow shared/apis/hyperplanning.md §4: one integer key type per entity
(`THpSvcWCleCours`…), arrays as wrappers with ONE repeated child named after the item type
(`THpSvcWTableauClesCours` → `THpSvcWCleCours`, `THpSvcWTableauChaines` → `string`), and two
records (`THpSvcWTypeSeance`, `THpSvcWTypeMaitre`). A type is named by a string: `xsd:`
types by their XSD local name (`string`, `date`…), ours by their `THpSvcW…` name.
"""

from __future__ import annotations

from typing import Final

# The namespace is not confirmed for real servers (§2, §12); the vendor's Java sample package
# `com.indexeducation.frahtm.hpsvcw` suggests this one. Clients must read it from the WSDL.
TNS: Final = "http://www.indexeducation.com/frahtm/hpsvcw"
XSD: Final = "http://www.w3.org/2001/XMLSchema"
SOAP_ENV: Final = "http://schemas.xmlsoap.org/soap/envelope/"

# Entity -> plural used in the array name (`THpSvcWTableauClesEtudiants`).
KEY_ENTITIES: Final[dict[str, str]] = {
    "Cours": "Cours",
    "Etudiant": "Etudiants",
    "Enseignant": "Enseignants",
    "Salle": "Salles",
    "Matiere": "Matieres",
    "Famille": "Familles",
    "Rubrique": "Rubriques",
    "Promotion": "Promotions",
    "TDOption": "TDOptions",
    "AbsenceEtudiant": "AbsencesEtudiant",
    "RetardEtudiant": "RetardsEtudiant",
}

KEY_TYPES: Final = frozenset(f"THpSvcWCle{entity}" for entity in KEY_ENTITIES)
WEEK: Final = "THpSvcWSemaine"
GENRE: Final = "THpSvcWGenreFamille"

# Genres of families (§5, `AGenre`).
GENRES: Final = (
    "gfAppariteur", "gfCalendrier", "gfContacts", "gfCours", "gfCursus", "gfEnseignant",
    "gfEntreprise", "gfEtudiant", "gfMatiere", "gfModule", "gfPanneauLumieux",
    "gfPeriodeNotation", "gfPromotion", "gfRegroupement", "gfSalle", "gfType",
)  # fmt: skip

XSD_TYPES: Final = frozenset({"string", "boolean", "double", "int", "date", "dateTime"})

SEANCE: Final = "THpSvcWTypeSeance"
MAITRE: Final = "THpSvcWTypeMaitre"

# Wrapper type -> item type; the item element is named after the item type.
ARRAYS: Final[dict[str, str]] = {
    **{
        f"THpSvcWTableauCles{plural}": f"THpSvcWCle{entity}"
        for entity, plural in KEY_ENTITIES.items()
    },
    "THpSvcWTableauSemaines": WEEK,
    "THpSvcWTableauChaines": "string",
    "THpSvcWTableauBooleens": "boolean",
    "THpSvcWTableauSeances": SEANCE,
    "THpSvcWTableauMaitres": MAITRE,
}

# Record type -> its fields, in order.
RECORDS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    SEANCE: (
        ("Cours", "THpSvcWCleCours"),
        ("Semaine", WEEK),
        ("JourEtHeureDebut", "dateTime"),  # local wall-clock time labelled Z (§4)
        ("Duree", "double"),  # a fraction of a day (Delphi TDateTime)
        ("Matiere", "THpSvcWCleMatiere"),
        ("TypeCours", "string"),
        ("TableauSalle", "THpSvcWTableauClesSalles"),
        ("TableauEnseignant", "THpSvcWTableauClesEnseignants"),
    ),
    MAITRE: (
        ("Nom", "string"),
        ("Prenom", "string"),
        ("EMail", "string"),
        ("Entreprise", "string"),
    ),
}


def keys_of(entity: str) -> str:
    """The array type of an entity's keys: `Cours` -> `THpSvcWTableauClesCours`."""
    return f"THpSvcWTableauCles{KEY_ENTITIES[entity]}"


def is_integer(type_name: str) -> bool:
    """Whether values of the type travel as integers (keys, weeks, `int`)."""
    return type_name in KEY_TYPES or type_name in (WEEK, "int")


def is_known(type_name: str) -> bool:
    """Whether the schema defines (or XSD provides) the type."""
    return (
        type_name in XSD_TYPES
        or is_integer(type_name)
        or type_name == GENRE
        or type_name in ARRAYS
        or type_name in RECORDS
    )
