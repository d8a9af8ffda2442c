"""Bringing an embedded store's schema up to date with its Alembic migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "idms_store_version"  # as migrations/env.py names it
_heads: list[str] = []  # the newest migration, read once per process


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
    finds the schema current. A store already at the newest migration is left as it is
    without running Alembic (one query: every page of the web UI opens the target).
    """
    if _version(engine) == _head():
        return
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection = connection.execution_options(sqlite_immediate=True)
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
            command.upgrade(alembic_config(connection), "head")


def _head() -> str:
    if not _heads:
        _heads.append(str(ScriptDirectory.from_config(alembic_config(None)).get_current_head()))
    return _heads[0]


def _version(engine: Engine) -> str | None:
    """The store's migration, or None (a new store, or none yet recorded)."""
    try:
        with engine.connect() as connection:
            return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    except SQLAlchemyError:
        return None
