"""The local executor in processes: ``idms serve`` carries its runs out in child processes.

Why processes rather than threads: a run is Python work, and threads of the API's process take
the interpreter's lock from the requests the API answers. At 100 webhooks a second, runs
executed in threads of ``idms serve`` held every answer up behind them (p99 over a second);
in child processes the API keeps its interpreter to itself, and the children run at a lower
CPU priority (``nice`` 10): when the machine is busy, answering comes first and the runs catch
up after.

Nothing but run IDs crosses over. Each child opens the workspace from the settings once (the
opener the server gives, :meth:`idms.workspace.Workspace.open`) and calls ``execute(run_id)``:
the run lives in the suite database and its lease keeps it at most once, as under every
executor. A child that dies (killed, out of memory) leaves its run ``running`` under a lease
whose holder is gone: the executor starts new children and hands the runs it had in hand over
again, and the claim takes the run over at once (:meth:`idms.runs.leases.Leases.claim`), to
resume from its checkpoint.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import TYPE_CHECKING, Protocol

from idms.config import Settings
from idms.runs.durable import process_name

if TYPE_CHECKING:
    from multiprocessing.synchronize import Event

    from idms.jobs.report import RunReport

log = logging.getLogger("idms.execution")

NICE = 10  # the children's CPU priority below the API's: answers first, runs after


class _Workspace(Protocol):
    def execute(self, run_id: str) -> RunReport | None: ...


Opener = Callable[[Settings], _Workspace]

# In a child: its workspace, and the event that tells it the executor is closing.
_child: _Workspace | None = None
_closing: Event | None = None


def _start_child(settings: Settings, opener: Opener, closing: Event, nice: int) -> None:
    """A child starting: it leaves stopping to ``idms serve`` (Ctrl-C reaches the whole process
    group; the server lets the runs go at their next row), lowers its priority, and opens the
    workspace."""
    global _child, _closing
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if nice:
        os.nice(nice)
    _closing = closing
    _child = opener(settings)


def _execute(run_id: str) -> str | None:
    """Carry out ``run_id`` in this child; its status at the end (None: not claimed, or not
    started because the executor is closing: the run stays queued)."""
    if _closing is not None and _closing.is_set():
        return None
    assert _child is not None, "the child's workspace is opened when it starts"
    report = _child.execute(run_id)
    return None if report is None else str(report.status.value)


def _ready() -> int:
    return os.getpid()


class ProcessExecutor:
    """A pool of ``workers`` child processes (``spawn``: nothing of the server's threads or
    connections is inherited); a run already submitted is not submitted again until it ends."""

    def __init__(
        self, settings: Settings, opener: Opener, workers: int = 2, *, nice: int = NICE
    ) -> None:
        self.settings, self.opener, self.workers, self.nice = settings, opener, workers, nice
        self._context = multiprocessing.get_context("spawn")
        self._closing = self._context.Event()
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._closed = False
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=self._context,
            initializer=_start_child,
            initargs=(self.settings, self.opener, self._closing, self.nice),
        )
        for _ in range(self.workers):  # start the children now, not at the first run
            pool.submit(_ready)
        return pool

    def submit(self, run_id: str) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("The executor is closed: the run stays queued.")
            if run_id in self._busy:
                return
            self._busy.add(run_id)
            try:
                future = self._pool.submit(_execute, run_id)
            except BrokenProcessPool:  # a child died: new children take over
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                future = self._pool.submit(_execute, run_id)
            except BaseException:
                self._busy.discard(run_id)
                raise
        future.add_done_callback(partial(self._done, run_id))

    def _done(self, run_id: str, future: Future[str | None]) -> None:
        with self._lock:
            self._busy.discard(run_id)
            closed = self._closed
        try:
            future.result()
        except CancelledError:
            return
        except BrokenProcessPool:
            if closed:
                return
            log.warning("run %s: its executor process ended; handed over again", run_id)
            # Not from this thread: it is the broken pool's own, which the pool waits for.
            threading.Thread(
                target=self._again, args=(run_id,), name="idms-resubmit", daemon=True
            ).start()
        except Exception:
            log.exception("run %s: the executor process failed", run_id)

    def _again(self, run_id: str) -> None:
        try:
            self.submit(run_id)
        except Exception:  # the loop hands it over again (a queued run, or a lapsed one)
            log.exception("run %s: not handed over again", run_id)

    def holders(self) -> list[str]:
        """The lease owners' prefixes of the children (``HOST:PID:STAMP``): whose leases are
        this executor's, to let go of when the server stops."""
        with self._lock:
            processes = dict(getattr(self._pool, "_processes", None) or {})
        return [process_name(pid) for pid in processes]

    def close(self, *, cancel_pending: bool = False) -> None:
        """Wait for the runs being executed; with ``cancel_pending``, runs submitted but not
        started yet are not started (they stay queued, for the next executor)."""
        with self._lock:
            self._closed = True
            pool = self._pool
        if cancel_pending:
            self._closing.set()
        pool.shutdown(wait=True, cancel_futures=cancel_pending)

    def terminate(self) -> None:
        """End the children now (a server that cannot wait for them any longer): their runs
        stay ``running`` under leases whose holder is gone, resumed by the next server."""
        with self._lock:
            self._closed = True
            processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._closing.set()
        for process in processes:
            process.kill()
