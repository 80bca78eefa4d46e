"""Gather one window's `HpRead` from HPSW: the calls `records.build_snapshot` needs.

Courses between two dates, restricted to placed ones, parents skipped (their séances
repeat their children's); séance details, subjects and people through `…TableauDe…` calls
in chunks; per-entity calls (a course's learners and groups, family sections, exemptions,
apprenticeship masters, room long labels) run a few at a time, unless the per-entity cache
(`cache.py`) may serve them: bulk calls, séance details, families and group memberships are
read every run, and a course's learners are rebuilt each run as the current members of its
promotions and TDs plus its cached individual learners. Séance details come as chunks kept
undecoded (`chunks.py`): one is decoded here only when the cache has not seen its answer,
else when its sessions are built. A part that fails is reported as a `Rejected` and makes
the read incomplete (never served from the cache instead, never cached); credentials
refused stop the read (`AuthError`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from rollbridge.errors import AuthError, SourceError
from rollbridge.model import Rejected, Window
from rollbridge.sources.base import Progress, no_progress
from rollbridge.sources.hyperplanning.cache import (
    COURSES,
    EXEMPTIONS,
    ROOMS,
    SEANCES,
    SECTIONS,
    TUTORS,
    CourseLinks,
    EntityCache,
    KindView,
    TutorRecord,
    fingerprint,
    seance_digests,
    sorted_keys,
)
from rollbridge.sources.hyperplanning.chunks import SeanceChunk, all_seances
from rollbridge.sources.hyperplanning.client import HpswClient
from rollbridge.sources.hyperplanning.inputs import (
    HpCourse,
    HpExemption,
    HpFamilyIndex,
    HpLearner,
    HpPromotion,
    HpRead,
    HpRoom,
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
    what was read can be used (only parts that hide records failed). The séances are in
    `chunks`, parsed on demand (`read.seances` is empty; unreadable séances are rejected
    when a chunk is parsed): `eager` gives them as one read."""

    read: HpRead = field(default_factory=HpRead)
    rejected: list[Rejected] = field(default_factory=list)
    complete: bool = True
    usable: bool = True
    chunks: tuple[SeanceChunk, ...] = ()

    def eager(self) -> Gathered:
        """This read with every chunk parsed into `read.seances` and its unreadable séances
        rejected, as one `build_snapshot` call (without chunks) takes it."""
        seances, unreadable = all_seances(self.chunks)
        return Gathered(
            dataclasses.replace(self.read, seances=seances),
            [*self.rejected, *unreadable],
            self.complete,
            self.usable,
        )


# Parts whose failure leaves group memberships unknown: courses read then are not cached
# (their individual learners are the ones beyond those members).
MEMBERSHIP_KINDS = frozenset({"learner", "group", "td"})


@dataclass(slots=True)
class _Courses:
    """Courses as read: `learner_keys` are `EtudiantsDuCours` for the ones read this run,
    the cached individual learners for the others, until `finish_courses` rebuilds them."""

    courses: tuple[HpCourse, ...]
    fetched: frozenset[int]  # read this run (the others were served by the cache)
    digests: dict[int, str]  # course → hash of its séances, kept with its entry
    view: KindView[CourseLinks]


@dataclass(slots=True)
class _Seances:
    """The séance chunks, and per course the digest of its séances (`seance_digests`)."""

    chunks: tuple[SeanceChunk, ...]
    digests: dict[int, str]


