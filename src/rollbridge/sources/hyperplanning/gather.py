"""Gather one window's `HpRead` from HPSW: the calls `records.build_snapshot` needs.

Courses between two dates, restricted to placed ones, parents skipped (their séances
repeat their children's); séance details, subjects and people through `…TableauDe…` calls
in chunks; per-entity calls (a course's learners and groups, family sections, exemptions,
apprenticeship masters) run a few at a time. A part that fails is reported as a `Rejected`
and makes the read incomplete; credentials refused stop the read (`AuthError`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from rollbridge.errors import AuthError, SourceError
from rollbridge.model import Rejected, Window
from rollbridge.sources.base import Progress, no_progress
from rollbridge.sources.hyperplanning.client import HpswClient
from rollbridge.sources.hyperplanning.inputs import (
    HpCourse,
    HpExemption,
    HpFamilyIndex,
    HpLearner,
    HpPromotion,
    HpRead,
    HpRoom,
    HpSeance,
    HpSection,
    HpSubject,
    HpTdOption,
    HpTeacher,
    HpTutor,
)
from rollbridge.sources.hyperplanning.parse import (
    as_flag,
    as_key,
    as_keys,
    as_optional_key,
    as_optional_text,
    as_text,
    seances_from_zeep,
)

T = TypeVar("T")
WORKERS = 4

COURS, ETUDIANTS, ENSEIGNANTS = "PortCours", "PortEtudiants", "PortEnseignants"
SALLES, MATIERES, PROMOTIONS, TDOPTIONS = (
    "PortSalles",
    "PortMatieres",
    "PortPromotions",
    "PortTDOptions",
)
FAMILLES, DISPENSES, STAGES = "PortFamilles", "PortDispenses", "PortStages"


@dataclass(frozen=True, slots=True)
class GatherOptions:
    """Which families matter (labels; empty: all of the genre) and what else to read."""

    student_families: tuple[str, ...] = ()
    course_families: tuple[str, ...] = ()
    tutors: bool = False
    memo: bool = False
    exemptions: bool = True


# Parts whose failure only hides records (a course and its séances): the rest of the read
# is still right. Any other part feeds records built from several parts (a learner missing
# shrinks groups and courses; a room label missing renames sessions), so its failure makes
# the whole read unusable.
HIDING_KINDS = frozenset({"course", "session"})


@dataclass(slots=True)
class Gathered:
    """The read, what could not be read, whether every part was read whole, and whether
    what was read can be used (only parts that hide records failed)."""

    read: HpRead = field(default_factory=HpRead)
    rejected: list[Rejected] = field(default_factory=list)
    complete: bool = True
    usable: bool = True


class _Gatherer:
    def __init__(self, client: HpswClient, options: GatherOptions, progress: Progress) -> None:
        self.client = client
        self.options = options
        self.progress = progress
        self.rejected: list[Rejected] = []
        self.failed: set[str] = set()

    def fail(self, kind: str, where: str, exc: SourceError) -> None:
        if isinstance(exc, AuthError):
            raise exc
        self.rejected.append(Rejected(kind, where, f"not read from Hyperplanning: {exc.message}"))
        self.failed.add(kind)

    def each(self, kind: str, keys: Sequence[int], fn: Callable[[int], T]) -> dict[int, T]:
        """`fn(key)` for every key, a few at a time; a failing key is rejected, not fatal."""

        def one(key: int) -> tuple[int, T | SourceError]:
            try:
                return key, fn(key)
            except (SourceError, ValueError) as exc:
                error = exc if isinstance(exc, SourceError) else SourceError(str(exc))
                return key, error

        out: dict[int, T] = {}
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for key, value in pool.map(one, keys):
                if isinstance(value, SourceError):
                    self.fail(kind, f"{kind} {key}", value)
                else:
                    out[key] = value
        return out

    def part(self, kind: str, fn: Callable[[], T]) -> T | None:
        """One whole part of the read; on failure None, and the read is incomplete."""
        try:
            return fn()
        except (SourceError, ValueError) as exc:
            error = exc if isinstance(exc, SourceError) else SourceError(str(exc))
            self.fail(kind, kind, error)
            return None

    # ----- parts ------------------------------------------------------------------------

    def course_keys(self, window: Window) -> list[int]:
        c = self.client
        listed = list(
            as_keys(c.call(COURS, "TousLesCoursEntre2Dates", window.start_on, window.end_on))
        )
        placed = [
            as_key(k)
            for k in c.chunked(
                COURS, "RestreindreTableauDeCoursAuxCoursPlaces", "THpSvcWCleCours", listed
            )
        ]
        parents = c.parallel(COURS, "SontCoursPeres", "THpSvcWCleCours", placed)
        return [k for k, is_parent in zip(placed, parents, strict=True) if not as_flag(is_parent)]

    def seances(self, courses: Sequence[int]) -> tuple[HpSeance, ...]:
        raws = self.client.chunked(
            COURS, "DetailDesSeancesPlaceesTableauDeCours", "THpSvcWCleCours", courses
        )
        seances, rejected = seances_from_zeep(raws)
        if rejected:
            self.rejected.extend(rejected)
        return seances

    def families(self, genre: str, labels: Sequence[str]) -> HpFamilyIndex:
        c = self.client
        keys = list(as_keys(c.call(FAMILLES, "ToutesLesFamillesDuGenre", genre)))
        names = c.parallel(FAMILLES, "LibellesTableauDeFamilles", "THpSvcWCleFamille", keys)
        families = {k: as_text(n) for k, n in zip(keys, names, strict=True)}
        if labels:
            families = {k: n for k, n in families.items() if n in labels}
            missing = sorted(set(labels) - set(families.values()))
            if missing:
                raise SourceError(
                    f"no {genre} family labelled {', '.join(missing)} in Hyperplanning"
                )
        sections: dict[int, HpSection] = {}
        for family in families:
            found = list(as_keys(c.call(FAMILLES, "ToutesLesRubriquesDeLaFamille", family)))
            texts = c.parallel(FAMILLES, "LibellesTableauDeRubriques", "THpSvcWCleRubrique", found)
            for key, text in zip(found, texts, strict=True):
                sections[key] = HpSection(key, family, as_text(text))
        return HpFamilyIndex(families, sections)

    def courses(
        self, keys: Sequence[int], seances: Sequence[HpSeance], index: HpFamilyIndex
    ) -> tuple[HpCourse, ...]:
        c = self.client
        subjects = dict(
            zip(
                keys,
                c.parallel(COURS, "MatieresTableauDeCours", "THpSvcWCleCours", keys),
                strict=True,
            )
        )
        types = {s.course_key: s.course_type for s in seances}

        def one(key: int) -> HpCourse:
            sections: list[int] = []
            for family in index.families:
                sections.extend(as_keys(c.call(FAMILLES, "RubriquesDuCoursDeFamille", family, key)))
            return HpCourse(
                key=key,
                subject_key=as_optional_key(subjects.get(key)),
                course_type=types.get(key, ""),
                memo=as_text(c.call(COURS, "MemoCours", key)) if self.options.memo else "",
                promotion_keys=as_keys(c.call(COURS, "PromotionsDuCours", key)),
                td_keys=as_keys(c.call(COURS, "TDOptionsDuCours", key)),
                learner_keys=as_keys(c.call(COURS, "EtudiantsDuCours", key)),
                section_keys=tuple(sections),
            )

        found = self.each("course", keys, one)
        return tuple(found[k] for k in keys if k in found)

    def learners(self, index: HpFamilyIndex) -> tuple[HpLearner, ...]:
        c = self.client
        keys = list(as_keys(c.call(ETUDIANTS, "TousLesEtudiants")))
        t = "THpSvcWCleEtudiant"
        last = c.parallel(ETUDIANTS, "NomsTableauDEtudiants", t, keys)
        first = c.parallel(ETUDIANTS, "PrenomsTableauDEtudiants", t, keys)
        emails = c.parallel(ETUDIANTS, "EMailsTableauDEtudiants", t, keys)
        badges = c.parallel(ETUDIANTS, "NumerosBadgeTableauDEtudiants", t, keys)
        promotions = c.parallel(ETUDIANTS, "PromotionsTableauDEtudiants", t, keys)

        def sections_of(key: int) -> tuple[int, ...]:
            found: list[int] = []
            for family in index.families:
                found.extend(
                    as_keys(c.call(FAMILLES, "RubriquesDeLEtudiantDeFamille", family, key))
                )
            return tuple(found)

        sections = self.each("learner", keys, sections_of) if index.families else {}
        out: list[HpLearner] = []
        for i, key in enumerate(keys):
            if index.families and key not in sections:
                continue  # its sections are unknown: routing it could send it to the wrong account
            promotion = as_optional_key(promotions[i])
            out.append(
                HpLearner(
                    key=key,
                    last_name=as_text(last[i]),
                    first_name=as_text(first[i]),
                    email=as_optional_text(emails[i]),
                    badge=as_optional_text(badges[i]),
                    promotion_keys=() if promotion is None else (promotion,),
                    section_keys=sections.get(key, ()),
                )
            )
        return tuple(out)

    def teachers(self) -> tuple[HpTeacher, ...]:
        c = self.client
        keys = list(as_keys(c.call(ENSEIGNANTS, "TousLesEnseignants")))
        t = "THpSvcWCleEnseignant"
        last = c.parallel(ENSEIGNANTS, "NomsTableauDEnseignants", t, keys)
        first = c.parallel(ENSEIGNANTS, "PrenomsTableauDEnseignants", t, keys)
        codes = c.parallel(ENSEIGNANTS, "CodesTableauDEnseignants", t, keys)
        emails = c.parallel(ENSEIGNANTS, "EMailsTableauDEnseignants", t, keys)
        return tuple(
            HpTeacher(
                k,
                as_text(last[i]),
                as_text(first[i]),
                as_optional_text(emails[i]),
                as_text(codes[i]),
            )
            for i, k in enumerate(keys)
        )

    def rooms(self) -> tuple[HpRoom, ...]:
        c = self.client
        keys = list(as_keys(c.call(SALLES, "ToutesLesSalles")))
        names = c.parallel(SALLES, "NomsTableauDeSalles", "THpSvcWCleSalle", keys)
        codes = c.parallel(SALLES, "CodesTableauDeSalles", "THpSvcWCleSalle", keys)
        labels = self.each("room", keys, lambda k: as_text(c.call(SALLES, "LibelleLongSalle", k)))
        return tuple(
            HpRoom(k, as_text(names[i]), as_text(codes[i]), labels.get(k, ""))
            for i, k in enumerate(keys)
        )

    def subjects(self) -> tuple[HpSubject, ...]:
        c = self.client
        keys = list(as_keys(c.call(MATIERES, "ToutesLesMatieres")))
        labels = c.parallel(MATIERES, "LibellesTableauDeMatieres", "THpSvcWCleMatiere", keys)
        codes = c.parallel(MATIERES, "CodesTableauDeMatieres", "THpSvcWCleMatiere", keys)
        return tuple(
            HpSubject(k, as_text(labels[i]), as_text(codes[i])) for i, k in enumerate(keys)
        )

    def promotions(self) -> tuple[HpPromotion, ...]:
        c = self.client
        keys = list(as_keys(c.call(PROMOTIONS, "ToutesLesPromotions")))
        names = c.parallel(PROMOTIONS, "NomsTableauDePromotions", "THpSvcWClePromotion", keys)
        return tuple(HpPromotion(k, as_text(names[i])) for i, k in enumerate(keys))

    def td_options(self) -> tuple[HpTdOption, ...]:
        c = self.client
        keys = list(as_keys(c.call(TDOPTIONS, "TousLesTDOptions")))
        names = c.parallel(TDOPTIONS, "NomsTableauDeTDOptions", "THpSvcWCleTDOption", keys)

        def one(key: int) -> tuple[int | None, tuple[int, ...]]:
            parent = as_optional_key(c.call(TDOPTIONS, "PromotionTDOption", key))
            return parent, as_keys(c.call(TDOPTIONS, "EtudiantsDuTDOption", key))

        found = self.each("td", keys, one)
        return tuple(
            HpTdOption(k, as_text(names[i]), found[k][0], found[k][1])
            for i, k in enumerate(keys)
            if k in found
        )

    def exemptions(self, learners: Sequence[HpLearner]) -> tuple[HpExemption, ...]:
        c = self.client
        found = self.each(
            "exemption",
            [learner.key for learner in learners],
            lambda k: as_keys(c.call(DISPENSES, "MatieresDispenseesEtudiant", k)),
        )
        return tuple(
            HpExemption(k, subject) for k, subjects in found.items() for subject in subjects
        )

    def tutors(self, learners: Sequence[HpLearner]) -> tuple[HpTutor, ...]:
        c = self.client
        found = self.each(
            "tutor",
            [learner.key for learner in learners],
            lambda k: list(c.keys(STAGES, "MaitresDApprentissageEtudiant", k)),
        )
        tutors: dict[str, HpTutor] = {}
        for learner, masters in found.items():
            for raw in masters:
                if not isinstance(raw, Mapping):
                    continue
                email = as_optional_text(raw.get("EMail"))
                last, first = as_text(raw.get("Nom")), as_text(raw.get("Prenom"))
                key = (email or f"{last} {first}").lower()
                known = tutors.get(key)
                tutors[key] = HpTutor(
                    key=key,
                    last_name=last,
                    first_name=first,
                    email=email,
                    phone=as_optional_text(raw.get("Telephone")),
                    company=as_optional_text(raw.get("Entreprise")),
                    learner_keys=(*(known.learner_keys if known else ()), learner),
                )
        return tuple(tutors.values())


def gather(
    client: HpswClient,
    window: Window,
    options: GatherOptions | None = None,
    progress: Progress = no_progress,
) -> Gathered:
    """Everything `build_snapshot` needs for `window`; never raises for one bad record."""
    opts = options or GatherOptions()
    g = _Gatherer(client, opts, progress)
    progress("hyperplanning courses", 0, None)
    course_keys = g.part("course", lambda: g.course_keys(window)) or []
    seances = g.part("session", lambda: g.seances(course_keys)) or ()
    course_index = (
        g.part("family", lambda: g.families("gfCours", opts.course_families)) or HpFamilyIndex()
    )
    student_index = (
        g.part("family", lambda: g.families("gfEtudiant", opts.student_families)) or HpFamilyIndex()
    )
    progress("hyperplanning courses", 1, 4)
    courses = g.part("course", lambda: g.courses(course_keys, seances, course_index)) or ()
    progress("hyperplanning people", 2, 4)
    learners = g.part("learner", lambda: g.learners(student_index)) or ()
    teachers = g.part("instructor", g.teachers) or ()
    progress("hyperplanning groups", 3, 4)
    read = HpRead(
        courses=courses,
        seances=seances,
        learners=learners,
        teachers=teachers,
        rooms=(g.part("room", g.rooms) or ()),
        subjects=(g.part("subject", g.subjects) or ()),
        promotions=(g.part("group", g.promotions) or ()),
        td_options=(g.part("group", g.td_options) or ()),
        tutors=(g.part("tutor", lambda: g.tutors(learners)) or ()) if opts.tutors else (),
        exemptions=(g.part("exemption", lambda: g.exemptions(learners)) or ())
        if opts.exemptions
        else (),
        student_families=student_index,
        course_families=course_index,
    )
    progress("hyperplanning", 4, 4)
    return Gathered(read, g.rejected, not g.failed, g.failed <= HIDING_KINDS)
