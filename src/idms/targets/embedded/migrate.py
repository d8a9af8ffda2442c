"""Bringing an embedded store's schema up to date with its Alembic migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: object) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade_store(engine: Engine) -> None:
    """Create or upgrade the store's tables to the newest migration (idempotent)."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
