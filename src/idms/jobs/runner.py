"""Running a job: read -> map -> match -> decide -> plan or apply -> record, batch by batch.

Every input row ends with exactly one outcome, recorded with the run; the counts always add up
to the rows read. A plan does everything but write. Memory stays bounded: the reader streams and
only one batch is in hand at a time.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from idms.errors import IdmsError, InvalidInputError
from idms.gcpause import gc_paused
from idms.io.reader import open_input
from idms.io.records import InputReader, InputRow, ReadOptions
from idms.jobs.compile import CompiledJob, compile_job
from idms.jobs.decide import decide_batch, match_key
from idms.jobs.durable import (
    Durable,
    Lease,
    StagedBatch,
    check_file_identity,
    file_identity,
    reconcile,
    results_in_order,
)
from idms.jobs.mapping import NOT_GIVEN, MappingError
from idms.jobs.model import Job, JobInvalid, build_job
from idms.jobs.outcomes import Counts, Outcome, RunStatus
from idms.jobs.rows import MASK, WorkRow
from idms.sources.model import Action
from idms.state.queries import QueryStore
from idms.state.runs import RowResult, RunStore, new_run_id
from idms.targets.base import ApplyOptions, ApplyResult, Change, ChangeKind, Record, Target

Progress = Callable[[int], None]
SPOOL_NAME = "input.rows"  # a durable iUpdate run's copy of its query's rows
KIND = {"insert": ChangeKind.INSERT, "update": ChangeKind.UPDATE, "delete": ChangeKind.DELETE}
DONE = {"insert": Outcome.INSERTED, "update": Outcome.UPDATED, "delete": Outcome.DELETED}


@dataclass
class RunReport:
    """What a run did. Callers choose how strict to be (exit codes, raising)."""

    run_id: str
    status: RunStatus
    counts: Counts
    error_file: Path | None
    detected: dict[str, Any]
    message: str | None = None

    def summary(self) -> dict[str, Any]:
        """The INTERFACES.md ``--json`` object."""
        return {
            "run_id": self.run_id,
            "status": self.status.value,
            **self.counts.as_dict(),
            "error_file": str(self.error_file) if self.error_file else None,
        }


def open_job_input(
    job: Job,
    target: Target | None = None,
    queries: QueryStore | None = None,
    *,
    spool: Path | None = None,
) -> InputReader:
    """The job's rows: a file, or a saved query run on ``target`` (the iUpdate case)."""
    spec = job.input
    if spec is None:
        raise JobInvalid(["input: the job names no input file (give one with --input FILE)"])
    if spec.file is None:
        if target is None:
            raise JobInvalid([f"input: the query '{spec.query}' needs a target to run on"])
        from idms.jobs.query_input import open_query_input

        mapped = tuple(m.column for m in job.mappings if m.column is not None)
        return open_query_input(spec, target, queries, mapped_columns=mapped, spool=spool)
    options = ReadOptions(
        encoding=spec.encoding,
        delimiter=spec.delimiter,
        quotechar=spec.quotechar,
        sheet=spec.sheet,
        header_row=spec.header_row,
    )
    return open_input(spec.file, options)


def prepare_job(
    job: Job, target: Target, queries: QueryStore | None = None, *, spool: Path | None = None
) -> tuple[CompiledJob, InputReader]:
    """Open the input and check the whole job against it and the target; nothing is written."""
    reader = open_job_input(job, target, queries, spool=spool)
    try:
        return compile_job(job, target, reader.detected.columns), reader
    except BaseException:
        reader.close()
        raise


