"""Runs and their row results in the suite database: the record a run leaves behind.

Row results are written a batch at a time with executemany; they are read back in order (for
reports and error files) or in reverse (for undo). Values are stored as JSON: dates as ISO text,
decimals as text, multi-select values as lists; readers turn them back with the field types.
"""

from __future__ import annotations

import uuid
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Select, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from idms import jsontext
from idms.bulk import execute_many
from idms.db import writer
from idms.errors import InvalidInputError
from idms.state.models import Run, RunRow, RunStage, utcnow
from idms.state.store import translate_errors

# Runs of a job (rows in, outcomes out): from a file (import) or from a saved query (update).
JOB_KINDS = frozenset({"import", "update"})
TERMINAL = frozenset({"succeeded", "completed_with_errors", "failed", "cancelled", "planned"})
RELEASED = "(released)"  # the lease owner of a run whose process let go of it
OUTCOMES = ("inserted", "updated", "unchanged", "deleted", "skipped", "error")
COUNT_OF = {
    "inserted": "inserted",
    "updated": "updated",
    "unchanged": "unchanged",
    "deleted": "deleted",
    "skipped": "skipped",
    "error": "errors",
}


def dumps(value: Any) -> str | None:
    return None if value is None else jsontext.dumps(value)


def loads(text: str | None) -> Any:
    return None if text is None else jsontext.loads(text)


@dataclass
class RowResult:
    """One input row's outcome, as the engine records it."""

    seq: int
    row_number: int
    outcome: str
    code: str | None = None
    message: str | None = None
    field: str | None = None
    column: str | None = None
    identity: dict[str, Any] | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    input: dict[str, Any] | None = None


@dataclass
class RunInfo:
    id: str
    kind: str
    name: str
    source: str
    action: str
    target: str
    platform: str
    status: str
    plan_only: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, int]
    job: dict[str, Any]
    columns: list[str]
    detected: dict[str, Any]
    message: str | None
    error_file: str | None
    undo_of: str | None
    undone_by: str | None
    extra: dict[str, Any] = field(default_factory=dict)
    trigger: str = "cli"
    schedule_id: str | None = None
    queued_at: datetime | None = None
    dispatched_at: datetime | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    heartbeat_at: datetime | None = None
    attempts: int = 0
    checkpoint_rows: int = 0
    cancel_requested: bool = False
    sealed_job: str | None = field(default=None, repr=False)
    input_ref: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def rows(self) -> int:
        return self.counts["rows"]

    def summary(self) -> dict[str, Any]:
        """The INTERFACES.md ``--json`` object."""
        return {"run_id": self.id, "status": self.status, **self.counts}


