"""Who started each run (``runs.started_by``): the web UI's user (``user:NAME``), the API
token (``token:NAME``), the command line's operating system user (``cli:NAME``), the schedule
(``schedule:NAME``), or ``webhook``; indexed, as the runs page filters on it. Runs recorded
before keep none (shown as unknown).

Revision ID: 0011_suite
Revises: 0010_suite
Create Date: 2026-12-03 19:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_suite"
down_revision: str | Sequence[str] | None = "0010_suite"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("started_by", sa.String(length=220), nullable=True))
        batch.create_index(batch.f("ix_runs_started_by"), ["started_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_index(batch.f("ix_runs_started_by"))
        batch.drop_column("started_by")
