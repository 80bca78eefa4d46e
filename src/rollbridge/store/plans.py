"""Plans held by the deletion guard, and what was decided about them.

Held plan states: held ──▶ approved | rejected | superseded; approved ──▶ applied.
"""

from __future__ import annotations

import secrets as random_tokens
from datetime import datetime
from typing import Literal, cast

import sqlalchemy as sa

from rollbridge.errors import StoreError
from rollbridge.store.base import StoreBase, aware
from rollbridge.store.records import HeldPlan, PlanStatus
from rollbridge.store.tables import held_plans

_PLAN_MOVES: dict[str, frozenset[str]] = {
    "held": frozenset({"approved", "rejected", "superseded"}),
    "approved": frozenset({"applied"}),
}


class HeldPlansMixin(StoreBase):
    """Plans the deletion circuit breaker stopped, until approved, rejected or superseded."""

    def hold_plan(
        self,
        tenant: str,
        direction: str,
        *,
        summary: dict[str, object],
        cancels: dict[str, list[str]],
        at: datetime,
    ) -> str:
        """Store a plan the deletion guard stopped; returns its short id (8 hex digits)."""
        values = {
            "tenant": tenant,
            "direction": direction,
            "status": "held",
            "summary": summary,
            "cancels": {account: list(keys) for account, keys in cancels.items()},
            "created_at": aware(at),
        }
        for _ in range(5):  # 2^32 ids: a collision is rare, two in a row is not a thing
            plan_id = random_tokens.token_hex(4)
            with self._tx("hold a plan", tenant=tenant) as conn:
                taken = conn.execute(
                    sa.select(held_plans.c.id).where(held_plans.c.id == plan_id)
                ).first()
                if taken is None:
                    conn.execute(sa.insert(held_plans).values(id=plan_id, **values))
                    return plan_id
        raise StoreError("could not find a free plan id", tenant=tenant)

    def held_plans(self, tenant: str | None = None, status: str | None = "held") -> list[HeldPlan]:
        """Plans newest first, filtered by tenant and status (None: any)."""
        stmt = sa.select(held_plans).order_by(held_plans.c.created_at.desc(), held_plans.c.id)
        if tenant is not None:
            stmt = stmt.where(held_plans.c.tenant == tenant)
        if status is not None:
            stmt = stmt.where(held_plans.c.status == status)
        with self._read("list held plans") as conn:
            return [_plan(row) for row in conn.execute(stmt)]

    def get_plan(self, plan_id: str) -> HeldPlan | None:
        """One plan by id, None if unknown."""
        stmt = sa.select(held_plans).where(held_plans.c.id == plan_id)
        with self._read("read a held plan", plan=plan_id) as conn:
            row = conn.execute(stmt).first()
        return None if row is None else _plan(row)

    def resolve_plan(
        self,
        plan_id: str,
        status: Literal["approved", "rejected", "applied", "superseded"],
        *,
        at: datetime,
        by: str,
    ) -> HeldPlan:
        """Decide a held plan (approve, reject, supersede) or mark an approved one applied."""
        at = aware(at)
        c = held_plans.c
        with self._tx("resolve a held plan", plan=plan_id) as conn:
            row = conn.execute(
                sa.select(held_plans).where(c.id == plan_id).with_for_update()
            ).first()
            if row is None:
                raise StoreError(f"no held plan {plan_id}", plan=plan_id)
            if status not in _PLAN_MOVES.get(row.status, frozenset()):
                raise StoreError(
                    f"plan {plan_id} is {row.status}; it cannot become {status}",
                    plan=plan_id,
                    tenant=row.tenant,
                )
            who = (
                {"applied_at": at, "applied_by": by}
                if status == "applied"
                else {"resolved_at": at, "resolved_by": by}
            )
            conn.execute(
                sa.update(held_plans)
                .where(c.id == plan_id, c.status == row.status)
                .values(status=status, **who)
            )
            return _plan(conn.execute(sa.select(held_plans).where(c.id == plan_id)).one())

    def approved_cancels(
        self, tenant: str, direction: str
    ) -> tuple[str | None, dict[str, set[str]]]:
        """The newest approved, not yet applied plan of (tenant, direction) and its cancels."""
        c = held_plans.c
        stmt = (
            sa.select(c.id, c.cancels)
            .where(c.tenant == tenant, c.direction == direction, c.status == "approved")
            .order_by(c.created_at.desc(), c.id.desc())
            .limit(1)
        )
        with self._read("read approved plans", tenant=tenant) as conn:
            row = conn.execute(stmt).first()
        if row is None:
            return None, {}
        return row.id, {account: set(keys) for account, keys in row.cancels.items()}


def _plan(row: sa.Row[tuple[object, ...]]) -> HeldPlan:
    m = row._mapping
    cancels = m["cancels"]
    return HeldPlan(
        id=m["id"],
        tenant=m["tenant"],
        direction=m["direction"],
        status=cast(PlanStatus, m["status"]),
        summary=dict(m["summary"]),
        cancels={account: list(keys) for account, keys in cancels.items()},
        created_at=m["created_at"],
        resolved_at=m["resolved_at"],
        resolved_by=m["resolved_by"],
        applied_at=m["applied_at"],
        applied_by=m["applied_by"],
    )
