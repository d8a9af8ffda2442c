"""Bringing an embedded store's schema up to date with its Alembic migrations."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Alembic is imported to migrate only (idms.revisions says why)
    from alembic.config import Config
    from sqlalchemy import Engine

# SQLAlchemy too is imported when used: the constants below are read without it
# (idms.targets.embedded.catalogue).

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "idms_store_version"  # migrations/env.py takes it from here


def alembic_config(connection: object) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


_PG_LOCK = 0x1D35_5703  # the advisory lock that serialises first runs on PostgreSQL


def upgrade_store(engine: Engine) -> None:
    """Create or upgrade the store's tables to the newest migration (idempotent).

    Concurrent first opens take turns: SQLite's write lock is taken up front (BEGIN
    IMMEDIATE), PostgreSQL's advisory lock is held for the transaction; whoever comes second
    finds the schema current. A store already at the newest migration is left as it is
    without running Alembic (one query: every page of the web UI opens the target).
    """
    from sqlalchemy import text

    from idms.db import schema_is_current

    with engine.connect() as connection:
        if schema_is_current(connection, VERSION_TABLE, MIGRATIONS / "versions"):
            return  # the usual case, answered without importing Alembic
    from alembic import command

    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection = connection.execution_options(sqlite_immediate=True)
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
            command.upgrade(alembic_config(connection), "head")
