"""Runs and their journal of sent steps.

Journal states (dlt's job states are the model):

    sent ──▶ done | failed | skipped        (journal_finish, by the run that sent it)
    sent ──▶ settled                        (settle_sent, by a later run after an API_ID lookup)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, NoReturn, cast, get_args

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rollbridge.errors import StoreError
from rollbridge.store.base import CHUNK, StoreBase, aware, check, chunks, execute_per_key
from rollbridge.store.records import Direction, JournalEntry, RunRecord, RunStatus, StepOutcome
from rollbridge.store.tables import journal, runs

_FINISHED_RUN: frozenset[str] = frozenset(get_args(RunStatus)) - {"running"}
_FINAL_STEP: frozenset[str] = frozenset({"done", "failed", "skipped"})


class RunsMixin(StoreBase):
    """Sync runs, and the steps each run journals before and after sending them."""

    def start_run(self, tenant: str, direction: Direction, *, at: datetime) -> int:
        """Record a run as 'running' and return its id (ids only grow)."""
        check(direction, get_args(Direction), "direction")
        values = {
            "tenant": tenant,
            "direction": direction,
            "status": "running",
            "started_at": aware(at),
        }
        with self._tx("start a run", tenant=tenant) as conn:
            return int(
                conn.execute(sa.insert(runs).values(values).returning(runs.c.id)).scalar_one()
            )

    def finish_run(
        self,
        run_id: int,
        *,
        status: Literal["ok", "held", "failed", "partial"],
        report: dict[str, object],
        at: datetime,
    ) -> None:
        """Close a running run with its status and report; a run is finished only once."""
        check(status, tuple(_FINISHED_RUN), "run status")
        stmt = (
            sa.update(runs)
            .where(runs.c.id == run_id, runs.c.status == "running")
            .values(status=status, report=report, finished_at=aware(at))
        )
        with self._tx("finish a run", run=str(run_id)) as conn:
            if conn.execute(stmt).rowcount == 1:
                return
            current = conn.execute(
                sa.select(runs.c.status).where(runs.c.id == run_id)
            ).scalar_one_or_none()
        if current is None:
            raise StoreError(f"no run {run_id}", run=str(run_id))
        raise StoreError(f"run {run_id} is already finished ({current})", run=str(run_id))

    def recent_runs(self, tenant: str | None = None, limit: int = 20) -> list[RunRecord]:
        """The newest runs first, of one tenant or of all."""
        stmt = sa.select(runs).order_by(runs.c.id.desc()).limit(limit)
        if tenant is not None:
            stmt = stmt.where(runs.c.tenant == tenant)
        with self._read("list runs") as conn:
            rows = conn.execute(stmt).all()
        return [
            RunRecord(
                id=row.id,
                tenant=row.tenant,
                direction=cast(Direction, row.direction),
                status=cast(RunStatus, row.status),
                started_at=row.started_at,
                finished_at=row.finished_at,
                report=dict(row.report or {}),
            )
            for row in rows
        ]

    # -- journal -----------------------------------------------------------------------

    def journal_sent(
        self, run_id: int, tenant: str, account: str, entries: Sequence[JournalEntry]
    ) -> None:
        """Record steps as 'sent' before their requests go out; one transaction for the batch."""
        rows = {
            entry.key: {
                "run_id": run_id,
                "account": account,
                "key": entry.key,
                "tenant": tenant,
                "kind": entry.kind,
                "action": entry.action,
                "api_id": entry.api_id,
                "content_hash": entry.content_hash,
                "state": "sent",
                "edusign_id": None,
                "error": None,
            }
            for entry in entries
        }
        stmt = self._upsert(
            journal,
            ("run_id", "account", "key"),
            ("kind", "action", "api_id", "content_hash", "state", "edusign_id", "error"),
            changed_only=False,
        )
        where = {"tenant": tenant, "account": account, "run": str(run_id)}
        with self._tx("journal sent steps", **where) as conn:
            owner = conn.execute(
                sa.select(runs.c.tenant).where(runs.c.id == run_id)
            ).scalar_one_or_none()
            if owner != tenant:
                raise StoreError(f"run {run_id} is not a run of tenant {tenant}", **where)
            for chunk in chunks(list(rows.values()), CHUNK):
                conn.execute(stmt, chunk)
            self._supersede_older_sent(conn, run_id, tenant, account, list(rows))

    @staticmethod
    def _supersede_older_sent(
        conn: Connection, run_id: int, tenant: str, account: str, keys: Sequence[str]
    ) -> None:
        """Keep one 'sent' row per key, the newest: a new step on a key settles older ones.

        Normally a run settles what a crashed run left before sending anything new, so
        the cheap check finds nothing and no update runs.
        """
        c = journal.c
        older = (c.tenant == tenant, c.account == account, c.state == "sent", c.run_id < run_id)
        if conn.execute(sa.select(c.key).where(*older).limit(1)).first() is None:
            return
        stmt = (
            sa.update(journal).where(*older, c.key == sa.bindparam("b_key")).values(state="settled")
        )
        execute_per_key(conn, stmt, keys)

    def journal_finish(self, run_id: int, account: str, outcomes: Sequence[StepOutcome]) -> None:
        """Move sent steps of this run to done, failed or skipped; one transaction."""
        final = {outcome.key: outcome for outcome in outcomes}
        for outcome in final.values():
            check(outcome.state, tuple(_FINAL_STEP), "step state")
        c = journal.c
        where = {"account": account, "run": str(run_id)}
        this_step = (c.run_id == run_id, c.account == account, c.key == sa.bindparam("b_key"))
        update = (
            sa.update(journal)
            .where(*this_step, c.state == "sent")
            .values(
                state=sa.bindparam("b_state"),
                edusign_id=sa.bindparam("b_edusign_id"),
                error=sa.bindparam("b_error"),
            )
        )
        params = [
            {"b_key": o.key, "b_state": o.state, "b_edusign_id": o.edusign_id, "b_error": o.error}
            for o in final.values()
        ]
        try:
            with self._tx("journal step outcomes", **where) as conn:
                batches = chunks(params, CHUNK)
                if sum(conn.execute(update, batch).rowcount for batch in batches) != len(params):
                    raise _NotAllSentError  # rolls the whole batch back
        except _NotAllSentError:
            self._refuse_outcomes(run_id, account, sorted(final))

    def _refuse_outcomes(self, run_id: int, account: str, keys: Sequence[str]) -> NoReturn:
        """Say which steps of a refused `journal_finish` batch were not 'sent'."""
        c = journal.c
        where = {"account": account, "run": str(run_id)}
        found = sa.select(c.state).where(
            c.run_id == run_id, c.account == account, c.key == sa.bindparam("b_key")
        )
        with self._read("read step states", **where) as conn:
            states = {key: conn.execute(found, {"b_key": key}).scalar() for key in keys}
        missing = [key for key in keys if states[key] is None]
        if missing:
            raise StoreError(
                f"{len(missing)} step(s) were never journaled as sent "
                f"(first: {missing[0]}); call journal_sent before sending",
                **where,
            )
        first = next(key for key in keys if states[key] != "sent")
        raise StoreError(
            f"step {first} is already {states[first]}; it cannot be finished again", **where
        )

    def pending_sent(self, tenant: str, account: str) -> list[JournalEntry]:
        """Steps journaled 'sent' whose outcome was never recorded (the run died), by key.

        There is at most one per key, the newest: journaling a key again settles older
        'sent' rows of it (see `_supersede_older_sent`).
        """
        c = journal.c
        stmt = (
            sa.select(c.key, c.kind, c.action, c.api_id, c.content_hash)
            .where(c.tenant == tenant, c.account == account, c.state == "sent")
            .order_by(c.key, c.run_id)
        )
        with self._read("read pending steps", tenant=tenant, account=account) as conn:
            newest = {row[0]: JournalEntry(*row) for row in conn.execute(stmt)}
        return list(newest.values())

    def settle_sent(self, tenant: str, account: str, keys: Sequence[str]) -> None:
        """Mark every 'sent' step of these keys 'settled' (their outcome is now known)."""
        c = journal.c
        stmt = (
            sa.update(journal)
            .where(
                c.tenant == tenant,
                c.account == account,
                c.key == sa.bindparam("b_key"),
                c.state == "sent",
            )
            .values(state="settled")
        )
        with self._tx("settle sent steps", tenant=tenant, account=account) as conn:
            execute_per_key(conn, stmt, keys)


class _NotAllSentError(Exception):
    """Internal: some outcomes of a batch matched no 'sent' step."""
