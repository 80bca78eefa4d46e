"""A synthetic French school (CFA / business school), deterministic from a seed.

`generate_school(seed, size, year_start=...)` builds canonical records (`model.py`) for one
school year: learners, instructors, apprenticeship tutors (maîtres d'apprentissage),
groups, memberships, tutor links and dated sessions, plus the planted problems real data
has (`Quirks`). The emulators, the demo, the tests and the benchmarks all start from it;
`school_files.py` writes it as a OneRoster 1.2 bundle, a sessions CSV and an iCalendar file.

The calendar is the school's own: weekdays from `year_start` to 30 June, minus public
holidays (jours fériés) and four breaks shaped on the French zone C dates — a one-week
Toussaint break placed after the October DST change (private schools and CFAs set their
own), two weeks at Christmas, in February and in April. Every session is planned in local
wall-clock time in `tz` and stored in UTC through `timeconv.local_to_utc`; the last open
day before and the first open day after each offset change of `tz` (both DST changes for
Europe/Paris) always hold sessions starting at 08:30 local time (`Quirks.dst_days`). That
is the Friday before and the Monday after, unless a public holiday intervenes: Easter
Monday 29 March 2027 follows the March 2027 change, so that year's "after" day is Tuesday.

Sizes (exact counts, given the profile): small 60 learners / 4 groups / 8 instructors /
600 sessions; medium 400 / 20 / 30 / 3,000; large 3,000 / 150 / 200 / 60,000; tutors are a
third of the learner count. Groups include teacher-less "Étude dirigée" groups (1, 2, 4)
whose sessions (1 % of all) have no instructor.

Ids are stable strings: `usr-l00001` (learners), `usr-i00001` (instructors),
`usr-t00001` (tutors), `cls-0001` (groups), `ses-000001` (sessions), `site-paris` (sites).
Nothing iterates over a set while generating, so output does not depend on hash seeds.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from rollbridge.model import (
    Attrs,
    Group,
    Membership,
    Person,
    Session,
    TutorLink,
    attrs_of,
)
from rollbridge.timeconv import ONE_DAY, local_to_utc

Size = Literal["small", "medium", "large"]
SIZES: tuple[Size, ...] = get_args(Size)

STUDY_SUBJECT = "Étude dirigée"


@dataclass(frozen=True, slots=True)
class Site:
    """One campus: an OneRoster `school` org and the `org` routing attribute value."""

    org_id: str
    city: str
    name: str


@dataclass(frozen=True, slots=True)
class Holiday:
    """A school break, inclusive of the surrounding weekends."""

    name: str
    first_on: date
    last_on: date


@dataclass(frozen=True, slots=True)
class Quirks:
    """The problems planted in the school, by id, so tests can look for each one."""

    invalid_email_learner_ids: tuple[str, ...]
    sessions_without_instructor_ids: tuple[str, ...]
    exempt_pairs: tuple[tuple[str, str], ...]  # (session_id, learner_id)
    unicode_name_ids: tuple[str, ...]  # names beyond plain ASCII letters and spaces
    dst_session_ids: tuple[str, ...]
    dst_days: tuple[date, ...]  # open day before / after each offset change, in order


@dataclass(frozen=True, slots=True)
class SyntheticSchool:
    """One generated school year: canonical records plus what a test needs to know."""

    name: str
    domain: str
    tz: ZoneInfo
    year_start: date
    year_end: date
    sites: tuple[Site, ...]
    holidays: tuple[Holiday, ...]
    public_holidays: tuple[date, ...]
    people: tuple[Person, ...]
    groups: tuple[Group, ...]
    sessions: tuple[Session, ...]
    memberships: tuple[Membership, ...]
    tutor_links: tuple[TutorLink, ...]
    quirks: Quirks

    @property
    def school_year(self) -> str:
        """The year label, e.g. `2026-2027`."""
        return f"{self.year_start.year}-{self.year_start.year + 1}"

    def is_open(self, day: date) -> bool:
        """Whether the school teaches on `day` (a weekday outside breaks and public holidays)."""
        if day.weekday() >= 5 or not self.year_start <= day <= self.year_end:
            return False
        if day in self.public_holidays:
            return False
        return not any(h.first_on <= day <= h.last_on for h in self.holidays)


def school_counts(school: SyntheticSchool) -> dict[str, int]:
    """Records per kind, for reports and benchmarks."""
    roles = [person.role for person in school.people]
    return {
        "learners": roles.count("learner"),
        "instructors": roles.count("instructor"),
        "tutors": roles.count("tutor"),
        "groups": len(school.groups),
        "sessions": len(school.sessions),
        "memberships": len(school.memberships),
        "tutor_links": len(school.tutor_links),
    }


# --- catalogues --------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    """A comma-separated catalogue as a tuple of stripped entries."""
    return tuple(word.strip() for word in text.split(",") if word.strip())


@dataclass(frozen=True, slots=True)
class _Formation:
    short: str
    levels: tuple[int, ...]
    subjects: tuple[str, ...]
    trades: tuple[str, ...]


def _formations(text: str) -> tuple[_Formation, ...]:
    out = []
    for line in text.strip().splitlines():
        short, levels, subjects, trades = (part.strip() for part in line.split("|"))
        out.append(
            _Formation(
                short,
                tuple(int(level) for level in levels.split()),
                tuple(s.strip() for s in subjects.split(";")),
                tuple(t.strip() for t in trades.split(";")),
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _Profile:
    learners: int
    groups: int
    instructors: int
    sessions: int
    study_groups: int  # teacher-less "étude dirigée" groups
    groups_per_cohort: int
    cities: tuple[str, ...]
    rhythms: tuple[str, ...]  # cycled over teaching groups; the first is always full time


_PROFILES: dict[Size, _Profile] = {
    "small": _Profile(60, 4, 8, 600, 1, 1, ("Paris",), ("5j", "1/3", "2/4")),
    "medium": _Profile(400, 20, 30, 3_000, 2, 2, ("Paris", "Lyon"), (
        "5j", "5j", "1/3", "2j-lm", "1/3", "1/2", "2j-jv", "2/4",
    )),
    "large": _Profile(3_000, 150, 200, 60_000, 4, 5, ("Paris", "Lyon"), (
        "5j", "1/2", "4j", "2/4", "5j", "2j-lm", "5j", "1/2",
    )),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Rhythm:
    label: str
    is_apprenticeship: bool
    weekdays: tuple[int, ...]
    period_weeks: int
    weeks_on: int


_ALL_WEEK = (0, 1, 2, 3, 4)
_RHYTHMS: dict[str, _Rhythm] = {
    "5j": _Rhythm("temps plein", False, _ALL_WEEK, 1, 1),
    "4j": _Rhythm("temps plein, mercredi libre", False, (0, 1, 3, 4), 1, 1),
    "1/2": _Rhythm("alternance, une semaine sur deux", True, _ALL_WEEK, 2, 1),
    "1/3": _Rhythm("alternance, une semaine sur trois", True, _ALL_WEEK, 3, 1),
    "2/4": _Rhythm("alternance, deux semaines sur quatre", True, _ALL_WEEK, 4, 2),
    "2j-lm": _Rhythm("alternance, lundi et mardi en formation", True, (0, 1), 1, 1),
    "2j-jv": _Rhythm("alternance, jeudi et vendredi en formation", True, (3, 4), 1, 1),
}

# Subjects: name -> (code, weekly weight). No commas: OneRoster lists are comma-separated.
_SUBJECTS: dict[str, tuple[str, int]] = {
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

_FIRST_NAMES = _words("""
Léa, Chloé, Emma, Inès, Manon, Camille, Sarah, Zoé, Anaïs, Océane, Maëlys, Louise, Jade, Hélène,
Cécile, Aurélie, Élodie, Gaëlle, Thérèse, Lucie, Marie, Yasmine, Fatou, Aïcha, Julie, Pauline,
Noémie, Clémence, Lina, Amélie, Hugo, Lucas, Théo, Noé, Raphaël, Maël, Loïc, Jérôme, François,
Frédéric, Benoît, Clément, Aurélien, Mathis, Nathan, Enzo, Karim, Mehdi, Moussa, Thomas, Antoine,
Julien, Nicolas, Paul, Louis, Jean-Baptiste, Marc-Antoine, Anne-Sophie, Pierre, Yanis, Adrien,
Baptiste
""")
_LAST_NAMES = _words("""
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
_PLANTED_NAMES: tuple[tuple[str, str, str | None], ...] = (
    ("Éloïse", "N'Diaye", None),
    ("Hervé-Joël", "Le Bihan", None),
    ("Ægir", "Østergaard", None),
    ("小明", "王", "xiaoming.wang"),
    ("さくら", "佐藤", "sakura.sato"),
    ("Zoë", "D'Arcy-Lefèvre", None),
    ("Maëlys", "Çelik", None),
    ("Łukasz", "Wiśniewski", None),
)
_SCHOOLS = (
    ("CFA Horizon", "cfa-horizon"),
    ("Institut Condorcet", "institut-condorcet"),
    ("École Supérieure Vauban", "esvauban"),
    ("Campus Lumière", "campus-lumiere"),
)
_ROOM_NAMES = _words("""
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


_Slots = tuple[tuple[int, int], ...]


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _templates(first_start: int | None = None) -> dict[int, tuple[_Slots, ...]]:
    """Day templates by number of slots, optionally only those starting at `first_start`."""
    out: dict[int, tuple[_Slots, ...]] = {}
    for text in _TEMPLATE_TEXT.strip().splitlines():
        slots = tuple(
            (_minutes(a), _minutes(b)) for a, b in (part.split("-") for part in text.split())
        )
        if first_start is None or slots[0][0] == first_start:
            out[len(slots)] = (*out.get(len(slots), ()), slots)
    return out


_FORMATIONS = _formations(_FORMATIONS_TEXT)
_TEMPLATES = _templates()
_DST_TEMPLATES = _templates(_DST_START_MINUTE)


def subject_code(subject: str) -> str:
    """The short code of a subject (OneRoster `subjectCodes`), e.g. `ANG-PRO`."""
    return _SUBJECTS.get(subject, (subject.upper(), 1))[0]


# --- calendar -----------------------------------------------------------------------------


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (Meeus/Jones/Butcher), for Easter Monday and Ascension."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _monday_on_or_after(day: date) -> date:
    return day + timedelta(days=-day.weekday() % 7)


def _nth_monday(year: int, month: int, n: int) -> date:
    return _monday_on_or_after(date(year, month, 1)) + timedelta(weeks=n - 1)


def school_calendar(year_start: date) -> tuple[tuple[Holiday, ...], tuple[date, ...]]:
    """The breaks and public holidays of the school year starting on `year_start`."""
    y1, y2 = year_start.year, year_start.year + 1
    toussaint = _monday_on_or_after(date(y1, 11, 2))  # after the October DST change
    noel_back = _monday_on_or_after(date(y2, 1, 2))
    hiver = _nth_monday(y2, 2, 3)
    printemps = _nth_monday(y2, 4, 3)
    holidays = (
        Holiday(
            "Vacances de la Toussaint", toussaint - timedelta(days=2), toussaint + timedelta(days=6)
        ),
        Holiday("Vacances de Noël", noel_back - timedelta(days=16), noel_back - timedelta(days=1)),
        Holiday("Vacances d'hiver", hiver - timedelta(days=2), hiver + timedelta(days=13)),
        Holiday(
            "Vacances de printemps", printemps - timedelta(days=2), printemps + timedelta(days=13)
        ),
    )
    easter = easter_sunday(y2)
    public = (
        date(y1, 11, 1),
        date(y1, 11, 11),
        date(y1, 12, 25),
        date(y2, 1, 1),
        easter + timedelta(days=1),
        date(y2, 5, 1),
        date(y2, 5, 8),
        easter + timedelta(days=39),
        easter + timedelta(days=50),
    )
    return holidays, tuple(sorted(public))


def _open_days(
    year_start: date, year_end: date, holidays: Sequence[Holiday], public: Sequence[date]
) -> list[date]:
    closed = set(public)
    for holiday in holidays:
        closed.update(
            holiday.first_on + timedelta(days=i)
            for i in range((holiday.last_on - holiday.first_on).days + 1)
        )
    days = (year_start + timedelta(days=i) for i in range((year_end - year_start).days + 1))
    return [day for day in days if day.weekday() < 5 and day not in closed]


def offset_changes(tz: ZoneInfo, first_on: date, last_on: date) -> tuple[datetime, ...]:
    """The UTC instants (to the quarter hour) where `tz` changes its offset between two dates."""
    out: list[datetime] = []
    day = datetime.combine(first_on, time(12), UTC)
    while day.date() <= last_on:
        following = day + ONE_DAY
        if day.astimezone(tz).utcoffset() != following.astimezone(tz).utcoffset():
            moment = day
            while moment.astimezone(tz).utcoffset() == day.astimezone(tz).utcoffset():
                moment += timedelta(minutes=15)
            out.append(moment)
        day = following
    return tuple(out)


def _dst_days(open_days: Sequence[date], tz: ZoneInfo) -> tuple[date, ...]:
    """The open day right before and right after each offset change (DST) of the year.

    Changes are looked for from 1 July, so a year starting after the October change is
    refused rather than silently missing it.
    """
    out: list[date] = []
    for change in offset_changes(tz, date(open_days[0].year, 7, 1), open_days[-1]):
        local_day = change.astimezone(tz).date()
        before = [day for day in open_days if day < local_day]
        after = [day for day in open_days if day > local_day]
        if not before or not after:
            raise ValueError(f"the school year must span the {tz.key} offset change of {local_day}")
        out += [before[-1], after[0]]
    return tuple(out)


# --- people -------------------------------------------------------------------------------

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
_PLAIN_NAME = re.compile(r"[A-Za-z ]*")


def email_slug(text: str) -> str:
    """Lowercase ASCII for an e-mail local part: `Hervé-Joël` → `herve-joel`, `N'Diaye` → `ndiaye`.

    Letters that do not decompose (`Æ`, `Ø`, `Ł`, `ß`) are spelled out; apostrophes, spaces
    and non-Latin scripts vanish, so a name may give an empty slug.
    """
    ascii_text = unicodedata.normalize("NFKD", text.translate(_SPECIAL_LETTERS)).encode(
        "ascii", "ignore"
    )
    return _NOT_SLUG.sub("", ascii_text.decode().lower().replace(" ", "")).strip("-")


class _Emails:
    """Hands out unique addresses, numbering homonyms (`lea.martin2@…`)."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def take(self, local: str, domain: str) -> str:
        """A free address for `local@domain`, numbered if taken."""
        n, candidate = 1, local
        while f"{candidate}@{domain}" in self._taken:
            n += 1
            candidate = f"{local}{n}"
        address = f"{candidate}@{domain}"
        self._taken.add(address)
        return address


def _phone(rng: random.Random) -> str:
    return f"+33{rng.choice('67')}{rng.randrange(10**8):08d}"


# --- generation ---------------------------------------------------------------------------


@dataclass(slots=True)
class _GroupPlan:
    """Working state for one group while generating (mutable, private)."""

    index: int
    record: Group
    site: int
    rhythm: _Rhythm | None  # None: a study group following its parent's days
    subjects: tuple[str, ...]
    cum_weights: tuple[int, ...]
    learner_ids: list[str]
    trades: tuple[str, ...]  # the kinds of employers of its apprentices
    parent: int | None = None
    home_room: int = 0
    day_counts: dict[int, int] | None = None  # open-day index -> sessions that day
    study_days: frozenset[int] = frozenset()  # days whose last slot goes to the study group


def generate_school(
    seed: int,
    size: Size,
    *,
    year_start: date,
    tz: ZoneInfo = ZoneInfo("Europe/Paris"),
) -> SyntheticSchool:
    """Build a whole school year, deterministically from (seed, size, year_start)."""
    if size not in _PROFILES:
        raise ValueError(f"unknown size {size!r}: use one of {', '.join(SIZES)}")
    if year_start.month < 7 or year_start.month > 10:
        raise ValueError(f"year_start {year_start} must fall between July and October")
    return _Generator(seed, _PROFILES[size], year_start, tz).run()


class _Generator:
    """One generation run; private, built and used once by `generate_school`."""

    def __init__(self, seed: int, profile: _Profile, year_start: date, tz: ZoneInfo) -> None:
        self.p = profile
        self.tz = tz
        self.year_start = year_start
        self.year_end = date(year_start.year + 1, 6, 30)
        self.key = f"rollbridge-school:{seed}:{profile.learners}:{year_start.isoformat()}"
        self.school_name, slug = self.rng("school").choice(_SCHOOLS)
        self.domain = f"{slug}.test"
        self.label = f"{year_start.year}-{year_start.year + 1}"
        self.holidays, self.public = school_calendar(year_start)
        self.days = _open_days(year_start, self.year_end, self.holidays, self.public)
        self.dst_days = _dst_days(self.days, tz)
        self.sites = tuple(
            Site(f"site-{email_slug(city)}", city, f"{self.school_name} — {city}")
            for city in profile.cities
        )
        self.site_attrs = [attrs_of({"org": s.org_id, "org_name": s.name}) for s in self.sites]
        self.emails = _Emails()

    def rng(self, part: str) -> random.Random:
        """A generator per concern, so changing one part leaves the others' output alone."""
        return random.Random(f"{self.key}:{part}")

    def run(self) -> SyntheticSchool:
        """Groups, then people, then teaching assignments and the day-by-day timetable."""
        groups = self._plan_groups()
        learners, invalid = self._make_learners(groups)
        tutors, links, learners = self._make_tutors(groups, learners)
        instructor_count = self.p.instructors
        assigned, specialists = self._assign_teachers(groups, instructor_count)
        self._allocate_sessions(groups)
        exemptions = self._plan_exemptions(groups)
        sessions, taught_sites = self._schedule(
            groups, assigned, specialists, exemptions, instructor_count
        )
        instructors = self._make_instructors(taught_sites)
        people = (*learners, *instructors, *tutors)
        memberships = tuple(
            Membership(lid, g.record.source_id) for g in groups for lid in g.learner_ids
        )
        dst = set(self.dst_days)
        quirks = Quirks(
            invalid_email_learner_ids=tuple(sorted(invalid)),
            sessions_without_instructor_ids=tuple(
                s.source_id for s in sessions if not s.instructor_ids
            ),
            exempt_pairs=tuple(
                (s.source_id, lid) for s in sessions for lid in s.exempt_learner_ids
            ),
            unicode_name_ids=tuple(
                p.source_id
                for p in people
                if not (_PLAIN_NAME.fullmatch(p.first_name) and _PLAIN_NAME.fullmatch(p.last_name))
            ),
            dst_session_ids=tuple(
                s.source_id for s in sessions if s.start_at.astimezone(self.tz).date() in dst
            ),
            dst_days=self.dst_days,
        )
        return SyntheticSchool(
            name=self.school_name,
            domain=self.domain,
            tz=self.tz,
            year_start=self.year_start,
            year_end=self.year_end,
            sites=self.sites,
            holidays=self.holidays,
            public_holidays=self.public,
            people=people,
            groups=tuple(g.record for g in groups),
            sessions=sessions,
            memberships=memberships,
            tutor_links=links,
            quirks=quirks,
        )

    # groups ---------------------------------------------------------------------------

    def _plan_groups(self) -> list[_GroupPlan]:
        """Teaching groups from shuffled cohorts (formation, level), then the study groups."""
        rng = self.rng("groups")
        teaching = self.p.groups - self.p.study_groups
        cohorts = [(f, level) for f in _FORMATIONS for level in f.levels]
        rng.shuffle(cohorts)
        chosen = cohorts[: min(len(cohorts), -(-teaching // self.p.groups_per_cohort))]
        per_cohort = [0] * len(chosen)
        for i in range(teaching):
            per_cohort[i % len(chosen)] += 1
        sizes = _split(self.p.learners, [rng.uniform(0.7, 1.3) for _ in range(teaching)])
        plans: list[_GroupPlan] = []
        learner_no = 0
        for (formation, level), count in zip(chosen, per_cohort, strict=True):
            short, subjects, trades = formation.short, formation.subjects, formation.trades
            for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:count]:
                index = len(plans)
                name = f"{short} {level}" + (f" — Groupe {letter}" if count > 1 else "")
                rhythm = _RHYTHMS[self.p.rhythms[index % len(self.p.rhythms)]]
                site = index % len(self.sites)
                members = [f"usr-l{learner_no + i + 1:05d}" for i in range(sizes[index])]
                learner_no += sizes[index]
                attrs = self.site_attrs[site] | attrs_of(
                    {
                        "family:Formation": short,
                        "family:Promotion": self.label,
                        "family:Rythme": "Alternance"
                        if rhythm.is_apprenticeship
                        else "Temps plein",
                    }
                )
                record = Group(
                    f"cls-{index + 1:04d}", name, f"{name} ({rhythm.label}), {self.label}", attrs
                )
                weights = [_SUBJECTS[s][1] for s in subjects]
                cum = tuple(sum(weights[: i + 1]) for i in range(len(weights)))
                plans.append(
                    _GroupPlan(index, record, site, rhythm, subjects, cum, members, trades)
                )
        # Study groups hang on full-time parents and use the parents' free last slot.
        parents = [
            g
            for g in plans
            if g.rhythm is not None
            and g.rhythm.weekdays == _ALL_WEEK
            and g.rhythm.period_weeks == 1
        ]
        for parent in parents[: self.p.study_groups]:
            index = len(plans)
            name = f"{STUDY_SUBJECT} — {parent.record.name}"
            members = sorted(rng.sample(parent.learner_ids, max(1, len(parent.learner_ids) // 2)))
            record = Group(
                f"cls-{index + 1:04d}",
                name,
                f"Travail en autonomie, sans formateur, {self.label}",
                parent.record.attrs,
            )
            plans.append(
                _GroupPlan(
                    index,
                    record,
                    parent.site,
                    None,
                    (STUDY_SUBJECT,),
                    (1,),
                    members,
                    (),
                    parent.index,
                )
            )
        return plans

    def _group_days(self, group: _GroupPlan) -> list[int]:
        """The open days (indexes) a group attends, following its rhythm."""
        rhythm = group.rhythm
        if rhythm is None:
            return []
        offset = self.rng(f"rhythm:{group.index}").randrange(rhythm.period_weeks)
        first_monday = self.days[0] - timedelta(days=self.days[0].weekday())
        out = []
        for i, day in enumerate(self.days):
            week = (day - first_monday).days // 7
            if (
                day.weekday() in rhythm.weekdays
                and (week + offset) % rhythm.period_weeks < rhythm.weeks_on
            ):
                out.append(i)
        return out

    # people ---------------------------------------------------------------------------

    def _make_learners(self, groups: list[_GroupPlan]) -> tuple[list[Person], list[str]]:
        """Learners with planted hard names and invalid e-mails; also the invalid ids."""
        rng = self.rng("learners")
        ids = [lid for g in groups if g.parent is None for lid in g.learner_ids]
        planted = dict(
            zip(rng.sample(range(len(ids)), len(_PLANTED_NAMES)), _PLANTED_NAMES, strict=True)
        )
        n_invalid = max(3, round(len(ids) * 0.005))
        invalid_at = set(rng.sample(sorted(set(range(len(ids))) - set(planted)), n_invalid))
        learners: list[Person] = []
        invalid: list[str] = []
        attrs_by_id = {
            lid: g.record.attrs for g in groups if g.parent is None for lid in g.learner_ids
        }
        for i, lid in enumerate(ids):
            first, last, local = planted.get(
                i, (rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES), None)
            )
            local = local or f"{email_slug(first)}.{email_slug(last)}"
            email: str | None = self.emails.take(local, self.domain)
            if i in invalid_at:
                kind = len(invalid) % 3
                email = (f"{local}@", f"{local}.{self.domain}", None)[kind]
                invalid.append(lid)
            learners.append(
                Person(
                    lid,
                    "learner",
                    first,
                    last,
                    email,
                    badge_id=f"{rng.getrandbits(32):08X}" if rng.random() < 0.7 else None,
                    phone=_phone(rng) if rng.random() < 0.6 else None,
                    file_number=f"{self.year_start.year}{i + 1:05d}",
                    attrs=attrs_by_id[lid],
                )
            )
        return learners, invalid

    def _make_tutors(
        self, groups: list[_GroupPlan], learners: list[Person]
    ) -> tuple[list[Person], tuple[TutorLink, ...], list[Person]]:
        """One tutor per three learners, each following one to three apprentices."""
        rng = self.rng("tutors")
        apprentices = [
            (lid, g)
            for g in groups
            if g.rhythm is not None and g.rhythm.is_apprenticeship
            for lid in g.learner_ids
        ]
        count = min(len(apprentices), round(self.p.learners / 3))
        rng.shuffle(apprentices)
        # The law allows a tutor two apprentices plus one repeating a year.
        cap = max(3, -(-len(apprentices) // count))
        load = [1] * count
        tutor_of: dict[str, int] = {}
        for n, (lid, _) in enumerate(apprentices):
            t = n
            if n >= count:
                t = rng.randrange(count)
                while load[t] >= cap:
                    t = (t + 1) % count
                load[t] += 1
            tutor_of[lid] = t
        tutors: list[Person] = []
        for t, (_, group) in enumerate(apprentices[:count]):
            company = f"{rng.choice(group.trades)} {rng.choice(_LAST_NAMES)}"
            first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
            email = self.emails.take(
                f"{email_slug(first)}.{email_slug(last)}", f"{email_slug(company)}.test"
            )
            tutors.append(
                Person(
                    f"usr-t{t + 1:05d}",
                    "tutor",
                    first,
                    last,
                    email,
                    phone=_phone(rng),
                    company=company,
                    attrs=self.site_attrs[group.site],
                )
            )
        links = tuple(TutorLink(lid, tutors[tutor_of[lid]].source_id) for lid in sorted(tutor_of))
        learners = [
            replace(p, company=tutors[tutor_of[p.source_id]].company)
            if p.source_id in tutor_of
            else p
            for p in learners
        ]
        return tutors, links, learners

    def _make_instructors(self, taught_sites: list[set[int]]) -> list[Person]:
        """Instructors, attributed to the sites where they taught."""
        rng = self.rng("instructors")
        out = []
        for i, sites in enumerate(taught_sites):
            first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
            email = self.emails.take(f"{email_slug(first)}.{email_slug(last)}", self.domain)
            attrs = attrs_of(
                {
                    "org": [self.sites[s].org_id for s in sorted(sites or {0})],
                    "org_name": [self.sites[s].name for s in sorted(sites or {0})],
                }
            )
            out.append(
                Person(
                    f"usr-i{i + 1:05d}",
                    "instructor",
                    first,
                    last,
                    email,
                    phone=_phone(rng) if rng.random() < 0.8 else None,
                    attrs=attrs,
                )
            )
        return out

    # teaching -------------------------------------------------------------------------

    def _assign_teachers(
        self, groups: list[_GroupPlan], count: int
    ) -> tuple[dict[tuple[int, str], int], dict[str, list[int]]]:
        """Who teaches each (group, subject): specialists reused across groups, loads balanced."""
        rng = self.rng("teachers")
        pairs = [(g.index, s) for g in groups if g.parent is None for s in g.subjects]
        rng.shuffle(pairs)
        load = [0] * count
        specialists: dict[str, list[int]] = {}
        assigned: dict[tuple[int, str], int] = {}
        for n, (g, subject) in enumerate(pairs):
            known = specialists.get(subject)
            if known and n >= count and rng.random() < 0.75:
                teacher = min(known, key=lambda k: (load[k], k))
            else:
                teacher = min(range(count), key=lambda k: (load[k], k))
                specialists.setdefault(subject, [])
                if teacher not in specialists[subject]:
                    specialists[subject].append(teacher)
            assigned[(g, subject)] = teacher
            load[teacher] += _SUBJECTS[subject][1]
        return assigned, specialists

    def _allocate_sessions(self, groups: list[_GroupPlan]) -> None:
        """How many sessions each group has on each of its days, totalling the profile."""
        rng = self.rng("allocation")
        teaching = [g for g in groups if g.parent is None]
        days = {g.index: self._group_days(g) for g in teaching}
        study_total = round(self.p.sessions * 0.01)
        study = [(g, groups[g.parent]) for g in groups if g.parent is not None]
        study_split = _split(study_total, [1.0] * len(study)) if study else []
        for (g, parent), n in zip(study, study_split, strict=True):
            parent_days = days[parent.index]
            parent.study_days = frozenset(rng.sample(parent_days, min(n, len(parent_days))))
            g.day_counts = dict.fromkeys(sorted(parent.study_days), 1)
        target = self.p.sessions - sum(len(g.day_counts or {}) for g, _ in study)
        totals = _split(target, [len(days[g.index]) * rng.uniform(0.85, 1.15) for g in teaching])
        for g, total in zip(teaching, totals, strict=True):
            g_days = days[g.index]
            caps = [MAX_SESSIONS_PER_DAY - (d in g.study_days) for d in g_days]
            missing = min(total, sum(caps))
            counts = [0] * len(g_days)
            order = rng.sample(range(len(g_days)), len(g_days))
            while missing:  # spread evenly, in a shuffled order, within each day's cap
                for i in order:
                    if missing and counts[i] < caps[i]:
                        counts[i] += 1
                        missing -= 1
            for _ in range(len(g_days) // 2):  # vary the days without changing the total
                a, b = rng.randrange(len(g_days)), rng.randrange(len(g_days))
                if counts[a] > 1 and counts[b] < caps[b]:
                    counts[a] -= 1
                    counts[b] += 1
            g.day_counts = {
                d: c for d, c in zip(g_days, counts, strict=True) if c or d in g.study_days
            }

    def _plan_exemptions(self, groups: list[_GroupPlan]) -> dict[tuple[int, str], tuple[str, ...]]:
        """About 0.5 % of (session, learner) pairs: whole subjects waived for a few learners."""
        rng = self.rng("exemptions")
        teaching = [g for g in groups if g.parent is None]
        expected: dict[tuple[int, str], float] = {}
        pairs = 0.0
        for g in groups:
            sessions = sum((g.day_counts or {}).values())
            pairs += sessions * len(g.learner_ids)
            for subject, weight in zip(g.subjects, _weights(g.cum_weights), strict=True):
                expected[(g.index, subject)] = sessions * weight / g.cum_weights[-1]
        chosen: dict[tuple[int, str], set[str]] = {}
        covered, goal = 0.0, pairs * 0.005
        while covered < goal:
            group = rng.choice(teaching)
            languages = [s for s in group.subjects if s.startswith(("Anglais", "Espagnol"))]
            subject = (
                rng.choice(languages)
                if languages and rng.random() < 0.7
                else rng.choice(group.subjects)
            )
            learner = rng.choice(group.learner_ids)
            if learner not in chosen.setdefault((group.index, subject), set()):
                chosen[(group.index, subject)].add(learner)
                covered += expected[(group.index, subject)]
        return {key: tuple(sorted(ids)) for key, ids in chosen.items()}

    def _schedule(
        self,
        groups: list[_GroupPlan],
        assigned: dict[tuple[int, str], int],
        specialists: dict[str, list[int]],
        exemptions: dict[tuple[int, str], tuple[str, ...]],
        instructor_count: int,
    ) -> tuple[tuple[Session, ...], list[set[int]]]:
        """Lay the sessions day by day, keeping instructors and rooms in one place at a time.

        Only if every instructor (or room) is taken would one be double-booked; the
        profiles have enough of both for that not to happen.
        """
        rng = self.rng("schedule")
        rooms = self._rooms()
        for g in groups:
            home = [r for r, room in enumerate(rooms) if room[2] == g.site]
            g.home_room = (
                home[g.index // len(self.sites) % len(home)]
                if g.parent is None
                else groups[g.parent].home_room
            )
        instructor_ids = [f"usr-i{i + 1:05d}" for i in range(instructor_count)]
        taught_sites: list[set[int]] = [set() for _ in range(instructor_count)]
        teams: dict[tuple[int, ...], tuple[str, ...]] = {}
        attrs_cache: dict[tuple[int, str], Attrs] = {}
        group_ids = [(g.record.source_id,) for g in groups]
        study_of = {g.parent: g for g in groups if g.parent is not None}
        dst = set(self.dst_days)
        reserve = self.p.groups - self.p.study_groups
        sessions: list[Session] = []
        for day_index, day in enumerate(self.days):
            busy_teacher = [0] * instructor_count
            busy_room = [0] * len(rooms)
            utc_at: dict[int, datetime] = {}
            templates = _DST_TEMPLATES if day in dst else _TEMPLATES
            for g in groups:
                if g.parent is not None or not g.day_counts or day_index not in g.day_counts:
                    continue
                has_study = day_index in g.study_days
                slots = rng.choice(templates[g.day_counts[day_index] + has_study])
                for n, (start, end) in enumerate(slots):
                    owner = study_of[g.index] if has_study and n == len(slots) - 1 else g
                    mask = ((1 << ((end - start) // 15)) - 1) << ((start - 480) // 15)
                    subject = owner.subjects[0]
                    team: tuple[int, ...] = ()
                    if owner is g:
                        subject = rng.choices(g.subjects, cum_weights=g.cum_weights)[0]
                        team = self._team(
                            rng,
                            mask,
                            busy_teacher,
                            assigned[(g.index, subject)],
                            specialists[subject],
                            reserve,
                        )
                        for t in team:
                            busy_teacher[t] |= mask
                            taught_sites[t].add(g.site)
                    room = self._room(rng, mask, busy_room, owner.home_room, rooms, g.site)
                    busy_room[room] |= mask
                    for minute in (start, end):
                        if minute not in utc_at:
                            utc_at[minute] = local_to_utc(
                                datetime.combine(day, time(minute // 60, minute % 60)), self.tz
                            )
                    if team not in teams:
                        teams[team] = tuple(instructor_ids[t] for t in team)
                    if (g.site, subject) not in attrs_cache:
                        attrs_cache[(g.site, subject)] = attrs_of(
                            {"org": self.sites[g.site].org_id, "subject": subject}
                        )
                    sessions.append(
                        Session(
                            f"ses-{len(sessions) + 1:06d}",
                            subject,
                            utc_at[start],
                            utc_at[end],
                            instructor_ids=teams[team],
                            group_ids=group_ids[owner.index],
                            exempt_learner_ids=exemptions.get((owner.index, subject), ()),
                            room_name=rooms[room][0],
                            room_code=rooms[room][1],
                            description=_description(rng, owner.record.name, subject),
                            attrs=attrs_cache[(g.site, subject)],
                        )
                    )
        return tuple(sessions), taught_sites

    @staticmethod
    def _team(
        rng: random.Random,
        mask: int,
        busy: list[int],
        first: int,
        specialists: list[int],
        reserve: int,
    ) -> tuple[int, ...]:
        """The instructor(s) of one session: the assigned one, else a free colleague.

        A second instructor (co-teaching) is added only while more than `reserve` (the
        number of teaching groups) are free, so every group always finds a lead.
        """
        lead = _free(busy, mask, (first, *specialists), rng.randrange(len(busy)), -1)
        if lead is None:  # everyone is busy: the assigned instructor is double-booked
            return (first,)
        if rng.random() >= 0.05 or sum(not b & mask for b in busy) <= reserve:
            return (lead,)
        second = _free(busy, mask, specialists, rng.randrange(len(busy)), lead)  # co-teaching
        return (lead,) if second is None else (lead, second)

    @staticmethod
    def _room(
        rng: random.Random,
        mask: int,
        busy: list[int],
        home: int,
        rooms: Sequence[tuple[str, str, int]],
        site: int,
    ) -> int:
        """The group's home room, else any free room of the same site."""
        if not busy[home] & mask:
            return home
        start = rng.randrange(len(rooms))
        for k in range(len(rooms)):
            r = (start + k) % len(rooms)
            if rooms[r][2] == site and not busy[r] & mask:
                return r
        return home  # all taken: double-book the home room rather than drop the session

    def _rooms(self) -> list[tuple[str, str, int]]:
        """(name, code, site) of every room: one per group and site plus spares."""
        rng = self.rng("rooms")
        per_site = -(-self.p.groups // len(self.sites)) + 3
        out: list[tuple[str, str, int]] = []
        for site in range(len(self.sites)):
            names = list(_ROOM_NAMES)
            rng.shuffle(names)
            for r in range(per_site):
                code = f"{'ABCDE'[r // 30]}{1 + r % 30 // 10}{r % 10 + 1:02d}"
                out.append((f"Salle {names[r]}" if r < len(names) else f"Salle {code}", code, site))
        return out


def _free(
    busy: Sequence[int], mask: int, preferred: Sequence[int], scan_from: int, skip: int
) -> int | None:
    """The first preferred, else any (scanning from `scan_from`), instructor free during `mask`."""
    for t in preferred:
        if t != skip and not busy[t] & mask:
            return t
    for k in range(len(busy)):
        t = (scan_from + k) % len(busy)
        if t != skip and not busy[t] & mask:
            return t
    return None


def _description(rng: random.Random, group_name: str, subject: str) -> str:
    """A short course note; a few carry commas, semicolons and line breaks on purpose."""
    if rng.random() < 0.03:
        note = "évaluation : QCM, étude de cas; calculatrice autorisée\nDocuments interdits"
        return f"{subject} — {note}"
    return f"{subject} — {group_name}"


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """Integers proportional to `weights` summing to `total` (largest remainder)."""
    scale = total / sum(weights)
    raw = [w * scale for w in weights]
    out = [int(x) for x in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))
    for i in by_remainder[: total - sum(out)]:
        out[i] += 1
    return out


def _weights(cum: Sequence[int]) -> list[int]:
    return [c - (cum[i - 1] if i else 0) for i, c in enumerate(cum)]
