"""What happens after a background run ends (``execute_run`` calls :func:`after_run`): the
schedule that started it learns its outcome (auto-disable after N failures), and notifications
go out. Each step is independent: one failing never stops the other, nor fails the run."""

from __future__ import annotations

import logging

from idms.execution.context import Workspace

log = logging.getLogger("idms.execution")


def after_run(workspace: Workspace, run_id: str) -> None:
    """Called once a run has finished (any terminal status)."""
    for name, step in (("schedule", _schedule), ("notifications", _notify)):
        try:
            step(workspace, run_id)
        except Exception:
            log.exception("after run %s: %s failed", run_id, name)


def _schedule(workspace: Workspace, run_id: str) -> None:
    from idms.schedules.outcomes import record_run_outcome  # counts failures, auto-disables

    record_run_outcome(workspace, run_id)


def _notify(workspace: Workspace, run_id: str) -> None:
    from idms.notify import notify_run  # imported when a run ends: smtplib, httpx

    notify_run(workspace, run_id)
