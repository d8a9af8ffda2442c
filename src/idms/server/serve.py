"""Running ``idms serve``: one process with the API, the background loop and the executor.

Start: the workspace is opened, the executor made (threads, or Celery with
``IDMS_EXECUTOR=celery``), the loop started, and uvicorn serves the API on the address given
(port 0: a free one; the URL printed says which).

Stop (SIGINT or SIGTERM, i.e. Ctrl-C or ``kill``): the API stops taking requests, the loop
stops, runs handed over but not started stay queued, and each run being executed **finishes the
batch it is writing and stops there**, still ``running``, its lease released. The next
``idms serve`` resumes it from its checkpoint at once (``idms runs resume RUN`` does too).
Nothing is written twice. A second signal during that wait exits at once; the interrupted runs
are then resumed at once by the next ``idms serve`` on this machine (a process elsewhere waits
for their lease to expire).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn

from idms.config import Settings
from idms.errors import EXIT_FAILED, IdmsError
from idms.execution.executors import Executor, LocalExecutor
from idms.runs.durable import process_name
from idms.runs.status import RunStatus
from idms.server.app import create_server_app
from idms.server.context import API_PREFIX
from idms.server.loop import ServerLoop
from idms.workspace import Workspace

log = logging.getLogger("idms.server")


def make_executor(workspace: Workspace) -> Executor:
    """Threads in this process (``local``, the default) or Celery workers (``celery``)."""
    settings = workspace.settings
    if settings.executor == "celery":
        from idms.execution.celery_app import CeleryExecutor

        return CeleryExecutor(settings)
    return LocalExecutor(workspace, settings.workers)


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (0: a free port) and listening, or an IdmsError saying
    why not. It listens at once: the address is announced before uvicorn starts accepting, and
    a client that connects in between waits in the backlog instead of being refused."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # uvicorn's own backlog
    except OSError as exc:
        sock.close()
        raise IdmsError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in str(host) else str(host)
    return f"http://{shown}:{port}"


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    announce: Callable[[str], None] = print,
    retry_after: int = 5,
) -> None:
    """Serve until SIGINT or SIGTERM, then stop cleanly (see the module's docstring)."""
    workspace = Workspace.open(settings)
    try:
        executor = make_executor(workspace)
    except BaseException:
        workspace.close()
        raise
    try:
        sock = bind(host, port)
    except BaseException:
        executor.close()
        workspace.close()
        raise
    loop = ServerLoop(workspace, executor)
    app = create_server_app(workspace, executor, retry_after=retry_after)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            ws="none",
            lifespan="off",
            server_header=False,
            log_level="info",
            access_log=True,
        )
    )
    _mask_tokens_in_access_log()
    base = url_of(sock)
    announce(f"idms serve: {base}{API_PREFIX}  (OpenAPI: {base}{API_PREFIX}/docs)")
    announce(f"Workspace: {settings.workspace}  Target: {settings.target}")
    if settings.executor == "celery":
        announce("Runs go to the Celery workers (IDMS_EXECUTOR=celery).")
    else:
        announce(f"Runs execute here, {settings.workers} at a time (IDMS_WORKERS).")
    if not _any_token(workspace):
        announce("No API token yet: every request is refused until you run 'idms token create'.")
    announce("Stop with Ctrl-C.")
    quiet: Callable[[int, FrameType | None], Any] = lambda signum, frame: None  # noqa: E731
    previous = {sig: signal.signal(sig, quiet) for sig in (signal.SIGINT, signal.SIGTERM)}
    loop.start()
    try:
        server.run(sockets=[sock])
    finally:
        # uvicorn has stopped taking requests; a second signal from now on means "now".
        for sig in previous:
            signal.signal(sig, _exit_now)
        announce("Stopping: runs being executed stop after the batch they are writing.")
        loop.stop()
        stopped = drain(workspace, executor)
        if stopped:
            announce(
                f"Stopped {len(stopped)} run(s) between batches; the next 'idms serve' "
                f"resumes them: {', '.join(stopped)}"
            )
        sock.close()
        workspace.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def drain(workspace: Workspace, executor: Executor) -> list[str]:
    """Stop the executor: pending runs stay queued, running ones stop after their batch with
    their lease released. The IDs of the runs so stopped."""
    leases = workspace.leases
    mine = f"{process_name()}:"
    released: set[str] = set()
    done = threading.Event()

    def release() -> None:
        # Again and again while the threads finish: a run claimed a moment after a release
        # is released too.
        while True:
            try:
                released.update(leases.release_leases(mine))
            except IdmsError:
                log.exception("releasing the leases of the runs in progress failed")
            if done.wait(0.2):
                return

    releaser = threading.Thread(target=release, name="idms-release", daemon=True)
    releaser.start()
    try:
        executor.close(cancel_pending=True)
    finally:
        done.set()
        releaser.join()
        released.update(leases.release_leases(mine))
        leases.expire_released(sorted(released))
    still = {i for i in released if workspace.runs.get(i).status == RunStatus.RUNNING}
    return sorted(still)


def _exit_now(signum: int, frame: FrameType | None) -> None:
    os._exit(EXIT_FAILED)


def _any_token(workspace: Workspace) -> bool:
    from idms.state.tokens import TokenStore

    return TokenStore(workspace.suite).any_active()


class MaskTokens(logging.Filter):
    """Access-log lines show ``?token=***``, never a token given in the URL."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], masked(args[2]), *args[3:])
        return True


def masked(path: str) -> str:
    """``path`` with the value of its ``token`` query parameter, if any, replaced by ***."""
    if "token=" not in path:
        return path
    return re.sub(r"([?&]token=)[^&]*", r"\1***", path)


def _mask_tokens_in_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, MaskTokens) for f in access.filters):
        access.addFilter(MaskTokens())
