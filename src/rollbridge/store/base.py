"""What every part of the `Store` shares: units of work, upserts and batching helpers.

Every public `Store` method is one unit of work: one transaction, committed when the
method returns, rolled back if it raises (see `connect.transaction`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from rollbridge.errors import StoreError
from rollbridge.store.connect import transaction

CHUNK = 5000  # rows per executemany call: bounded memory, one transaction
IN_CHUNK = 500  # values per IN (...) list: well under SQLite's bound-parameter limit
_T = TypeVar("_T")


class StoreBase:
    """The engine and plumbing the `Store` mixins build on; `Store.__init__` sets it up."""

    _engine: Engine
    _dialect: str
    _key: bytes | None
    _clock: Callable[[], datetime]
    _utc_column: Callable[[Sequence[Any]], list[datetime | None]]

    def _now(self) -> datetime:
        return aware(self._clock())

    def _insert(self, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
        return postgresql.insert(table) if self._dialect == "postgresql" else sqlite.insert(table)

    def _upsert(
        self,
        table: sa.Table,
        keys: Sequence[str],
        columns: Sequence[str],
        *,
        changed_only: bool,
    ) -> sa.Insert:
        """INSERT … ON CONFLICT (keys) DO UPDATE columns; `changed_only` skips equal rows."""
        stmt = self._insert(table)
        excluded = stmt.excluded
        changed = (
            sa.or_(*(table.c[name].is_distinct_from(excluded[name]) for name in columns))
            if changed_only
            else None
        )
        return stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: excluded[name] for name in columns},
            where=changed,
        )

    def _tx(self, doing: str, **where: str) -> AbstractContextManager[Connection]:
        """One write transaction (unit of work)."""
        return transaction(self._engine, doing, where, write=True)

    def _read(self, doing: str, **where: str) -> AbstractContextManager[Connection]:
        """One read-only transaction."""
        return transaction(self._engine, doing, where, write=False)


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """`value` in UTC; StoreError if it is naive."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(f"naive datetime {value.isoformat()}: the store takes aware datetimes")
    return value.astimezone(UTC)


def check(value: str, allowed: Iterable[str], what: str) -> None:
    """StoreError unless `value` is one of `allowed`."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise StoreError(f"unknown {what} {value!r}; expected one of {', '.join(sorted(allowed))}")


def execute_per_key(conn: Connection, stmt: sa.Executable, keys: Iterable[str]) -> None:
    """Run `stmt` once per distinct key (`b_key`), batched with executemany.

    Each statement is a primary-key equality, so its plan stays an index lookup even
    before PostgreSQL has statistics on a freshly filled table; long `IN (...)` lists
    then degrade to scanning the whole account per chunk.
    """
    for batch in chunks([{"b_key": key} for key in sorted(set(keys))], CHUNK):
        conn.execute(stmt, batch)


def chunks(items: Sequence[_T], size: int) -> Iterator[list[_T]]:
    """`items` in lists of at most `size`."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
