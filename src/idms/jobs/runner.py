"""Running a job: read -> map -> match -> decide -> plan or apply -> record, batch by batch.

Every input row ends with exactly one outcome, recorded with the run; the counts always add up
to the rows read. A plan does everything but write. Memory stays bounded: the reader streams and
only one batch is in hand at a time. :func:`run_job` starts a new run (or a plan);
:func:`resume_run` carries on a recorded one (a queued run from its start, one whose process
died from its checkpoint). Each batch goes through :class:`idms.jobs.batch.BatchEngine`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from idms.errors import IdmsError, InvalidInputError
from idms.io.reader import Opener
from idms.io.records import InputRow
from idms.jobs.batch import BatchEngine
from idms.jobs.durable import Lease, check_file_identity, file_identity
from idms.jobs.model import Job, build_job
from idms.jobs.prepare import PreparedJob, new_run, prepare_job, spool_file
from idms.jobs.report import RunReport
from idms.jobs.turns import turn_for
from idms.queries.store import QueryStore
from idms.runs.durable import DEFAULT_LEASE_SECONDS, Durable, worker_name
from idms.runs.leases import Interrupted, Leases, StopCheck
from idms.runs.record import NewRun, RunStore, new_run_id
from idms.runs.sealed import open_sealed
from idms.runs.serial import SourceTurn
from idms.runs.status import Counts, RunStatus
from idms.targets.base import Target

if TYPE_CHECKING:  # a query's or a workflow's rows: the query machinery is loaded only then
    from idms.jobs.query_input import Spool

Progress = Callable[[int], None]


def run_job(
    job: Job | PreparedJob,
    *,
    target: Target,
    runs: RunStore,
    plan: bool = False,
    progress: Progress | None = None,
    error_dir: Path | None = None,
    target_label: str = "embedded",
    queries: QueryStore | None = None,
    durable: Durable | None = None,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> RunReport:
    """Run (or plan) ``job`` against ``target``, recording the run in ``runs``.

    ``queries`` looks up the saved query a job's input names (the iUpdate case). With
    ``durable``, the run can be resumed after its process dies (:func:`resume_run`): its job is
    sealed with it, its lease renewed while it works, each batch staged and checkpointed. A
    job already prepared (:func:`idms.jobs.prepare.prepare_job`, with :func:`spool_path` for
    ``run_id``) is not checked again. A run that is not durable (a plan) holds a lease of
    ``lease_seconds`` all the same: if its process dies, the run is ended, not left running.
    """
    if plan:
        durable = None
    if isinstance(job, PreparedJob):
        prepared = job
    else:
        run_id = new_run_id()
        spool = spool_path(job, durable, run_id)
        prepared = prepare_job(job, target, queries, spool=spool, run_id=run_id)
    run_id = prepared.run_id
    with prepared:
        runs.create(
            replace(
                start_record(
                    prepared, run_id=run_id, target_label=target_label, plan=plan, durable=durable
                ),
                lease_seconds=durable.lease_seconds if durable is not None else lease_seconds,
            )
        )
        engine = BatchEngine(prepared.compiled, target, runs, run_id, plan, durable=durable)
        return _execute(
            engine, prepared, progress=progress, error_dir=error_dir, lease_seconds=lease_seconds
        )


def spool_path(job: Job, durable: Durable | None, run_id: str) -> Spool | None:
    """Where a durable run of a query-fed job keeps its sealed copy of the query's rows, and a
    run of rows a workflow step handed over its copy of them (None for a file input, or a run
    that is not durable)."""
    if durable is None or job.input is None or (job.input.query, job.input.rows) == (None, None):
        return None
    from idms.jobs.query_input import Spool

    durable.folder(run_id)  # made now: the query's rows are written as they are read
    handed = job.input.rows is not None
    return Spool(spool_file(durable.run_dir, run_id), durable.box, handed=handed)


def start_record(
    prepared: PreparedJob,
    *,
    run_id: str,
    target_label: str,
    plan: bool = False,
    durable: Durable | None = None,
    trigger: str = "cli",
    started_by: str | None = None,
) -> NewRun:
    """The record of a run of ``prepared`` starting now in this process (held by ``durable``'s
    owner when durable: sealed, with its input's identity, resumable)."""
    cjob = prepared.compiled
    record = new_run(
        prepared.job,
        source=cjob.source,
        target=target_label,
        platform=cjob.platform,
        plan=plan,
        prepared=prepared,
    )
    record = replace(record, run_id=run_id, trigger=trigger, started_by=started_by)
    if durable is None:
        return record
    job = prepared.job
    input_ref: dict[str, Any] | None = None
    spool = spool_path(job, durable, run_id)
    if spool is not None:
        kind = "rows" if job.input is not None and job.input.rows is not None else "query"
        input_ref = {"kind": kind, "spool": str(spool.path)}
    elif job.input is not None and job.input.file is not None:
        input_ref = file_identity(job.input.file)
    return replace(
        record,
        owner=durable.owner,
        lease_seconds=durable.lease_seconds,
        sealed_job=durable.box.encrypt(job.model_dump_json(exclude_unset=True)),
        input_ref=input_ref,
    )


def resume_run(
    run_id: str,
    *,
    target: Target,
    runs: RunStore,
    durable: Durable,
    queries: QueryStore | None = None,
    progress: Progress | None = None,
    error_dir: Path | None = None,
    prepared: PreparedJob | None = None,
) -> RunReport:
    """Carry on a durable run its owner has claimed (:meth:`Leases.claim`): a queued one from
    the start, one whose process died from its checkpoint. Rows already recorded are skipped;
    the batch that was in flight is settled without sending anything twice. ``prepared`` is
    the run's job as its starter already prepared it (its input is not opened again)."""
    info = runs.get(run_id)
    if info.sealed_job is None:
        raise InvalidInputError(
            f"Run {info.id} was not recorded as resumable (a plan, an undo or an older run)."
        )
    if prepared is None:
        job = build_job(json.loads(durable.box.decrypt(info.sealed_job, name="the run's job")))
        ref = info.input_ref or {}
        spool: Spool | None = None
        opener: Opener | None = None
        if ref.get("kind") == "file":
            check_file_identity(ref)
            if ref.get("sealed"):  # the run's own copy, sealed when it was queued
                opener = open_sealed(durable.box)
        elif ref.get("kind") in ("query", "rows"):
            from idms.jobs.query_input import Spool

            spool = Spool(Path(str(ref["spool"])), durable.box, handed=ref["kind"] == "rows")
            if not spool.is_file() and (
                spool.handed or info.checkpoint_rows or runs.staged(run_id)
            ):
                what = "the rows handed over" if spool.handed else "its query's rows"
                raise InvalidInputError(
                    f"Run {info.id}'s copy of {what} is gone: it cannot be resumed."
                )
        prepared = prepare_job(job, target, queries, spool=spool, opener=opener)
    with prepared:
        if not info.columns:  # a queued run: what its input holds is known only now
            runs.record_input(run_id, prepared.reader.detected.columns, prepared.detected)
        engine = BatchEngine(
            prepared.compiled,
            target,
            runs,
            run_id,
            False,
            durable=durable,
            counts=Counts.of(info.counts),
            seq=runs.last_seq(run_id),
        )
        staged = runs.staged(run_id)
        skip = engine.counts.rows
        pending: Callable[[], None] | None = None
        if staged is not None and (doubt := engine.staged_in_doubt(*staged)) is not None:
            held, pending = doubt
            skip += held
        return _execute(
            engine, prepared, progress=progress, error_dir=error_dir, skip=skip, pending=pending
        )


def _execute(
    engine: BatchEngine,
    prepared: PreparedJob,
    *,
    progress: Progress | None,
    error_dir: Path | None,
    skip: int = 0,
    pending: Callable[[], None] | None = None,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> RunReport:
    """Process the input's rows (after the first ``skip``), batch by batch, and finish the run."""
    runs, run_id, durable = engine.runs, engine.run_id, engine.durable
    detected = prepared.detected
    leases = Leases(runs.engine)
    # Every run holds a lease while it works (a plan too): one whose process dies is recovered.
    owner = durable.owner if durable is not None else worker_name()
    seconds = durable.lease_seconds if durable is not None else lease_seconds
    lease = Lease(leases, run_id, owner, seconds)
    engine.stop_check = StopCheck(leases, run_id, owner)
    cancelled = False
    # A run that writes takes its turn with every other run writing the source on a target
    # that cannot hold a batch exclusive itself (REST); on the embedded store, turn is None.
    turn = None
    if not engine.plan:
        source = engine.cjob.source.name
        turn = turn_for(engine.target, runs, run_id, source, owner=owner, seconds=seconds)
    with lease:
        try:
            if turn is not None and not _take_turn(turn, runs, run_id, leases):
                cancelled = True
            else:
                _process(engine, prepared, lease, leases, turn, progress, skip, pending)
        except Interrupted as stop:
            if not stop.cancelled:
                return _let_go(engine, detected)
            cancelled = True
        except IdmsError as exc:
            runs.finish(
                run_id,
                status=RunStatus.FAILED,
                counts=engine.counts.as_dict(),
                message=exc.message,
            )
            return RunReport(run_id, RunStatus.FAILED, engine.counts, None, detected, exc.message)
        finally:
            if turn is not None:
                turn.give_back()
    engine.finish()
    counts = engine.counts
    message = None
    if cancelled:
        status = RunStatus.CANCELLED
        message = f"Cancelled after {counts.rows} rows; the rows after them were not processed."
    elif engine.plan:
        status = RunStatus.PLANNED
    elif counts.errors:
        status = RunStatus.COMPLETED_WITH_ERRORS
    else:
        status = RunStatus.SUCCEEDED
    runs.finish(run_id, status=status, counts=counts.as_dict(), message=message)
    if durable is not None:
        spool_file(durable.run_dir, run_id).unlink(missing_ok=True)
    error_file = None
    if counts.errors and not engine.plan and error_dir is not None:
        from idms.io.errorfile import write_error_file

        error_file = write_error_file(runs, run_id, error_dir / f"{run_id}-failed.csv")
        runs.set_error_file(run_id, str(error_file))
    return RunReport(run_id, status, counts, error_file, detected, message)


def _let_go(engine: BatchEngine, detected: dict[str, Any]) -> RunReport:
    """A run whose lease is no longer its own stops where it is: taken over by another process,
    or let go of by its own, which is stopping. A resumable run stays as it is, to be resumed
    from its checkpoint; a plan (nothing written, nothing to resume) ends ``failed`` unless
    whoever took it ended it already."""
    runs, run_id = engine.runs, engine.run_id
    info = runs.get(run_id)
    if info.finished:  # ended by whoever found its lease lapsed
        status = RunStatus(info.status)
        return RunReport(run_id, status, engine.counts, None, detected, info.message)
    if engine.durable is None:
        message = (
            f"Stopped after {engine.counts.rows:,} rows: the process making this plan was "
            "stopping. A plan writes nothing: plan the job again."
        )
        runs.finish(
            run_id, status=RunStatus.FAILED, counts=engine.counts.as_dict(), message=message
        )
        return RunReport(run_id, RunStatus.FAILED, engine.counts, None, detected, message)
    lost = "Another worker took this run over (its lease was lost)."
    return RunReport(run_id, RunStatus.RUNNING, engine.counts, None, detected, lost)


def _process(
    engine: BatchEngine,
    prepared: PreparedJob,
    lease: Lease,
    leases: Leases,
    turn: SourceTurn | None,
    progress: Progress | None,
    skip: int,
    pending: Callable[[], None] | None,
) -> None:
    """Feed the engine the input's batches; :class:`Interrupted` when the run is cancelled or
    its lease is no longer its own."""
    run_id = engine.run_id
    # A plan rehearses on a target that can: each batch sees what the earlier ones did.
    with engine.rehearsal():
        rows = iter(prepared.reader)
        for _ in range(skip):
            if next(rows, None) is None:
                break
        if pending is not None:
            pending()  # the segment in flight when the run stopped
            if progress is not None:
                progress(engine.counts.rows)
        for batch, upcoming in _with_next(_batches(rows, engine.cjob.job.options.batch_size)):
            if turn is not None and not turn.renew():
                raise IdmsError(turn.lost_message())
            if not lease.renew():
                raise Interrupted(cancelled=False)
            if leases.is_cancel_requested(run_id):
                raise Interrupted(cancelled=True)
            engine.process(batch, upcoming)
            if progress is not None:
                progress(engine.counts.rows)


def _take_turn(turn: SourceTurn, runs: RunStore, run_id: str, leases: Leases) -> bool:
    """Wait for the run's turn to write its source (saying, with the run, which run it waits
    for); False when the run is cancelled meanwhile."""
    waited = False

    def waiting(message: str) -> None:
        nonlocal waited
        waited = True
        runs.set_message(run_id, message)

    taken = turn.take(waiting=waiting, give_up=lambda: leases.is_cancel_requested(run_id))
    if taken and waited:
        runs.set_message(run_id, None)
    return taken


def _batches(rows: Iterator[InputRow], size: int) -> Iterator[list[InputRow]]:
    batch: list[InputRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _with_next(
    batches: Iterator[list[InputRow]],
) -> Iterator[tuple[list[InputRow], list[InputRow] | None]]:
    """Each batch with the one after it (None for the last), which the engine may match while
    it writes this one. The next batch is read first; a failure reading it is raised only after
    this batch is processed, where it was raised before."""
    current = next(batches, None)
    while current is not None:
        failure: Exception | None = None
        try:
            upcoming = next(batches, None)
        except Exception as exc:  # raised after this batch, as it always was
            upcoming, failure = None, exc
        yield current, upcoming
        if failure is not None:
            raise failure
        current = upcoming
