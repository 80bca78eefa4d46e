"""The store: what rollbridge remembers between runs, in SQLite or PostgreSQL.

Links (source key ↔ Edusign id + content hash), runs and their journal of sent steps,
attendance marks written back (with history), plans held by the deletion guard, run
locks, and secrets encrypted at rest. `Store.open(url)` migrates the schema (Alembic,
shipped in `migrations/`) before returning.
"""

from rollbridge.store.records import (
    Direction,
    HeldPlan,
    JournalEntry,
    PlanStatus,
    RunRecord,
    RunStatus,
    StepOutcome,
    StepState,
    StoredMark,
)
from rollbridge.store.repository import Store

__all__ = [
    "Direction",
    "HeldPlan",
    "JournalEntry",
    "PlanStatus",
    "RunRecord",
    "RunStatus",
    "StepOutcome",
    "StepState",
    "Store",
    "StoredMark",
]