class _Gatherer:
    def __init__(
        self,
        client: HpswClient,
        options: GatherOptions,
        progress: Progress,
        cache: EntityCache,
    ) -> None:
        self.client = client
        self.options = options
        self.progress = progress
        self.cache = cache
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

    def cached(
        self,
        kind: str,
        view: KindView[T],
        keys: Sequence[int],
        fn: Callable[[int], T],
        checks: Mapping[int, str] | None = None,
        *,
        store: bool = True,
        prune: bool = True,
    ) -> tuple[dict[int, T], dict[int, T]]:
        """`each`, without the keys the cache may serve: (every value found, in key order;
        the values read now). What was read is stored, unless `store` is False (the caller
        stores it once complete); with `prune`, `keys` is the whole listing and the cache
        forgets other keys."""
        served: dict[int, T] = {}
        missing: list[int] = []
        for key in keys:
            hit = view.get(key, checks.get(key, "") if checks else "")
            if hit is None:
                missing.append(key)
            else:
                served[key] = hit
        fetched = self.each(kind, missing, fn)
        if store:
            for key, value in fetched.items():
                view.put(key, value, checks.get(key, "") if checks else "")
        if prune:
            view.keep(keys)
        if not served:
            return fetched, fetched
        found = {**served, **fetched}
        return {k: found[k] for k in keys if k in found}, fetched

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
        """The placed, non-parent courses of the window, sorted: chunks of the same courses
        then hold the same keys from run to run (an unchanged chunk is not decoded)."""
        c = self.client
        listed = sorted(
            as_keys(c.call(COURS, "TousLesCoursEntre2Dates", window.start_on, window.end_on))
        )
        placed = [
            as_key(k)
            for k in c.chunked(
                COURS, "RestreindreTableauDeCoursAuxCoursPlaces", "THpSvcWCleCours", listed
            )
        ]
        parents = c.parallel(COURS, "SontCoursPeres", "THpSvcWCleCours", placed)
        kept = (k for k, is_parent in zip(placed, parents, strict=True) if not as_flag(is_parent))
        return sorted(kept)

    def seances(self, courses: Sequence[int], *, prune: bool = True) -> _Seances:
        """The séance chunks of `courses`, undecoded, and each course's séance digest (the
        course cache's check). A chunk whose answer the cache has seen (same digest) is not
        decoded: its courses' digests come from the cache. Any other chunk is decoded now,
        so that an answer HPSW cannot be read fails this part, not a later build; its
        courses' digests are computed and kept. With `prune`, `courses` is the whole
        listing and the cache forgets other courses."""
        answers = self.client.fetch_chunks(
            COURS, "DetailDesSeancesPlaceesTableauDeCours", "THpSvcWCleCours", courses
        )
        view = self.cache.view(SEANCES)
        chunks: list[SeanceChunk] = []
        digests: dict[int, str] = {}
        for index, answer in enumerate(answers):
            chunk = SeanceChunk(index, answer)
            chunks.append(chunk)
            known = _served(view, chunk)
            if known is None:
                seances, _ = chunk.seances()  # its unreadable séances: rejected by its batch
                known = seance_digests(seances)
                for key in chunk.keys:
                    view.put(key, known.get(key, ""), chunk.digest)
            digests.update(known)
        if prune:
            view.keep(courses)
        return _Seances(tuple(chunks), digests)

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
        self,
        keys: Sequence[int],
        digests: Mapping[int, str],
        index: HpFamilyIndex,
        *,
        trusted: bool = True,
    ) -> _Courses:
        """The courses with their per-course links; an entry is read again when its
        course's séance digest changed. Not `trusted` (the listing, séances or families
        failed): the cache neither serves nor stores courses this read. A course's type
        comes from its séances, when its sessions are built (`timetable.py`)."""
        c = self.client
        subjects = dict(
            zip(
                keys,
                c.parallel(COURS, "MatieresTableauDeCours", "THpSvcWCleCours", keys),
                strict=True,
            )
        )
        families = index.families
        view = self.cache.view(
            COURSES,
            fingerprint("memo" if self.options.memo else "", sorted_keys(families)),
            bypass=not trusted,
        )
        checks: dict[int, str] = {}
        if self.cache.enabled:
            checks = {k: digests.get(k, "") for k in keys}

        def one(key: int) -> CourseLinks:
            sections: list[int] = []
            for family in families:
                sections.extend(as_keys(c.call(FAMILLES, "RubriquesDuCoursDeFamille", family, key)))
            return CourseLinks(
                promotion_keys=as_keys(c.call(COURS, "PromotionsDuCours", key)),
                td_keys=as_keys(c.call(COURS, "TDOptionsDuCours", key)),
                individual_keys=as_keys(c.call(COURS, "EtudiantsDuCours", key)),
                section_keys=tuple(sections),
                memo=as_text(c.call(COURS, "MemoCours", key)) if self.options.memo else "",
            )

        found, fetched = self.cached("course", view, keys, one, checks, store=False)
        courses = tuple(
            HpCourse(
                key=key,
                subject_key=as_optional_key(subjects.get(key)),
                memo=links.memo,
                promotion_keys=links.promotion_keys,
                td_keys=links.td_keys,
                learner_keys=links.individual_keys,
                section_keys=links.section_keys,
            )
            for key, links in found.items()
        )
        return _Courses(courses, frozenset(fetched), checks, view)

    def finish_courses(
        self,
        found: _Courses,
        learners: Sequence[HpLearner],
        td_options: Sequence[HpTdOption],
    ) -> tuple[HpCourse, ...]:
        """Courses for the pure layer. With the cache on, each course's `learner_keys` are
        its individual learners: the pure layer adds the current members of its promotions
        and TDs (`timetable._audience`), so group membership is never stale. The courses
        read this run are stored with the learners `EtudiantsDuCours` gave beyond those
        members, if the memberships were read whole. Without the cache, `EtudiantsDuCours`."""
        if not self.cache.enabled:
            return found.courses
        known = not (self.failed & MEMBERSHIP_KINDS)
        promotion_members: dict[int, set[int]] = {}
        if found.fetched and known:
            for learner in learners:
                for promotion in learner.promotion_keys:
                    promotion_members.setdefault(promotion, set()).add(learner.key)
        td_members = {td.key: td.learner_keys for td in td_options}
        out: list[HpCourse] = []
        for course in found.courses:
            if course.key not in found.fetched:
                out.append(course)  # served: its individual learners already
                continue
            if not known:
                out.append(course)  # as read; not cached
                continue
            members: set[int] = set()
            for promotion in course.promotion_keys:
                members |= promotion_members.get(promotion, set())
            for td in course.td_keys:
                members.update(td_members.get(td, ()))
            individuals = tuple(k for k in dict.fromkeys(course.learner_keys) if k not in members)
            found.view.put(
                course.key,
                CourseLinks(
                    course.promotion_keys,
                    course.td_keys,
                    individuals,
                    course.section_keys,
                    course.memo,
                ),
                found.digests.get(course.key, ""),
            )
            out.append(dataclasses.replace(course, learner_keys=individuals))
        return tuple(out)

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

        sections: dict[int, tuple[int, ...]] = {}
        if index.families:
            view = self.cache.view(SECTIONS, sorted_keys(index.families))
            sections, _ = self.cached("learner", view, keys, sections_of)
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
        labels, _ = self.cached(
            "room",
            self.cache.view(ROOMS),
            keys,
            lambda k: as_text(c.call(SALLES, "LibelleLongSalle", k)),
        )
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

    def exemptions(
        self, learners: Sequence[HpLearner], *, prune: bool = True
    ) -> tuple[HpExemption, ...]:
        c = self.client
        found, _ = self.cached(
            "exemption",
            self.cache.view(EXEMPTIONS),
            [learner.key for learner in learners],
            lambda k: as_keys(c.call(DISPENSES, "MatieresDispenseesEtudiant", k)),
            prune=prune,
        )
        return tuple(
            HpExemption(k, subject) for k, subjects in found.items() for subject in subjects
        )

    def tutors(self, learners: Sequence[HpLearner], *, prune: bool = True) -> tuple[HpTutor, ...]:
        c = self.client

        def masters_of(key: int) -> tuple[TutorRecord, ...]:
            return tuple(
                TutorRecord(
                    last_name=as_text(raw.get("Nom")),
                    first_name=as_text(raw.get("Prenom")),
                    email=as_optional_text(raw.get("EMail")),
                    phone=as_optional_text(raw.get("Telephone")),
                    company=as_optional_text(raw.get("Entreprise")),
                )
                for raw in c.keys(STAGES, "MaitresDApprentissageEtudiant", key)
                if isinstance(raw, Mapping)
            )

        found, _ = self.cached(
            "tutor",
            self.cache.view(TUTORS),
            [learner.key for learner in learners],
            masters_of,
            prune=prune,
        )
        tutors: dict[str, HpTutor] = {}
        for learner, masters in found.items():
            for master in masters:
                key = (master.email or f"{master.last_name} {master.first_name}").lower()
                known = tutors.get(key)
                tutors[key] = HpTutor(
                    key=key,
                    last_name=master.last_name,
                    first_name=master.first_name,
                    email=master.email,
                    phone=master.phone,
                    company=master.company,
                    learner_keys=(*(known.learner_keys if known else ()), learner),
                )
        return tuple(tutors.values())


