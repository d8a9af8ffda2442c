"""The Celery executor: runs carried to ``execute_run`` by Celery workers on Redis or RabbitMQ.

The broker only transports run IDs; everything else (the job, its lease, its checkpoint) is in the
suite database, which every worker shares (PostgreSQL when workers run on several machines).

Delivery is *at least once*, and the run's lease turns that into *one worker at a time*:

- ``task_acks_late`` with ``worker_prefetch_multiplier = 1``: a message is acknowledged only once
  its run has ended, and a busy worker holds no other message back;
- ``task_reject_on_worker_lost``: a worker process that dies hands its message back at once;
- on Redis, a message not acknowledged within ``visibility_timeout`` (three leases) is delivered
  again, so a machine that vanished gives its run back too; RabbitMQ does so when the dead
  worker's connection closes.

A message delivered while the run's lease is still held (its worker died a moment ago, or it is
alive and slow) is not lost: the task tries again when that lease expires, for as long as the run
is queued or running. The worker that claims it resumes the run from its checkpoint; the staged
batch and the store's journal see that nothing is written twice.

``celery -A idms.execution.celery_app worker`` works too (settings from ``IDMS_*`` variables);
``idms worker`` is the usual way to start one.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from celery import Celery

from idms.config import Settings
from idms.errors import ConfigError, IdmsError, InvalidInputError
from idms.execution.listeners import subscribe_defaults
from idms.runs.context import RunContext
from idms.runs.status import RunStatus
from idms.state.store import display_url

log = logging.getLogger("idms.execution")

TASK_NAME = "idms.execute_run"
DEFAULT_QUEUE = "idms"
BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp")


def broker_url_of(settings: Settings) -> str:
    """The broker URL from the settings, or a ConfigError saying what to set."""
    url = (settings.broker_url or "").strip()
    if not url:
        raise ConfigError(
            "No broker: set IDMS_BROKER_URL to a Redis (redis://HOST:6379/0) or RabbitMQ "
            "(amqp://USER:PASSWORD@HOST:5672//) URL."
        )
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in BROKER_SCHEMES:
        raise ConfigError(
            f"IDMS_BROKER_URL must be a redis://, rediss://, amqp:// or amqps:// URL, not "
            f"'{display_url(url)}'."
        )
    return url


def visibility_timeout(settings: Settings) -> int:
    """Seconds before Redis delivers an unacknowledged message again: three leases, so a live
    worker is never second-guessed sooner than its lease could expire."""
    return 3 * settings.lease_seconds


def create_app(settings: Settings, *, queue: str = DEFAULT_QUEUE) -> Celery:
    """A Celery app on the settings' broker, with the one task ``idms.execute_run``."""
    broker = broker_url_of(settings)
    app = Celery("idms", broker=broker, set_as_current=False)
    timeout = visibility_timeout(settings)
    app.conf.update(
        task_default_queue=queue,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # A broker blip must not kill an hour-long import: the run goes on, and the copy of its
        # message delivered meanwhile finds the lease held and waits.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": timeout,
            # Look for messages of vanished workers often enough to honour the timeout.
            "unacked_restore_interval": max(1, min(10, timeout // 4)),
            "unacked_restore_throttle": 1,
        },
        worker_hijack_root_logger=True,
        enable_utc=True,
    )

    def execute_run_task(task: Any, run_id: str) -> str:
        return _execute(task, settings, run_id)

    app.task(bind=True, name=TASK_NAME, max_retries=None, acks_late=True)(execute_run_task)
    return app


def worker_node_name(hostname: str | None) -> str:
    """The worker's Celery node name (``idms-PID@HOST`` unless one is given)."""
    from celery.utils.nodenames import default_nodename, host_format

    return str(host_format(default_nodename(hostname or f"idms-{os.getpid()}@%h")))


def run_worker(
    settings: Settings,
    queues: list[str],
    node: str,
    pool: str,
    concurrency: int,
    loglevel: str,
) -> bool:
    """Run a Celery worker in this process until it is stopped (Ctrl-C, SIGTERM): it takes run
    IDs from ``queues`` and executes them. False when it could not start or failed (being
    stopped is not a failure)."""
    from celery.signals import worker_shutting_down

    app = create_app(settings, queue=queues[0])
    worker = app.Worker(
        hostname=node,
        pool_cls=pool,
        concurrency=concurrency,
        loglevel=loglevel,
        queues=queues,
        without_mingle=True,
        without_gossip=True,
        quiet=True,
    )
    stopped: list[str] = []

    def on_shutdown(sig: str = "", **_: object) -> None:
        stopped.append(sig)

    worker_shutting_down.connect(on_shutdown, weak=False)
    try:
        worker.start()
    finally:
        worker_shutting_down.disconnect(on_shutdown)
    return not (worker.exitcode and not stopped)


# ---- the task -----------------------------------------------------------------------------------

_workspaces: dict[int, RunContext] = {}
_workspaces_lock = threading.Lock()
_opener: Callable[[Settings], RunContext] = RunContext.open


def use_context(opener: Callable[[Settings], RunContext]) -> None:
    """How this worker opens its workspace: ``idms worker`` gives the workspace facade, which
    executes every kind of run (a workflow's steps too); the bare ``RunContext`` (the
    ``celery`` command's default) executes imports, updates and undos."""
    global _opener
    _opener = opener


def _workspace(settings: Settings) -> RunContext:
    """This process's workspace, opened on first use (after the fork, never shared across it)."""
    pid = os.getpid()
    with _workspaces_lock:
        workspace = _workspaces.get(pid)
        if workspace is None:
            # One inherited from a parent process stays where it is, untouched: closing (or
            # collecting) it here would close the parent's connections.
            workspace = _open(settings)
            _workspaces[pid] = workspace
        return workspace


def prepare_worker(settings: Settings, *, forking: bool) -> None:
    """Open the workspace before the worker starts, so a wrong database or key stops it at once
    rather than at its first run; kept for a threads or solo pool, reopened in each process of a
    prefork pool as soon as it is forked (connections never cross a fork)."""
    from celery.signals import worker_process_init

    workspace = _open(settings)
    if not forking:
        with _workspaces_lock:
            _workspaces[os.getpid()] = workspace
        return
    workspace.close()

    def open_in_child(**_: object) -> None:
        try:
            _workspace(settings)
        except Exception:  # the first run tries again, and says why
            log.exception("the workspace could not be opened in this worker process")

    worker_process_init.connect(open_in_child, weak=False)


def _open(settings: Settings) -> RunContext:
    """The workspace as a worker process opens it: the schedules and notifications hear of the
    runs it ends (prefork children inherit the subscription)."""
    subscribe_defaults()
    return _opener(settings)


def _execute(task: Any, settings: Settings, run_id: str) -> str:
    """Run ``run_id``; when its lease is held elsewhere, try again once that lease can have
    expired. Returns the run's status as this delivery left it."""
    from idms.execution.execute import execute_run
    from idms.runs.record import RunStore

    workspace = _workspace(settings)
    report = execute_run(workspace, run_id)
    if report is not None and report.status.finished:
        return str(report.status.value)
    # Not claimed, or its lease lost midway: while the run is unfinished, this message stays
    # alive (as a retry) so that someone resumes it if its holder dies too.
    runs = RunStore(workspace.suite)
    try:
        info = runs.get(run_id)
    except InvalidInputError:
        log.warning(
            "run %s: not in the suite database %s; the message is dropped (is this worker "
            "configured with the same IDMS_SUITE_DATABASE as the server?)",
            run_id,
            _suite_label(settings),
        )
        return "unknown"
    if info.finished:
        return info.status
    wait = _seconds_until(info.lease_expires_at) if info.status == RunStatus.RUNNING else 1
    log.info("run %s: held by %s; trying again in %d s", run_id, info.lease_owner, wait)
    raise task.retry(countdown=wait, max_retries=None)


def _seconds_until(moment: datetime | None) -> int:
    """Whole seconds until ``moment`` (a lease's end), plus one; at least 1."""
    if moment is None:
        return 1
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    left = (moment - datetime.now(UTC)).total_seconds()
    return max(1, int(left) + 1)


def _suite_label(settings: Settings) -> str:
    from idms.state.store import display_url

    return display_url(settings.suite_url)


# ---- the executor -------------------------------------------------------------------------------


class CeleryExecutor:
    """Hands run IDs to Celery workers through the broker (``IDMS_EXECUTOR=celery``)."""

    def __init__(self, settings: Settings, *, queue: str = DEFAULT_QUEUE) -> None:
        self.settings = settings
        self.queue = queue
        self.app = create_app(settings, queue=queue)

    def submit(self, run_id: str) -> None:
        """Send the run to the workers; raises an IdmsError when the broker cannot take it."""
        try:
            self.app.send_task(TASK_NAME, args=[run_id], queue=self.queue)
        except IdmsError:
            raise
        except Exception as exc:  # kombu's OperationalError and the transports' own errors
            raise IdmsError(
                f"Cannot hand run {run_id} to the Celery workers: the broker at "
                f"{display_url(self.app.conf.broker_url or '')} did not take it "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})."
            ) from None

    def close(self, *, cancel_pending: bool = False) -> None:
        self.app.close()  # runs handed over wait in the broker for any worker


# ---- ``celery -A idms.execution.celery_app worker`` ---------------------------------------------

_default_app: Celery | None = None


def default_app() -> Celery:
    """The app built from the ``IDMS_*`` variables (for the ``celery`` command)."""
    global _default_app
    if _default_app is None:
        _default_app = create_app(Settings.load())
    return _default_app


def __getattr__(name: str) -> Any:
    # ``celery -A idms.execution.celery_app`` looks for ``app`` (or ``celery``): built on demand,
    # so importing this module reads no settings and needs no broker.
    if name in ("app", "celery"):
        return default_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
