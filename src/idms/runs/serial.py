"""Runs that take turns: whole runs serialised per target and source, through the suite database.

A target that can hold a batch exclusive from its match through its writes (the embedded store:
:class:`~idms.targets.base.Exclusive`) needs none of this: runs on it interleave batch by batch.
iMIS over REST cannot: it has no transaction to hold from a match to the writes and no unique key
to refuse a second insert, so two runs writing the same source of the same iMIS would both find
nothing for a new key and both insert it. Such runs take turns. A run takes its turn (a row of
``source_locks``) before its first batch and gives it back when it ends; a run that finds the
turn taken waits, saying for which run, until the holder gives it back, or its process is gone
(a process of this machine that no longer exists: at once), or the turn expired (a holder on
another machine that stopped renewing it: after the lease time). A holder renews its turn in the
background while it works; one that finds its turn taken over stops between two batches.

Only runs recorded in one suite database take turns: workspaces with suite databases of their
own that write to the same iMIS do not see each other (give them one: ``IDMS_SUITE_DATABASE``).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import ColumnElement, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from idms.db import writer
from idms.runs.durable import holder_is_gone
from idms.runs.status import RunStatus
from idms.state.models import Run, SourceLock, utcnow
from idms.state.store import translate_errors

log = logging.getLogger("idms.runs")

FIRST_POLL = 0.1  # seconds between two looks at a taken turn, growing to LAST_POLL
LAST_POLL = 2.0


def turn_key(target: str, source: str) -> str:
    """The key of the turn of ``source`` on ``target`` (one iMIS however its URL is spelled:
    scheme and host without case, no trailing slash)."""
    parts = urlsplit(target.strip())
    place = urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, "")
    )
    return hashlib.sha256(f"{place}\n{source.lower()}".encode()).hexdigest()


class SourceTurn:
    """The turn of ``run_id`` to write ``source`` on ``target``: :meth:`take` waits for it,
    :meth:`give_back` ends it; renewed in the background in between (as ``owner``, for
    ``seconds`` at a time)."""

    def __init__(
        self,
        engine: Engine,
        *,
        target: str,
        source: str,
        run_id: str,
        owner: str,
        seconds: float,
    ) -> None:
        self.engine, self.target, self.source = engine, target, source
        self.run_id, self.owner, self.seconds = run_id, owner, seconds
        self.key = turn_key(target, source)
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def take(
        self,
        *,
        waiting: Callable[[str], None] | None = None,
        give_up: Callable[[], bool] | None = None,
    ) -> bool:
        """Wait for the turn and take it (True); False when ``give_up`` says to stop waiting
        (the run was cancelled). ``waiting`` hears, once per run waited for, a sentence saying
        which run this one waits for."""
        poll, told = FIRST_POLL, None
        while True:
            holder = self._try()
            if holder is None:
                break
            if not holder:  # taken this instant by a run not yet known: look again
                continue
            if holder != told:
                told = holder
                message = (
                    f"Run {self.run_id} waits for run {holder} to finish: runs that write to "
                    f"{self.source} on {self.target} take turns (iMIS has no unique keys to stop "
                    "two runs inserting the same record)."
                )
                log.warning("%s", message)
                if waiting is not None:
                    waiting(message)
            if give_up is not None and give_up():
                return False
            time.sleep(poll)
            poll = min(poll * 1.5, LAST_POLL)
        self._thread = threading.Thread(target=self._beat, name=f"turn-{self.run_id}", daemon=True)
        self._thread.start()
        return True

    def give_back(self) -> None:
        """End the turn (nothing when it was never taken, or was taken over)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.seconds)
        with translate_errors("Cannot end the run's turn"), self.engine.begin() as conn:
            conn.execute(delete(SourceLock).where(*self._mine()))

    def _try(self) -> str | None:
        """Take the turn if it is free (None), or the ID of the run that holds it."""
        now = utcnow()
        mine = {
            "run_id": self.run_id,
            "owner": self.owner,
            "acquired_at": now,
            "expires_at": now + timedelta(seconds=self.seconds),
        }
        with translate_errors("Cannot take the run's turn"):
            try:
                return self._take(mine, now)
            except IntegrityError:  # another run inserted the turn meanwhile: look again
                return ""

    def _take(self, mine: dict[str, Any], now: datetime) -> str | None:
        with writer(self.engine).begin() as c:
            held = c.execute(
                select(SourceLock.run_id, SourceLock.owner, SourceLock.expires_at)
                .where(SourceLock.key == self.key)
                .with_for_update()
            ).first()
            if held is None:
                c.execute(
                    insert(SourceLock).values(
                        key=self.key, target=self.target, source=self.source, **mine
                    )
                )
                return None
            holder, owner, until = str(held[0]), held[1], held[2]
            if holder != self.run_id and until >= now and not holder_is_gone(owner):
                status = c.execute(select(Run.status).where(Run.id == holder)).scalar()
                if status == RunStatus.RUNNING:
                    return holder
            c.execute(update(SourceLock).where(SourceLock.key == self.key).values(**mine))
            return None

    def _mine(self) -> tuple[ColumnElement[bool], ...]:
        """The turn as this process holds it (the same run resumed elsewhere holds it no more)."""
        return (
            SourceLock.key == self.key,
            SourceLock.run_id == self.run_id,
            SourceLock.owner == self.owner,
        )

    def _beat(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                if not self.renew():
                    return
            except Exception:  # nosec B112 # a missed beat is retried: the turn has slack
                continue

    def renew(self) -> bool:
        """Renew the turn now; False once another run has taken it over (this one looked dead:
        it stopped renewing for longer than its lease)."""
        if self.lost:
            return False
        now = utcnow()
        with translate_errors("Cannot renew the run's turn"), self.engine.begin() as conn:
            renewed = conn.execute(
                update(SourceLock)
                .where(*self._mine())
                .values(expires_at=now + timedelta(seconds=self.seconds))
            ).rowcount
        self.lost = not renewed
        return not self.lost

    def lost_message(self) -> str:
        return (
            f"Run {self.run_id} stopped: another run took over its turn to write to "
            f"{self.source} on {self.target} while it was not renewing it (its process stalled "
            "for longer than its lease); the rows after its last batch were not processed."
        )
