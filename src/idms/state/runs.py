"""Runs and their row results in the suite database: the record a run leaves behind.

Row results are written a batch at a time with executemany; they are read back in order (for
reports and error files) or in reverse (for undo). Values are stored as JSON: dates as ISO text,
decimals as text, multi-select values as lists; readers turn them back with the field types.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.orm import Session

from idms.bulk import execute_many
from idms.errors import InvalidInputError
from idms.state.models import Run, RunRow, utcnow
from idms.state.store import translate_errors

# Runs of a job (rows in, outcomes out): from a file (import) or from a saved query (update).
JOB_KINDS = frozenset({"import", "update"})
TERMINAL = frozenset({"succeeded", "completed_with_errors", "failed", "cancelled", "planned"})
OUTCOMES = ("inserted", "updated", "unchanged", "deleted", "skipped", "error")
COUNT_OF = {
    "inserted": "inserted",
    "updated": "updated",
    "unchanged": "unchanged",
    "deleted": "deleted",
    "skipped": "skipped",
    "error": "errors",
}


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in a run record")


def dumps(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


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
    ) -> str:
        run_id = uuid.uuid4().hex[:12]
        now = utcnow()
        with translate_errors("Cannot record the run"), self.engine.begin() as conn:
            conn.execute(
                insert(Run).values(
                    id=run_id,
                    kind=kind,
                    name=name,
                    source=source,
                    action=action,
                    target=target,
                    platform=platform,
                    status="running",
                    plan_only=plan_only,
                    created_at=now,
                    started_at=now,
                    job=dumps(dict(job)),
                    columns=dumps(list(columns)),
                    detected=dumps(dict(detected or {})),
                    undo_of=undo_of,
                )
            )
        return run_id

    def add_rows(self, run_id: str, rows: Sequence[RowResult]) -> None:
        if not rows:
            return
        params = [
            {
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
            for r in rows
        ]
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
                .values(status=status, finished_at=utcnow(), message=message, **dict(counts))
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

    def list(self, limit: int = 20) -> list[RunInfo]:
        with Session(self.engine) as session:
            runs = session.scalars(select(Run).order_by(Run.created_at.desc()).limit(limit))
            return [_info(r) for r in runs]

    def rows(
        self,
        run_id: str,
        *,
        outcomes: Sequence[str] | None = None,
        reverse: bool = False,
        batch: int = 1000,
    ) -> Generator[RowResult, None, None]:
        """A run's row results in write order (or reverse), streamed."""
        stmt = select(RunRow).where(RunRow.run_id == run_id)
        if outcomes:
            stmt = stmt.where(RunRow.outcome.in_(list(outcomes)))
        stmt = stmt.order_by(RunRow.seq.desc() if reverse else RunRow.seq)
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
    )