def run_job(
    job: Job,
    *,
    target: Target,
    runs: RunStore,
    plan: bool = False,
    progress: Progress | None = None,
    error_dir: Path | None = None,
    target_label: str = "embedded",
    queries: QueryStore | None = None,
    durable: Durable | None = None,
) -> RunReport:
    """Run (or plan) ``job`` against ``target``, recording the run in ``runs``.

    ``queries`` looks up the saved query a job's input names (the iUpdate case). With
    ``durable``, the run can be resumed after its process dies (``resume_run``): its job is
    sealed with it, its lease renewed while it works, each batch staged and checkpointed.
    """
    if plan:
        durable = None
    run_id = new_run_id()
    by_query = job.input is not None and job.input.query is not None
    spool = durable.folder(run_id) / SPOOL_NAME if durable is not None and by_query else None
    cjob, reader = prepare_job(job, target, queries, spool=spool)
    with reader:
        detected = reader.detected.to_dict()
        sealed: str | None = None
        input_ref: dict[str, Any] | None = None
        if durable is not None:
            sealed = durable.box.encrypt(job.model_dump_json(exclude_unset=True))
            if spool is not None:
                input_ref = {"kind": "query", "spool": str(spool)}
            elif job.input is not None and job.input.file is not None:
                input_ref = file_identity(job.input.file)
        runs.create(
            run_id=run_id,
            kind="update" if reader.detected.format == "query" else "import",
            name=job.name,
            source=cjob.source.name,
            action=cjob.action.value,
            target=target_label,
            platform=cjob.platform,
            plan_only=plan,
            job=masked_document(job, cjob),
            columns=list(reader.detected.columns),
            detected=detected,
            owner=durable.owner if durable is not None else None,
            lease_seconds=durable.lease_seconds if durable is not None else 60.0,
            trigger=durable.trigger if durable is not None else "cli",
            schedule_id=durable.schedule_id if durable is not None else None,
            sealed_job=sealed,
            input_ref=input_ref,
        )
        engine = _Engine(cjob, target, runs, run_id, plan, durable=durable)
        return _execute(engine, reader, detected, progress=progress, error_dir=error_dir)


def resume_run(
    run_id: str,
    *,
    target: Target,
    runs: RunStore,
    durable: Durable,
    queries: QueryStore | None = None,
    progress: Progress | None = None,
    error_dir: Path | None = None,
) -> RunReport:
    """Carry on a durable run its owner has claimed (``RunStore.claim``): a queued one from
    the start, one whose process died from its checkpoint. Rows already recorded are skipped;
    the batch that was in flight is settled without sending anything twice."""
    info = runs.get(run_id)
    if info.sealed_job is None:
        raise InvalidInputError(
            f"Run {info.id} was not recorded as resumable (a plan, an undo or an older run)."
        )
    job = build_job(json.loads(durable.box.decrypt(info.sealed_job, name="the run's job")))
    ref = info.input_ref or {}
    spool: Path | None = None
    if ref.get("kind") == "file":
        check_file_identity(ref)
    elif ref.get("kind") == "query":
        spool = Path(str(ref["spool"]))
        if not spool.is_file() and (info.checkpoint_rows or runs.staged(run_id)):
            raise InvalidInputError(
                f"Run {info.id}'s copy of its query's rows is gone: it cannot be resumed."
            )
    cjob, reader = prepare_job(job, target, queries, spool=spool)
    with reader:
        detected = reader.detected.to_dict()
        if not info.columns:  # a queued run: what its input holds is known only now
            runs.record_input(run_id, reader.detected.columns, detected)
        counts = Counts()
        for outcome in Outcome:
            key = "errors" if outcome is Outcome.ERROR else outcome.value
            counts.add(outcome, int(info.counts.get(key, 0)))
        engine = _Engine(
            cjob,
            target,
            runs,
            run_id,
            False,
            durable=durable,
            counts=counts,
            seq=runs.last_seq(run_id),
        )
        staged = runs.staged(run_id)
        skip = counts.rows
        pending: tuple[str, StagedBatch] | None = None
        if staged is not None:
            # Only the rows are sealed: the changes are rebuilt from them, as they were built.
            batch = engine.staged_batch(durable.unseal(staged[1]))
            pending = (staged[0], batch)
            skip += len(batch.rows)
        return _execute(
            engine,
            reader,
            detected,
            progress=progress,
            error_dir=error_dir,
            skip=skip,
            pending=pending,
        )


