"""Workflows (iWorkflow, iHook): the documents, each run's steps, delta hashes, webhook deliveries

Revision ID: 0008_suite
Revises: 0007_suite
Create Date: 2026-12-03 08:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_suite"
down_revision: str | Sequence[str] | None = "0007_suite"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workflows",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("trigger_type", sa.String(length=30), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("hook_sealed", sa.Text(), nullable=True),
        sa.Column("hook_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflows")),
        sa.UniqueConstraint("name", name=op.f("uq_workflows_name")),
        sa.UniqueConstraint("hook_hash", name=op.f("uq_workflows_hook_hash")),
    )
    op.create_index(op.f("ix_workflows_trigger_type"), "workflows", ["trigger_type"])
    op.create_table(
        "workflow_steps",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("shown_input", sa.Text(), nullable=True),
        sa.Column("shown_output", sa.Text(), nullable=True),
        sa.Column("sealed_data", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_workflow_steps_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "seq", name=op.f("pk_workflow_steps")),
    )
    op.create_table(
        "workflow_hashes",
        sa.Column("workflow_id", sa.String(length=32), nullable=False),
        sa.Column("step_id", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_workflow_hashes_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workflow_id", "step_id", "key", name=op.f("pk_workflow_hashes")),
    )
    op.create_table(
        "hook_deliveries",
        sa.Column("workflow_id", sa.String(length=32), nullable=False),
        sa.Column("webhook_id", sa.String(length=200), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_hook_deliveries_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workflow_id", "webhook_id", name=op.f("pk_hook_deliveries")),
    )
    op.create_index(op.f("ix_hook_deliveries_received_at"), "hook_deliveries", ["received_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_hook_deliveries_received_at"), table_name="hook_deliveries")
    op.drop_table("hook_deliveries")
    op.drop_table("workflow_hashes")
    op.drop_table("workflow_steps")
    op.drop_index(op.f("ix_workflows_trigger_type"), table_name="workflows")
    op.drop_table("workflows")