class RunStore:
    """Create, fill, finish and read runs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        *,
        kind: str,
        name: str,
        source: str,
        action: str,
        target: str,
        platform: str,
        plan_only: bool,
        job: Mapping[str, Any],
        columns: Sequence[str] = (),
        detected: Mapping[str, Any] | None = None,
        undo_of: str | None = None,
        status: str = "running",
        owner: str | None = None,
        lease_seconds: float = 60.0,
        trigger: str = "cli",
        schedule_id: str | None = None,
        sealed_job: str | None = None,
        input_ref: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        connection: Connection | None = None,
    ) -> str:
        """Record a new run: ``running`` (held by ``owner``, its lease renewed while it works)
        or ``queued`` (for an executor to claim). With ``connection``, the run is recorded in
        that connection's transaction (the scheduler's, with the schedule it advances)."""
        values = run_values(
            kind=kind,
            name=name,
            source=source,
            action=action,
            target=target,
            platform=platform,
            plan_only=plan_only,
            job=job,
            columns=columns,
            detected=detected,
            undo_of=undo_of,
            status=status,
            owner=owner,
            lease_seconds=lease_seconds,
            trigger=trigger,
            schedule_id=schedule_id,
            sealed_job=sealed_job,
            input_ref=input_ref,
            run_id=run_id,
        )
        with (
            translate_errors("Cannot record the run"),
            _transaction(self.engine, connection) as conn,
        ):
            # Values as parameters, not in the statement: it is compiled once and cached.
            conn.execute(insert(Run), values)
        return str(values["id"])

    def create_many(
        self, runs: Sequence[Mapping[str, Any]], *, connection: Connection | None = None
    ) -> list[str]:
        """Record several runs with one statement (the scheduler's batches); each is given as
        :meth:`create`'s keyword arguments. Returns their IDs, in order."""
        values = [run_values(**run) for run in runs]
        if values:
            with (
                translate_errors("Cannot record the runs"),
                _transaction(self.engine, connection) as conn,
            ):
                execute_many(conn, ("insert", "runs"), insert(Run), values)
        return [str(v["id"]) for v in values]

    def _any(self, stmt: Select[Any]) -> bool:
        with translate_errors("Cannot read the runs"), self.engine.connect() as conn:
            return conn.execute(stmt.limit(1)).first() is not None

    # ---- durable runs: lease, heartbeat, checkpoint, stage -------------------------------------

    def claim(self, run_id: str, owner: str, lease_seconds: float) -> bool:
        """Take a run to execute: a queued one, or a running one whose lease has expired (its
        process died). False when someone else holds it or it has finished."""
        now = utcnow()
        with translate_errors("Cannot claim the run"), self.engine.begin() as conn:
            claimed = conn.execute(
                update(Run)
                .where(
                    Run.id == run_id,
                    or_(
                        Run.status == "queued",
                        (Run.status == "running")
                        & or_(Run.lease_expires_at.is_(None), Run.lease_expires_at < now),
                    ),
                )
                .values(
                    status="running",
                    lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    heartbeat_at=now,
                    attempts=Run.attempts + 1,
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
                .where(Run.id == run_id, Run.lease_owner == owner, Run.status == "running")
                .values(lease_expires_at=now + timedelta(seconds=lease_seconds), heartbeat_at=now)
            ).rowcount
        return bool(renewed)

    def record_batch(
        self,
        run_id: str,
        rows: Sequence[RowResult],
        *,
        checkpoint_rows: int,
        counts: Mapping[str, int],
    ) -> None:
        """Row results, the checkpoint and the counts, in one transaction; any staged batch is
        cleared with them (its rows are now recorded)."""
        params = [_row_params(run_id, r) for r in rows]
        with translate_errors("Cannot record row results"), self.engine.begin() as conn:
            if params:
                execute_many(conn, ("insert", "run_rows"), insert(RunRow), params)
            conn.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(checkpoint_rows=checkpoint_rows, **dict(counts))
            )
            conn.execute(delete(RunStage).where(RunStage.run_id == run_id))

    def stage(self, run_id: str, batch_key: str, payload: str) -> None:
        """Keep what a batch is about to write (sealed), until ``record_batch`` clears it."""
        with translate_errors("Cannot stage the batch"), self.engine.begin() as conn:
            conn.execute(delete(RunStage).where(RunStage.run_id == run_id))
            conn.execute(
                insert(RunStage).values(
                    run_id=run_id, batch_key=batch_key, payload=payload, created_at=utcnow()
                )
            )

    def staged(self, run_id: str) -> tuple[str, str] | None:
        """The batch a run was writing when it stopped, (batch key, payload), or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(RunStage.batch_key, RunStage.payload).where(RunStage.run_id == run_id)
            ).first()
        return (str(row[0]), str(row[1])) if row is not None else None

    def last_seq(self, run_id: str) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(func.max(RunRow.seq)).where(RunRow.run_id == run_id)
            ).scalar()
        return int(value or 0)

    def request_cancel(self, run_id: str) -> str:
        """Cancel a run: a queued one at once, a running one between two batches. Returns the
        run's status afterwards."""
        now = utcnow()
        with translate_errors("Cannot cancel the run"), self.engine.begin() as conn:
            conn.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == "queued")
                .values(
                    status="cancelled",
                    finished_at=now,
                    message="Cancelled before it started.",
                    cancel_requested=True,
                )
            )
            conn.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == "running")
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
                    select(Run.id).where(Run.status == "running", owned)
                ).scalars()
            ]
            if ids:
                conn.execute(
                    update(Run)
                    .where(Run.id.in_(ids), Run.status == "running", owned)
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
                    Run.id.in_(list(run_ids)), Run.status == "running", Run.lease_owner == RELEASED
                )
                .values(lease_owner=None, lease_expires_at=past)
            )

    def requeue_expired(self) -> list[str]:
        """Runs whose process died (lease expired while running): queued again, to be resumed
        from their checkpoint by whoever claims them next."""
        now = utcnow()
        expired = select(Run.id).where(
            Run.status == "running",
            Run.plan_only.is_(False),
            Run.sealed_job.is_not(None),
            Run.lease_expires_at < now,
        )
        if not self._any(expired):  # the usual case, without taking the write lock
            return []
        with translate_errors("Cannot requeue runs"), writer(self.engine).begin() as conn:
            ids = [str(i) for i in conn.execute(expired).scalars()]
            if ids:
                conn.execute(
                    update(Run)
                    .where(Run.id.in_(ids), Run.status == "running", Run.lease_expires_at < now)
                    .values(
                        status="queued", lease_owner=None, lease_expires_at=None, dispatched_at=None
                    )
                )
        return ids

    def take_undispatched(self, *, redispatch_after: float = 300.0, limit: int = 100) -> list[str]:
        """Queued runs not yet handed to an executor (or handed over ``redispatch_after``
        seconds ago and still not claimed: a lost message), marked as handed over now."""
        now = utcnow()
        stale = now - timedelta(seconds=redispatch_after)
        waiting = (
            select(Run.id)
            .where(
                Run.status == "queued",
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
                        Run.status == "queued",
                        or_(Run.dispatched_at.is_(None), Run.dispatched_at < stale),
                    )
                    .values(dispatched_at=now)
                )
        return ids

    def prune(self, *, max_age_days: int | None, max_count: int | None) -> int:
        """Delete finished runs older than ``max_age_days`` or beyond the newest ``max_count``
        (their row results go with them). Returns how many runs were deleted."""
        finished = Run.status.in_(sorted(TERMINAL))
        doomed: set[str] = set()
        with translate_errors("Cannot prune the run history"), writer(self.engine).begin() as conn:
            if max_age_days is not None:
                cutoff = utcnow() - timedelta(days=max_age_days)
                doomed.update(
                    str(i)
                    for i in conn.execute(
                        select(Run.id).where(finished, Run.created_at < cutoff)
                    ).scalars()
                )
            if max_count is not None:
                doomed.update(
                    str(i)
                    for i in conn.execute(
                        select(Run.id)
                        .where(finished)
                        .order_by(Run.created_at.desc(), Run.id.desc())
                        .offset(max_count)
                    ).scalars()
                )
            ids = sorted(doomed)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                conn.execute(delete(RunRow).where(RunRow.run_id.in_(chunk)))
                conn.execute(delete(RunStage).where(RunStage.run_id.in_(chunk)))
                conn.execute(delete(Run).where(Run.id.in_(chunk)))
        return len(ids)

    def add_rows(self, run_id: str, rows: Sequence[RowResult]) -> None:
        if not rows:
            return
        params = [_row_params(run_id, r) for r in rows]
        with translate_errors("Cannot record row results"), self.engine.begin() as conn:
            execute_many(conn, ("insert", "run_rows"), insert(RunRow), params)

    def finish(
        self,
        run_id: str,
        *,
        status: str,
        counts: Mapping[str, int],
        message: str | None = None,
    ) -> None:
        with translate_errors("Cannot record the run"), self.engine.begin() as conn:
            conn.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(
                    status=status,
                    finished_at=utcnow(),
                    message=message,
                    lease_owner=None,
                    lease_expires_at=None,
                    **dict(counts),
                )
            )

    def record_input(
        self, run_id: str, columns: Sequence[str], detected: Mapping[str, Any]
    ) -> None:
        """What a run's input turned out to hold (a queued run learns it when it starts): the
        columns, which the failed-rows file repeats, and how the input was read."""
        with translate_errors("Cannot record the run"), self.engine.begin() as conn:
            conn.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(columns=dumps(list(columns)), detected=dumps(dict(detected)))
            )

    def set_error_file(self, run_id: str, path: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(Run).where(Run.id == run_id).values(error_file=path))

    def mark_undone(self, run_id: str, undo_run_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(Run).where(Run.id == run_id).values(undone_by=undo_run_id))

    def resolve(self, ref: str) -> str:
        """A run's full ID from its ID or a unique prefix of it."""
        ref = ref.strip()
        with self.engine.connect() as conn:
            ids = list(
                conn.execute(select(Run.id).where(Run.id.startswith(ref, autoescape=True)).limit(2))
            )
        if not ref or not ids:
            raise InvalidInputError(f"No run '{ref}'. 'idms runs list' shows the runs.")
        if len(ids) > 1:
            raise InvalidInputError(f"'{ref}' starts more than one run ID; give more of it.")
        return str(ids[0][0])

    def get(self, ref: str) -> RunInfo:
        run_id = self.resolve(ref)
        with Session(self.engine) as session:
            return _info(session.scalars(select(Run).where(Run.id == run_id)).one())

    def list(self, limit: int = 20, *, status: str | None = None) -> list[RunInfo]:
        """The latest runs, newest first (only those with ``status`` when given)."""
        stmt = select(Run).order_by(Run.created_at.desc(), Run.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(Run.status == status)
        with Session(self.engine) as session:
            return [_info(r) for r in session.scalars(stmt)]

    def rows(
        self,
        run_id: str,
        *,
        outcomes: Sequence[str] | None = None,
        reverse: bool = False,
        batch: int = 1000,
        offset: int = 0,
        limit: int | None = None,
    ) -> Generator[RowResult, None, None]:
        """A run's row results in write order (or reverse), streamed; ``offset`` and ``limit``
        select a window of them."""
        stmt = select(RunRow).where(RunRow.run_id == run_id)
        if outcomes:
            stmt = stmt.where(RunRow.outcome.in_(list(outcomes)))
        stmt = stmt.order_by(RunRow.seq.desc() if reverse else RunRow.seq)
        if offset:
            stmt = stmt.offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        with Session(self.engine) as session:
            for r in session.scalars(stmt.execution_options(yield_per=batch)):
                yield RowResult(
                    seq=r.seq,
                    row_number=r.row_number,
                    outcome=r.outcome,
                    code=r.code,
                    message=r.message,
                    field=r.field,
                    column=r.column,
                    identity=loads(r.identity),
                    before=loads(r.before),
                    after=loads(r.after),
                    input=loads(r.input),
                )

    def count_rows(self, run_id: str) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(RunRow.outcome, func.count())
                .where(RunRow.run_id == run_id)
                .group_by(RunRow.outcome)
            )
            return {str(o): int(n) for o, n in rows}


