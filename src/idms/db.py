"""Opening SQLAlchemy engines the same way for the suite database and the embedded store.

SQLite gets WAL (readers never block the writer), foreign keys, a busy timeout, and NORMAL
synchronous (durable at each checkpoint, safe with WAL). PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from idms.config import normalise_database_url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with idms's connection settings; creates a SQLite file's folder."""
    url = normalise_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # idms emits BEGIN itself (below) so that writers can ask for BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    """BEGIN, or BEGIN IMMEDIATE for a connection with ``execution_options(sqlite_immediate=True)``.

    A writer that reads first (counters, before-images) takes the write lock up front, so two
    writers never deadlock upgrading their read locks; readers stay deferred and never block.
    """
    immediate = conn.get_execution_options().get("sqlite_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
