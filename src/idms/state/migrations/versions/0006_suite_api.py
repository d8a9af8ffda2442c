"""API tokens and notifications (idms serve)

Revision ID: 0006_suite
Revises: 0005_suite
Create Date: 2026-11-21 16:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0006_suite"
down_revision: str | Sequence[str] | None = "0005_suite"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
