"""Attendance write-back over HPSW (`IHpSvcWAbsences`), and the connector's small state file.

For each mark: find the séance (course and HP week from the session id), read the
learner's absences and lateness over it, let `marks.plan_mark_write` decide, run the ops.
The spans rollbridge wrote are kept in `<state_dir>/hyperplanning-state.json` (written
atomically) with the base seen per school year: rollbridge never removes a span it did not
write, and notices when the web service switched to another base.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rollbridge.errors import SourceError
from rollbridge.sources.hyperplanning.client import HpswClient
from rollbridge.sources.hyperplanning.inputs import HpAbsence, HpLateness, HpSeance
from rollbridge.sources.hyperplanning.marks import (
    AddAbsence,
    AddLateness,
    OwnSpan,
    RemoveAbsence,
    WriteOp,
)
from rollbridge.sources.hyperplanning.parse import (
    as_flag,
    as_keys,
    as_text,
    lateness_from_zeep,
    seances_from_zeep,
)
from rollbridge.sources.hyperplanning.times import wallclock

ABSENCES = "PortAbsences"
STATE_FILE = "hyperplanning-state.json"


@dataclass(slots=True)
class HpState:
    """What the connector remembers between runs: bases seen, spans it wrote."""

    path: Path
    bases: dict[str, str] = field(default_factory=dict)  # school year start → base id
    own: dict[str, list[OwnSpan]] = field(default_factory=dict)  # "session|learner" → spans

    @classmethod
    def load(cls, state_dir: Path) -> HpState:
        """Read the state file; a missing one is an empty state."""
        path = state_dir / STATE_FILE
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as exc:
            raise SourceError(f"cannot read {path}: {exc}; fix or remove it") from None
        own = {
            key: [
                OwnSpan(
                    kind=item["kind"],
                    start_wall=datetime.fromisoformat(item["start"]),
                    end_wall=datetime.fromisoformat(item["end"]),
                    justified=bool(item["justified"]),
                )
                for item in spans
            ]
            for key, spans in data.get("own", {}).items()
        }
        return cls(path, dict(data.get("bases", {})), own)

    def save(self) -> None:
        """Write atomically: a crash leaves the old file or the new one, never half."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "bases": self.bases,
            "own": {
                key: [
                    {
                        "kind": s.kind,
                        "start": s.start_wall.isoformat(),
                        "end": s.end_wall.isoformat(),
                        "justified": s.justified,
                    }
                    for s in spans
                ]
                for key, spans in sorted(self.own.items())
                if spans
            },
        }
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".hp-state-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def absences_of(
    client: HpswClient, learner: int, start: datetime, end: datetime
) -> tuple[HpAbsence, ...]:
    """The learner's absence spans touching [start, end]."""
    out: list[HpAbsence] = []
    for key in as_keys(client.call(ABSENCES, "AbsencesEtudiantEntre2Dates", learner, start, end)):
        out.append(
            HpAbsence(
                wallclock(client.call(ABSENCES, "DateHeureDebutAbsenceEtudiant", key)),
                wallclock(client.call(ABSENCES, "DateHeureFinAbsenceEtudiant", key)),
                as_flag(client.call(ABSENCES, "AbsenceEtudiantEstJustifiee", key)),
                as_text(client.call(ABSENCES, "MotifAbsenceEtudiant", key)),
            )
        )
    return tuple(out)


def lateness_of(
    client: HpswClient, learner: int, start: datetime, end: datetime
) -> tuple[HpLateness, ...]:
    """The learner's lateness records touching [start, end]."""
    return tuple(
        lateness_from_zeep(
            client.call(ABSENCES, "DateHeureRetardEtudiant", key),
            client.call(ABSENCES, "DureeRetardEtudiant", key),
            client.call(ABSENCES, "RetardEtudiantEstJustifie", key),
        )
        for key in as_keys(client.call(ABSENCES, "RetardsEtudiantEntre2Dates", learner, start, end))
    )


def seances_of_course(client: HpswClient, course: int) -> tuple[HpSeance, ...]:
    """The placed séances of one course."""
    seances, _ = seances_from_zeep(
        client.call("PortCours", "DetailDesSeancesPlaceesDuCours", course)
    )
    return seances


def run_op(client: HpswClient, op: WriteOp) -> None:
    """One write; naive local wall-clock times, as HPSW reads them back (API notes §4)."""
    if isinstance(op, AddAbsence):
        client.call(
            ABSENCES,
            "AjouterAbsenceEtudiant",
            op.learner_key,
            op.start_wall,
            op.end_wall,
            op.justified,
            write=True,
        )
    elif isinstance(op, RemoveAbsence):
        client.call(
            ABSENCES,
            "EnleverAbsenceEtudiant",
            op.learner_key,
            op.start_wall,
            op.end_wall,
            write=True,
        )
    elif isinstance(op, AddLateness):
        client.call(
            ABSENCES,
            "CreerRetardEtudiant",
            op.learner_key,
            op.start_wall,
            op.end_wall,
            op.justified,
            write=True,
        )
