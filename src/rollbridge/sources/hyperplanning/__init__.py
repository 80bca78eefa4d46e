"""Hyperplanning (Index Éducation) through HYPERPLANNING Service web (HPSW, SOAP).

This package's pure layer turns what the HPSW client read into canonical records and
plans the attendance writes; it does no I/O. Modules: `times` (wall-clock date-times
labelled UTC, day-fraction durations, HP weeks), `ids` (base identity, source ids),
`inputs` (typed inputs), `parse` (raw zeep values → inputs), `seances` (séance identity),
`families` (families/sections → routing attributes), `records` (inputs → `Snapshot`),
`basecheck` (the yearly planning change), `marks` (marks → HPSW writes).
API facts: `shared/apis/hyperplanning.md`; tags [U] there mark what is unverified.

French terms, as Hyperplanning names them:

- base, `DatePremierJourBase`: one school year's planning, its first day; with the
  configured URL it makes the `base_id` every source id starts with.
- cours (père, fils, simple; placé, non placé): a course (parent, child, simple; placed on
  the timetable grid or not). Parents and unplaced courses give no sessions.
- séance (`JourEtHeureDebut`, `Duree`): one dated occurrence of a course, a `Session`;
  its wall-clock start and its duration in days.
- semaine (`THpSvcWSemaine`): an HP week, counted from the base's first week.
- matière, `TypeCours`, `MemoCours`: subject (names the session), course type (CM, TD,
  TP…), the course's memo.
- étudiant, enseignant: learner, instructor.
- promotion, TD/option, regroupement: a class or cohort, one of its TD groups or options,
  a grouping across promotions.
- salle (nom, code, libellé long): a room, with its name, code and long label.
- famille, rubrique, genre (`gfEtudiant`, `gfCours`…): a custom classification, one of
  its sections, the kind of data it classifies. Memberships become routing `attrs`.
- dispense: an exemption from a subject, or from everything.
- stage, entreprise, maître d'apprentissage: internship, company, apprenticeship master
  (a tutor).
- absence, retard, justifiée, motif: an absence span, a lateness, justified, a reason label.
- présence obligatoire, appel terminé: attendance compulsory for a course; roll call done
  for a séance.
- clé (`THpSvcWCle…`), tableau: an opaque integer key; an array (bulk `…TableauDe…` calls
  answer in the order of the keys given).
"""

from rollbridge.sources.hyperplanning.basecheck import BaseVerdict, check_base
from rollbridge.sources.hyperplanning.families import course_family_attrs, learner_family_attrs
from rollbridge.sources.hyperplanning.ids import (
    SessionRef,
    base_id,
    key_of,
    normalise_url,
    parse_session_id,
    session_id,
    session_id_by_start,
    source_id,
)
from rollbridge.sources.hyperplanning.inputs import (
    HpAbsence,
    HpCourse,
    HpExemption,
    HpFamilyIndex,
    HpLateness,
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
from rollbridge.sources.hyperplanning.marks import (
    AddAbsence,
    AddLateness,
    OwnSpan,
    RemoveAbsence,
    WriteOp,
    WriteOptions,
    WritePlan,
    plan_mark_write,
)
from rollbridge.sources.hyperplanning.parse import (
    as_flag,
    as_items,
    as_key,
    as_keys,
    as_optional_key,
    as_optional_text,
    as_text,
    as_texts,
    lateness_from_zeep,
    seance_from_zeep,
    seances_from_zeep,
)
from rollbridge.sources.hyperplanning.records import BuildOptions, HpBuild, build_snapshot
from rollbridge.sources.hyperplanning.seances import IdentifiedSeance, identify_seances
from rollbridge.sources.hyperplanning.times import (
    as_days,
    day_fraction_to_minutes,
    end_of,
    monday_of,
    to_utc,
    wallclock,
    week_monday,
    week_of,
)

__all__ = [
    "AddAbsence",
    "AddLateness",
    "BaseVerdict",
    "BuildOptions",
    "HpAbsence",
    "HpBuild",
    "HpCourse",
    "HpExemption",
    "HpFamilyIndex",
    "HpLateness",
    "HpLearner",
    "HpPromotion",
    "HpRead",
    "HpRoom",
    "HpSeance",
    "HpSection",
    "HpSubject",
    "HpTdOption",
    "HpTeacher",
    "HpTutor",
    "IdentifiedSeance",
    "OwnSpan",
    "RemoveAbsence",
    "SessionRef",
    "WriteOp",
    "WriteOptions",
    "WritePlan",
    "as_days",
    "as_flag",
    "as_items",
    "as_key",
    "as_keys",
    "as_optional_key",
    "as_optional_text",
    "as_text",
    "as_texts",
    "base_id",
    "build_snapshot",
    "check_base",
    "course_family_attrs",
    "day_fraction_to_minutes",
    "end_of",
    "identify_seances",
    "key_of",
    "lateness_from_zeep",
    "learner_family_attrs",
    "monday_of",
    "normalise_url",
    "parse_session_id",
    "plan_mark_write",
    "seance_from_zeep",
    "seances_from_zeep",
    "session_id",
    "session_id_by_start",
    "source_id",
    "to_utc",
    "wallclock",
    "week_monday",
    "week_of",
]
