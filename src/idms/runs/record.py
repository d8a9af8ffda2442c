"""Runs and their row results in the suite database: the record a run leaves behind.

The lease and queue protocol (who carries a run on) is :mod:`idms.runs.leases`; the forms a
row result takes (the engine's, the recorded tuple, the batch journal's) are
:mod:`idms.runs.rows`.

Row results are written a batch at a time with executemany; they are read back in order (for
reports and error files) or in reverse (for undo). Values are stored as JSON: dates as ISO text,
decimals as text, multi-select values as lists; readers turn them back with the field types.
"""

from __future__ import annotations

import getpass
import shutil
import uuid
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from idms.bulk import execute_many
from idms.db import writer
from idms.errors import Conflict, InvalidInputError, NotFound
from idms.paging import check_window
from idms.runs.durable import worker_name
from idms.runs.rows import RowResult, RowValues, dumps, loads, row_params, row_values
from idms.runs.status import (
    COUNT_KEYS,
    STEP_KINDS,
    TERMINAL,
    RunStatus,
    exit_code_for,
)
from idms.state.store import translate_errors
from idms.state.tables import run_rows as row_table
from idms.state.tables import run_stages as stage_table
from idms.state.tables import runs as run_table
from idms.state.tables import utcnow

INPUTS = "inputs"
"""The folder of the runs folder where queued runs' input copies are kept (sealed)."""


# What a run shows beyond its summary, in the order the API and ``runs --json`` list it.
SHOWN = (
    "error_file",
    "kind",
    "name",
    "source",
    "action",
    "target",
    "platform",
    "plan_only",
    "trigger",
    "started_by",
    "schedule_id",
    "created_at",
    "queued_at",
    "started_at",
    "finished_at",
    "attempts",
    "checkpoint_rows",
    "cancel_requested",
    "message",
    "undo_of",
    "undone_by",
)


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
    started_by: str | None = None
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
    def undoable(self) -> bool:
        """Whether undo can take this run: a run that wrote (a job run, or an undo, whose undo
        is a redo; not a workflow run, whose steps' runs are runs of their own), not undone
        yet, ended."""
        return (
            self.kind not in STEP_KINDS
            and not self.plan_only
            and not self.undone_by
            and self.finished
        )

    @property
    def rows(self) -> int:
        return self.counts["rows"]

    @property
    def steps(self) -> dict[str, int] | None:
        """A workflow run's steps (``total``, ``succeeded``, ``failed``, ``skipped``) once it
        ended: what it did, its rows being the runs' its steps started; None for another run."""
        steps = self.job.get("steps") if self.kind in STEP_KINDS else None
        return dict(steps) if isinstance(steps, dict) else None

    @property
    def exit_code(self) -> int:
        """The command line's exit code for the run as it stands (see ``exit_code_for``)."""
        return exit_code_for(self.status, self.counts["errors"])

    def summary(self) -> dict[str, Any]:
        """The INTERFACES.md ``--json`` object."""
        return {"run_id": self.id, "status": self.status, **self.counts}

    def as_dict(self) -> dict[str, Any]:
        """The run as every shell shows it: the summary, then what else is known of it (never
        the sealed job, the input's identity or the lease's owner)."""
        shown = {**self.summary(), **{name: getattr(self, name) for name in SHOWN}}
        if self.kind in STEP_KINDS:
            shown["steps"] = self.steps
        return shown


