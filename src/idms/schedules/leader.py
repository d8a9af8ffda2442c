"""One scheduler leads at a time, however many ``idms serve`` processes share the suite database.

* **PostgreSQL**: a session advisory lock (``pg_try_advisory_lock``) held on a dedicated
  connection. The server releases it the moment that connection dies, so a crashed leader is
  replaced at the next tick of another process. The leader checks its connection at every tick,
  and each batch of fires checks, in its own transaction, that the lock is still held by it.
* **SQLite** (no advisory locks): a lease row in ``scheduler_leases`` (owner, expiry). The
  leader renews it at every tick; another process takes it over only once it has expired, with
  one atomic ``UPDATE ... WHERE expires_at < now``. Each batch of fires renews the lease in the
  same write transaction as the fires (``fence``): SQLite runs one write transaction at a time,
  so a process whose lease lapsed (a long pause) cannot fire after another has taken over.

Leadership keeps schedulers from doing the same work twice; it is not what makes a double fire
impossible: each fire also advances its schedule with a compare-and-set (see ``scheduler.py``),
so even two leaders at once would fire each slot once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, Engine, insert, or_, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from idms.db import is_sqlite
from idms.state.models import SchedulerLease, utcnow
from idms.state.store import translate_errors

log = logging.getLogger("idms.schedules")

LEASE_NAME = "scheduler"
PG_SCHEDULER_LOCK = 0x1D45_0005
"""The advisory lock key of the scheduler (migrations use ``0x1D45_0001``)."""


class Leadership(Protocol):
    owner: str

    @property
    def held(self) -> bool:
        """Whether this process was leader at its last :meth:`acquire`."""
        ...

    def acquire(self) -> bool:
        """Become leader, or stay leader; False while another process leads."""
        ...

    def fence(self, conn: Connection) -> bool:
        """In the caller's write transaction: whether this process still leads."""
        ...

    def release(self) -> None:
        """Stop leading (another process takes over at its next tick)."""
        ...


def leadership_for(engine: Engine, owner: str, *, lease_seconds: float = 10.0) -> Leadership:
    """The leader election that suits the database: a lease row on SQLite, an advisory lock on
    PostgreSQL."""
    if is_sqlite(engine):
        return LeaseLeadership(engine, owner, lease_seconds=lease_seconds)
    return AdvisoryLockLeadership(engine, owner)


class LeaseLeadership:
    """Leadership as a lease row: held until ``expires_at``, renewed at every tick."""

    def __init__(
        self, engine: Engine, owner: str, *, lease_seconds: float = 10.0, name: str = LEASE_NAME
    ) -> None:
        self.engine = engine
        self.owner = owner
        self.name = name
        self.lease = timedelta(seconds=lease_seconds)
        self._held = False

    @property
    def held(self) -> bool:
        return self._held

    def acquire(self) -> bool:
        now = utcnow()
        with translate_errors("Cannot take the scheduler lease"):
            try:
                taken = self._take(now)
            except IntegrityError:  # another process inserted the row first: it leads
                taken = 0
        self._note(bool(taken))
        return self._held

    def _take(self, now: datetime) -> int:
        with self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                taken = conn.execute(
                    update(SchedulerLease)
                    .where(
                        SchedulerLease.name == self.name,
                        SchedulerLease.owner == self.owner,
                        SchedulerLease.expires_at >= now,
                    )
                    .values(expires_at=now + self.lease)
                ).rowcount
                if not taken:
                    taken = conn.execute(
                        update(SchedulerLease)
                        .where(
                            SchedulerLease.name == self.name,
                            or_(
                                SchedulerLease.owner.is_(None),
                                SchedulerLease.expires_at.is_(None),
                                SchedulerLease.expires_at < now,
                                SchedulerLease.owner == self.owner,
                            ),
                        )
                        .values(owner=self.owner, acquired_at=now, expires_at=now + self.lease)
                    ).rowcount
                if not taken:
                    exists = conn.execute(
                        select(SchedulerLease.name).where(SchedulerLease.name == self.name)
                    ).first()
                    if exists is None:
                        conn.execute(
                            insert(SchedulerLease).values(
                                name=self.name,
                                owner=self.owner,
                                acquired_at=now,
                                expires_at=now + self.lease,
                            )
                        )
                        taken = 1
        return int(taken)

    def fence(self, conn: Connection) -> bool:
        now = utcnow()
        renewed = conn.execute(
            update(SchedulerLease)
            .where(
                SchedulerLease.name == self.name,
                SchedulerLease.owner == self.owner,
                SchedulerLease.expires_at >= now,
            )
            .values(expires_at=now + self.lease)
        ).rowcount
        if not renewed:
            self._note(False)
        return bool(renewed)

    def release(self) -> None:
        if not self._held:
            return
        with translate_errors("Cannot release the scheduler lease"), self.engine.begin() as conn:
            conn.execute(
                update(SchedulerLease)
                .where(SchedulerLease.name == self.name, SchedulerLease.owner == self.owner)
                .values(owner=None, expires_at=None)
            )
        self._note(False)

    def _note(self, held: bool) -> None:
        if held != self._held:
            log.info("scheduler %s %s", self.owner, "leads" if held else "does not lead")
        self._held = held


class AdvisoryLockLeadership:
    """Leadership as a PostgreSQL session advisory lock on a connection kept for it."""

    def __init__(self, engine: Engine, owner: str, *, key: int = PG_SCHEDULER_LOCK) -> None:
        self.engine = engine
        self.owner = owner
        self.key = key
        self._conn: Connection | None = None
        self._pid: int | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    @property
    def backend_pid(self) -> int | None:
        """The server process of the connection holding the lock (while held)."""
        return self._pid

    def acquire(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                self._conn.commit()
                return True
            except DBAPIError:  # the connection died, and the lock with it
                log.warning("scheduler %s lost its database connection and the lead", self.owner)
                self._drop()
        with translate_errors("Cannot take the scheduler lock"):
            conn = self.engine.connect()
            try:
                got = bool(
                    conn.execute(
                        text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
                    ).scalar()
                )
                pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
                conn.commit()
            except BaseException:
                conn.invalidate()
                conn.close()
                raise
        if not got:
            conn.close()
            return False
        self._conn, self._pid = conn, int(pid) if pid is not None else None
        log.info("scheduler %s leads", self.owner)
        return True

    def fence(self, conn: Connection) -> bool:
        if self._conn is None or self._pid is None:
            return False
        # A bigint key shows in pg_locks as classid (high 32 bits) and objid (low 32 bits).
        held = conn.execute(
            text(
                "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = :pid AND classid = :high AND objid = :low AND objsubid = 1"
            ),
            {"pid": self._pid, "high": (self.key >> 32) & 0xFFFFFFFF, "low": self.key & 0xFFFFFFFF},
        ).first()
        if held is None:
            self._drop()
        return held is not None

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            self._conn.commit()
            self._conn.close()
        except DBAPIError:
            self._conn.invalidate()
            self._conn.close()
        self._conn = self._pid = None

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()  # never back to the pool: it might still hold the lock
                self._conn.close()
            except DBAPIError:
                pass
        self._conn = self._pid = None
