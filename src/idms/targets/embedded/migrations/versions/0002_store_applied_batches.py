"""store: the journal of applied batches (durable runs)

Revision ID: 0002_store
Revises: 0001_store
Create Date: 2026-11-21 16:12:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_store"
down_revision = "0001_store"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idms_applied_batches",
        sa.Column("batch_key", sa.String(length=64), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("batch_key", name=op.f("pk_idms_applied_batches")),
    )


def downgrade() -> None:
    op.drop_table("idms_applied_batches")
