"""Everything one Edusign school holds, as plain tables the rule modules share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rollbridge.sandbox.edusign.clock import Clock
from rollbridge.sandbox.edusign.ids import IdMaker
from rollbridge.sandbox.edusign.table import Table
from rollbridge.sandbox.edusign.wire import Obj, fresh_row

ABSENCE_REASONS = (
    "Maladie",
    "Rendez-vous médical",
    "Raison familiale",
    "Problème de transport",
    "Convocation officielle",
    "Autre",
)


class SchoolData:
    """One school's rows, catalogues and id source; no rules and no lock."""

    def __init__(self, *, clock: Clock, seed: int | None, name: str) -> None:
        self.clock = clock
        self.ids = IdMaker(seed)
        self.school_id = self.ids.new()
        self.name = name
        self.date_created = clock.stamp()
        self.students = Table("No student with this ID found")
        self.professors = Table("professor not found")
        self.groups = Table("No group with this ID found")
        self.externals = Table("No external with this ID found")
        self.courses = Table("No course with this ID found")
        self.absences = Table("No justified absence with this ID found")
        self.reasons = [{"ID": self.ids.new(), "NAME": n} for n in ABSENCE_REASONS]
        self.classrooms: dict[str, Obj] = {}
        self.credential_emails: list[str] = []  # who would have received login e-mails (§10.10)

    def new_row(self, defaults: Mapping[str, Any], fields: Mapping[str, Any]) -> Obj:
        """A new object of this school: fresh ID, the kind's defaults, `fields`, stamps."""
        object_id = self.ids.new()
        stamp = self.clock.stamp()
        return {
            "ID": object_id,
            "id": object_id,
            **fresh_row(defaults),
            **fields,
            "SCHOOL_ID": self.school_id,
            "DATE_CREATED": stamp,
            "DATE_UPDATED": stamp,
        }
