"""The suite database: idms's own state (secrets now; jobs, templates and runs later).

It is separate from any target's store, is opened with :func:`open_suite`, and keeps its schema
in its own Alembic tree (``migrations/``) with its own version table, so it can share a
PostgreSQL database with another Alembic tree.
"""

from __future__ import annotations

from idms.state.store import SUITE_VERSION_TABLE, open_suite, suite_head, suite_revision

__all__ = ["SUITE_VERSION_TABLE", "open_suite", "suite_head", "suite_revision"]
