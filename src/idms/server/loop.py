"""The background loop of ``idms serve``: every half second, one :meth:`ServerLoop.step`.

A step, each part on its own (one failing is logged and never stops the others):

1. **schedules** — if this process is the scheduler leader, the due schedules create their runs
   (the scheduler only queues; it never executes);
2. **auto-resume** — runs whose process died (their lease expired while running, or their
   process on this machine is gone) are queued again, to resume from their checkpoint, or, when
   they cannot resume (a plan, an undo), ended ``failed`` with the reason;
3. **dispatch** — queued runs not yet handed over go to the executor (threads here, or Celery
   workers); on the first step every queued run is handed over, taking over the runs a
   previous server accepted but never started;
4. **prune** — once an hour, finished runs beyond the history settings are deleted, uploads
   older than ``IDMS_UPLOAD_RETENTION_DAYS`` that no template or schedule reads are removed
   (``Workspace.prune``), and the API's Idempotency-Keys older than a day.

Tests call :meth:`ServerLoop.step` directly, with the moment they want it to be.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from idms.execution.executors import Executor
from idms.runs.leases import Recovered
from idms.runs.record import RunStore
from idms.schedules import Scheduler
from idms.server.dispatch import REDISPATCH_AFTER, dispatch_queued
from idms.state.models import utcnow
from idms.state.request_keys import RequestKeys
from idms.workspace import Workspace

log = logging.getLogger("idms.server")

INTERVAL = 0.5
PRUNE_EVERY = timedelta(hours=1)

T = TypeVar("T")


@dataclass
class StepReport:
    """What one step did."""

    scheduled: list[str] = field(default_factory=list)  # runs created by due schedules
    requeued: list[str] = field(default_factory=list)  # runs queued again to resume
    ended: list[str] = field(default_factory=list)  # lapsed runs that cannot resume, ended
    dispatched: list[str] = field(default_factory=list)  # runs handed to the executor
    pruned: int | None = None  # finished runs deleted (None: no pruning this step)


class ServerLoop:
    """Schedules, resumes, dispatches and prunes, in a thread of its own (``start``/``stop``)."""

    def __init__(
        self,
        workspace: Workspace,
        executor: Executor,
        *,
        interval: float = INTERVAL,
        prune_every: timedelta = PRUNE_EVERY,
        schedules: bool = True,
    ) -> None:
        self.workspace = workspace
        self.executor = executor
        self.interval = interval
        self.prune_every = prune_every
        self.schedules = schedules
        self.runs = RunStore(workspace.suite)
        self._last_prune: datetime | None = None
        self._started = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._scheduler: Scheduler | None = None
        self._scheduler_thread: threading.Thread | None = None

    # ---- one step ------------------------------------------------------------------------------

    def step(self, now: datetime | None = None, *, schedule: bool = True) -> StepReport:
        now = now or utcnow()
        report = StepReport()
        if self.schedules and schedule:
            report.scheduled = self._guard("schedules", lambda: self._schedule(now), [])
        recovered = self._guard("auto-resume", self.workspace.leases.recover_lapsed, Recovered())
        report.requeued, report.ended = recovered.requeued, recovered.ended
        # The first step hands over every queued run: those a previous server took and never
        # started are this one's now.
        again = 0.0 if not self._started else REDISPATCH_AFTER
        report.dispatched = self._guard(
            "dispatch",
            lambda: dispatch_queued(self.workspace, self.executor, redispatch_after=again),
            [],
        )
        self._started = True
        if self._last_prune is None or now - self._last_prune >= self.prune_every:
            self._last_prune = now
            report.pruned = self._guard("prune", self._prune, None)
        if report.requeued:
            log.info("resuming runs whose process died: %s", ", ".join(report.requeued))
        if report.ended:
            log.info("ended runs whose process died: %s", ", ".join(report.ended))
        return report

    def _schedule(self, now: datetime) -> list[str]:
        if self._scheduler is None:
            self._scheduler = Scheduler(self.workspace)
        return self._scheduler.tick(now)  # nothing unless this process leads

    def _prune(self) -> int:
        settings = self.workspace.settings
        deleted = self.workspace.prune(
            max_age_days=settings.history_days, max_count=settings.history_max
        )
        if deleted:
            log.info("pruned %d finished runs", deleted)
        RequestKeys(self.workspace.suite).prune()  # Idempotency-Keys older than a day
        return deleted

    @staticmethod
    def _guard(what: str, call: Callable[[], T], fallback: T) -> T:
        try:
            return call()
        except Exception:
            log.exception("background loop: %s failed", what)
            return fallback

    # ---- the thread ----------------------------------------------------------------------------

    def start(self) -> None:
        """The loop's thread, and the scheduler's own: it fires each schedule the moment it is
        due and builds the next ones ahead in between (``Scheduler.run``), rather than at the
        loop's half-second steps."""
        self._stop.clear()
        if self.schedules:
            self._scheduler = self._scheduler or Scheduler(self.workspace)
            self._scheduler_thread = threading.Thread(
                target=self._scheduler.run,
                args=(self._stop,),
                name="idms-scheduler",
                daemon=True,
            )
            self._scheduler_thread.start()
        self._thread = threading.Thread(target=self._run, name="idms-loop", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the step under way, take no other, and give up the scheduler's lead (another
        process takes it over at its next tick)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._scheduler_thread is not None:
            self._scheduler_thread.join(timeout)
            self._scheduler_thread = None
        if self._scheduler is not None:
            self._scheduler.close()
            self._scheduler = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.step(schedule=self._scheduler_thread is None)
            self._wake.wait(self.interval)
            self._wake.clear()
