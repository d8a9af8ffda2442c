"""The lease and queue protocol: which process carries a run on, and for how long.

A run is claimed by one owner at a time (a lease with an expiry, renewed by heartbeats while it
works); a run whose lease lapses (its process died) is queued again and resumed from its
checkpoint by whoever claims it next. A lease whose holder is known to be gone — a process on
this machine that no longer exists (:func:`~idms.runs.durable.holder_is_gone`) — lapses at once:
the run is taken over without waiting for its expiry. Leases held on other machines guard
until they expire. Queued runs are handed to executors once
(``take_undispatched``); a cancel is a flag the owner reads between batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, Select, case, func, or_, select, update

from idms.db import writer
from idms.runs.durable import holder_is_gone
from idms.runs.status import RunStatus
from idms.state.models import Run, utcnow
from idms.state.store import translate_errors

RELEASED = "(released)"  # the lease owner of a run whose process let go of it


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
                select(Run.lease_owner).where(Run.id == run_id, Run.status == RunStatus.RUNNING)
            ).scalar()
        # Taken from that holder only: another claimant may have taken it meanwhile.
        return holder_is_gone(holder) and self._claim(run_id, owner, lease_seconds, gone=holder)

    def _claim(
        self, run_id: str, owner: str, lease_seconds: float, *, gone: str | None = None
    ) -> bool:
        now = utcnow()
        held = (Run.status == RunStatus.RUNNING) & (Run.lease_owner == owner)
        lapsed = or_(Run.lease_expires_at.is_(None), Run.lease_expires_at < now)
        if gone is not None:
            lapsed = or_(lapsed, Run.lease_owner == gone)
        with translate_errors("Cannot claim the run"), self.engine.begin() as conn:
            claimed = conn.execute(
                update(Run)
                .where(
                    Run.id == run_id,
                    or_(
                        Run.status == RunStatus.QUEUED,
                        (Run.status == RunStatus.RUNNING) & lapsed,
                        held,
                    ),
                )
                .values(
                    status=RunStatus.RUNNING,
                    lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    heartbeat_at=now,
                    attempts=case((held, Run.attempts), else_=Run.attempts + 1),
                    started_at=func.coalesce(Run.started_at, now),
                )
            ).rowcount
        return bool(claimed)

    def heartbeat(self, run_id: str, owner: str, lease_seconds: float) -> bool:
        """Renew ``owner``'s lease; False when the lease is no longer its own."""
        now = utcnow()
        with translate_errors("Cannot renew the run's lease"), self.engine.begin() as conn:
            renewed = conn.execute(
                update(Run)
                .where(Run.id == run_id, Run.lease_owner == owner, Run.status == RunStatus.RUNNING)
                .values(lease_expires_at=now + timedelta(seconds=lease_seconds), heartbeat_at=now)
            ).rowcount
        return bool(renewed)

    def request_cancel(self, run_id: str) -> str:
        """Cancel a run: a queued one at once, a running one between two batches. Returns the
        run's status afterwards."""
        now = utcnow()
        with translate_errors("Cannot cancel the run"), self.engine.begin() as conn:
            conn.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == RunStatus.QUEUED)
                .values(
                    status=RunStatus.CANCELLED,
                    finished_at=now,
                    message="Cancelled before it started.",
                    cancel_requested=True,
                )
            )
            conn.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == RunStatus.RUNNING)
                .values(cancel_requested=True)
            )
            status = conn.execute(select(Run.status).where(Run.id == run_id)).scalar()
        return str(status)

    def is_cancel_requested(self, run_id: str) -> bool:
        with self.engine.connect() as conn:
            flag = conn.execute(select(Run.cancel_requested).where(Run.id == run_id)).scalar()
        return bool(flag)

    def release_leases(self, owner_prefix: str) -> list[str]:
        """Give up the leases of running runs whose owner starts with ``owner_prefix`` (a
        process shutting down). Each run stops after the batch it is writing (its lease no
        longer renews); the lease still runs to its end, so nobody takes the run over while
        that batch is written. :meth:`expire_released` then lets them lapse at once."""
        owned = Run.lease_owner.startswith(owner_prefix, autoescape=True)
        with translate_errors("Cannot release the leases"), writer(self.engine).begin() as conn:
            ids = [
                str(i)
                for i in conn.execute(
                    select(Run.id).where(Run.status == RunStatus.RUNNING, owned)
                ).scalars()
            ]
            if ids:
                conn.execute(
                    update(Run)
                    .where(Run.id.in_(ids), Run.status == RunStatus.RUNNING, owned)
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
                update(Run)
                .where(
                    Run.id.in_(list(run_ids)),
                    Run.status == RunStatus.RUNNING,
                    Run.lease_owner == RELEASED,
                )
                .values(lease_owner=None, lease_expires_at=past)
            )

    def requeue_expired(self) -> list[str]:
        """Runs whose process died (their lease expired while running, or their holder is a
        process of this machine that is gone): queued again, to be resumed from their
        checkpoint by whoever claims them next."""
        now = utcnow()
        resumable = (
            (Run.status == RunStatus.RUNNING)
            & Run.plan_only.is_(False)
            & Run.sealed_job.is_not(None)
        )
        with translate_errors("Cannot requeue runs"), self.engine.connect() as conn:
            running = conn.execute(
                select(Run.id, Run.lease_owner, Run.lease_expires_at).where(resumable)
            ).all()
        lapsed: list[tuple[str, Any]] = []  # each run, and what says its lease has lapsed
        for run_id, holder, until in running:
            if until is not None and until < now:
                lapsed.append((str(run_id), Run.lease_expires_at < now))
            elif holder_is_gone(holder):
                lapsed.append((str(run_id), Run.lease_owner == holder))
        if not lapsed:  # the usual case, without taking the write lock
            return []
        ids: list[str] = []
        with translate_errors("Cannot requeue runs"), writer(self.engine).begin() as conn:
            for run_id, still in lapsed:  # still lapsed: nobody renewed or took it meanwhile
                requeued = conn.execute(
                    update(Run)
                    .where(Run.id == run_id, resumable, still)
                    .values(
                        status=RunStatus.QUEUED,
                        lease_owner=None,
                        lease_expires_at=None,
                        dispatched_at=None,
                    )
                ).rowcount
                if requeued:
                    ids.append(run_id)
        return ids

    def take_undispatched(self, *, redispatch_after: float = 300.0, limit: int = 100) -> list[str]:
        """Queued runs not yet handed to an executor (or handed over ``redispatch_after``
        seconds ago and still not claimed: a lost message), marked as handed over now."""
        now = utcnow()
        stale = now - timedelta(seconds=redispatch_after)
        waiting = (
            select(Run.id)
            .where(
                Run.status == RunStatus.QUEUED,
                or_(Run.dispatched_at.is_(None), Run.dispatched_at < stale),
            )
            .order_by(Run.queued_at, Run.created_at)
            .limit(limit)
        )
        if not self._any(waiting):  # the usual case, without taking the write lock
            return []
        with translate_errors("Cannot dispatch runs"), writer(self.engine).begin() as conn:
            ids = [str(i) for i in conn.execute(waiting).scalars()]
            if ids:
                conn.execute(
                    update(Run)
                    .where(
                        Run.id.in_(ids),
                        Run.status == RunStatus.QUEUED,
                        or_(Run.dispatched_at.is_(None), Run.dispatched_at < stale),
                    )
                    .values(dispatched_at=now)
                )
        return ids
