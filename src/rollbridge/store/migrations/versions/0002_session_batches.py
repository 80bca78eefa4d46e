"""Session batches: `links.batch` and the `session_batches` table.

Revision ID: 0002_session_batches
Revises: 0001_initial
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_session_batches"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the batch of each link and the table of settled batches."""
    with op.batch_alter_table("links") as batch:
        batch.add_column(sa.Column("batch", sa.String(), nullable=True))
    op.create_table(
        "session_batches",
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("batch_id", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("accounts", sa.JSON(), nullable=False),
        sa.Column("rejected", sa.JSON(), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "batch_id", name="pk_session_batches"),
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("session_batches")
    with op.batch_alter_table("links") as batch:
        batch.drop_column("batch")
