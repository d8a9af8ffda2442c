"""Handing queued runs to the executor: the one step both the API and the loop take."""

from __future__ import annotations

import logging

from idms.execution.executors import Executor
from idms.workspace import Workspace

log = logging.getLogger("idms.server")

# A run handed over and still queued after this long is handed over again (a lost message).
REDISPATCH_AFTER = 120.0


def dispatch_queued(
    workspace: Workspace,
    executor: Executor,
    *,
    redispatch_after: float = REDISPATCH_AFTER,
) -> list[str]:
    """Hand every queued run not yet handed over to ``executor``; the IDs handed over.
    (``redispatch_after=0`` hands over every queued run: a server starting takes over the
    runs a previous one had accepted but not started.)

    A run the executor refuses (a broker that is down) stays queued and is handed over again
    after ``REDISPATCH_AFTER`` seconds; its lease keeps a run handed over twice from running
    twice.
    """
    handed: list[str] = []
    for run_id in workspace.leases.take_undispatched(redispatch_after=redispatch_after):
        try:
            executor.submit(run_id)
        except Exception:
            log.exception("run %s: the executor did not take it; it stays queued", run_id)
            continue
        handed.append(run_id)
    return handed