def run_values(
    *,
    kind: str,
    name: str,
    source: str,
    action: str,
    target: str,
    platform: str,
    plan_only: bool,
    job: Mapping[str, Any] | str,
    columns: Sequence[str] = (),
    detected: Mapping[str, Any] | None = None,
    undo_of: str | None = None,
    status: str = "running",
    owner: str | None = None,
    lease_seconds: float = 60.0,
    trigger: str = "cli",
    schedule_id: str | None = None,
    sealed_job: str | None = None,
    input_ref: Mapping[str, Any] | str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """The ``runs`` row of a new run (see :meth:`RunStore.create`). ``job`` and ``input_ref``
    may come as their JSON text already (the scheduler builds a schedule's once)."""
    now = utcnow()
    running = status == "running"
    return {
        "id": run_id or new_run_id(),
        "kind": kind,
        "name": name,
        "source": source,
        "action": action,
        "target": target,
        "platform": platform,
        "status": status,
        "plan_only": plan_only,
        "created_at": now,
        "queued_at": now,
        "started_at": now if running else None,
        "job": job if isinstance(job, str) else dumps(dict(job)),
        "columns": dumps(list(columns)),
        "detected": dumps(dict(detected or {})),
        "undo_of": undo_of,
        "trigger": trigger,
        "schedule_id": schedule_id,
        "sealed_job": sealed_job,
        "input_ref": (
            input_ref if isinstance(input_ref, str) or input_ref is None else dumps(dict(input_ref))
        ),
        "lease_owner": owner if running else None,
        "lease_expires_at": now + timedelta(seconds=lease_seconds) if running else None,
        "heartbeat_at": now if running else None,
        "attempts": 1 if running else 0,
        # Every column with a default, given: the insert then covers every bind and runs at
        # driver speed (bulk.execute_many).
        **dict.fromkeys(("rows", "inserted", "updated", "unchanged", "deleted", "skipped"), 0),
        "errors": 0,
        "checkpoint_rows": 0,
        "cancel_requested": False,
    }


@contextmanager
def _transaction(engine: Engine, connection: Connection | None) -> Iterator[Connection]:
    """``connection`` as it is (its owner commits), or a new transaction on ``engine``."""
    if connection is not None:
        yield connection
        return
    with engine.begin() as conn:
        yield conn


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def _row_params(run_id: str, r: RowResult) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "seq": r.seq,
        "row_number": r.row_number,
        "outcome": r.outcome,
        "code": r.code,
        "message": r.message,
        "field": r.field,
        "column": r.column,
        "identity": dumps(r.identity),
        "before": dumps(r.before),
        "after": dumps(r.after),
        "input": dumps(r.input),
    }


def _info(run: Run) -> RunInfo:
    counts = {
        "rows": run.rows,
        "inserted": run.inserted,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "deleted": run.deleted,
        "skipped": run.skipped,
        "errors": run.errors,
    }
    return RunInfo(
        id=run.id,
        kind=run.kind,
        name=run.name,
        source=run.source,
        action=run.action,
        target=run.target,
        platform=run.platform,
        status=run.status,
        plan_only=run.plan_only,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        counts=counts,
        job=loads(run.job) or {},
        columns=loads(run.columns) or [],
        detected=loads(run.detected) or {},
        message=run.message,
        error_file=run.error_file,
        undo_of=run.undo_of,
        undone_by=run.undone_by,
        trigger=run.trigger,
        schedule_id=run.schedule_id,
        queued_at=run.queued_at,
        dispatched_at=run.dispatched_at,
        lease_owner=run.lease_owner,
        lease_expires_at=run.lease_expires_at,
        heartbeat_at=run.heartbeat_at,
        attempts=run.attempts,
        checkpoint_rows=run.checkpoint_rows,
        cancel_requested=run.cancel_requested,
        sealed_job=run.sealed_job,
        input_ref=loads(run.input_ref),
    )
