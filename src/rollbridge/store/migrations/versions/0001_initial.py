"""The initial store: secrets, links, runs, journal, marks, held plans, run locks.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _str(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(), nullable=nullable)


def upgrade() -> None:
    """Create every table and index of `rollbridge.store.tables` as of this revision."""
    op.create_table(
        "secrets",
        _str("tenant"),
        _str("name"),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "name", name="pk_secrets"),
    )
    op.create_table(
        "links",
        _str("tenant"),
        _str("account"),
        _str("key"),
        _str("kind"),
        _str("api_id"),
        _str("edusign_id"),
        _str("content_hash"),
        _at("start_at", nullable=True),
        _at("end_at", nullable=True),
        sa.PrimaryKeyConstraint("tenant", "account", "key", name="pk_links"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _str("tenant"),
        _str("direction"),
        _str("status"),
        _at("started_at"),
        _at("finished_at", nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_runs_tenant_id", "runs", ["tenant", "id"])
    op.create_table(
        "journal",
        sa.Column("run_id", sa.Integer(), nullable=False),
        _str("account"),
        _str("key"),
        _str("tenant"),
        _str("kind"),
        _str("action"),
        _str("api_id"),
        _str("content_hash", nullable=True),
        _str("state"),
        _str("edusign_id", nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_journal_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "account", "key", name="pk_journal"),
    )
    op.create_index(
        "ix_journal_tenant_account_state_run_id",
        "journal",
        ["tenant", "account", "state", "run_id"],
    )
    op.create_index(
        "ix_journal_tenant_account_key_run_id", "journal", ["tenant", "account", "key", "run_id"]
    )
    op.create_table(
        "marks",
        _str("tenant"),
        _str("account"),
        _str("session_key"),
        _str("learner_key"),
        _str("content_hash"),
        sa.Column("payload", sa.JSON(), nullable=False),
        _at("written_at"),
        sa.PrimaryKeyConstraint("tenant", "account", "session_key", "learner_key", name="pk_marks"),
    )
    op.create_table(
        "mark_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _str("tenant"),
        _str("account"),
        _str("session_key"),
        _str("learner_key"),
        _str("content_hash"),
        sa.Column("payload", sa.JSON(), nullable=False),
        _at("written_at"),
        _at("replaced_at"),
        sa.PrimaryKeyConstraint("id", name="pk_mark_history"),
    )
    op.create_index(
        "ix_mark_history_tenant_account_session_key_learner_key_id",
        "mark_history",
        ["tenant", "account", "session_key", "learner_key", "id"],
    )
    op.create_table(
        "held_plans",
        _str("id"),
        _str("tenant"),
        _str("direction"),
        _str("status"),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("cancels", sa.JSON(), nullable=False),
        _at("created_at"),
        _at("resolved_at", nullable=True),
        _str("resolved_by", nullable=True),
        _at("applied_at", nullable=True),
        _str("applied_by", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_held_plans"),
    )
    op.create_index(
        "ix_held_plans_tenant_direction_status_created_at",
        "held_plans",
        ["tenant", "direction", "status", "created_at"],
    )
    op.create_index("ix_held_plans_status_created_at", "held_plans", ["status", "created_at"])
    op.create_table(
        "run_locks",
        _str("tenant"),
        _str("direction"),
        _str("holder"),
        _str("token"),
        _at("acquired_at"),
        _at("expires_at"),
        sa.PrimaryKeyConstraint("tenant", "direction", name="pk_run_locks"),
    )


def downgrade() -> None:
    """Drop everything `upgrade` created."""
    for table in (
        "run_locks",
        "held_plans",
        "mark_history",
        "marks",
        "journal",
        "runs",
        "links",
        "secrets",
    ):
        op.drop_table(table)
