"""Undoing a run: its changes replayed backwards from their before-images, as a run of its own.

An undo is first recorded (:func:`record_undo`), once the run it undoes is found undoable (a
refusal says why at once, and nothing is recorded), then carried out (:func:`carry_out_undo`),
batch by batch, each row put back as :func:`idms.jobs.undo_rows.undo_batch` says. The command
line does both here and now (:func:`undo_run`); the API and the web UI record the undo queued,
and an executor carries it out as it carries out every run
(:func:`idms.execution.execute.execute_run`), while the run's page follows it. The undo records
its own changes the way a job run does, so an undo can be undone in turn (a redo).

Either way the undo holds a lease while it works. If its process dies, the lease lapses and the
undo is ended, saying what it put back and what to do (:meth:`Leases.recover_lapsed`): an undo
keeps no checkpoint, so it is never carried on from the middle, nor left running. A cancel is
heard between batches: what was put back stays put back, and the message says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from idms.errors import Conflict, IdmsError, InvalidInputError
from idms.jobs.durable import Lease
from idms.jobs.turns import turn_for
from idms.jobs.undo_rows import undo_batch
from idms.runs.durable import DEFAULT_LEASE_SECONDS, worker_name
from idms.runs.leases import Leases
from idms.runs.record import NewRun, RunInfo, RunStore
from idms.runs.rows import RowResult
from idms.runs.status import STEP_KINDS, Counts, Outcome, RunKind, RunStatus
from idms.targets.base import Exclusive, Target, capability

BATCH = 500
UNDOABLE = (Outcome.INSERTED, Outcome.UPDATED, Outcome.DELETED)


@dataclass
class UndoReport:
    run_id: str
    undo_of: str
    status: RunStatus
    counts: Counts
    message: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "undo_of": self.undo_of,
            "status": self.status.value,
            **self.counts.as_dict(),
            "error_file": None,
        }


def undo_run(
    run_ref: str,
    *,
    target: Target,
    runs: RunStore,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
    target_label: str = "embedded",
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    started_by: str | None = None,
    trigger: str = "cli",
) -> UndoReport:
    """Undo run ``run_ref`` here and now: its undo recorded as this thread's, and carried out.
    A failure ends the undo ``failed``, saying what it put back, and is raised."""
    owner = worker_name()
    undo_id = record_undo(
        run_ref,
        runs=runs,
        force=force,
        target_label=target_label,
        owner=owner,
        lease_seconds=lease_seconds,
        trigger=trigger,
        started_by=started_by,
    )
    return carry_out_undo(
        undo_id,
        target=target,
        runs=runs,
        owner=owner,
        lease_seconds=lease_seconds,
        progress=progress,
    )


def record_undo(
    run_ref: str,
    *,
    runs: RunStore,
    force: bool = False,
    target_label: str = "embedded",
    owner: str | None = None,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    trigger: str = "cli",
    started_by: str | None = None,
) -> str:
    """Record the undo of run ``run_ref``: held by ``owner``, who carries it out at once, or,
    without one, queued for an executor. A run undo cannot take is refused first, saying why
    (:class:`InvalidInputError`, :class:`Conflict`: a plan, a run not ended, one already undone
    or being undone), and nothing is recorded. Returns the undo's run ID."""
    original = runs.get(run_ref)
    _check_undoable(original, runs)
    return runs.create_undo(
        NewRun(
            kind=RunKind.UNDO,
            name=f"Undo of {original.name}",
            source=original.source,
            action="undo",
            target=target_label,
            platform=original.platform,
            job={"undo_of": original.id, "force": force},
            undo_of=original.id,
            status=RunStatus.RUNNING if owner is not None else RunStatus.QUEUED,
            owner=owner,
            lease_seconds=lease_seconds,
            trigger=trigger,
            started_by=started_by,
        )
    )


