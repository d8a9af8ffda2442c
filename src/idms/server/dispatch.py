"""Handing queued runs to the executor: the one step both the API and the loop take."""

from __future__ import annotations

import logging
import threading

from idms.execution.executors import Executor
from idms.workspace import Workspace

log = logging.getLogger("idms.server")

# A run handed over and still queued after this long is handed over again (a lost message).
REDISPATCH_AFTER = 120.0
PAUSE = 0.05  # the dispatcher hands runs over at most this often (seconds)


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


class Dispatcher:
    """Hands the queued runs over in a thread of its own, when woken: an API request that
    queued a run only wakes it (:meth:`wake`), and goes on answering.

    Why: handing over reads the queued runs and marks them, a write transaction on the suite
    database. Done by every request, a burst of webhooks (100 a second) queued as many writers
    behind each other on the database's one write lock, each one's answer with them; woken, the
    dispatcher hands the runs queued meanwhile over in one transaction.
    """

    def __init__(self, workspace: Workspace, executor: Executor, *, pause: float = PAUSE) -> None:
        self.workspace, self.executor, self.pause = workspace, executor, pause
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Have the queued runs handed over soon (at once when the dispatcher is idle)."""
        with self._lock:
            if self._stop.is_set():
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="idms-dispatch", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stop.is_set():
                return
            self._wake.clear()  # runs queued from now on wake it again
            try:
                dispatch_queued(self.workspace, self.executor)
            except Exception:  # the runs stay queued: the loop hands them over
                log.exception("handing queued runs to the executor failed")
            # At most every PAUSE: under a burst, the runs queued meanwhile go in one batch,
            # rather than a transaction (and its CPU) per run.
            self._stop.wait(self.pause)

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._stop.set()
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout)
