"""Settled session batches: which batches were wholly in sync after a run, built from what.

A batch is settled when every one of its sessions was in sync in every account at the end
of a run; its row keeps the fingerprint it was built from, how many sessions it held, how
many course links each account has for it (`links.batch`), and its rejections, so that a
run that skips building it still reports them. A batch is forgotten before any run that
rebuilds it writes anything, so a run that stops half-way never leaves a stale row.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from rollbridge.store.base import CHUNK, IN_CHUNK, StoreBase, chunks
from rollbridge.store.tables import links as links_table
from rollbridge.store.tables import session_batches

RejectedRow = tuple[str, str, str, str]  # kind, source id, reason, label


@dataclass(frozen=True, slots=True)
class SettledBatch:
    """One settled batch: its fingerprint, sessions, course links per account, rejections."""

    batch_id: str
    fingerprint: str
    sessions: int
    accounts: Mapping[str, int]
    rejected: tuple[RejectedRow, ...] = ()


class BatchesMixin(StoreBase):
    """The `session_batches` table and the `batch` column of links."""

    def settled_batches(self, tenant: str) -> dict[str, SettledBatch]:
        """Every settled batch of the tenant, by id."""
        t = session_batches.c
        stmt = sa.select(t.batch_id, t.fingerprint, t.sessions, t.accounts, t.rejected).where(
            t.tenant == tenant
        )
        with self._read("load settled batches", tenant=tenant) as conn:
            rows = conn.execute(stmt).all()
        return {
            row.batch_id: SettledBatch(
                row.batch_id,
                row.fingerprint,
                int(row.sessions),
                {str(k): int(v) for k, v in dict(row.accounts).items()},
                tuple((str(a), str(b), str(c), str(d)) for a, b, c, d in row.rejected),
            )
            for row in rows
        }

    def batch_link_counts(self, tenant: str) -> dict[str, dict[str, int]]:
        """`{batch id: {account: course links}}` as the links table holds them now."""
        c = links_table.c
        stmt = (
            sa.select(c.batch, c.account, sa.func.count())
            .where(c.tenant == tenant, c.batch.is_not(None))
            .group_by(c.batch, c.account)
        )
        out: dict[str, dict[str, int]] = {}
        with self._read("count batch links", tenant=tenant) as conn:
            for batch, account, count in conn.execute(stmt):
                out.setdefault(batch, {})[account] = int(count)
        return out

    def forget_batches(self, tenant: str, batch_ids: Collection[str]) -> None:
        """Unsettle batches (a run is about to rebuild and write them)."""
        if not batch_ids:
            return
        t = session_batches.c
        with self._tx("forget batches", tenant=tenant) as conn:
            for part in chunks(sorted(batch_ids), IN_CHUNK):
                conn.execute(
                    sa.delete(session_batches).where(t.tenant == tenant, t.batch_id.in_(part))
                )

    def settle_batches(
        self,
        tenant: str,
        settled: Sequence[SettledBatch],
        link_batches: Mapping[str, Mapping[str, str]],
        *,
        rebuilt: Collection[str],
        keep: Collection[str],
    ) -> None:
        """In one transaction: untag every link of the `rebuilt` batches, tag the given
        links (`{account: {key: batch id}}`), record `settled` (replacing rows of the same
        ids), and forget every batch neither settled nor in `keep` (the read's batches)."""
        t = session_batches.c
        c = links_table.c
        now = self._now()
        rows = [
            {
                "tenant": tenant,
                "batch_id": s.batch_id,
                "fingerprint": s.fingerprint,
                "sessions": s.sessions,
                "accounts": dict(s.accounts),
                "rejected": [list(r) for r in s.rejected],
                "settled_at": now,
            }
            for s in settled
        ]
        upsert = self._upsert(
            session_batches,
            ("tenant", "batch_id"),
            ("fingerprint", "sessions", "accounts", "rejected", "settled_at"),
            changed_only=False,
        )
        set_batch = (
            sa.update(links_table)
            .where(
                c.tenant == tenant,
                c.account == sa.bindparam("b_account"),
                c.key == sa.bindparam("b_key"),
            )
            .values(batch=sa.bindparam("b_batch"))
        )
        with self._tx("settle batches", tenant=tenant) as conn:
            existing = set(conn.execute(sa.select(t.batch_id).where(t.tenant == tenant)).scalars())
            gone = existing - set(keep) - {s.batch_id for s in settled}
            for part in chunks(sorted(gone), IN_CHUNK):
                conn.execute(
                    sa.delete(session_batches).where(t.tenant == tenant, t.batch_id.in_(part))
                )
            for part in chunks(sorted(rebuilt), IN_CHUNK):
                conn.execute(
                    sa.update(links_table)
                    .where(c.tenant == tenant, c.batch.in_(part))
                    .values(batch=None)
                )
            for account, keys in link_batches.items():
                params = [
                    {"b_account": account, "b_key": key, "b_batch": batch}
                    for key, batch in sorted(keys.items())
                ]
                for part in chunks(params, CHUNK):
                    conn.execute(set_batch, part)
            for part in chunks(rows, CHUNK):
                conn.execute(upsert, part)
