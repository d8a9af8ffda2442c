"""Bringing an embedded store's schema up to date with its Alembic migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: object) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


_PG_LOCK = 0x1D35_5703  # the advisory lock that serialises first runs on PostgreSQL


def upgrade_store(engine: Engine) -> None:
    """Create or upgrade the store's tables to the newest migration (idempotent).

    Concurrent first opens take turns: SQLite's write lock is taken up front (BEGIN
    IMMEDIATE), PostgreSQL's advisory lock is held for the transaction; whoever comes second
    finds the schema current.
    """
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection = connection.execution_options(sqlite_immediate=True)
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
            command.upgrade(alembic_config(connection), "head")