def _execute(
    engine: _Engine,
    reader: InputReader,
    detected: dict[str, Any],
    *,
    progress: Progress | None,
    error_dir: Path | None,
    skip: int = 0,
    pending: tuple[str, StagedBatch] | None = None,
) -> RunReport:
    """Process the input's rows (after the first ``skip``), batch by batch, and finish the run."""
    runs, run_id, durable = engine.runs, engine.run_id, engine.durable
    size = engine.cjob.job.options.batch_size
    lease: Lease | None = None
    if durable is not None:
        lease = Lease(runs, run_id, durable.owner, durable.lease_seconds)
    cancelled = False
    with lease if lease is not None else nullcontext():
        try:
            rows = iter(reader)
            for _ in range(skip):
                if next(rows, None) is None:
                    break
            if pending is not None:
                engine.settle_staged(*pending)
                if progress is not None:
                    progress(engine.counts.rows)
            for batch in _batches(rows, size):
                if lease is not None:
                    if not lease.renew():
                        lost = "Another worker took this run over (its lease was lost)."
                        return RunReport(
                            run_id, RunStatus.RUNNING, engine.counts, None, detected, lost
                        )
                    if runs.is_cancel_requested(run_id):
                        cancelled = True
                        break
                engine.process(batch)
                if progress is not None:
                    progress(engine.counts.rows)
        except IdmsError as exc:
            runs.finish(
                run_id,
                status=RunStatus.FAILED,
                counts=engine.counts.as_dict(),
                message=exc.message,
            )
            return RunReport(run_id, RunStatus.FAILED, engine.counts, None, detected, exc.message)
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
        spool = durable.run_dir / run_id / SPOOL_NAME
        spool.unlink(missing_ok=True)
    error_file = None
    if counts.errors and not engine.plan and error_dir is not None:
        from idms.io.errorfile import write_error_file

        error_file = write_error_file(runs, run_id, error_dir / f"{run_id}-failed.csv")
        runs.set_error_file(run_id, str(error_file))
    return RunReport(run_id, status, counts, error_file, detected, message)


def masked_document(job: Job, cjob: CompiledJob) -> dict[str, Any]:
    """The job as stored with its run: constants of secret fields replaced by a mask."""
    document = job.model_dump(mode="json", exclude_none=True)
    secret = {m.index for m in cjob.mappings if m.secret}
    for i, mapping in enumerate(document.get("mappings", [])):
        if i in secret and "value" in mapping:
            mapping["value"] = MASK
    return document


