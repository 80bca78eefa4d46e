"""Alembic environment for the rollbridge store.

`Store.open` runs migrations programmatically and hands over its own connection in
`config.attributes["connection"]` (so SQLite pragmas and the PostgreSQL migration lock
apply). By hand, take `rollbridge.store.repository.alembic_config()`, set
`sqlalchemy.url` (or pass `-x url=...`), and call `alembic.command` functions, e.g.
`command.upgrade(config, "head", sql=True)` to print the SQL. New revisions:
`command.revision(config, "what changed", autogenerate=True)` against a migrated database.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from rollbridge.store.tables import UtcDateTime, metadata

config = context.config


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render our column types as plain SQLAlchemy so revisions never import `tables`."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_item=render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_offline() -> None:
    """Print SQL instead of running it (`alembic upgrade head --sql`)."""
    context.configure(
        url=_url(),
        target_metadata=metadata,
        render_item=render_item,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through the caller's connection, or one opened from the configured URL."""
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = sa.create_engine(_url(), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as own:
            _configure(own)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        msg = "no database URL: pass -x url=... or set sqlalchemy.url"
        raise RuntimeError(msg)
    return url


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
