"""Transfers (iTransfer): the documents (an inbound transfer's URL token sealed, found by its
hash); delta hashes kept for a transfer as for a workflow

A transfer runs as the workflow it compiles to, and its Delta Hashing step keeps its
fingerprints in ``workflow_hashes`` under the transfer's ID (one hash store for both): the
column names an owner (a workflow or a transfer), so it no longer refers to ``workflows``
alone. Deleting a workflow or a transfer deletes its hashes itself.

Revision ID: 0009_suite
Revises: 0008_suite
Create Date: 2026-12-03 14:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_suite"
down_revision: str | Sequence[str] | None = "0008_suite"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HASHES_FK = "fk_workflow_hashes_workflow_id_workflows"


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("hook_sealed", sa.Text(), nullable=True),
        sa.Column("hook_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
        sa.UniqueConstraint("name", name=op.f("uq_transfers_name")),
        sa.UniqueConstraint("hook_hash", name=op.f("uq_transfers_hook_hash")),
    )
    with op.batch_alter_table("workflow_hashes") as batch:
        batch.drop_constraint(HASHES_FK, type_="foreignkey")


def downgrade() -> None:
    bind = op.get_bind()
    # Hashes of transfers have no workflow to refer to: they go with the transfers.
    bind.execute(
        sa.text("DELETE FROM workflow_hashes WHERE workflow_id NOT IN (SELECT id FROM workflows)")
    )
    with op.batch_alter_table("workflow_hashes") as batch:
        batch.create_foreign_key(
            HASHES_FK, "workflows", ["workflow_id"], ["id"], ondelete="CASCADE"
        )
    op.drop_table("transfers")
