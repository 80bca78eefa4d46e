"""Typed inputs of the pure layer: what the HPSW client gathered, keys still Hyperplanning's.

The client fills these from `…TableauDe…` calls (parallel arrays in key order) and
`DetailDesSeancesPlacees…`; `parse.py` turns raw zeep values into them. Date-times are
naive local wall-clock times (see `times.wallclock`); family memberships are section
("rubrique") keys, resolved to labels through an `HpFamilyIndex`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class HpSeance:
    """One placed séance (`THpSvcWTypeSeance`) of a course."""

    course_key: int
    starts_wallclock: datetime
    duration_days: float
    week: int | None = None  # the HP week when the server says it [U]; else computed
    subject_key: int | None = None
    course_type: str = ""
    room_keys: tuple[int, ...] = ()
    teacher_keys: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class HpCourse:
    """A course (`cours`): its kind, audience, teachers, memo and course-family sections."""

    key: int
    is_parent: bool = False
    is_placed: bool = True
    subject_key: int | None = None
    course_type: str = ""
    memo: str = ""
    promotion_keys: tuple[int, ...] = ()
    td_keys: tuple[int, ...] = ()
    learner_keys: tuple[int, ...] = ()  # `EtudiantsDuCours`
    teacher_keys: tuple[int, ...] = ()  # `EnseignantsDuCours`, used when a séance names none
    section_keys: tuple[int, ...] = ()  # sections of course families (genre gfCours)
    is_attendance_required: bool = True  # `PresenceObligatoireCours`


@dataclass(frozen=True, slots=True)
class HpLearner:
    """A learner (`étudiant`)."""

    key: int
    last_name: str
    first_name: str
    email: str | None = None
    badge: str | None = None
    student_number: str | None = None
    promotion_keys: tuple[int, ...] = ()
    section_keys: tuple[int, ...] = ()  # sections of student families (genre gfEtudiant)


@dataclass(frozen=True, slots=True)
class HpTeacher:
    """An instructor (`enseignant`); unique on code + names, never keyed by them."""

    key: int
    last_name: str
    first_name: str
    email: str | None = None
    code: str = ""


@dataclass(frozen=True, slots=True)
class HpRoom:
    """A room (`salle`): name, code and long label are all kept."""

    key: int
    name: str
    code: str = ""
    long_label: str = ""


@dataclass(frozen=True, slots=True)
class HpSubject:
    """A subject (`matière`): its label names the sessions."""

    key: int
    label: str
    code: str = ""


@dataclass(frozen=True, slots=True)
class HpPromotion:
    """A promotion (class, diploma cohort)."""

    key: int
    name: str


@dataclass(frozen=True, slots=True)
class HpTdOption:
    """A TD group or option of a promotion, with its learners."""

    key: int
    name: str
    promotion_key: int | None = None
    learner_keys: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class HpTutor:
    """An apprenticeship master (`maître d'apprentissage`) and the learners they follow.

    Where tutors live depends on the Hyperplanning version [U] (`IHpSvcWStages`, a
    `gfEntreprise` family, a learner family holding an e-mail), so the key is text: an
    integer key or, for the family variant, the e-mail itself.
    """

    key: str
    last_name: str
    first_name: str
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    learner_keys: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class HpExemption:
    """A learner freed (`dispensé`) from one subject, or from everything, maybe for a period."""

    learner_key: int
    subject_key: int | None = None  # None: every subject
    start_on: date | None = None
    end_on: date | None = None

    def covers(self, subject_key: int | None, day: date) -> bool:
        """Whether this exemption frees its learner from a séance of `subject_key` on `day`."""
        if self.subject_key is not None and self.subject_key != subject_key:
            return False
        if self.start_on is not None and day < self.start_on:
            return False
        return self.end_on is None or day <= self.end_on


@dataclass(frozen=True, slots=True)
class HpSection:
    """A section (`rubrique`) of a family."""

    key: int
    family_key: int
    label: str


@dataclass(frozen=True, slots=True)
class HpFamilyIndex:
    """The families of one genre that matter (filters, tags) and all their sections."""

    families: Mapping[int, str] = field(default_factory=dict)  # family key → label
    sections: Mapping[int, HpSection] = field(default_factory=dict)  # section key → section

    def sections_of(self, family_key: int) -> tuple[HpSection, ...]:
        """The family's sections, by label."""
        found = (s for s in self.sections.values() if s.family_key == family_key)
        return tuple(sorted(found, key=lambda s: (s.label, s.key)))


@dataclass(frozen=True, slots=True)
class HpAbsence:
    """An absence span on a learner, as Hyperplanning holds it (not tied to one course)."""

    start_wall: datetime
    end_wall: datetime
    justified: bool = False
    reason: str = ""  # `MotifAbsenceEtudiant`, a label


@dataclass(frozen=True, slots=True)
class HpLateness:
    """A lateness on a learner: start and end on the wall clock."""

    start_wall: datetime
    end_wall: datetime
    justified: bool = False


@dataclass(frozen=True, slots=True)
class HpRead:
    """Everything one read gathered from one base, ready for `records.build_snapshot`."""

    courses: tuple[HpCourse, ...] = ()
    seances: tuple[HpSeance, ...] = ()
    learners: tuple[HpLearner, ...] = ()
    teachers: tuple[HpTeacher, ...] = ()
    rooms: tuple[HpRoom, ...] = ()
    subjects: tuple[HpSubject, ...] = ()
    promotions: tuple[HpPromotion, ...] = ()
    td_options: tuple[HpTdOption, ...] = ()
    tutors: tuple[HpTutor, ...] = ()
    exemptions: tuple[HpExemption, ...] = ()
    student_families: HpFamilyIndex = field(default_factory=HpFamilyIndex)
    course_families: HpFamilyIndex = field(default_factory=HpFamilyIndex)