def carry_out_undo(
    undo_id: str,
    *,
    target: Target,
    runs: RunStore,
    owner: str,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    progress: Callable[[int], None] | None = None,
) -> UndoReport:
    """Put back what the run undo run ``undo_id`` undoes wrote, batch by batch, newest change
    first; ``owner`` holds the undo (it recorded it, or claimed it queued). The undo ends
    ``succeeded`` (or ``completed_with_errors``, its rows saying why) and the run is marked
    undone; ``cancelled`` when asked to stop; ``failed`` on an error, which is raised after.
    An undo whose lease was lost meanwhile is left to whoever ended it."""
    info = runs.get(undo_id)
    if info.undo_of is None:
        raise InvalidInputError(f"Run {info.id} is a {info.kind} run, not an undo.")
    original = runs.get(info.undo_of)
    force = bool(info.job.get("force"))
    counts = Counts()
    if info.attempts > 1 or info.counts["rows"]:
        # Claimed again after its process died (a message delivered twice): an undo keeps no
        # checkpoint, so it is ended as a lapsed one is, never started over.
        message = _taken_over(info.counts["rows"], original.id)
        runs.finish(undo_id, status=RunStatus.FAILED, counts=info.counts, message=message)
        return UndoReport(undo_id, original.id, RunStatus.FAILED, Counts.of(info.counts), message)
    seq = 0
    leases = Leases(runs.engine)
    # Matched and written exclusive of every other writer of the source, batch by batch, or
    # (a target that cannot: REST) in its turn with every other run that writes it.
    exclusive = capability(target, Exclusive)
    turn = None
    cancelled = False
    # The undo holds a lease while it works: if its process dies, the undo is ended, saying
    # what it put back (Leases.recover_lapsed), rather than left running.
    with Lease(leases, undo_id, owner, lease_seconds) as lease:
        try:
            source = target.describe(original.source)
            turn = turn_for(target, runs, undo_id, source.name, owner=owner, seconds=lease_seconds)
            if turn is not None:
                turn.take()
            for batch in _batches(runs.rows(original.id, outcomes=UNDOABLE, reverse=True)):
                if not lease.renew():  # ended meanwhile (its lease had lapsed)
                    info = runs.get(undo_id)
                    return UndoReport(
                        undo_id, original.id, RunStatus(info.status), counts, info.message
                    )
                if leases.is_cancel_requested(undo_id):
                    cancelled = True
                    break
                with exclusive.exclusive(source.name) if exclusive else nullcontext():
                    results = undo_batch(source, target, batch, force)
                for r in results:
                    seq += 1
                    r.seq = seq
                    counts.add(Outcome(r.outcome))
                runs.record_batch(
                    undo_id, results, checkpoint_rows=counts.rows, counts=counts.as_dict()
                )
                if progress is not None:
                    progress(counts.rows)
        except IdmsError as exc:
            message = _stopped(exc.message, counts.rows, original.id)
            runs.finish(undo_id, status=RunStatus.FAILED, counts=counts.as_dict(), message=message)
            raise
        finally:
            if turn is not None:
                turn.give_back()
    if cancelled:
        message = _cancelled(counts.rows, original.id)
        runs.finish(undo_id, status=RunStatus.CANCELLED, counts=counts.as_dict(), message=message)
        return UndoReport(undo_id, original.id, RunStatus.CANCELLED, counts, message)
    status = RunStatus.COMPLETED_WITH_ERRORS if counts.errors else RunStatus.SUCCEEDED
    runs.finish(undo_id, status=status, counts=counts.as_dict())
    runs.mark_undone(original.id, undo_id)
    return UndoReport(undo_id, original.id, status, counts)


def _stopped(reason: str, rows: int, original: str) -> str:
    """Why an undo failed, what it put back, and what to do now."""
    if not rows:
        return f"{reason} Nothing was put back: undo run {original} again once this is solved."
    return (
        f"{reason} The undo stopped after putting back {rows:,} rows (listed with this run). "
        f"Undo this run to give those rows their values from before it, or undo run "
        f"{original} again once the problem is solved."
    )


def _cancelled(rows: int, original: str) -> str:
    if not rows:
        return f"Cancelled before anything was put back: run {original} is as it was."
    return (
        f"Cancelled after putting back {rows:,} rows (listed with this run); the others were "
        f"not. Undo this run to give those rows their values from before it (then undo run "
        f"{original} again to undo it whole)."
    )


def _taken_over(rows: int, original: str) -> str:
    return (
        f"The process running this undo stopped (killed?) after putting back {rows:,} rows "
        f"(listed with this run), and an undo is not carried on from the middle. Undo this run "
        f"to give those rows their values from before it, then undo run {original} again."
    )


def _check_undoable(original: RunInfo, runs: RunStore) -> None:
    """Refuse a run undo cannot take, saying what to do instead."""
    if original.kind in STEP_KINDS:
        raise InvalidInputError(
            f"Run {original.id} is a {original.kind} run: it wrote nothing itself. The runs "
            "its steps started (an insert, a job) are runs of their own: undo those."
        )
    if original.plan_only:
        raise InvalidInputError(f"Run {original.id} was a plan: it wrote nothing to undo.")
    if original.undone_by:
        message = f"Run {original.id} was already undone by run {original.undone_by}."
        undo = runs.get(original.undone_by)
        if undo.undone_by:
            message += (
                f" That undo was itself undone by run {undo.undone_by}: undo run "
                f"{undo.undone_by} to undo these changes again."
            )
        else:
            message += f" Undo run {undo.id} to put back what it reverted."
        raise Conflict(message)
    if not original.finished:
        raise Conflict(f"Run {original.id} is {original.status}: undo it once it has ended.")


def _batches(rows: Iterator[RowResult]) -> Iterator[list[RowResult]]:
    batch: list[RowResult] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
