"""``idms worker``: a Celery worker that runs the runs ``idms serve`` (or a script) queued."""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from typing import Annotated

import typer

from idms.cli.context import get_settings
from idms.cli.output import print_note
from idms.config import Settings
from idms.errors import EXIT_FAILED, ConfigError


class Pool(StrEnum):
    PREFORK = "prefork"
    THREADS = "threads"
    SOLO = "solo"


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


def worker_command(
    ctx: typer.Context,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            "-c",
            min=1,
            metavar="N",
            help="How many runs this worker carries at once. Default: IDMS_WORKERS (2).",
            show_default=False,
        ),
    ] = None,
    pool: Annotated[
        Pool,
        typer.Option(
            "--pool",
            "-P",
            help="prefork: one process per run (the default); threads: one thread per run; "
            "solo: one run at a time in this process.",
            case_sensitive=False,
        ),
    ] = Pool.PREFORK,
    queues: Annotated[
        list[str] | None,
        typer.Option(
            "--queues",
            "-Q",
            metavar="QUEUE[,QUEUE...]",
            help="The queues to take runs from. Default: idms.",
            show_default=False,
        ),
    ] = None,
    loglevel: Annotated[
        LogLevel,
        typer.Option("--loglevel", "-l", help="How much to log.", case_sensitive=False),
    ] = LogLevel.INFO,
    hostname: Annotated[
        str | None,
        typer.Option(
            "--hostname",
            "-n",
            metavar="NAME",
            help="The worker's node name (%h: this machine's name). Default: idms-PID@%h.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run queued runs as a Celery worker, on this machine or on many (scale-out).

    Runs come from the broker in IDMS_BROKER_URL (redis://HOST:6379/0 or
    amqp://USER:PASSWORD@HOST:5672//), where 'idms serve' with IDMS_EXECUTOR=celery sends them.
    Every worker and the server share the suite database (IDMS_SUITE_DATABASE: PostgreSQL when
    they run on several machines), the secret key (IDMS_SECRET_KEY) and the workspace folder
    (input files, the embedded store). A worker that dies mid-run loses nothing: another one
    resumes the run from its last checkpoint. Stop a worker with Ctrl-C (it finishes its runs
    first) or SIGTERM.

    Example: IDMS_BROKER_URL=redis://queue.example.org:6379/0 idms worker --concurrency 4
    """
    from idms.execution.celery_app import (
        DEFAULT_QUEUE,
        broker_url_of,
        prepare_worker,
        run_worker,
        use_context,
        worker_node_name,
    )
    from idms.state.store import display_url

    settings = get_settings(ctx)
    if not (settings.broker_url or "").strip():
        raise ConfigError(
            "idms worker needs a broker: set IDMS_BROKER_URL to a Redis (redis://HOST:6379/0) "
            "or RabbitMQ (amqp://USER:PASSWORD@HOST:5672//) URL, the same one 'idms serve' uses "
            "with IDMS_EXECUTOR=celery."
        )
    broker = broker_url_of(settings)
    names = [q.strip() for given in queues or [DEFAULT_QUEUE] for q in given.split(",")]
    names = [q for q in names if q] or [DEFAULT_QUEUE]
    for warning in worker_warnings(settings, pool):
        print_note(f"Warning: {warning}", style="yellow")
    from idms.workspace import Workspace

    use_context(Workspace.open)  # the facade: it executes workflows too
    prepare_worker(settings, forking=pool is Pool.PREFORK)  # a wrong database or key: fail now
    size = concurrency or settings.workers
    node = worker_node_name(hostname)
    print_note(
        f"idms worker {node}: runs from {display_url(broker)} (queue {', '.join(names)}), "
        f"suite database {display_url(settings.suite_url)}, {size} at a time ({pool.value}). "
        "Stop with Ctrl-C."
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # no migration chatter per process
    concurrency = 1 if pool is Pool.SOLO else size
    if not run_worker(settings, names, node, pool.value, concurrency, loglevel.value.upper()):
        raise typer.Exit(EXIT_FAILED)


def worker_warnings(settings: Settings, pool: Pool) -> list[str]:
    """What may work on one machine but not on several, said before the worker starts."""
    warnings: list[str] = []
    if settings.suite_url.startswith("sqlite"):
        warnings.append(
            "the suite database is a SQLite file in the workspace: fine for workers on this "
            "machine only. Workers on other machines need a shared PostgreSQL database "
            "(IDMS_SUITE_DATABASE=postgresql://USER@HOST/DB)."
        )
    if settings.secret_key is None and not settings.key_file.exists():
        warnings.append(
            f"no IDMS_SECRET_KEY and no key file at {settings.key_file}: a new key is made. "
            "The server and every worker must use the same key, or runs sealed with another "
            "one cannot be read."
        )
    if sys.platform == "win32" and pool is Pool.PREFORK:
        warnings.append(
            "Celery does not support Windows; if it must run here, use --pool solo or "
            "--pool threads."
        )
    return warnings
