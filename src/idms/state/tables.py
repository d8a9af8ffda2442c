"""The suite database's run tables as SQLAlchemy Core tables, on the suite's metadata.

``idms runs`` lists runs (and every command that records one writes them) through these alone:
mapping the ORM models of every suite table (:mod:`idms.state.models`, which maps its ``Run``,
``RunStage`` and ``RunRow`` onto these tables) cost ~0.09 s of CPU at each start, for nothing
a Core statement needs. The metadata, its naming convention and the timestamp type live here
for the same reason; the models use them. The schema itself is owned by the Alembic tree in
``migrations/`` (tests check that it and the metadata agree).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

NAME_LENGTH = 200
"""The longest name a secret (or a meta key) may have."""


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database.

    Naive datetimes are refused on the way in rather than guessed at. SQLite has no time zones,
    so there the UTC wall time is stored; PostgreSQL stores a ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; use a UTC-aware one")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # SQLite's DATETIME text drops the offset silently; store UTC so reading it back
            # as UTC is right.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData(naming_convention=NAMING_CONVENTION)


runs = Table(
    "runs",
    metadata,
    # One execution (or plan) of a job, or an undo of one, with its outcome counts.
    Column("id", String(32), primary_key=True),
    Column("kind", String(20), nullable=False),  # import | update | undo
    Column("name", String(NAME_LENGTH), nullable=False),
    Column("source", String(NAME_LENGTH), nullable=False),
    Column("action", String(30), nullable=False),
    Column("target", Text, nullable=False),
    Column("platform", String(10), nullable=False),
    Column("status", String(30), nullable=False, index=True),
    Column("plan_only", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow, index=True),
    Column("started_at", UTCDateTime(), default=None),
    Column("finished_at", UTCDateTime(), default=None),
    Column("rows", Integer, nullable=False, default=0),
    Column("inserted", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("deleted", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("errors", Integer, nullable=False, default=0),
    Column("job", Text, nullable=False),  # the job document as run (JSON, secrets masked)
    Column("columns", Text, nullable=False, default="[]"),  # the input's columns, in order
    Column("detected", Text, nullable=False, default="{}"),  # what the reader detected
    Column("message", Text, default=None),  # why a run failed
    Column("error_file", Text, default=None),  # the failed rows, if any
    Column("undo_of", String(32), default=None),
    Column("undone_by", String(32), default=None),
    # Durable runs: how the run came about, what it needs to run again, who runs it.
    Column("trigger", String(20), nullable=False, default="cli", server_default="cli"),
    # Who started it (user:NAME, token:NAME, cli:OSUSER, schedule:NAME, webhook); None before
    # 0011 recorded it.
    Column("started_by", String(220), default=None, index=True),
    Column("schedule_id", String(64), default=None, index=True),
    Column("sealed_job", Text, default=None),  # encrypted, whole job
    Column("input_ref", Text, default=None),  # JSON: the input's identity
    Column("queued_at", UTCDateTime(), default=None),
    Column("dispatched_at", UTCDateTime(), default=None),  # handed to an executor
    Column("lease_owner", String(120), default=None),
    Column("lease_expires_at", UTCDateTime(), default=None, index=True),
    Column("heartbeat_at", UTCDateTime(), default=None),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("checkpoint_rows", Integer, nullable=False, default=0, server_default="0"),
    Column("cancel_requested", Boolean, nullable=False, default=False, server_default=false()),
)

# The batch a run is writing, staged before it is sent: what was decided for each of its rows
# (sealed: it may hold passwords). Found after a crash, it tells a resumed run which writes were
# in doubt; cleared once the batch's row results are recorded.
run_stages = Table(
    "run_stages",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("batch_key", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
)

# One input row's outcome; ``seq`` orders the writes (undo replays them backwards).
# ``before``/``after`` are JSON: for an insert the new record, for an update only the fields
# that changed (with the record's identity), for a delete the whole removed record. ``input``
# keeps the original cells of rows that failed, for the error file (passwords masked).
run_rows = Table(
    "run_rows",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("row_number", Integer, nullable=False),
    Column("outcome", String(12), nullable=False),
    Column("code", String(60), default=None),
    Column("message", Text, default=None),
    Column("field", String(NAME_LENGTH), default=None),
    Column("column", Text, default=None),
    Column("identity", Text, default=None),
    Column("before", Text, default=None),
    Column("after", Text, default=None),
    Column("input", Text, default=None),
)
