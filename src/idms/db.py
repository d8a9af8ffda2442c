"""Opening SQLAlchemy engines the same way for the suite database and the embedded store.

SQLite gets WAL (readers never block the writer), foreign keys, a busy timeout, and NORMAL
synchronous (durable at each checkpoint, safe with WAL). PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    column,
    create_engine,
    event,
    inspect,
    select,
    table,
)
from sqlalchemy.engine import make_url
from sqlalchemy.sql.expression import ColumnClause

from idms.config import normalise_database_url
from idms.private import private_file, private_folder
from idms.revisions import newest_revision


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with idms's connection settings. A SQLite file that is not there
    yet is created private (0600, in a folder made 0700; SQLite gives its journals the file's
    mode) before SQLite creates it with the umask's."""
    url = normalise_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database)
            if not path.exists():
                private_folder(path.parent, tighten_existing=False)
                private_file(path)
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
    cursor.execute("PRAGMA busy_timeout=30000")
    _use_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Checkpoint the WAL every 64 MB rather than every 4 MB: a batch of a large import dirties
    # pages all over the indexes, and copying them back (with an fsync) after every batch cost
    # ~10 % of an import at 300,000 rows; between checkpoints a page rewritten is copied once.
    cursor.execute("PRAGMA wal_autocheckpoint=16384")
    cursor.close()


def _use_wal(cursor: Any) -> None:
    """Put the file in WAL mode (it stays so); wait out another connection doing the same.

    Switching the journal mode of a new file is refused at once, without the busy handler,
    while another connection switches it: several processes opening one new workspace at the
    same moment must not fail for that.
    """
    deadline = time.monotonic() + 30
    while True:
        if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_begin(conn: Any) -> None:
    """BEGIN, or BEGIN IMMEDIATE for a connection with ``execution_options(sqlite_immediate=True)``.

    A writer that reads first (counters, before-images) takes the write lock up front, so two
    writers never deadlock upgrading their read locks; readers stay deferred and never block.
    """
    if not conn.get_execution_options().get("sqlite_immediate", False):
        conn.exec_driver_sql("BEGIN")
        return
    if not _take_write_lock(conn.connection.dbapi_connection):
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # waits with the busy handler, or says why not


POLL_FIRST, POLL_MOST, POLL_FOR = 0.0002, 0.002, 30.0  # seconds


def _take_write_lock(raw: Any) -> bool:
    """BEGIN IMMEDIATE, asking again every 0.2 to 2 ms while another connection writes; False
    when it could not (after ``POLL_FOR`` seconds, or for another reason than the lock).

    Why not SQLite's busy handler: it sleeps 1, 2, 5, 10 … then 100 ms between attempts, so a
    writer that finds the lock taken for a millisecond waits 10 or 100 for it. Webhooks at 100
    a second, each a short write beside the executor's, waited in it for hundreds of ms.
    """
    previous = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
    raw.execute("PRAGMA busy_timeout=0")
    pause, deadline = POLL_FIRST, time.monotonic() + POLL_FOR
    try:
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return True
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    return False
            time.sleep(pause)
            pause = min(pause * 2, POLL_MOST)
    finally:
        raw.execute(f"PRAGMA busy_timeout={previous}")


def writer(engine: Engine) -> Engine:
    """``engine`` for a transaction that reads, then writes what it read: on SQLite it takes the
    write lock at BEGIN (BEGIN IMMEDIATE), or the write fails at once ("database is locked")
    when another connection wrote since the read. Other databases are unaffected."""
    return engine.execution_options(sqlite_immediate=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


# ---- is the schema current? (answered without Alembic: idms.revisions says why) ------------


def schema_is_current(conn: Connection, version_table: str, versions: Path) -> bool:
    """Whether the database on ``conn`` is at the newest migration in ``versions`` (False when
    unsure: the caller then runs Alembic, which migrates or finds nothing to do)."""
    head = newest_revision(versions)
    if head is None or not inspect(conn).has_table(version_table):
        return False
    version: ColumnClause[str] = column("version_num")
    rows = conn.execute(select(version).select_from(table(version_table))).scalars().all()
    return rows == [head]
