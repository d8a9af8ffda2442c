"""What happens after a background run ends (``execute_run`` calls :func:`after_run`): the
schedule that started it learns its outcome (auto-disable after N failures), and notifications
go out. Each step is independent: one failing never stops the other, nor fails the run."""

from __future__ import annotations

import logging

from idms.execution.context import Workspace

log = logging.getLogger("idms.execution")


def after_run(workspace: Workspace, run_id: str) -> None:
    """Called once a run has finished (any terminal status)."""
    steps: list[tuple[str, object]] = []
    # Filled in by iSchedule and notifications: (name, callable(workspace, run_id)).
    for name, step in steps:
        try:
            step(workspace, run_id)  # type: ignore[operator]
        except Exception:
            log.exception("after run %s: %s failed", run_id, name)
