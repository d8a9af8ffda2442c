"""``execute_run(run_id)``: the one function every executor calls.

It claims the run's lease (a queued run, or a running one whose process died), opens the run's
target under the run's platform, and carries the run on from its checkpoint
(:func:`idms.jobs.runner.resume_run`). A run someone else holds is left alone, so delivering the
same run twice (a broker redelivering, a reaper and a worker racing) never runs it twice.
"""

from __future__ import annotations

import logging

from idms.errors import IdmsError
from idms.execution.context import Workspace
from idms.execution.hooks import after_run
from idms.jobs.outcomes import RunStatus
from idms.jobs.runner import RunReport, resume_run
from idms.state.queries import QueryStore
from idms.state.runs import RunStore
from idms.targets.factory import open_target

log = logging.getLogger("idms.execution")


def execute_run(workspace: Workspace, run_id: str) -> RunReport | None:
    """Run (or resume) ``run_id`` if it can be claimed; None when another holds it or it is
    finished. Failures end the run as ``failed`` with the reason; nothing is raised for them."""
    runs = RunStore(workspace.suite)
    durable = workspace.durable()
    if not runs.claim(run_id, durable.owner, durable.lease_seconds):
        log.info("run %s: not claimed (finished, or held by another worker)", run_id)
        return None
    info = runs.get(run_id)
    durable.trigger, durable.schedule_id = info.trigger, info.schedule_id

    def fail(message: str) -> None:
        runs.finish(
            run_id, status=RunStatus.FAILED, counts=runs.get(run_id).counts, message=message
        )
        after_run(workspace, run_id)

    settings = workspace.settings.with_changes(target=info.target)
    try:
        from idms.config import parse_platform

        settings = settings.with_changes(platform=parse_platform(info.platform))
        target = open_target(settings)
    except IdmsError as exc:
        log.warning("run %s failed: %s", run_id, exc.message)
        fail(exc.message)
        return None
    try:
        report = resume_run(
            run_id,
            target=target,
            runs=runs,
            durable=durable,
            queries=QueryStore(workspace.suite),
            error_dir=workspace.runs_folder,
        )
    except IdmsError as exc:
        log.warning("run %s failed: %s", run_id, exc.message)
        fail(exc.message)
        return None
    except Exception as exc:
        # A bug, not a condition: failing the run says so, where leaving it running would
        # have it resumed, and crash again, every time its lease expired.
        log.exception("run %s crashed", run_id)
        lines = str(exc).strip().splitlines()
        fail(f"Unexpected error: {type(exc).__name__}" + (f": {lines[0]}" if lines else ""))
        return None
    finally:
        target.close()
    log.info("run %s: %s %s", run_id, report.status.value, report.counts.as_dict())
    if report.status.value not in ("running", "queued"):
        after_run(workspace, run_id)
    return report
