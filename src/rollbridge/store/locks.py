"""The run lock: one run per (tenant, direction) at a time, across processes."""

from __future__ import annotations

import secrets as random_tokens
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa

from rollbridge.errors import StoreError
from rollbridge.store.base import StoreBase
from rollbridge.store.tables import run_locks


class RunLockMixin(StoreBase):
    """A lock row with an expiry per (tenant, direction)."""

    @contextmanager
    def run_lock(
        self, tenant: str, direction: str, *, holder: str, ttl_s: float = 3600
    ) -> Iterator[None]:
        """Hold the (tenant, direction) run lock; StoreError if someone else holds it.

        The lock is a row with an expiry: a holder that died without releasing it is
        taken over once `ttl_s` has passed.
        """
        if ttl_s < 0:
            raise StoreError("a lock's ttl_s cannot be negative", tenant=tenant)
        token = self._acquire(tenant, direction, holder, ttl_s)
        try:
            yield
        finally:
            with self._tx("release the run lock", tenant=tenant) as conn:
                conn.execute(
                    sa.delete(run_locks).where(
                        run_locks.c.tenant == tenant,
                        run_locks.c.direction == direction,
                        run_locks.c.token == token,
                    )
                )

    def _acquire(self, tenant: str, direction: str, holder: str, ttl_s: float) -> str:
        c = run_locks.c
        token = random_tokens.token_hex(16)
        for _ in range(3):  # the holder may release between our insert and our look
            now = self._now()
            values = {
                "holder": holder,
                "token": token,
                "acquired_at": now,
                "expires_at": now + timedelta(seconds=ttl_s),
            }
            with self._tx("take the run lock", tenant=tenant) as conn:
                inserted = conn.execute(
                    self._insert(run_locks).on_conflict_do_nothing().returning(c.token),
                    {"tenant": tenant, "direction": direction, **values},
                ).first()
                if inserted is not None:
                    return token
                taken_over = conn.execute(
                    sa.update(run_locks)
                    .where(c.tenant == tenant, c.direction == direction, c.expires_at <= now)
                    .values(values)
                )
                if taken_over.rowcount == 1:
                    return token
                current = conn.execute(
                    sa.select(c.holder, c.acquired_at, c.expires_at).where(
                        c.tenant == tenant, c.direction == direction
                    )
                ).first()
            if current is not None:
                raise StoreError(
                    f"another {direction} run of {tenant} is in progress since "
                    f"{current.acquired_at:%Y-%m-%d %H:%M:%S} UTC (held by {current.holder}; "
                    f"the lock expires at {current.expires_at:%Y-%m-%d %H:%M:%S} UTC)",
                    tenant=tenant,
                    direction=direction,
                )
        raise StoreError(f"could not take the {direction} run lock of {tenant}", tenant=tenant)