class RunStore:
    """Create, fill, finish and read runs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, run: NewRun, *, connection: Connection | None = None) -> str:
        """Record a new run: ``running`` (held by ``run.owner``, its lease renewed while it
        works) or ``queued`` (for an executor to claim). With ``connection``, the run is recorded
        in that connection's transaction (the scheduler's, with the schedule it advances)."""
        values = run.values()
        with (
            translate_errors("Cannot record the run"),
            _transaction(self.engine, connection) as conn,
        ):
            # Values as parameters, not in the statement: it is compiled once and cached.
            conn.execute(insert(run_table), values)
        return str(values["id"])

    def record(self, run: NewRun) -> RunInfo:
        """Record a new run (as :meth:`create`) and return it as :meth:`get` would read it,
        without reading it back: a webhook answers with it, 100 times a second."""
        values = run.values()
        with translate_errors("Cannot record the run"), writer(self.engine).begin() as conn:
            conn.execute(insert(run_table), values)
        return _info(SimpleNamespace(**{c.key: values.get(c.key) for c in run_table.c}))

    def create_undo(self, run: NewRun) -> str:
        """Record the undo ``run`` of run ``run.undo_of``, unless that run is already undone or
        being undone: checked and recorded in one transaction that holds the original's row, so
        two undos started at once cannot both begin (the second is refused, :class:`Conflict`)."""
        original = run.undo_of
        assert original is not None, "an undo names the run it undoes"
        values = run.values()
        with translate_errors("Cannot record the undo"), writer(self.engine).begin() as conn:
            undone_by = conn.execute(
                select(run_table.c.undone_by).where(run_table.c.id == original).with_for_update()
            ).scalar()
            if undone_by is not None:
                raise Conflict(f"Run {original} was already undone by run {undone_by}.")
            busy = conn.execute(
                select(run_table.c.id)
                .where(run_table.c.undo_of == original, run_table.c.status.not_in(sorted(TERMINAL)))
                .limit(1)
            ).scalar()
            if busy is not None:
                raise Conflict(f"Run {original} is being undone by run {busy}: wait for it to end.")
            conn.execute(insert(run_table), values)
        return str(values["id"])

    def create_many(
        self, runs: Sequence[NewRun], *, connection: Connection | None = None
    ) -> list[str]:
        """Record several runs with one statement (the scheduler's batches). Returns their
        IDs, in order."""
        values = [run.values() for run in runs]
        if values:
            with (
                translate_errors("Cannot record the runs"),
                _transaction(self.engine, connection) as conn,
            ):
                execute_many(conn, ("insert", "runs"), insert(run_table), values)
        return [str(v["id"]) for v in values]

    # ---- checkpoint and stage (durable runs) -------------------------------------------------

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
        self.record_values(
            run_id, [row_values(r) for r in rows], checkpoint_rows=checkpoint_rows, counts=counts
        )

    def record_values(
        self,
        run_id: str,
        rows: Sequence[RowValues],
        *,
        checkpoint_rows: int,
        counts: Mapping[str, int],
    ) -> None:
        """:meth:`record_batch` of rows in their recorded form (:func:`row_values`)."""
        params = row_params(run_id, rows)
        with translate_errors("Cannot record row results"), self.engine.begin() as conn:
            if params:
                execute_many(conn, ("insert", "run_rows"), insert(row_table), params)
            conn.execute(
                update(run_table)
                .where(run_table.c.id == run_id)
                .values(checkpoint_rows=checkpoint_rows, **dict(counts))
            )
            conn.execute(delete(stage_table).where(stage_table.c.run_id == run_id))

    def stage(self, run_id: str, batch_key: str, payload: str) -> None:
        """Keep what a batch is about to write (sealed), until ``record_batch`` clears it."""
        with translate_errors("Cannot stage the batch"), self.engine.begin() as conn:
            conn.execute(delete(stage_table).where(stage_table.c.run_id == run_id))
            conn.execute(
                insert(stage_table).values(
                    run_id=run_id, batch_key=batch_key, payload=payload, created_at=utcnow()
                )
            )

    def staged(self, run_id: str) -> tuple[str, str] | None:
        """The batch a run was writing when it stopped, (batch key, payload), or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(stage_table.c.batch_key, stage_table.c.payload).where(
                    stage_table.c.run_id == run_id
                )
            ).first()
        return (str(row[0]), str(row[1])) if row is not None else None

    def last_seq(self, run_id: str) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(func.max(row_table.c.seq)).where(row_table.c.run_id == run_id)
            ).scalar()
        return int(value or 0)

    def prune(
        self, *, max_age_days: int | None, max_count: int | None, runs_folder: Path | None
    ) -> int:
        """Delete finished runs older than ``max_age_days`` or beyond the newest ``max_count``
        (their row results go with them). Returns how many runs were deleted.

        Their files in ``runs_folder`` go too (:func:`remove_run_files`): each run's folder,
        its failed-rows file, and the copies of its input no run left refers to. The copies
        are removed inside the deleting transaction (on SQLite, while no run can be recorded),
        so a run recorded meanwhile on the same copy keeps it."""
        check_window(limit=max_count)
        finished = run_table.c.status.in_(sorted(TERMINAL))
        doomed: set[str] = set()
        with translate_errors("Cannot prune the run history"), writer(self.engine).begin() as conn:
            if max_age_days is not None:
                cutoff = utcnow() - timedelta(days=max_age_days)
                doomed.update(
                    str(i)
                    for i in conn.execute(
                        select(run_table.c.id).where(finished, run_table.c.created_at < cutoff)
                    ).scalars()
                )
            if max_count is not None:
                doomed.update(
                    str(i)
                    for i in conn.execute(
                        select(run_table.c.id)
                        .where(finished)
                        .order_by(run_table.c.created_at.desc(), run_table.c.id.desc())
                        .offset(max_count)
                    ).scalars()
                )
            ids = sorted(doomed)
            files: list[tuple[str, str | None, Any]] = []
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                if runs_folder is not None:
                    files.extend(
                        (str(i), e, loads(r))
                        for i, e, r in conn.execute(
                            select(
                                run_table.c.id, run_table.c.error_file, run_table.c.input_ref
                            ).where(run_table.c.id.in_(chunk))
                        )
                    )
                conn.execute(delete(row_table).where(row_table.c.run_id.in_(chunk)))
                conn.execute(delete(stage_table).where(stage_table.c.run_id.in_(chunk)))
                conn.execute(delete(run_table).where(run_table.c.id.in_(chunk)))
            if runs_folder is not None and files:
                remove_run_files(conn, runs_folder, files)
        return len(ids)

    def add_rows(self, run_id: str, rows: Sequence[RowResult]) -> None:
        self.add_values(run_id, [row_values(r) for r in rows])

    def add_values(self, run_id: str, rows: Sequence[RowValues]) -> None:
        if not rows:
            return
        params = row_params(run_id, rows)
        with translate_errors("Cannot record row results"), self.engine.begin() as conn:
            execute_many(conn, ("insert", "run_rows"), insert(row_table), params)

    def finish(
        self,
        run_id: str,
        *,
        status: str,
        counts: Mapping[str, int],
        message: str | None = None,
        job: Mapping[str, Any] | None = None,
    ) -> None:
        """End the run: its status, counts and message (and, given ``job``, what is shown of
        its job: a workflow run's steps are told there)."""
        more: dict[str, Any] = {} if job is None else {"job": dumps(dict(job))}
        with translate_errors("Cannot record the run"), self.engine.begin() as conn:
            conn.execute(
                update(run_table)
                .where(run_table.c.id == run_id)
                .values(
                    status=status,
                    finished_at=utcnow(),
                    message=message,
                    lease_owner=None,
                    lease_expires_at=None,
                    **dict(counts),
                    **more,
                )
            )

    def record_input(
        self, run_id: str, columns: Sequence[str], detected: Mapping[str, Any]
    ) -> None:
        """What a run's input turned out to hold (a queued run learns it when it starts): the
        columns, which the failed-rows file repeats, and how the input was read."""
        with translate_errors("Cannot record the run"), self.engine.begin() as conn:
            conn.execute(
                update(run_table)
                .where(run_table.c.id == run_id)
                .values(columns=dumps(list(columns)), detected=dumps(dict(detected)))
            )

    def set_message(self, run_id: str, message: str | None) -> None:
        """What a running run is doing, for people (it waits for another run's turn)."""
        with translate_errors("Cannot record the run"), self.engine.begin() as conn:
            conn.execute(update(run_table).where(run_table.c.id == run_id).values(message=message))

    def set_error_file(self, run_id: str, path: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(run_table).where(run_table.c.id == run_id).values(error_file=path))

    def mark_undone(self, run_id: str, undo_run_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(run_table).where(run_table.c.id == run_id).values(undone_by=undo_run_id)
            )

    def resolve(self, ref: str) -> str:
        """A run's full ID from its ID or a unique prefix of it."""
        ref = ref.strip()
        with self.engine.connect() as conn:
            ids = list(
                conn.execute(
                    select(run_table.c.id)
                    .where(run_table.c.id.startswith(ref, autoescape=True))
                    .limit(2)
                )
            )
        if not ref or not ids:
            raise NotFound(f"No run '{ref}'.", hint="'idms runs list' shows the runs.")
        if len(ids) > 1:
            raise InvalidInputError(f"'{ref}' starts more than one run ID; give more of it.")
        return str(ids[0][0])

    def get(self, ref: str) -> RunInfo:
        """The run ``ref`` names: its ID (one read: what executors and the API ask for
        every time), or a unique prefix of it."""
        with self.engine.connect() as conn:
            run = conn.execute(select(run_table).where(run_table.c.id == ref)).one_or_none()
            if run is not None:
                return _info(run)
        run_id = self.resolve(ref)
        with self.engine.connect() as conn:
            return _info(conn.execute(select(run_table).where(run_table.c.id == run_id)).one())

    def list(self, limit: int = 20, *, status: str | None = None) -> list[RunInfo]:
        """The latest runs, newest first (only those with ``status`` when given)."""
        check_window(limit=limit)
        stmt = (
            select(run_table)
            .order_by(run_table.c.created_at.desc(), run_table.c.id.desc())
            .limit(limit)
        )
        if status is not None:
            stmt = stmt.where(run_table.c.status == status)
        with self.engine.connect() as conn:
            return [_info(r) for r in conn.execute(stmt)]

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
        check_window(offset, limit)
        stmt = select(row_table).where(row_table.c.run_id == run_id)
        if outcomes:
            stmt = stmt.where(row_table.c.outcome.in_(list(outcomes)))
        stmt = stmt.order_by(row_table.c.seq.desc() if reverse else row_table.c.seq)
        if offset:
            stmt = stmt.offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.engine.connect() as conn:
            for r in conn.execute(stmt.execution_options(yield_per=batch)):
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
                select(row_table.c.outcome, func.count())
                .where(row_table.c.run_id == run_id)
                .group_by(row_table.c.outcome)
            )
            return {str(o): int(n) for o, n in rows}


