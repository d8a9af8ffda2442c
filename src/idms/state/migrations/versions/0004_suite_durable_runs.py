"""durable runs: queue, lease, heartbeat, checkpoint, staged batches

Revision ID: 0004_suite
Revises: 0003_suite
Create Date: 2026-11-21 16:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_suite"
down_revision: str | Sequence[str] | None = "0003_suite"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("trigger", sa.String(length=20), server_default="cli", nullable=False)
        )
        batch_op.add_column(sa.Column("schedule_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("sealed_job", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("input_ref", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=120), nullable=True))
        batch_op.add_column(
            sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("checkpoint_rows", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("cancel_requested", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_runs_schedule_id"), ["schedule_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_runs_lease_expires_at"), ["lease_expires_at"], unique=False
        )
    op.create_table(
        "run_stages",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("batch_key", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_run_stages_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_stages")),
    )


def downgrade() -> None:
    op.drop_table("run_stages")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_lease_expires_at"))
        batch_op.drop_index(batch_op.f("ix_runs_schedule_id"))
        for name in (
            "cancel_requested",
            "checkpoint_rows",
            "attempts",
            "heartbeat_at",
            "lease_expires_at",
            "lease_owner",
            "dispatched_at",
            "queued_at",
            "input_ref",
            "sealed_job",
            "schedule_id",
            "trigger",
        ):
            batch_op.drop_column(name)
