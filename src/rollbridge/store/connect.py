"""Getting to the database: engines, SQLite settings, migrations and transactions.

SQLite write transactions start with `BEGIN IMMEDIATE`, so concurrent writers queue on
`busy_timeout` instead of failing half-way; PostgreSQL relies on primary keys and
compare-and-set updates. Database errors become `StoreError` (without SQL parameters,
which may hold personal data), and URLs are shown with their password hidden.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from rollbridge.errors import RollbridgeError, StoreError

_MIGRATIONS = Path(__file__).with_name("migrations")
_IMMEDIATE = "rollbridge_sqlite_immediate"
_PG_MIGRATION_LOCK = 0x726F6C6C  # "roll": one migrating process at a time


def create_engine(url: str) -> Engine:
    """An engine for SQLite (file folder created, WAL, busy timeout) or PostgreSQL."""
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        # not the parser's message: it repeats the URL, password included
        raise StoreError(
            "not a database URL: expected sqlite:///path/to/file.db "
            "or postgresql+psycopg://user@host/db"
        ) from None
    backend = parsed.get_backend_name()
    options: dict[str, object] = {"hide_parameters": True, "json_serializer": _json_dumps}
    if backend == "postgresql":
        return sa.create_engine(parsed, pool_pre_ping=True, **options)
    if backend != "sqlite":
        raise StoreError(
            f"unsupported database {backend!r}: use sqlite:///path/to/file.db "
            "or postgresql+psycopg://user@host/db"
        )
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or parsed.query.get("mode") == "memory"
    if in_memory:
        options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(parsed, **options)
    sa.event.listen(engine, "connect", _sqlite_connect)
    sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def display_url(engine: Engine) -> str:
    """The engine's URL with its password hidden, fit for messages and logs."""
    return engine.url.render_as_string(hide_password=True)


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    """Per-connection SQLite settings; we send BEGIN ourselves (see `_sqlite_begin`)."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        # First: the pragmas below may need a lock held by another writer; without the
        # timeout in place they fail at once with "database is locked" when a second
        # process opens the store during a run.
        "busy_timeout = 30000",  # wait up to 30 s for another writer
        "journal_mode = WAL",  # readers never block the writer
        "synchronous = NORMAL",  # durable at checkpoints; safe with WAL
        "foreign_keys = ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Writers take the write lock up front, so they queue instead of failing mid-way."""
    immediate = conn.get_execution_options().get(_IMMEDIATE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def alembic_config() -> Config:
    """An Alembic config for the migrations shipped in this package (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def migrate(engine: Engine) -> None:
    """`alembic upgrade head`, retrying while another opener holds a brand-new SQLite file.

    Several processes or threads opening a store that does not exist yet race to create
    it and switch it to WAL; SQLite answers one of them "database is locked" at once (a
    lock upgrade it cannot wait for), so the loser waits a moment and tries again.
    """
    for attempt in range(_OPEN_ATTEMPTS):
        try:
            _migrate_once(engine)
            return
        except StoreError as exc:
            if "database is locked" not in str(exc) or attempt == _OPEN_ATTEMPTS - 1:
                raise
            engine.dispose()
            time.sleep(0.05 * 2**attempt)


_OPEN_ATTEMPTS = 7  # about 3 s of waiting in all


def _migrate_once(engine: Engine) -> None:
    """`alembic upgrade head` through our own connection, one process at a time."""
    config = alembic_config()
    try:
        with engine.connect() as conn:
            conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": _PG_MIGRATION_LOCK},
                    )
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
    except (sa.exc.SQLAlchemyError, CommandError) as exc:
        raise StoreError(
            f"could not open the store at {display_url(engine)}: {_reason(exc)}"
        ) from exc


@contextmanager
def transaction(
    engine: Engine, doing: str, where: dict[str, str], *, write: bool
) -> Iterator[Connection]:
    """Commit on success, roll back on error; database errors become StoreError."""
    try:
        with engine.connect() as conn:
            if write:
                conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                yield conn
    except RollbridgeError:
        raise
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"the store could not {doing}: {_reason(exc)}", **where) from exc


def _reason(exc: BaseException) -> str:
    """The first line of the driver's message: no SQL parameters, no payloads."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _json_dumps(value: object) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))


def _json_default(value: object) -> object:
    """Reports may hold dates and sets; they are stored as ISO strings and lists."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    msg = f"cannot store a {type(value).__name__} as JSON"
    raise TypeError(msg)
