"""The `Store`: links, runs, journal, marks, held plans, run locks and secrets in SQL.

Every public method is one unit of work: one transaction, committed when the method
returns, rolled back if it raises. Database errors become `StoreError` (without SQL
parameters, which may hold personal data). SQLite write transactions start with
`BEGIN IMMEDIATE`, so concurrent writers queue on `busy_timeout` instead of failing
half-way; PostgreSQL relies on primary keys and compare-and-set updates.

Each concern lives in its own module, as a mixin `Store` is composed of:

    links.py          links (source key ↔ Edusign id + content hash)
    batches.py        session batches settled in sync, and the batch of each link
    runs.py           runs and their journal of sent steps
    marks.py          attendance marks written back, with history
    plans.py          plans held by the deletion guard
    locks.py          the run lock
    secret_store.py   secrets encrypted at rest

`records.py` holds the records they return, `connect.py` engines, migrations and
transactions, `base.py` the plumbing the mixins share.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine

from rollbridge.store import connect, crypto
from rollbridge.store.base import utc_now
from rollbridge.store.batches import BatchesMixin
from rollbridge.store.connect import alembic_config
from rollbridge.store.links import LinksMixin
from rollbridge.store.locks import RunLockMixin
from rollbridge.store.marks import MarksMixin
from rollbridge.store.plans import HeldPlansMixin
from rollbridge.store.runs import RunsMixin
from rollbridge.store.secret_store import SecretsMixin
from rollbridge.store.tables import utc_column

__all__ = ["Store", "alembic_config"]


class Store(
    SecretsMixin, LinksMixin, BatchesMixin, RunsMixin, MarksMixin, HeldPlansMixin, RunLockMixin
):
    """rollbridge's database: SQLite (one file) or PostgreSQL, migrated on open."""

    url_for_display: str

    def __init__(
        self,
        engine: Engine,
        *,
        secret_key: bytes | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Wrap an engine whose database is already migrated; prefer `Store.open`."""
        self._engine = engine
        self._dialect = engine.dialect.name
        self._key = secret_key
        self._clock = clock or utc_now
        self._utc_column = utc_column(self._dialect)
        self.url_for_display = connect.display_url(engine)

    @classmethod
    def open(
        cls,
        url: str,
        *,
        secret_key: bytes | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> Store:
        """Connect to `url`, create the SQLite file if needed and migrate to the newest schema."""
        if secret_key is not None:
            secret_key = crypto.key_from_env(secret_key.decode("ascii", errors="replace"))
        engine = connect.create_engine(url)
        try:
            connect.migrate(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, secret_key=secret_key, clock=clock)

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url_for_display!r})"