def _batches(rows: Iterator[InputRow], size: int) -> Iterator[list[InputRow]]:
    batch: list[InputRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Engine:
    """The per-run state: counts, write order, and what a plan has already decided."""

    def __init__(
        self,
        cjob: CompiledJob,
        target: Target,
        runs: RunStore,
        run_id: str,
        plan: bool,
        *,
        durable: Durable | None = None,
        counts: Counts | None = None,
        seq: int = 0,
    ):
        self.cjob = cjob
        self.target = target
        self.runs = runs
        self.run_id = run_id
        self.plan = plan
        self.durable = durable
        self.counts = counts or Counts()
        self.seq = seq
        self._in_flight: str | None = None  # the batch key of a segment sent, not yet recorded
        self._recorded: str | None = None  # a batch key recorded, whose results can go
        # Over REST a batch is bound by the network, not by the cycle collector.
        self._pause_gc = target.capabilities.kind == "embedded"
        self.pending: dict[tuple[Any, ...], Record] | None = {} if plan else None
        self.stopped = False
        self.options = ApplyOptions(skip_validation=cjob.job.options.skip_validation)
        self.column_of = {m.field.name: m.column for m in cjob.mappings + cjob.contact_mappings}
        self.secret_columns = cjob.secret_columns
        self.writable = {f.name for f in cjob.source.fields if not f.read_only}
        limit = cjob.job.options.stop_after_errors
        self.error_limit = limit

    def process(self, batch: Sequence[InputRow]) -> None:
        with gc_paused() if self._pause_gc else nullcontext():
            self._process(batch)

    def _process(self, batch: Sequence[InputRow]) -> None:
        if self.stopped:
            self._record(self._not_processed([WorkRow(r.number, r.values) for r in batch]))
            return
        rows = [self._map(r) for r in batch]
        for segment in self._segments(rows):
            if self.stopped:
                self._record(self._not_processed(segment))
                continue
            decide_batch(self.cjob, self.target, segment, pending=self.pending)
            for row in segment:
                if row.outcome is Outcome.UNCHANGED and row.matches:
                    row.identity = _one_or_many([self._identity(r) for r in row.matches])
            if self.plan:
                self._plan(segment)
            else:
                self._apply(segment)
            self._record(segment)
            if self.error_limit and self.counts.errors >= self.error_limit:
                self.stopped = True

    def _not_processed(self, rows: list[WorkRow]) -> list[WorkRow]:
        """Rows after the error limit: each still gets an outcome, none is written."""
        for row in rows:
            row.outcome = None
            row.skip("not_processed", self._stop_message())
        return rows

    def _stop_message(self) -> str:
        return (
            f"Not processed: the run stopped after {self.error_limit} errors (stop_after_errors)."
        )

    # ---- mapping -------------------------------------------------------------------------------

    def _map(self, source_row: InputRow) -> WorkRow:
        row = WorkRow(source_row.number, source_row.values)
        if source_row.problem:
            row.fail("malformed_row", source_row.problem)
            return row
        append = set()
        for m in self.cjob.mappings:
            try:
                value = m.extract(source_row.values)
            except MappingError as exc:
                row.fail(exc.code, exc.message, exc.field, exc.column)
                return row
            if value is NOT_GIVEN:
                if m.match:
                    row.values[m.field.name] = NOT_GIVEN
                continue
            row.values[m.field.name] = value
            if m.append:
                append.add(m.field.name)
        for m in self.cjob.contact_mappings:
            try:
                value = m.extract(source_row.values)
            except MappingError as exc:
                row.fail(exc.code, exc.message, exc.field, exc.column)
                return row
            row.contact_values[m.field.name] = None if value is NOT_GIVEN else value
        row.append = frozenset(append)
        return row

    def _segments(self, rows: list[WorkRow]) -> Iterator[list[WorkRow]]:
        """Cut where a match key repeats, so a later row sees what an earlier one wrote."""
        fields = self.cjob.match_fields
        matching = self.cjob.action not in (Action.INSERT,) and fields
        if not matching:
            yield rows
            return
        segment: list[WorkRow] = []
        seen: set[tuple[Any, ...]] = set()
        for row in rows:
            key = match_key(row, fields) if not row.decided else None
            if key is not None and key in seen:
                yield segment
                segment, seen = [], set()
            segment.append(row)
            if key is not None:
                seen.add(key)
        if segment:
            yield segment

    # ---- plan and apply ------------------------------------------------------------------------

    def _values_for(self, row: WorkRow, kind: str) -> dict[str, Any]:
        # Read-only match keys (SEQN, Ordinal) address the record; they are not written.
        writable = self.writable
        return {k: v for k, v in row.values.items() if v is not NOT_GIVEN and k in writable}

    def _identity(self, record: Record) -> dict[str, Any]:
        return {k: record.get(k) for k in self.cjob.source.identity}

    def _public(self, values: dict[str, Any]) -> dict[str, Any]:
        """Values fit to record: never a secret (passwords) or a write-only field."""
        fields = self.cjob.source
        return {
            k: v
            for k, v in values.items()
            if not ((f := fields.find_field(k)) is not None and (f.secret or f.write_only))
        }

    def _plan(self, rows: list[WorkRow]) -> None:
        for row in rows:
            if row.write is None:
                continue
            values = self._public(self._values_for(row, row.write))
            if row.write == "insert":
                row.after = values
                if self.pending is not None and self.cjob.match_fields:
                    self.pending[match_key(row, self.cjob.match_fields)] = {
                        **{k: v for k, v in row.values.items() if v is not NOT_GIVEN}
                    }
            elif row.write == "update":
                before, after = _diff(row.matches, values, row.append)
                row.identity = _one_or_many([self._identity(r) for r in row.matches])
                row.before, row.after = before, after
            else:
                row.identity = _one_or_many([self._identity(r) for r in row.matches])
                row.before = _one_or_many(list(row.matches))
            row.outcome = DONE[row.write]

    def _apply(self, rows: list[WorkRow]) -> None:
        staged = self.staged_batch(rows)
        if not staged.changes:
            return
        options = self.options
        if self.durable is not None:
            key = f"{self.run_id}:{self.seq + 1}"
            self.runs.stage(self.run_id, key, self.durable.seal(rows))
            options = replace(options, batch_key=key, forget_key=self._recorded)
            self._in_flight, self._recorded = key, None
        results = self.target.apply(self.cjob.source.name, staged.changes, options)
        if self.durable is not None:
            _crash_point()
        self._settle_all(rows, staged.owners, results)

    def staged_batch(self, rows: list[WorkRow]) -> StagedBatch:
        """The changes decided ``rows`` ask of the target, and which row owns each."""
        changes: list[Change] = []
        owners: list[int] = []
        befores: list[Record | None] = []
        for index, row in enumerate(rows):
            if row.write is None:
                continue
            values = self._values_for(row, row.write)
            targets: list[Record | None] = list(row.matches) if row.write != "insert" else [None]
            for record in targets:
                identity = self._identity(record) if record is not None else None
                own = values if len(targets) == 1 else dict(values)
                changes.append(Change(KIND[row.write], own, identity, row.append, ref=len(changes)))
                owners.append(index)
                befores.append(record)
        return StagedBatch(rows, changes, owners, befores)

    def _settle_all(
        self, rows: list[WorkRow], owners: list[int], results: Sequence[ApplyResult]
    ) -> None:
        grouped: dict[int, list[ApplyResult]] = {}
        for index, result in zip(owners, results, strict=True):
            grouped.setdefault(index, []).append(result)
        for index, row in enumerate(rows):
            if row.write is None:
                continue
            self._settle(row, grouped.get(index, []))

    def settle_staged(self, key: str, staged: StagedBatch) -> None:
        """Finish the segment a run was writing when its process died: whatever of it was
        written is recorded as written, and only the rest is sent (never twice)."""
        options = replace(self.options, batch_key=key)
        self._in_flight = key
        source = self.cjob.source
        results = self.target.applied_batch(key)
        if results is None and self.target.capabilities.transactional:
            results = self.target.apply(source.name, staged.changes, options)
        elif results is None:
            done = reconcile(self.target, source, staged)
            again = [
                replace(change, ref=i)
                for i, (change, found) in enumerate(
                    (c, d) for c, d in zip(staged.changes, done, strict=True) if d is None
                )
            ]
            sent = self.target.apply(source.name, again, options) if again else []
            results = results_in_order(done, sent)
        self._settle_all(staged.rows, staged.owners, results)
        self._record(staged.rows)

    def _settle(self, row: WorkRow, results: list[ApplyResult]) -> None:
        failed = next((r for r in results if not r.ok), None)
        if failed is not None and failed.error is not None:
            error = failed.error
            column = self.column_of.get(error.field or "") if error.field else None
            row.fail(error.code, error.message, error.field, column)
            return
        kind = row.write or ""
        if kind == "insert":
            after = results[0].after or {}
            row.identity = self._identity(after)
            # What undo needs: the identity and the fields this run wrote.
            written = row.values.keys() | set(self.cjob.source.identity)
            row.after = {k: after.get(k) for k in written if k in after}
        elif kind == "update":
            befores = [r.before or {} for r in results]
            afters = [r.after or {} for r in results]
            changed = [_changed(b, a) for b, a in zip(befores, afters, strict=True)]
            row.identity = _one_or_many([self._identity(b) for b in befores])
            row.before = _one_or_many(
                [{k: b.get(k) for k in c} for b, c in zip(befores, changed, strict=True)]
            )
            row.after = _one_or_many(
                [{k: a.get(k) for k in c} for a, c in zip(afters, changed, strict=True)]
            )
            if not any(changed):
                row.outcome = Outcome.UNCHANGED
                return
        else:
            befores = [r.before or {} for r in results]
            row.identity = _one_or_many([self._identity(b) for b in befores])
            row.before = _one_or_many(befores)
        row.outcome = DONE[kind]

    # ---- recording -----------------------------------------------------------------------------

    def _record(self, rows: list[WorkRow]) -> None:
        records: list[RowResult] = []
        for row in rows:
            assert row.outcome is not None, f"row {row.number} has no outcome"
            self.counts.add(row.outcome)
            self.seq += 1
            records.append(
                RowResult(
                    seq=self.seq,
                    row_number=row.number,
                    outcome=row.outcome.value,
                    code=row.code,
                    message=row.message,
                    field=row.field,
                    column=row.column,
                    identity=row.identity,
                    before=row.before,
                    after=row.after,
                    input=self._masked(row.cells) if row.outcome is Outcome.ERROR else None,
                )
            )
        if self.durable is None:
            self.runs.add_rows(self.run_id, records)
            return
        self.runs.record_batch(
            self.run_id, records, checkpoint_rows=self.counts.rows, counts=self.counts.as_dict()
        )
        if self._in_flight is not None:
            # Forgotten with the next batch written (or by ``finish``).
            self._recorded, self._in_flight = self._in_flight, None

    def finish(self) -> None:
        """Let go of what the target keeps for this run's last recorded batch."""
        if self._recorded is not None:
            self.target.forget_batch(self._recorded)
            self._recorded = None

    def _masked(self, cells: dict[str, Any]) -> dict[str, Any]:
        return {
            k: (MASK if k in self.secret_columns and v not in (None, "") else v)
            for k, v in cells.items()
        }


_APPLIED = [0]


def _crash_point() -> None:
    """Fault injection for crash tests: with IDMS_FAULT_KILL_AFTER_APPLY=N the process kills
    itself (SIGKILL) right after its N-th batch was written and before it was recorded, the
    window in which a batch's writes are in doubt."""
    limit = os.environ.get("IDMS_FAULT_KILL_AFTER_APPLY")
    if not limit:
        return
    _APPLIED[0] += 1
    if _APPLIED[0] >= int(limit):
        os.kill(os.getpid(), signal.SIGKILL)


def _changed(before: Record, after: Record) -> list[str]:
    return [k for k in after if after.get(k) != before.get(k) and k not in ("UpdatedOn",)]


def _diff(records: list[Record], values: dict[str, Any], append: frozenset[str]) -> tuple[Any, Any]:
    befores, afters = [], []
    for record in records:
        before, after = {}, {}
        for name, value in values.items():
            if name in append and isinstance(value, tuple):
                value = tuple(dict.fromkeys(tuple(record.get(name) or ()) + value))
            if record.get(name) != value:
                before[name], after[name] = record.get(name), value
        befores.append(before)
        afters.append(after)
    return _one_or_many(befores), _one_or_many(afters)


def _one_or_many(items: list[Any]) -> Any:
    return items[0] if len(items) == 1 else items
