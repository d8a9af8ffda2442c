"""The lease and queue protocol: which process carries a run on, and for how long.

Every running run — an import, an update, a plan, an undo — is held by one owner at a time (a
lease with an expiry, renewed by heartbeats while it works). A run whose lease lapses (its
process died) is queued again and resumed from its checkpoint by whoever claims it next when it
was recorded as resumable; any other (a plan, an undo) ends ``failed``, saying what happened and
what to do (:meth:`Leases.recover_lapsed`: one rule for every kind). A lease whose holder is
known to be gone — a process on this machine that no longer exists
(:func:`~idms.runs.durable.holder_is_gone`) — lapses at once: the run is taken over without
waiting for its expiry. Leases held on other machines guard until they expire. Queued runs are
handed to executors once (``take_undispatched``); a cancel, like a lease let go of, is read by
the run before each row (:class:`StopCheck`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, case, func, or_, select, update

from idms.db import writer
from idms.runs.durable import holder_is_gone
from idms.runs.status import RunKind, RunStatus
from idms.state.store import translate_errors
from idms.state.tables import runs as run_table
from idms.state.tables import utcnow

RELEASED = "(released)"  # the lease owner of a run whose process let go of it
STOP_POLL_SECONDS = 0.5  # how often a run at work reads whether it should stop


@dataclass
class Recovered:
    """What :meth:`Leases.recover_lapsed` did: runs queued again to resume, runs ended."""

    requeued: list[str] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)


def lapsed_message(
    kind: str, plan_only: bool, undo_of: str | None, rows: int, last_seen: datetime | None
) -> str:
    """Why a run that cannot be resumed ended when its lease lapsed, and what to do now."""
    when = f"at {last_seen.strftime('%Y-%m-%d %H:%M:%S')} UTC" if last_seen is not None else "early"
    if plan_only:
        return (
            f"The process making this plan stopped (killed?) {when}, after {rows:,} rows. "
            "A plan writes nothing: plan the job again."
        )
    if kind == RunKind.UNDO:
        return (
            f"The process running this undo stopped (killed?) {when}, after putting back "
            f"{rows:,} rows (listed with this run). Undo this run to give those rows their "
            f"values from before it, then undo run {undo_of} again."
        )
    return (
        f"The process running this run stopped (killed?) {when}, after {rows:,} rows (listed "
        "with this run), and the run was not recorded as resumable: run the job again."
    )


class Interrupted(Exception):
    """A run at work was asked to stop: ``cancelled``, or its lease is no longer its own
    (another process took it over, or its own process is stopping and let go of it)."""

    def __init__(self, cancelled: bool) -> None:
        super().__init__("cancelled" if cancelled else "lease lost")
        self.cancelled = cancelled


class StopCheck:
    """Asked before each row of a run at work: raises :class:`Interrupted` when the run should
    stop there. It reads the run's state at most every :data:`STOP_POLL_SECONDS`, so asking per
    row costs a clock read; a cancel, or a shutdown letting go of the lease, is seen within that
    time plus the row in hand (which a template's time limit bounds)."""

    def __init__(
        self, leases: Leases, run_id: str, owner: str, poll: float = STOP_POLL_SECONDS
    ) -> None:
        self.leases, self.run_id, self.owner, self.poll = leases, run_id, owner, poll
        self._next = time.monotonic() + poll

    def __call__(self) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.poll
        cancelled, owner, status = self.leases.state(self.run_id)
        if cancelled:
            raise Interrupted(cancelled=True)
        if owner != self.owner or status != RunStatus.RUNNING:
            raise Interrupted(cancelled=False)


class Leases:
    """Claim, renew, release, cancel and requeue runs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _any(self, stmt: Select[Any]) -> bool:
        with translate_errors("Cannot read the runs"), self.engine.connect() as conn:
            return conn.execute(stmt.limit(1)).first() is not None

    def claim(self, run_id: str, owner: str, lease_seconds: float) -> bool:
        """Take a run to execute: a queued one, a running one whose lease has expired or whose
        holder is gone (its process died), or one ``owner`` holds already (it recorded the run
        to execute it at once). False when someone else holds it or it has finished."""
        if self._claim(run_id, owner, lease_seconds):
            return True
        with translate_errors("Cannot claim the run"), self.engine.connect() as conn:
            holder = conn.execute(
                select(run_table.c.lease_owner).where(
                    run_table.c.id == run_id, run_table.c.status == RunStatus.RUNNING
                )
            ).scalar()
        # Taken from that holder only: another claimant may have taken it meanwhile.
        return holder_is_gone(holder) and self._claim(run_id, owner, lease_seconds, gone=holder)

    def _claim(
        self, run_id: str, owner: str, lease_seconds: float, *, gone: str | None = None
    ) -> bool:
        now = utcnow()
        held = (run_table.c.status == RunStatus.RUNNING) & (run_table.c.lease_owner == owner)
        lapsed = or_(run_table.c.lease_expires_at.is_(None), run_table.c.lease_expires_at < now)
        if gone is not None:
            lapsed = or_(lapsed, run_table.c.lease_owner == gone)
        with translate_errors("Cannot claim the run"), self.engine.begin() as conn:
            claimed = conn.execute(
                update(run_table)
                .where(
                    run_table.c.id == run_id,
                    or_(
                        run_table.c.status == RunStatus.QUEUED,
                        (run_table.c.status == RunStatus.RUNNING) & lapsed,
                        held,
                    ),
                )
                .values(
                    status=RunStatus.RUNNING,
                    lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    heartbeat_at=now,
                    attempts=case((held, run_table.c.attempts), else_=run_table.c.attempts + 1),
                    started_at=func.coalesce(run_table.c.started_at, now),
                )
            ).rowcount
        return bool(claimed)

    def heartbeat(self, run_id: str, owner: str, lease_seconds: float) -> bool:
        """Renew ``owner``'s lease; False when the lease is no longer its own."""
        now = utcnow()
        with translate_errors("Cannot renew the run's lease"), self.engine.begin() as conn:
            renewed = conn.execute(
                update(run_table)
                .where(
                    run_table.c.id == run_id,
                    run_table.c.lease_owner == owner,
                    run_table.c.status == RunStatus.RUNNING,
                )
                .values(lease_expires_at=now + timedelta(seconds=lease_seconds), heartbeat_at=now)
            ).rowcount
        return bool(renewed)

    def request_cancel(self, run_id: str) -> str:
        """Cancel a run: a queued one at once, a running one at its next row. Returns the run's
        status afterwards."""
        now = utcnow()
        with translate_errors("Cannot cancel the run"), self.engine.begin() as conn:
            conn.execute(
                update(run_table)
                .where(run_table.c.id == run_id, run_table.c.status == RunStatus.QUEUED)
                .values(
                    status=RunStatus.CANCELLED,
                    finished_at=now,
                    message="Cancelled before it started.",
                    cancel_requested=True,
                )
            )
            conn.execute(
                update(run_table)
                .where(run_table.c.id == run_id, run_table.c.status == RunStatus.RUNNING)
                .values(cancel_requested=True)
            )
            status = conn.execute(
                select(run_table.c.status).where(run_table.c.id == run_id)
            ).scalar()
        return str(status)

    def state(self, run_id: str) -> tuple[bool, str | None, str | None]:
        """Whether a run was asked to stop, who holds its lease, its status."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(
                    run_table.c.cancel_requested, run_table.c.lease_owner, run_table.c.status
                ).where(run_table.c.id == run_id)
            ).first()
        if row is None:
            return False, None, None
        return bool(row[0]), row[1], row[2]

    def is_cancel_requested(self, run_id: str) -> bool:
        with self.engine.connect() as conn:
            flag = conn.execute(
                select(run_table.c.cancel_requested).where(run_table.c.id == run_id)
            ).scalar()
        return bool(flag)

    def release_leases(self, owner_prefix: str) -> list[str]:
        """Give up the leases of running runs whose owner starts with ``owner_prefix`` (a
        process shutting down). Each run stops at its next row (:class:`StopCheck`), or after
        the batch it is writing; the lease still runs to its end, so nobody takes the run over
        while that batch is written. :meth:`expire_released` then lets them lapse at once."""
        owned = run_table.c.lease_owner.startswith(owner_prefix, autoescape=True)
        with translate_errors("Cannot release the leases"), writer(self.engine).begin() as conn:
            ids = [
                str(i)
                for i in conn.execute(
                    select(run_table.c.id).where(run_table.c.status == RunStatus.RUNNING, owned)
                ).scalars()
            ]
            if ids:
                conn.execute(
                    update(run_table)
                    .where(run_table.c.id.in_(ids), run_table.c.status == RunStatus.RUNNING, owned)
                    .values(lease_owner=RELEASED)
                )
        return ids

    def expire_released(self, run_ids: Sequence[str]) -> None:
        """End the released leases of ``run_ids`` now: the runs (still ``running``, their
        writers stopped) are resumed from their checkpoint by the next ``requeue_expired``."""
        if not run_ids:
            return
        past = utcnow() - timedelta(seconds=1)
        with translate_errors("Cannot release the leases"), self.engine.begin() as conn:
            conn.execute(
                update(run_table)
                .where(
                    run_table.c.id.in_(list(run_ids)),
                    run_table.c.status == RunStatus.RUNNING,
                    run_table.c.lease_owner == RELEASED,
                )
                .values(lease_owner=None, lease_expires_at=past)
            )

    def requeue_expired(self) -> list[str]:
        """Recover the runs whose lease lapsed (:meth:`recover_lapsed`); the IDs of those queued
        again to resume."""
        return self.recover_lapsed().requeued

    def recover_lapsed(self, *, requeue: bool = True) -> Recovered:
        """The one rule for a run whose lease lapsed — its lease expired while it was running, or
        its holder is a process of this machine that is gone (it died, or was killed): a run
        recorded as resumable is queued again, to be resumed from its checkpoint by whoever
        claims it next; every other run (a plan, an undo, a run not recorded as resumable) ends
        ``failed``, its message saying what happened and what to do. No run stays ``running``
        without a live holder. Without ``requeue`` (a process with no executor, reading the
        runs), resumable runs are left as they are, to be resumed."""
        now = utcnow()
        running = run_table.c.status == RunStatus.RUNNING
        with translate_errors("Cannot recover runs"), self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    run_table.c.id,
                    run_table.c.lease_owner,
                    run_table.c.lease_expires_at,
                    run_table.c.plan_only,
                    run_table.c.sealed_job.is_not(None),
                ).where(running)
            ).all()
        lapsed: list[tuple[str, Any, bool]] = []  # each run, what says it lapsed, resumable
        for run_id, holder, until, plan_only, sealed in rows:
            resumable = bool(sealed) and not plan_only
            if resumable and not requeue:
                continue
            if until is not None and until < now:
                lapsed.append((str(run_id), run_table.c.lease_expires_at < now, resumable))
            elif until is None and holder is None:
                lapsed.append((str(run_id), run_table.c.lease_owner.is_(None), resumable))
            elif holder_is_gone(holder):
                lapsed.append((str(run_id), run_table.c.lease_owner == holder, resumable))
        recovered = Recovered()
        if not lapsed:  # the usual case, without taking the write lock
            return recovered
        with translate_errors("Cannot recover runs"), writer(self.engine).begin() as conn:
            for run_id, still, resumable in lapsed:
                # Still lapsed: nobody renewed or took it meanwhile.
                where = (run_table.c.id == run_id, running, still)
                if resumable:
                    done = conn.execute(
                        update(run_table)
                        .where(*where)
                        .values(
                            status=RunStatus.QUEUED,
                            lease_owner=None,
                            lease_expires_at=None,
                            dispatched_at=None,
                        )
                    ).rowcount
                    if done:
                        recovered.requeued.append(run_id)
                    continue
                run = conn.execute(
                    select(
                        run_table.c.kind,
                        run_table.c.plan_only,
                        run_table.c.undo_of,
                        run_table.c.rows,
                        run_table.c.heartbeat_at,
                    ).where(run_table.c.id == run_id)
                ).one()
                done = conn.execute(
                    update(run_table)
                    .where(*where)
                    .values(
                        status=RunStatus.FAILED,
                        finished_at=now,
                        lease_owner=None,
                        lease_expires_at=None,
                        message=lapsed_message(*run),
                    )
                ).rowcount
                if done:
                    recovered.ended.append(run_id)
        return recovered

    def take_undispatched(self, *, redispatch_after: float = 300.0, limit: int = 100) -> list[str]:
        """Queued runs not yet handed to an executor (or handed over ``redispatch_after``
        seconds ago and still not claimed: a lost message), marked as handed over now."""
        now = utcnow()
        stale = now - timedelta(seconds=redispatch_after)
        waiting = (
            select(run_table.c.id)
            .where(
                run_table.c.status == RunStatus.QUEUED,
                or_(run_table.c.dispatched_at.is_(None), run_table.c.dispatched_at < stale),
            )
            .order_by(run_table.c.queued_at, run_table.c.created_at)
            .limit(limit)
        )
        if not self._any(waiting):  # the usual case, without taking the write lock
            return []
        with translate_errors("Cannot dispatch runs"), writer(self.engine).begin() as conn:
            ids = [str(i) for i in conn.execute(waiting).scalars()]
            if ids:
                conn.execute(
                    update(run_table)
                    .where(
                        run_table.c.id.in_(ids),
                        run_table.c.status == RunStatus.QUEUED,
                        or_(run_table.c.dispatched_at.is_(None), run_table.c.dispatched_at < stale),
                    )
                    .values(dispatched_at=now)
                )
        return ids
