"""Executors carry run IDs to ``execute_run``: threads in this process, or Celery workers.

The executor only transports run IDs; the run itself (its job, lease, checkpoint) lives in the
suite database, so the same job code runs under every executor, and swapping one for another
never touches it.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Protocol

from idms.jobs.report import RunReport


class Executes(Protocol):
    """What an executor hands run IDs to: the workspace facade (``Workspace.execute``), which
    claims the run and carries it out (:func:`idms.execution.execute.execute_run`)."""

    def execute(self, run_id: str) -> RunReport | None: ...


class Executor(Protocol):
    def submit(self, run_id: str) -> None:
        """Have ``run_id`` executed soon (at most once at a time: the lease sees to that)."""
        ...

    def close(self, *, cancel_pending: bool = False) -> None:
        """Let go of the executor; with ``cancel_pending``, runs handed over but not started
        yet are left queued for the next executor (where the executor can tell)."""
        ...


class InlineExecutor:
    """Runs each run at once, in the caller's thread (the CLI)."""

    def __init__(self, workspace: Executes) -> None:
        self.workspace = workspace

    def submit(self, run_id: str) -> None:
        self.workspace.execute(run_id)

    def close(self, *, cancel_pending: bool = False) -> None:
        return None


class LocalExecutor:
    """A pool of threads inside ``idms serve``; a run already submitted is not submitted again
    until it ends."""

    def __init__(self, workspace: Executes, workers: int = 2) -> None:
        self.workspace = workspace
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="idms-run")
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    def submit(self, run_id: str) -> None:
        with self._lock:
            if run_id in self._busy:
                return
            self._busy.add(run_id)
        future = self._pool.submit(self.workspace.execute, run_id)
        future.add_done_callback(partial(self._done, run_id))

    def _done(self, run_id: str, future: Future[RunReport | None]) -> None:
        with self._lock:
            self._busy.discard(run_id)

    def close(self, *, cancel_pending: bool = False) -> None:
        """Wait for the runs being executed; with ``cancel_pending``, runs submitted but not
        started yet are not started (they stay queued, for the next executor)."""
        self._pool.shutdown(wait=True, cancel_futures=cancel_pending)