@dataclass
class NewRun:
    """A run about to be recorded (:meth:`RunStore.create`). ``job`` and ``input_ref`` may come
    as their JSON text already (the scheduler builds a schedule's once)."""

    kind: str
    name: str
    source: str
    action: str
    target: str
    platform: str
    job: Mapping[str, Any] | str
    plan_only: bool = False
    columns: Sequence[str] = ()
    detected: Mapping[str, Any] | None = None
    undo_of: str | None = None
    status: str = RunStatus.RUNNING
    owner: str | None = None
    lease_seconds: float = 60.0
    trigger: str = "cli"
    started_by: str | None = None  # who: user:NAME, token:NAME, cli:OSUSER, schedule:NAME...
    schedule_id: str | None = None
    sealed_job: str | None = field(default=None, repr=False)
    input_ref: Mapping[str, Any] | str | None = None
    run_id: str = field(default_factory=lambda: new_run_id())

    def values(self) -> dict[str, Any]:
        """The ``runs`` row of this run."""
        now = utcnow()
        running = self.status == RunStatus.RUNNING
        input_ref = self.input_ref
        return {
            "id": self.run_id,
            "kind": str(self.kind),
            "name": self.name,
            "source": self.source,
            "action": self.action,
            "target": self.target,
            "platform": self.platform,
            "status": str(self.status),
            "plan_only": self.plan_only,
            "created_at": now,
            "queued_at": now,
            "started_at": now if running else None,
            "job": self.job if isinstance(self.job, str) else dumps(dict(self.job)),
            "columns": dumps(list(self.columns)),
            "detected": dumps(dict(self.detected or {})),
            "undo_of": self.undo_of,
            "trigger": self.trigger,
            "started_by": self.started_by or started_by_default(self.trigger),
            "schedule_id": self.schedule_id,
            "sealed_job": self.sealed_job,
            "input_ref": (
                input_ref
                if isinstance(input_ref, str) or input_ref is None
                else dumps(dict(input_ref))
            ),
            # Every running run has a holder (this thread unless told), whose lease lapses.
            "lease_owner": (self.owner or worker_name()) if running else None,
            "lease_expires_at": now + timedelta(seconds=self.lease_seconds) if running else None,
            "heartbeat_at": now if running else None,
            "attempts": 1 if running else 0,
            # Every column with a default, given: the insert then covers every bind and runs at
            # driver speed (bulk.execute_many).
            **dict.fromkeys(("rows", *COUNT_KEYS), 0),
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


def remove_run_files(
    conn: Connection, runs_folder: Path, runs: Sequence[tuple[str, str | None, Any]]
) -> None:
    """Remove what deleted runs (ID, failed-rows file, input identity) kept in ``runs_folder``:
    each one's folder (a query's rows), its failed-rows file when it is there, and each input
    copy (``runs/inputs``) that no run still recorded on ``conn`` refers to. A file written
    elsewhere (a failed-rows file the user asked for) is the user's and stays."""
    root = runs_folder.resolve()
    inputs = root / INPUTS
    copies: set[Path] = set()
    for run_id, error_file, ref in runs:
        if run_id and "/" not in run_id and run_id not in (".", "..", INPUTS):
            shutil.rmtree(root / run_id, ignore_errors=True)
        if error_file and Path(error_file).resolve().parent == root:
            Path(error_file).unlink(missing_ok=True)
        path = ref.get("path") if isinstance(ref, dict) and ref.get("kind") == "file" else None
        if isinstance(path, str) and Path(path).resolve().parent == inputs:
            copies.add(Path(path).resolve())
    for copy in sorted(copies):
        still = conn.execute(
            select(run_table.c.id)
            .where(run_table.c.input_ref.contains(copy.name, autoescape=True))
            .limit(1)
        ).first()
        if still is None:
            copy.unlink(missing_ok=True)


def started_by_default(trigger: str) -> str:
    """Who started a run when its caller did not say: on the command line, the person
    signed in to this machine (``cli:ann``); otherwise what started it (``webhook``,
    ``schedule``, ``workflow``...). The web UI, the API and the schedules say who
    (``user:NAME``, ``token:NAME``, ``schedule:NAME``)."""
    if trigger == "cli":
        return f"cli:{os_user()}"
    return trigger


def os_user() -> str:
    """The operating system's name for the person running this process ("unknown" when it
    has none: a container without a password entry)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def _info(run: Any) -> RunInfo:
    """A run as read (a row of the runs table, or its values by column name)."""
    counts = {key: int(getattr(run, key)) for key in ("rows", *COUNT_KEYS)}
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
        started_by=run.started_by,
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
