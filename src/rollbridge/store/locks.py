"""The run lock: one run per (tenant, direction) at a time, across processes.

The lock is a row with an expiry, renewed by a heartbeat while the run lasts: a run longer
than the expiry keeps its lock, and a holder that died is taken over soon after (the
expiry, not the length of the longest run).
"""

from __future__ import annotations

import secrets as random_tokens
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa
import structlog

from rollbridge.errors import StoreError
from rollbridge.store.base import StoreBase
from rollbridge.store.tables import run_locks

log = structlog.get_logger("rollbridge.store")

LOCK_TTL_S = 900.0


class RunLockMixin(StoreBase):
    """A lock row with an expiry per (tenant, direction)."""

    @contextmanager
    def run_lock(
        self,
        tenant: str,
        direction: str,
        *,
        holder: str,
        ttl_s: float = LOCK_TTL_S,
        renew_every_s: float | None = None,
    ) -> Iterator[None]:
        """Hold the (tenant, direction) run lock; StoreError if someone else holds it.

        A heartbeat pushes the expiry `ttl_s` ahead every `renew_every_s` (default a third
        of `ttl_s`; 0: never) while the block runs; a holder that died without releasing
        it is taken over once its expiry has passed.
        """
        if ttl_s < 0:
            raise StoreError("a lock's ttl_s cannot be negative", tenant=tenant)
        token = self._acquire(tenant, direction, holder, ttl_s)
        every = ttl_s / 3 if renew_every_s is None else renew_every_s
        stop = threading.Event()
        heartbeat = None
        if every > 0:
            heartbeat = threading.Thread(
                target=self._renew_until,
                args=(stop, tenant, direction, token, ttl_s, every),
                name=f"run-lock-{tenant}-{direction}",
                daemon=True,
            )
            heartbeat.start()
        try:
            yield
        finally:
            stop.set()
            if heartbeat is not None:
                heartbeat.join()
            with self._tx("release the run lock", tenant=tenant) as conn:
                conn.execute(
                    sa.delete(run_locks).where(
                        run_locks.c.tenant == tenant,
                        run_locks.c.direction == direction,
                        run_locks.c.token == token,
                    )
                )

    def _renew_until(
        self,
        stop: threading.Event,
        tenant: str,
        direction: str,
        token: str,
        ttl_s: float,
        every_s: float,
    ) -> None:
        """Push our lock's expiry ahead until `stop`; a lock lost is logged, once."""
        c = run_locks.c
        while not stop.wait(every_s):
            try:
                with self._tx("renew the run lock", tenant=tenant) as conn:
                    renewed = conn.execute(
                        sa.update(run_locks)
                        .where(c.tenant == tenant, c.direction == direction, c.token == token)
                        .values(expires_at=self._now() + timedelta(seconds=ttl_s))
                    )
            except StoreError as exc:  # the next beat tries again, before the expiry
                log.warning("run_lock.renew_failed", tenant=tenant, error=exc.message)
                continue
            if renewed.rowcount != 1:
                log.error("run_lock.lost", tenant=tenant, direction=direction)
                return

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
