"""What a synthetic school is drawn from: sizes, formations, subjects, names, rooms, day templates.

Static catalogues only, parsed once at import; `school_plan.py`, `school_people.py` and
`school_timetable.py` draw from them with seeded generators. `email_slug` spells a name as an
e-mail local part, `subject_code` gives a subject's OneRoster code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal, get_args

Size = Literal["small", "medium", "large"]
SIZES: tuple[Size, ...] = get_args(Size)

STUDY_SUBJECT = "Étude dirigée"


def _words(text: str) -> tuple[str, ...]:
    """A comma-separated catalogue as a tuple of stripped entries."""
    return tuple(word.strip() for word in text.split(",") if word.strip())


@dataclass(frozen=True, slots=True)
class Formation:
    """A programme (BTS, Bachelor, CAP…): its levels, subjects and employers' trades."""

    short: str
    levels: tuple[int, ...]
    subjects: tuple[str, ...]
    trades: tuple[str, ...]


def _formations(text: str) -> tuple[Formation, ...]:
    out = []
    for line in text.strip().splitlines():
        short, levels, subjects, trades = (part.strip() for part in line.split("|"))
        out.append(
            Formation(
                short,
                tuple(int(level) for level in levels.split()),
                tuple(s.strip() for s in subjects.split(";")),
                tuple(t.strip() for t in trades.split(";")),
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Profile:
    """The exact counts and shape of one school size."""

    learners: int
    groups: int
    instructors: int
    sessions: int
    study_groups: int  # teacher-less "étude dirigée" groups
    groups_per_cohort: int
    cities: tuple[str, ...]
    rhythms: tuple[str, ...]  # cycled over teaching groups; the first is always full time


PROFILES: dict[Size, Profile] = {
    "small": Profile(60, 4, 8, 600, 1, 1, ("Paris",), ("5j", "1/3", "2/4")),
    "medium": Profile(400, 20, 30, 3_000, 2, 2, ("Paris", "Lyon"), (
        "5j", "5j", "1/3", "2j-lm", "1/3", "1/2", "2j-jv", "2/4",
    )),
    "large": Profile(3_000, 150, 200, 60_000, 4, 5, ("Paris", "Lyon"), (
        "5j", "1/2", "4j", "2/4", "5j", "2j-lm", "5j", "1/2",
    )),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Rhythm:
    """When a group is at school: weekdays, and weeks on within a period of weeks."""

    label: str
    is_apprenticeship: bool
    weekdays: tuple[int, ...]
    period_weeks: int
    weeks_on: int


ALL_WEEK = (0, 1, 2, 3, 4)
RHYTHMS: dict[str, Rhythm] = {
    "5j": Rhythm("temps plein", False, ALL_WEEK, 1, 1),
    "4j": Rhythm("temps plein, mercredi libre", False, (0, 1, 3, 4), 1, 1),
    "1/2": Rhythm("alternance, une semaine sur deux", True, ALL_WEEK, 2, 1),
    "1/3": Rhythm("alternance, une semaine sur trois", True, ALL_WEEK, 3, 1),
    "2/4": Rhythm("alternance, deux semaines sur quatre", True, ALL_WEEK, 4, 2),
    "2j-lm": Rhythm("alternance, lundi et mardi en formation", True, (0, 1), 1, 1),
    "2j-jv": Rhythm("alternance, jeudi et vendredi en formation", True, (3, 4), 1, 1),
}

# Subjects: name -> (code, weekly weight). No commas: OneRoster lists are comma-separated.
SUBJECTS: dict[str, tuple[str, int]] = {
    "Anglais professionnel": ("ANG-PRO", 2),
    "Culture générale et expression": ("CGE", 2),
    "Mathématiques": ("MATH", 2),
    "Gestion de projet": ("GPRO", 2),
    "Culture économique juridique et managériale": ("CEJM", 3),
    "Support et mise à disposition de services informatiques": ("SISR-SUP", 4),
    "Développement d'applications": ("SLAM-DEV", 4),
    "Cybersécurité des services informatiques": ("CYBER", 2),
    "Administration des systèmes et réseaux": ("ASR", 3),
    "Développement de la relation client": ("DRC", 4),
    "Animation et dynamisation de l'offre commerciale": ("ADOC", 3),
    "Gestion opérationnelle": ("GOP", 3),
    "Relation client et négociation-vente": ("RCNV", 4),
    "Relation client à distance et digitalisation": ("RCDD", 3),
    "Comptabilité générale": ("COMPTA", 4),
    "Fiscalité": ("FISC", 3),
    "Contrôle de gestion": ("CDG", 3),
    "Droit du travail": ("DRT", 3),
    "Gestion de la paie": ("PAIE", 3),
    "Recrutement et marque employeur": ("RECRUT", 3),
    "Communication interne": ("COM-INT", 2),
    "Marketing digital": ("MKT-DIG", 4),
    "Référencement naturel (SEO)": ("SEO", 2),
    "Réseaux sociaux et community management": ("RS-CM", 3),
    "Analyse de données marketing": ("DATA-MKT", 2),
    "Commerce international": ("COM-INTL", 4),
    "Logistique internationale": ("LOG-INTL", 3),
    "Espagnol des affaires": ("ESP", 2),
    "Négociation interculturelle": ("NEGO", 2),
    "Techniques culinaires": ("CUIS", 6),
    "Hygiène et sécurité alimentaire": ("HSA", 2),
    "Techniques pâtissières": ("PATIS", 6),
    "Technologie professionnelle": ("TECHNO", 2),
    "Arts appliqués": ("ARTS", 1),
    "Français": ("FRA", 2),
    "Histoire-géographie": ("HG", 1),
    "Prévention santé environnement": ("PSE", 1),
    "Anglais": ("ANG", 1),
    "Techniques de coiffure": ("COIF", 6),
    "Sciences appliquées": ("SCI-APP", 2),
    "Gestion d'un salon": ("GEST-SAL", 2),
    "Développement front-end": ("FRONT", 4),
    "Développement back-end": ("BACK", 4),
    "Bases de données": ("BDD", 3),
    "Management d'équipe": ("MGT", 3),
    "Finance d'entreprise": ("FIN", 3),
    "Stratégie d'entreprise": ("STRAT", 3),
    "Méthodes agiles": ("AGILE", 2),
    "Logistique et supply chain": ("SCM", 4),
    "Transport et douane": ("DOUANE", 3),
    "Qualité et sécurité": ("QHSE", 2),
    "Vente et conseil": ("VENTE", 4),
    "Économie-droit": ("ECO-DROIT", 2),
    STUDY_SUBJECT: ("ETUDE", 1),
}

# Formations, one per line: short name (family:Formation) | levels | subjects | employers' trades.
_FORMATIONS_TEXT = """
BTS SIO | 1 2 | Mathématiques; Anglais professionnel; Culture générale et expression; Culture \
économique juridique et managériale; Développement d'applications; Support et mise à disposition \
de services informatiques; Cybersécurité des services informatiques; Administration des systèmes \
et réseaux | ESN; Agence web; Infogérance
BTS MCO | 1 2 | Anglais professionnel; Culture générale et expression; Culture économique \
juridique et managériale; Développement de la relation client; Animation et dynamisation de \
l'offre commerciale; Gestion opérationnelle | Magasin; Supermarché; Boutique
BTS NDRC | 1 2 | Anglais professionnel; Culture générale et expression; Culture économique \
juridique et managériale; Relation client et négociation-vente; Relation client à distance et \
digitalisation | Agence; Concession; Cabinet
BTS CG | 1 2 | Anglais professionnel; Mathématiques; Culture générale et expression; Comptabilité \
générale; Fiscalité; Contrôle de gestion | Cabinet comptable; Fiduciaire
Bachelor RH | 1 2 3 | Droit du travail; Gestion de la paie; Recrutement et marque employeur; \
Anglais professionnel; Gestion de projet; Communication interne | Groupe; Cabinet de recrutement; \
Mutuelle
Bachelor Marketing digital | 1 2 3 | Marketing digital; Référencement naturel (SEO); Réseaux \
sociaux et community management; Analyse de données marketing; Anglais professionnel; Gestion de \
projet | Agence web; Studio; Agence
Bachelor Commerce international | 1 2 3 | Commerce international; Logistique internationale; \
Anglais professionnel; Espagnol des affaires; Négociation interculturelle | Import-Export; \
Transports; Négoce
CAP Cuisine | 1 2 | Techniques culinaires; Hygiène et sécurité alimentaire; Français; \
Mathématiques; Prévention santé environnement; Histoire-géographie; Anglais | Restaurant; \
Brasserie; Hôtel
CAP Pâtissier | 1 2 | Techniques pâtissières; Technologie professionnelle; Français; \
Mathématiques; Prévention santé environnement; Arts appliqués | Pâtisserie; Boulangerie; \
Salon de thé
BP Coiffure | 1 2 | Techniques de coiffure; Sciences appliquées; Gestion d'un salon; Français; \
Anglais | Salon; Coiffure
Titre pro Développeur web | 1 | Développement front-end; Développement back-end; Bases de données; \
Gestion de projet; Anglais professionnel | ESN; Start-up
Master Management de projet | 1 2 | Gestion de projet; Management d'équipe; Finance d'entreprise; \
Stratégie d'entreprise; Anglais professionnel; Méthodes agiles | Groupe; Conseil
Licence pro Logistique | 1 | Logistique et supply chain; Transport et douane; Qualité et \
sécurité; Anglais professionnel; Gestion de projet | Transports; Entrepôts; Logistique
Bac pro Commerce | 1 2 3 | Vente et conseil; Français; Mathématiques; Histoire-géographie; \
Anglais; Économie-droit; Prévention santé environnement | Magasin; Supermarché; Jardinerie
"""

FIRST_NAMES = _words("""
Léa, Chloé, Emma, Inès, Manon, Camille, Sarah, Zoé, Anaïs, Océane, Maëlys, Louise, Jade, Hélène,
Cécile, Aurélie, Élodie, Gaëlle, Thérèse, Lucie, Marie, Yasmine, Fatou, Aïcha, Julie, Pauline,
Noémie, Clémence, Lina, Amélie, Hugo, Lucas, Théo, Noé, Raphaël, Maël, Loïc, Jérôme, François,
Frédéric, Benoît, Clément, Aurélien, Mathis, Nathan, Enzo, Karim, Mehdi, Moussa, Thomas, Antoine,
Julien, Nicolas, Paul, Louis, Jean-Baptiste, Marc-Antoine, Anne-Sophie, Pierre, Yanis, Adrien,
Baptiste
""")
LAST_NAMES = _words("""
Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau, Simon, Laurent,
Lefèvre, Michel, Garcia, David, Bertrand, Roux, Vincent, Fournier, Morel, Girard, André, Mercier,
Dupont, Lambert, Bonnet, François, Martinez, Legrand, Garnier, Faure, Rousseau, Blanc, Guérin,
Muller, Henry, Roussel, Nicolas, Perrin, Morin, Mathieu, Clément, Gauthier, Dumont, Lopez,
Fontaine, Chevalier, Robin, Masson, Sanchez, Gérard, Nguyen, Boyer, Denis, Lemaire, Duval, Joly,
Gautier, Roger, Roche, Roy, Noël, Meyer, Lucas, Meunier, Jean, Perez, Marchand, Dufour, Blanchard,
Barbier, Brun, Dumas, Brunet, Schmitt, Leroux, Colin, Fernandes, Le Goff, Da Silva, Benali,
Traoré, Diallo, Kowalski, Le Gall, Lévêque, Ménard, Prévost, Bénard, Barthélemy, Lemaître, Hoarau,
Payet, Étienne, De Oliveira, Haddad
""")
# Hard names planted on purpose: (first, last, e-mail local part when the name has no Latin form).
PLANTED_NAMES: tuple[tuple[str, str, str | None], ...] = (
    ("Éloïse", "N'Diaye", None),
    ("Hervé-Joël", "Le Bihan", None),
    ("Ægir", "Østergaard", None),
    ("小明", "王", "xiaoming.wang"),
    ("さくら", "佐藤", "sakura.sato"),
    ("Zoë", "D'Arcy-Lefèvre", None),
    ("Maëlys", "Çelik", None),
    ("Łukasz", "Wiśniewski", None),
)
SCHOOLS = (
    ("CFA Horizon", "cfa-horizon"),
    ("Institut Condorcet", "institut-condorcet"),
    ("École Supérieure Vauban", "esvauban"),
    ("Campus Lumière", "campus-lumiere"),
)
ROOM_NAMES = _words("""
Turing, Curie, Lovelace, Pasteur, Hugo, Voltaire, Colette, Descartes, Pascal, Molière, Sand,
Jaurès, Zola, Monet, Rousseau, Camus, Lavoisier, Gay-Lussac, Ampère, Fermat, Laplace, Montesquieu,
Diderot, Becquerel, Champollion, Braille, Lumière, Eiffel, Vauban, Condorcet, Sorbon, Cassin, Veil,
Senghor, Césaire, Debussy, Ravel, Rodin, Matisse, Cézanne
""")

# Day templates, one per line: slots in local time, each lasting 1.5 to 4 hours.
_TEMPLATE_TEXT = """
08:30-12:00
09:00-12:30
13:30-17:00
08:30-12:30
14:00-17:30
08:30-12:00 13:30-17:00
09:00-12:30 13:30-17:30
08:00-12:00 13:00-17:00
08:30-10:30 10:45-12:45
09:00-12:00 14:00-16:00
08:30-10:30 10:45-12:45 14:00-17:30
08:00-10:00 10:15-12:15 13:30-16:30
09:00-12:00 13:30-15:30 15:45-17:45
08:30-12:00 13:30-15:00 15:15-17:15
08:30-10:30 10:45-12:15 13:30-15:30 15:45-17:45
08:00-10:00 10:15-12:15 13:15-15:15 15:30-17:30
08:30-10:00 10:15-12:15 13:30-15:00 15:15-17:15
08:00-09:30 09:45-11:15 11:30-13:00 14:00-15:30 15:45-17:15
08:30-10:00 10:15-11:45 12:00-13:30 14:00-15:30 15:45-17:15
"""

MAX_SESSIONS_PER_DAY = 5
_DST_START_MINUTE = 8 * 60 + 30


Slots = tuple[tuple[int, int], ...]


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _templates(first_start: int | None = None) -> dict[int, tuple[Slots, ...]]:
    """Day templates by number of slots, optionally only those starting at `first_start`."""
    out: dict[int, tuple[Slots, ...]] = {}
    for text in _TEMPLATE_TEXT.strip().splitlines():
        slots = tuple(
            (_minutes(a), _minutes(b)) for a, b in (part.split("-") for part in text.split())
        )
        if first_start is None or slots[0][0] == first_start:
            out[len(slots)] = (*out.get(len(slots), ()), slots)
    return out


FORMATIONS = _formations(_FORMATIONS_TEXT)
TEMPLATES = _templates()
DST_TEMPLATES = _templates(_DST_START_MINUTE)


def subject_code(subject: str) -> str:
    """The short code of a subject (OneRoster `subjectCodes`), e.g. `ANG-PRO`."""
    return SUBJECTS.get(subject, (subject.upper(), 1))[0]


_SPECIAL_LETTERS = str.maketrans(
    {
        "Æ": "AE",
        "æ": "ae",
        "Ø": "O",
        "ø": "o",
        "Œ": "OE",
        "œ": "oe",
        "ß": "ss",
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "'": "",
        "’": "",
    }
)
_NOT_SLUG = re.compile(r"[^a-z0-9-]+")


def email_slug(text: str) -> str:
    """Lowercase ASCII for an e-mail local part: `Hervé-Joël` → `herve-joel`, `N'Diaye` → `ndiaye`.

    Letters that do not decompose (`Æ`, `Ø`, `Ł`, `ß`) are spelled out; apostrophes, spaces
    and non-Latin scripts vanish, so a name may give an empty slug.
    """
    ascii_text = unicodedata.normalize("NFKD", text.translate(_SPECIAL_LETTERS)).encode(
        "ascii", "ignore"
    )
    return _NOT_SLUG.sub("", ascii_text.decode().lower().replace(" ", "")).strip("-")
