"""``idms serve``: the JSON API, trigger URLs, scheduler and executor, in one process."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from idms.cli.context import get_settings


def serve_command(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", metavar="HOST", help="The address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port", min=0, max=65535, metavar="PORT", help="The port to listen on (0: any free)."
        ),
    ] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            metavar="N",
            help="Runs executed at the same time; default IDMS_WORKERS, or 2.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the JSON API and run the jobs: queued, scheduled or triggered by URL.

    One process holds the JSON API under /api/v1 (OpenAPI at /api/v1/docs), a background loop
    that fires due schedules, resumes runs whose process died (at once on this machine,
    elsewhere once their lease expires), hands queued runs to the executor and prunes old runs
    hourly, and the executor itself (child processes here, or threads with
    IDMS_LOCAL_EXECUTOR=threads; Celery workers with IDMS_EXECUTOR=celery).
    Requests need an API token: create one with 'idms token create NAME'. Ctrl-C (or SIGTERM)
    stops it within IDMS_STOP_GRACE_SECONDS (10): runs in progress stop at their next row and
    the next 'idms serve' resumes them.

    Example: idms serve --host 0.0.0.0 --port 8000 --workers 4
    """
    from idms.server.serve import serve

    settings = get_settings(ctx)
    if workers is not None:
        settings = settings.with_changes(workers=workers)
    logging.basicConfig(level=logging.INFO, format="%(levelname)-9s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # a line per store opened otherwise

    def announce(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    serve(settings, host=host, port=port, announce=announce)
