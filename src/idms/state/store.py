"""Opening the suite database and keeping its schema at the newest revision.

This is the boundary where SQLAlchemy and Alembic errors about the suite database become
:class:`~idms.errors.StateError`; nothing above it catches third-party errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from idms.db import is_sqlite, make_engine, schema_is_current
from idms.errors import StateError

if TYPE_CHECKING:  # Alembic is imported to migrate only (idms.db.schema_is_current says why)
    from alembic.config import Config

SUITE_VERSION_TABLE = "idms_suite_version"
"""Alembic's version table for the suite tree (not ``alembic_version``, which others may use)."""

MIGRATIONS = Path(__file__).parent / "migrations"

# Any fixed 64-bit number works; it only has to differ from other advisory locks in the database.
_PG_MIGRATION_LOCK = 0x1D45_0001


def alembic_config(connection: Connection | None = None, *, url: str | None = None) -> Config:
    """An Alembic configuration for the suite tree, built in code (there is no alembic.ini).

    ``connection`` is handed to ``env.py``, which then migrates on it; ``url`` is for
    development use (e.g. ``command.revision(alembic_config(url=...), autogenerate=True)``).
    """
    from alembic.config import Config

    config = Config()
    # Config options go through ConfigParser interpolation, where '%' is special.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def suite_head() -> str:
    """The newest revision of the suite tree that this version of idms knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the suite tree has no revisions"
    return head


def open_suite(url: str) -> Engine:
    """An engine on the suite database at ``url``, its schema upgraded to the newest revision.

    Cheap when the schema is already current (one read, no lock), so it is safe to call on every
    command; concurrent callers serialise on a lock and only the first one migrates. Raises
    :class:`StateError` if the database cannot be opened or was migrated by a newer idms.
    """
    where = display_url(url)
    try:
        engine = make_engine(url)
    except (ArgumentError, OSError) as exc:
        raise StateError(f"Cannot open the suite database at {where}: {exc}") from None
    try:
        with migration_errors(f"Cannot open the suite database at {where}"):
            _upgrade_to_head(engine, where)
    except BaseException:
        engine.dispose()
        raise
    return engine


def suite_revision(engine: Engine) -> str | None:
    """The revision the suite database is at, or None if it has never been migrated."""
    with (
        migration_errors(f"Cannot read the suite database at {display_url(engine.url)}"),
        engine.connect() as conn,
    ):
        return _current_revision(conn)


@contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Turn SQLAlchemy errors raised inside into a :class:`StateError`.

    The message is ``"{action}: {the driver's first line}"``: no SQL, no parameters (which
    may be secrets' ciphertexts), no traceback.
    """
    try:
        yield
    except DBAPIError as exc:
        raise StateError(f"{action}: {_first_line(exc.orig)}") from None
    except SQLAlchemyError as exc:
        raise StateError(f"{action}: {_first_line(exc)}") from None


@contextmanager
def migration_errors(action: str) -> Iterator[None]:
    """:func:`translate_errors`, and Alembic's errors too (raised only where it is imported)."""
    with translate_errors(action):
        try:
            yield
        except (SQLAlchemyError, StateError):
            raise
        except Exception as exc:
            from alembic.util import CommandError  # imported already, if it raised this

            if isinstance(exc, CommandError):
                raise StateError(f"{action}: {_first_line(exc)}") from None
            raise


def display_url(url: object) -> str:
    """``url`` fit for a message: the password, if any, replaced with ``***``."""
    try:
        return make_url(str(url) if not isinstance(url, str) else url).render_as_string(
            hide_password=True
        )
    except ArgumentError:
        return re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", str(url))


def _first_line(exc: BaseException | None) -> str:
    lines = str(exc).strip().splitlines() if exc is not None else []
    return lines[0].strip() if lines else type(exc).__name__


def _current_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(conn, opts={"version_table": SUITE_VERSION_TABLE})
    return context.get_current_revision()


def _upgrade_to_head(engine: Engine, where: str) -> None:
    with engine.connect() as conn:
        if schema_is_current(conn, SUITE_VERSION_TABLE, MIGRATIONS / "versions"):
            return  # the usual case, answered without importing Alembic
    from alembic import command
    from alembic.script import ScriptDirectory

    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    known = {rev.revision for rev in script.walk_revisions()}
    with engine.connect() as conn:
        current = _current_revision(conn)
    if current == head:
        return
    if current is not None and current not in known:
        raise StateError(
            f"The suite database at {where} is at revision '{current}', which this version of "
            "idms does not know: it was upgraded by a newer idms. Upgrade idms."
        )
    with engine.connect() as conn:
        if is_sqlite(engine):
            _migrate_sqlite(conn, config)
        else:
            # Serialise concurrent first runs; Alembic re-reads the version under the lock,
            # so whoever comes second finds nothing to do.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()


def _migrate_sqlite(conn: Connection, config: Config) -> None:
    from alembic import command

    # Batch migrations rebuild tables with DROP TABLE, which with foreign keys on would run
    # ON DELETE actions against referencing rows. The pragma is ignored inside a transaction,
    # so it is set on the driver connection before SQLAlchemy begins one, and the references
    # are checked by hand before committing.
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        # BEGIN IMMEDIATE (see idms.db) takes the write lock up front: the migration is atomic,
        # and a concurrent caller waits, then finds the schema current.
        conn.execution_options(sqlite_immediate=True)
        conn.begin()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
        if broken is not None:
            conn.rollback()
            raise StateError(
                f"Migrating the suite database left a broken reference in table '{broken[0]}'; "
                "nothing was changed."
            )
        conn.commit()
    finally:
        conn.rollback()
        driver.execute("PRAGMA foreign_keys=ON")