def gather(
    client: HpswClient,
    window: Window,
    options: GatherOptions | None = None,
    progress: Progress = no_progress,
    cache: EntityCache | None = None,
) -> Gathered:
    """Everything `build_snapshot` needs for `window`; never raises for one bad record.
    With `cache`, per-entity answers it may serve are not asked again, and what is read is
    put in it (the caller saves it)."""
    opts = options or GatherOptions()
    cache = cache or EntityCache.disabled()
    g = _Gatherer(client, opts, progress, cache)
    progress("hyperplanning courses", 0, None)
    listed = g.part("course", lambda: g.course_keys(window))
    course_keys = listed or []
    seances = g.part("session", lambda: g.seances(course_keys, prune=listed is not None))
    course_index = g.part("family", lambda: g.families("gfCours", opts.course_families))
    student_index = g.part("family", lambda: g.families("gfEtudiant", opts.student_families))
    progress("hyperplanning courses", 1, 4)
    # The course cache needs the listing (to drop what is gone), the séances (to notice a
    # change) and the families (sections): without one of them it is left alone.
    trusted = listed is not None and seances is not None and course_index is not None
    found = g.part(
        "course",
        lambda: g.courses(
            course_keys,
            seances.digests if seances is not None else {},
            course_index or HpFamilyIndex(),
            trusted=trusted,
        ),
    )
    progress("hyperplanning people", 2, 4)
    learned = g.part("learner", lambda: g.learners(student_index or HpFamilyIndex()))
    learners = learned or ()
    teachers = g.part("instructor", g.teachers) or ()
    progress("hyperplanning groups", 3, 4)
    rooms = g.part("room", g.rooms) or ()
    subjects = g.part("subject", g.subjects) or ()
    promotions = g.part("group", g.promotions) or ()
    td_options = g.part("group", g.td_options) or ()
    tutors: tuple[HpTutor, ...] = ()
    if opts.tutors:
        tutors = g.part("tutor", lambda: g.tutors(learners, prune=learned is not None)) or ()
    else:
        cache.drop(TUTORS)
    exemptions: tuple[HpExemption, ...] = ()
    if opts.exemptions:
        exemptions = (
            g.part("exemption", lambda: g.exemptions(learners, prune=learned is not None)) or ()
        )
    else:
        cache.drop(EXEMPTIONS)
    if student_index is not None and not student_index.families:
        cache.drop(SECTIONS)
    courses = g.finish_courses(found, learners, td_options) if found is not None else ()
    read = HpRead(
        courses=courses,
        learners=learners,
        teachers=teachers,
        rooms=rooms,
        subjects=subjects,
        promotions=promotions,
        td_options=td_options,
        tutors=tutors,
        exemptions=exemptions,
        student_families=student_index or HpFamilyIndex(),
        course_families=course_index or HpFamilyIndex(),
    )
    progress("hyperplanning", 4, 4)
    chunks = seances.chunks if seances is not None else ()
    return Gathered(read, g.rejected, not g.failed, g.failed <= HIDING_KINDS, chunks)


def _served(view: KindView[str], chunk: SeanceChunk) -> dict[int, str] | None:
    """The séance digests of a chunk's courses if the cache holds them all for this very
    answer (same digest); else None: the chunk must be decoded."""
    found = {key: view.get(key, chunk.digest) for key in chunk.keys}  # each counted once
    if any(digest is None for digest in found.values()):
        return None
    return {key: digest for key, digest in found.items() if digest is not None}
