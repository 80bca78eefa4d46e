"""What a run did, as data: printed by the CLI, stored with the run, sent as `--json`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Literal

from rollbridge.model import Rejected

RunStatus = Literal["ok", "partial", "held", "failed", "planned"]
Direction = Literal["down", "up"]


def bump(counts: dict[str, int], key: str, by: int = 1) -> None:
    """Add to a plain counter (plain dicts survive `asdict` and JSON)."""
    counts[key] = counts.get(key, 0) + by


@dataclass(slots=True)
class Problem:
    """A record we skipped or a write that failed, with the reason a person can act on."""

    kind: str
    key: str
    reason: str
    label: str = ""


@dataclass(slots=True)
class AccountReport:
    """One Edusign account's share of a run."""

    account: str
    planned: dict[str, int] = field(default_factory=dict)
    applied: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0
    kept_absent: int = 0
    deferred: int = 0  # changes not applied because the read was incomplete
    conflicts: list[Problem] = field(default_factory=list)
    failures: list[Problem] = field(default_factory=list)
    adopted: int = 0
    healed: int = 0
    requests: int = 0
    writes: int = 0
    # up direction
    marks_read: int = 0
    marks_changed: int = 0
    marks_written: int = 0
    marks_by_status: dict[str, int] = field(default_factory=dict)
    sheets_pending: int = 0
    not_written: list[Problem] = field(default_factory=list)


@dataclass(slots=True)
class RunReport:
    """The whole run."""

    tenant: str
    direction: Direction
    started_at: datetime
    run_id: int | None = None
    finished_at: datetime | None = None
    status: RunStatus = "ok"
    read_complete: bool = True
    source_counts: dict[str, int] = field(default_factory=dict)
    # Sessions of batches unchanged since the last run in sync: neither built nor planned.
    sessions_reused: int = 0
    rejected: list[Problem] = field(default_factory=list)
    accounts: list[AccountReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    held_plan_id: str | None = None
    held_reasons: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def writes(self) -> int:
        return sum(a.writes for a in self.accounts)

    @property
    def conflicts(self) -> int:
        return sum(len(a.conflicts) for a in self.accounts)

    @property
    def failures(self) -> int:
        return sum(len(a.failures) for a in self.accounts)

    def add_rejected(self, items: tuple[Rejected, ...] | list[Rejected]) -> None:
        """Record skipped source records once each."""
        seen = {(p.kind, p.key, p.reason) for p in self.rejected}
        for item in items:
            problem = Problem(item.kind, item.source_id, item.reason, item.label)
            if (problem.kind, problem.key, problem.reason) not in seen:
                seen.add((problem.kind, problem.key, problem.reason))
                self.rejected.append(problem)

    def exit_code(self) -> int:
        """0 ok, 1 error, 3 held for approval (documented in the README)."""
        if self.status == "held":
            return 3
        if self.status == "failed":
            return 1
        return 0

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        data["writes"] = self.writes
        data["conflicts_total"] = self.conflicts
        data["failures_total"] = self.failures
        return data
