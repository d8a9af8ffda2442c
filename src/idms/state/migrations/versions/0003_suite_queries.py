"""saved queries

Revision ID: 0003_suite
Revises: 0002_suite
Create Date: 2026-11-21 10:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Revision identifiers, used by Alembic.
revision: str = "0003_suite"
down_revision: str | Sequence[str] | None = "0002_suite"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "queries",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("iqa_key", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_queries")),
        sa.UniqueConstraint("iqa_key", name=op.f("uq_queries_iqa_key")),
    )


def downgrade() -> None:
    op.drop_table("queries")
