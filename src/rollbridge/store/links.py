"""Links: which Edusign object each source key became, and the content hash last sent."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import sqlalchemy as sa

from rollbridge.gcpause import gc_paused
from rollbridge.identity import Link
from rollbridge.store.base import CHUNK, IN_CHUNK, StoreBase, chunks, execute_per_key
from rollbridge.store.tables import links as links_table


class LinksMixin(StoreBase):
    """The link table of each (tenant, account)."""

    def load_links(
        self, tenant: str, account: str, *, skip_batches: Collection[str] = ()
    ) -> dict[str, Link]:
        """Every link of one account, by source key, except the course links of the
        session batches in `skip_batches` (a run that did not rebuild them).

        The hot read of every run: rows come straight from the driver's cursor (no
        per-row SQLAlchemy objects), timestamps are converted a column at a time, and
        the GC is paused until the temporary rows are gone (see `gc_paused`).
        """
        with gc_paused():
            return self._load_links(tenant, account, skip_batches)

    def _load_links(
        self, tenant: str, account: str, skip_batches: Collection[str]
    ) -> dict[str, Link]:
        c = links_table.c
        stmt = sa.select(
            c.key, c.kind, c.api_id, c.edusign_id, c.content_hash, c.start_at, c.end_at
        ).where(c.tenant == tenant, c.account == account)
        skip = frozenset(skip_batches)
        in_python = len(skip) > IN_CHUNK
        if in_python:
            # Past the bound-parameter budget the rows are filtered here instead: links of
            # a reused batch must never reach the planner (it would cancel them).
            stmt = stmt.add_columns(c.batch)
        elif skip:
            stmt = stmt.where(sa.or_(c.batch.is_(None), c.batch.not_in(sorted(skip))))
        with self._read("load links", tenant=tenant, account=account) as conn:
            result = conn.execute(stmt)
            rows = result.cursor.fetchall()
            result.close()
        if in_python:
            rows = [row[:7] for row in rows if row[7] is None or row[7] not in skip]
        if not rows:
            return {}
        keys, kinds, api_ids, edusign_ids, hashes, starts, ends = zip(*rows, strict=True)
        del rows
        utc = self._utc_column
        built = map(Link, keys, kinds, api_ids, edusign_ids, hashes, utc(starts), utc(ends))
        return dict(zip(keys, built, strict=True))

    def upsert_links(self, tenant: str, account: str, links: Sequence[Link]) -> None:
        """Insert or replace links by key, in one transaction; equal rows are not rewritten."""
        rows = {
            link.key: {
                "tenant": tenant,
                "account": account,
                "key": link.key,
                "kind": link.kind,
                "api_id": link.api_id,
                "edusign_id": link.edusign_id,
                "content_hash": link.content_hash,
                "start_at": link.start_at,
                "end_at": link.end_at,
            }
            for link in links
        }
        stmt = self._upsert(
            links_table,
            ("tenant", "account", "key"),
            ("kind", "api_id", "edusign_id", "content_hash", "start_at", "end_at"),
            changed_only=True,
        )
        with self._tx("save links", tenant=tenant, account=account) as conn:
            for chunk in chunks(list(rows.values()), CHUNK):
                conn.execute(stmt, chunk)

    def linked_keys(self, tenant: str, account: str, keys: Sequence[str]) -> set[str]:
        """Those of `keys` that have a link in the account."""
        c = links_table.c
        found: set[str] = set()
        with self._read("find links", tenant=tenant, account=account) as conn:
            for part in chunks(sorted(set(keys)), IN_CHUNK):
                stmt = sa.select(c.key).where(
                    c.tenant == tenant, c.account == account, c.key.in_(part)
                )
                found.update(conn.execute(stmt).scalars())
        return found

    def delete_links(self, tenant: str, account: str, keys: Sequence[str]) -> None:
        """Forget the links of `keys` (unknown keys are ignored)."""
        c = links_table.c
        stmt = sa.delete(links_table).where(
            c.tenant == tenant, c.account == account, c.key == sa.bindparam("b_key")
        )
        with self._tx("delete links", tenant=tenant, account=account) as conn:
            execute_per_key(conn, stmt, keys)
