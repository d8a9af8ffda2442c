"""Alembic environment for the embedded iMIS store (run by ``idms.targets.embedded.migrate``)."""

from __future__ import annotations

from alembic import context

from idms.targets.embedded.migrate import VERSION_TABLE
from idms.targets.embedded.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
