"""What the store hands back: frozen records and the closed vocabularies they use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from rollbridge.identity import EdusignKind

Direction = Literal["down", "up"]
RunStatus = Literal["running", "ok", "held", "failed", "partial"]
StepState = Literal["sent", "done", "failed", "skipped", "settled"]
PlanStatus = Literal["held", "approved", "rejected", "applied", "superseded"]


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One sync run; `status` is 'running' until `finish_run`, `report` empty until then."""

    id: int
    tenant: str
    direction: Direction
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    report: dict[str, object]


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A write about to be sent to Edusign (`content_hash` is "" when nothing is written)."""

    key: str
    kind: EdusignKind
    action: str
    api_id: str
    content_hash: str


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """How a sent step ended."""

    key: str
    state: Literal["done", "failed", "skipped"]
    edusign_id: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StoredMark:
    """An attendance mark as written to the source system (or a previous value of it)."""

    content_hash: str
    payload: dict[str, object]
    written_at: datetime


@dataclass(frozen=True, slots=True)
class HeldPlan:
    """A plan the deletion circuit breaker stopped; `cancels` is account -> source keys.

    `resolved_at`/`resolved_by` record the decision on the held plan (approve, reject,
    supersede); `applied_at`/`applied_by` record when an approved plan was carried out.
    """

    id: str
    tenant: str
    direction: str
    status: PlanStatus
    summary: dict[str, object]
    cancels: dict[str, list[str]]
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    applied_at: datetime | None = None
    applied_by: str | None = None
