"""Attendance marks written back to the source system, with the values they replaced."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa

from rollbridge.gcpause import gc_paused
from rollbridge.store.base import CHUNK, IN_CHUNK, StoreBase, aware, chunks
from rollbridge.store.records import StoredMark
from rollbridge.store.tables import mark_history as history_table
from rollbridge.store.tables import marks as marks_table


class MarksMixin(StoreBase):
    """The last written mark of each (session, learner), and its history."""

    def load_marks(self, tenant: str, account: str) -> dict[tuple[str, str], StoredMark]:
        """The last written mark of every (session key, learner key) of one account."""
        with gc_paused():
            return self._load_marks(tenant, account)

    def _load_marks(self, tenant: str, account: str) -> dict[tuple[str, str], StoredMark]:
        c = marks_table.c
        stmt = sa.select(
            c.session_key, c.learner_key, c.content_hash, c.payload, c.written_at
        ).where(c.tenant == tenant, c.account == account)
        with self._read("load marks", tenant=tenant, account=account) as conn:
            rows = conn.execute(stmt).all()
        return {(row[0], row[1]): StoredMark(row[2], row[3], row[4]) for row in rows}

    def save_marks(
        self,
        tenant: str,
        account: str,
        marks: Sequence[tuple[str, str, str, Mapping[str, object]]],
        *,
        at: datetime,
    ) -> None:
        """Record marks written at `at`; a changed mark's previous value goes to history.

        A mark saved again with the same content hash is left as it was (same
        `written_at`, no history row).
        """
        at = aware(at)
        wanted = {(s, lrn): (h, p) for s, lrn, h, p in marks}
        c = marks_table.c
        where = {"tenant": tenant, "account": account}
        with self._tx("save marks", **where) as conn:
            have: dict[tuple[str, str], tuple[str, object, datetime]] = {}
            # By session, not by (session, learner) pairs: PostgreSQL turns a long row-value
            # IN list into an OR chain that scans; `session_key IN` walks the primary key.
            for chunk in chunks(sorted({session for session, _ in wanted}), IN_CHUNK):
                rows = conn.execute(
                    sa.select(
                        c.session_key, c.learner_key, c.content_hash, c.payload, c.written_at
                    ).where(c.tenant == tenant, c.account == account, c.session_key.in_(chunk))
                )
                have.update(
                    {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows if (r[0], r[1]) in wanted}
                )
            new = [pair for pair in wanted if pair not in have]
            changed = [pair for pair in wanted if pair in have and have[pair][0] != wanted[pair][0]]
            history = [
                {
                    **where,
                    "session_key": s,
                    "learner_key": lrn,
                    "content_hash": have[s, lrn][0],
                    "payload": have[s, lrn][1],
                    "written_at": have[s, lrn][2],
                    "replaced_at": at,
                }
                for s, lrn in changed
            ]
            for batch in chunks(history, CHUNK):
                conn.execute(sa.insert(history_table), batch)
            inserts = [
                {
                    **where,
                    "session_key": s,
                    "learner_key": lrn,
                    "content_hash": wanted[s, lrn][0],
                    "payload": wanted[s, lrn][1],
                    "written_at": at,
                }
                for s, lrn in new
            ]
            for batch in chunks(inserts, CHUNK):
                conn.execute(sa.insert(marks_table), batch)
            update = (
                sa.update(marks_table)
                .where(
                    c.tenant == tenant,
                    c.account == account,
                    c.session_key == sa.bindparam("b_session"),
                    c.learner_key == sa.bindparam("b_learner"),
                )
                .values(
                    content_hash=sa.bindparam("b_hash"),
                    payload=sa.bindparam("b_payload", type_=sa.JSON),
                    written_at=sa.bindparam("b_at", type_=marks_table.c.written_at.type),
                )
            )
            updates = [
                {
                    "b_session": s,
                    "b_learner": lrn,
                    "b_hash": wanted[s, lrn][0],
                    "b_payload": wanted[s, lrn][1],
                    "b_at": at,
                }
                for s, lrn in changed
            ]
            for batch in chunks(updates, CHUNK):
                conn.execute(update, batch)

    def mark_history(
        self, tenant: str, account: str, session_key: str, learner_key: str
    ) -> list[StoredMark]:
        """The values a mark had before its current one, oldest first."""
        c = history_table.c
        stmt = (
            sa.select(c.content_hash, c.payload, c.written_at)
            .where(
                c.tenant == tenant,
                c.account == account,
                c.session_key == session_key,
                c.learner_key == learner_key,
            )
            .order_by(c.id)
        )
        with self._read("read mark history", tenant=tenant, account=account) as conn:
            rows = conn.execute(stmt).all()
        return [StoredMark(*row) for row in rows]
