"""The store's schema as SQLAlchemy Core tables; `migrations/` creates exactly this.

Tenants and accounts are plain string columns (the tenant's config names them), so a
tenant needs no registration before its first run. Every timestamp is `UtcDateTime`:
aware UTC in and out, on SQLite (which keeps no offset) as on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """`DateTime(timezone=True)` that refuses naive values and always returns aware UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Aware → UTC; naive datetimes are refused (their zone is unknown)."""
        if value is None:
            return None
        return _to_utc(value)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, write UTC as SQLAlchemy's own DATETIME text, fast (bulk link upserts).

        The text has no offset and fixed width, so it sorts and compares in time order.
        """
        if dialect.name == "sqlite":
            return _sqlite_text
        return super().bind_processor(dialect)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Aware values (PostgreSQL) are moved to UTC; naive ones are UTC by construction."""
        if value is None or value.tzinfo is UTC:
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> Callable[[object], datetime | None] | None:
        """On SQLite, parse the stored UTC text straight to aware datetimes.

        Loading 65,000 links reads 130,000 timestamps; `fromisoformat` on the text plus
        "+00:00" is about ten times faster than parsing then `replace(tzinfo=UTC)`.
        """
        if dialect.name == "sqlite":
            return _sqlite_utc
        return super().result_processor(dialect, coltype)


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        msg = f"naive datetime {value.isoformat()}: the store takes aware datetimes only"
        raise ValueError(msg)
    return value.astimezone(UTC)


def _sqlite_text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        msg = f"expected a datetime, got {type(value).__name__}"
        raise TypeError(msg)
    return _to_utc(value).isoformat(" ", "microseconds")[:-6]  # drop "+00:00"


def utc_column(dialect_name: str) -> Callable[[Sequence[Any]], list[datetime | None]]:
    """Converts a column of raw driver values (bypassing `UtcDateTime`) to aware UTC."""
    return _sqlite_utc_column if dialect_name == "sqlite" else _aware_utc_column


def _sqlite_utc_column(values: Sequence[str | None]) -> list[datetime | None]:
    parse = datetime.fromisoformat
    return [None if v is None else parse(v + "+00:00") for v in values]


def _aware_utc_column(values: Sequence[datetime | None]) -> list[datetime | None]:
    return [v if v is None or v.tzinfo is UTC else _to_utc(v) for v in values]


def _sqlite_utc(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value + "+00:00")
    msg = f"unexpected timestamp {type(value).__name__} in SQLite"
    raise TypeError(msg)


def _key(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String, primary_key=True)


def _text(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String, nullable=nullable)


def _at(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, UtcDateTime(), nullable=nullable)


secrets = sa.Table(
    "secrets",
    metadata,
    _key("tenant"),
    _key("name"),
    sa.Column("ciphertext", sa.Text, nullable=False),  # a Fernet token, never the plaintext
)

# source key ↔ Edusign object, per (tenant, account); the PK serves load_links.
links = sa.Table(
    "links",
    metadata,
    _key("tenant"),
    _key("account"),
    _key("key"),
    _text("kind"),
    _text("api_id"),
    _text("edusign_id"),
    _text("content_hash"),
    _at("start_at", nullable=True),
    _at("end_at", nullable=True),
    # The session batch (`model.SessionBatch`) a course link was last brought in sync with.
    _text("batch", nullable=True),
)

# Session batches whose every session was in sync in every account after a run, with the
# fingerprint they were built from: a later read with the same fingerprint skips building
# them (`engine/batches.py`).
session_batches = sa.Table(
    "session_batches",
    metadata,
    _key("tenant"),
    _key("batch_id"),
    _text("fingerprint"),
    sa.Column("sessions", sa.Integer, nullable=False),
    sa.Column("accounts", sa.JSON, nullable=False),  # account -> course links of the batch
    sa.Column("rejected", sa.JSON, nullable=False),  # [[kind, source id, reason, label], ...]
    _at("settled_at"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _text("tenant"),
    _text("direction"),
    _text("status"),  # running | ok | held | failed | partial
    _at("started_at"),
    _at("finished_at", nullable=True),
    sa.Column("report", sa.JSON, nullable=True),
    sa.Index(None, "tenant", "id"),
    sqlite_autoincrement=True,  # ids never reused: "newest" in the journal is the highest id
)

# One row per (run, account, key) step: sent → done | failed | skipped; sent → settled.
journal = sa.Table(
    "journal",
    metadata,
    sa.Column(
        "run_id",
        sa.Integer,
        sa.ForeignKey(runs.c.id, ondelete="CASCADE"),
        primary_key=True,
    ),
    _key("account"),
    _key("key"),
    _text("tenant"),
    _text("kind"),
    _text("action"),
    _text("api_id"),
    _text("content_hash", nullable=True),
    _text("state"),
    _text("edusign_id", nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index(None, "tenant", "account", "state", "run_id"),  # the few 'sent' rows
    sa.Index(None, "tenant", "account", "key", "run_id"),  # one key's steps (settle, supersede)
)

# The attendance mark last written to the source, per (session, learner).
marks = sa.Table(
    "marks",
    metadata,
    _key("tenant"),
    _key("account"),
    _key("session_key"),
    _key("learner_key"),
    _text("content_hash"),
    sa.Column("payload", sa.JSON, nullable=False),
    _at("written_at"),
)

# Every value a mark had before it changed, for audit.
mark_history = sa.Table(
    "mark_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _text("tenant"),
    _text("account"),
    _text("session_key"),
    _text("learner_key"),
    _text("content_hash"),
    sa.Column("payload", sa.JSON, nullable=False),
    _at("written_at"),
    _at("replaced_at"),
    sa.Index(None, "tenant", "account", "session_key", "learner_key", "id"),
)

# Plans the deletion circuit breaker held: held → approved → applied | rejected | superseded.
held_plans = sa.Table(
    "held_plans",
    metadata,
    _key("id"),
    _text("tenant"),
    _text("direction"),
    _text("status"),
    sa.Column("summary", sa.JSON, nullable=False),
    sa.Column("cancels", sa.JSON, nullable=False),  # account -> [source key, ...]
    _at("created_at"),
    _at("resolved_at", nullable=True),
    _text("resolved_by", nullable=True),
    _at("applied_at", nullable=True),
    _text("applied_by", nullable=True),
    sa.Index(None, "tenant", "direction", "status", "created_at"),
    sa.Index(None, "status", "created_at"),
)

# One run at a time per (tenant, direction); `token` tells our lock from a successor's.
run_locks = sa.Table(
    "run_locks",
    metadata,
    _key("tenant"),
    _key("direction"),
    _text("holder"),
    _text("token"),
    _at("acquired_at"),
    _at("expires_at"),
)
