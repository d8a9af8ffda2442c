"""What a finished run tells its schedule (a listener of "run finished", :mod:`idms.runs.events`).

A run that ``failed`` adds one to the schedule's consecutive failures; at ``max_failures`` the
schedule is disabled, with the reason, until ``idms schedule resume``. A run that
``succeeded`` or ``completed_with_errors`` sets the count back to 0: a run that completed with
some rows in error still ran (its failed rows are in its error file), as in iDMS, where a task
is disabled when it cannot run, not when a row is refused. A ``cancelled`` run counts neither
way. Runs of a schedule started with ``run-now`` count too (a successful one after a fix is
how a schedule's count goes back to 0).
"""

from __future__ import annotations

from sqlalchemy import or_, select, update

from idms.runs.context import RunContext
from idms.runs.events import on_run_finished
from idms.runs.status import RunStatus
from idms.state.models import Run, Schedule, utcnow
from idms.state.store import translate_errors

FAILED = frozenset({RunStatus.FAILED})
SUCCEEDED = frozenset({RunStatus.SUCCEEDED, RunStatus.COMPLETED_WITH_ERRORS})


def subscribe() -> None:
    """Hear of every run that ends (its schedule, if it has one, counts its outcome)."""
    on_run_finished("schedule", record_run_outcome)


def record_run_outcome(workspace: RunContext, run_id: str) -> None:
    """Count run ``run_id``'s outcome on its schedule, once (calling again changes nothing);
    disable the schedule when its failures in a row reach its ``max_failures``."""
    engine = workspace.suite
    with translate_errors("Cannot record the run on its schedule"), engine.connect() as conn:
        conn = conn.execution_options(sqlite_immediate=True)
        with conn.begin():
            run = conn.execute(
                select(Run.schedule_id, Run.status, Run.message).where(Run.id == run_id)
            ).first()
            if run is None or run.schedule_id is None:
                return
            status = str(run.status)
            if status not in FAILED | SUCCEEDED | {RunStatus.CANCELLED}:
                return  # not finished (or a plan): nothing to count
            once = or_(Schedule.counted_run_id.is_(None), Schedule.counted_run_id != run_id)
            values: dict[str, object] = {"last_outcome": status, "counted_run_id": run_id}
            if status in FAILED:
                values["consecutive_failures"] = Schedule.consecutive_failures + 1
            elif status in SUCCEEDED:
                values["consecutive_failures"] = 0
            counted = conn.execute(
                update(Schedule).where(Schedule.id == run.schedule_id, once).values(**values)
            ).rowcount
            if not counted or status not in FAILED:
                return
            schedule = conn.execute(
                select(Schedule.max_failures, Schedule.consecutive_failures, Schedule.state).where(
                    Schedule.id == run.schedule_id
                )
            ).first()
            assert schedule is not None
            limit, failures = schedule.max_failures, int(schedule.consecutive_failures)
            if limit is None or failures < limit or schedule.state in ("disabled", "done"):
                return
            why = f": {run.message}" if run.message else ""
            conn.execute(
                update(Schedule)
                .where(Schedule.id == run.schedule_id)
                .values(
                    state="disabled",
                    next_fire_at=None,
                    state_reason=(
                        f"Disabled after {failures} failed run{'s' if failures != 1 else ''} in "
                        f"a row (the last, run {run_id}{why}). Fix the cause, then "
                        "'idms schedule resume'."
                    ),
                    updated_at=utcnow(),
                )
            )
