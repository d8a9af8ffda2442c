"""``execute_run(context, run_id)``: the one function that carries out every run.

Every way of running something ends here: executors (threads in ``idms serve``, Celery workers),
``idms run`` and ``idms import`` (which record their run and execute it at once), ``idms runs
resume``, a schedule's ``run-now``, and an undo asked for over HTTP (queued like any run). It
claims the run's lease (a queued run, a running one whose process died, or one this process
already holds), opens the run's target under the run's platform, carries the run on from its
checkpoint (:func:`idms.jobs.runner.resume_run`) or, for an undo, carries the undo out
(:func:`idms.jobs.undo.carry_out_undo`), and announces that it ended
(:func:`idms.runs.events.run_finished`). A run someone else holds is
left alone, so delivering the same run twice (a broker redelivering, a reaper and a worker
racing) never runs it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from idms.config import parse_platform
from idms.errors import IdmsError
from idms.jobs.prepare import PreparedJob
from idms.jobs.report import RunReport
from idms.jobs.runner import resume_run
from idms.jobs.undo import carry_out_undo
from idms.queries.store import QueryStore
from idms.runs.context import RunContext
from idms.runs.durable import Durable
from idms.runs.events import run_finished
from idms.runs.leases import Leases
from idms.runs.record import RunStore
from idms.runs.status import STEP_KINDS, Counts, RunKind, RunStatus
from idms.targets import factory
from idms.targets.base import FullTarget, Target

log = logging.getLogger("idms.execution")

OpenTarget = Callable[..., FullTarget]


def execute_run(
    context: RunContext,
    run_id: str,
    *,
    durable: Durable | None = None,
    progress: Callable[[int], None] | None = None,
    prepared: PreparedJob | None = None,
    target: Target | None = None,
    target_opener: OpenTarget | None = None,
) -> RunReport | None:
    """Run (or resume) ``run_id`` if it can be claimed; None when another holds it or it is
    finished. Failures end the run as ``failed`` with the reason; nothing is raised for them.

    ``durable`` says who holds the run (default: this thread); ``prepared`` is the run's job
    as its starter prepared it on ``target`` (neither is opened again, and ``target`` stays
    open: it is the caller's); otherwise ``target_opener`` opens the run's target from the
    settings (a test double may wrap it).
    """
    runs = RunStore(context.suite)
    durable = durable or context.durable()
    if not Leases(context.suite).claim(run_id, durable.owner, durable.lease_seconds):
        log.info("run %s: not claimed (finished, or held by another worker)", run_id)
        if prepared is not None:
            prepared.close()
        return None
    info = runs.get(run_id)

    def fail(message: str) -> RunReport:
        counts = runs.get(run_id).counts
        runs.finish(run_id, status=RunStatus.FAILED, counts=counts, message=message)
        run_finished(context, run_id)
        return RunReport(run_id, RunStatus.FAILED, Counts.of(counts), None, {}, message)

    if info.kind in STEP_KINDS:
        return _execute_workflow(context, run_id, durable, progress, fail)

    owned = target is None
    try:
        if target is None:
            settings = context.settings.with_changes(
                target=info.target, platform=parse_platform(info.platform)
            )
            if target_opener is not None:
                target = target_opener(settings)
            else:  # an iMIS's rate limit is shared through the suite database
                target = factory.open_target(settings, suite=lambda: context.suite)
    except IdmsError as exc:
        log.warning("run %s failed: %s", run_id, exc.message)
        if prepared is not None:
            prepared.close()
        return fail(exc.message)
    try:
        if info.kind == RunKind.UNDO:
            report = _execute_undo(run_id, target, runs, durable, progress)
        else:
            if prepared is None and not info.checkpoint_rows:
                _refuse_on_account(target, info.name)  # a queued run, starting now
            report = resume_run(
                run_id,
                target=target,
                runs=runs,
                durable=durable,
                queries=QueryStore(context.suite),
                progress=progress,
                error_dir=context.runs_folder,
                prepared=prepared,
            )
    except IdmsError as exc:
        log.warning("run %s failed: %s", run_id, exc.message)
        return fail(exc.message)
    except Exception as exc:
        # A bug, not a condition: failing the run says so, where leaving it running would
        # have it resumed, and crash again, every time its lease expired.
        log.exception("run %s crashed", run_id)
        lines = str(exc).strip().splitlines()
        return fail(f"Unexpected error: {type(exc).__name__}" + (f": {lines[0]}" if lines else ""))
    finally:
        if owned:
            target.close()
    log.info("run %s: %s %s", run_id, report.status.value, report.counts.as_dict())
    if report.status.finished:
        run_finished(context, run_id)
    return report


def _refuse_on_account(target: Target, name: str) -> None:
    """A queued run against iMIS refuses to start when its account's checks find an error
    (a role missing, the password expired): the run fails at once with what to do, rather
    than half way with a bare 401. (A run started here and now was checked by
    :meth:`~idms.workspace.Workspace.prepare`, its source and IQA too.)"""
    from idms.targets.imis.target import RestTarget

    if isinstance(target, RestTarget):
        from idms.targets.imis.preflight import account_findings, refusal

        error = refusal(account_findings(target.client), name)
        if error is not None:
            raise error


def _execute_undo(
    run_id: str,
    target: Target,
    runs: RunStore,
    durable: Durable,
    progress: Callable[[int], None] | None,
) -> RunReport:
    """An undo run, claimed: carried out on ``target``. One that fails has ended ``failed``
    already, its message saying what it put back; that message is kept."""
    try:
        undo = carry_out_undo(
            run_id,
            target=target,
            runs=runs,
            owner=durable.owner,
            lease_seconds=durable.lease_seconds,
            progress=progress,
        )
    except IdmsError:
        if not runs.get(run_id).finished:
            raise
        info = runs.get(run_id)
        log.warning("run %s failed: %s", run_id, info.message)
        status = RunStatus(info.status)
        return RunReport(run_id, status, Counts.of(info.counts), None, {}, info.message)
    return RunReport(run_id, undo.status, undo.counts, None, {}, undo.message)


def _execute_workflow(
    context: RunContext,
    run_id: str,
    durable: Durable,
    progress: Callable[[int], None] | None,
    fail: Callable[[str], RunReport],
) -> RunReport:
    """A workflow run, claimed: its steps are run by the workspace that knows them
    (``context.execute_workflow``); failures end it as every run's do."""
    try:
        report = context.execute_workflow(run_id, durable=durable, progress=progress)
    except IdmsError as exc:
        log.warning("run %s failed: %s", run_id, exc.message)
        return fail(exc.message)
    except Exception as exc:
        log.exception("run %s crashed", run_id)
        lines = str(exc).strip().splitlines()
        return fail(f"Unexpected error: {type(exc).__name__}" + (f": {lines[0]}" if lines else ""))
    log.info("run %s: %s", run_id, report.status.value)
    if report.status.finished:
        run_finished(context, run_id)
    return report
