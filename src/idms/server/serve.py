"""Running ``idms serve``: one process with the API, the background loop and the executor.

Start: the workspace is opened, the executor made (child processes; threads with
``IDMS_LOCAL_EXECUTOR=threads``; Celery with ``IDMS_EXECUTOR=celery``), the loop started, and
uvicorn serves the API on the address given (port 0: a free one; the URL printed says which).

Stop (SIGINT or SIGTERM, i.e. Ctrl-C or ``kill``): the API stops taking requests, the loop
stops, runs handed over but not started stay queued, and each run being executed **stops at its
next row** (before anything of the batch in hand is written), still ``running``, its lease
released. The next ``idms serve`` resumes it from its checkpoint at once (``idms runs resume
RUN`` does too). Nothing is written twice. All this within ``IDMS_STOP_GRACE_SECONDS`` (10) of
the signal: a run still busy then (a write that hangs) is left behind (its child process is
ended) and the process exits (code 3), its runs' leases let go of, so the next ``idms serve``
resumes them at once. A second signal exits at once; the interrupted runs are then resumed at
once by the next ``idms serve`` on this machine (a process elsewhere waits for their lease to
expire).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn

from idms.config import Settings
from idms.errors import EXIT_FAILED, IdmsError
from idms.execution.executors import Executor, LocalExecutor
from idms.execution.processes import ProcessExecutor
from idms.runs.durable import process_name
from idms.runs.status import RunStatus
from idms.server.app import create_server_app
from idms.server.context import API_PREFIX
from idms.server.loop import ServerLoop
from idms.ui.pages.signin import first_admin_command
from idms.workspace import Workspace

log = logging.getLogger("idms.server")


def make_executor(workspace: Workspace) -> Executor:
    """Child processes of this one (``local``, the default), threads in this process (``local``
    with ``IDMS_LOCAL_EXECUTOR=threads``) or Celery workers (``celery``)."""
    settings = workspace.settings
    if settings.executor == "celery":
        from idms.execution.celery_app import CeleryExecutor

        return CeleryExecutor(settings)
    if settings.local_executor == "threads":
        return LocalExecutor(workspace, settings.workers)
    return ProcessExecutor(settings, Workspace.open, settings.workers)


def lease_holders(executor: Executor) -> Callable[[], list[str]]:
    """Whose leases a server stopping lets go of: its own process's, and its executor's
    children's."""
    children = executor.holders if isinstance(executor, ProcessExecutor) else list
    return lambda: [process_name(), *children()]


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
    grace = float(settings.stop_grace_seconds)
    letting_go = LettingGo(workspace, lease_holders(executor))
    server = _Server(
        uvicorn.Config(
            app,
            ws="none",
            lifespan="off",
            server_header=False,
            log_level="info",
            access_log=True,
            timeout_graceful_shutdown=max(1, int(grace)),
        ),
        on_signal=letting_go.start,
    )
    _mask_tokens_in_access_log()
    base = url_of(sock)
    announce(f"idms serve: {base}{API_PREFIX}  (OpenAPI: {base}{API_PREFIX}/docs)")
    announce(f"Web UI: {base}/")
    announce(f"Workspace: {settings.workspace}  Target: {settings.target}")
    if settings.executor == "celery":
        announce("Runs go to the Celery workers (IDMS_EXECUTOR=celery).")
    elif settings.local_executor == "threads":
        announce(f"Runs execute here, {settings.workers} at a time (IDMS_WORKERS), in threads.")
    else:
        announce(f"Runs execute here, {settings.workers} at a time (IDMS_WORKERS).")
    folders = settings.serve_input_folders
    if folders:
        announce(f"Jobs read uploads and the files in: {os.pathsep.join(map(str, folders))}")
    else:
        announce("Jobs read uploaded files only (IDMS_SERVE_INPUT_FOLDERS lists folders too).")
    if not _any_token(workspace):
        announce("No API token yet: every request is refused until you run 'idms token create'.")
    if not workspace.user_store.any():
        announce(f"No web UI user yet: create the first administrator: {first_admin_command()}")
    announce("Stop with Ctrl-C.")
    quiet: Callable[[int, FrameType | None], Any] = lambda signum, frame: None  # noqa: E731
    previous = {sig: signal.signal(sig, quiet) for sig in (signal.SIGINT, signal.SIGTERM)}
    loop.start()
    clean = True
    try:
        server.run(sockets=[sock])
    finally:
        # uvicorn has stopped taking requests; a second signal from now on means "now".
        for sig in previous:
            signal.signal(sig, _exit_now)
        letting_go.start()  # a no-op when the signal already started it
        announce(
            "Stopping: runs being executed stop at their next row "
            f"(within {grace:g} seconds), resumable."
        )
        loop.stop(timeout=letting_go.remaining(grace))
        app.state.idms.close()
        stopped, stuck = drain(workspace, executor, letting_go, grace)
        if stopped:
            announce(
                f"Stopped {len(stopped)} run(s); the next 'idms serve' resumes them: "
                f"{', '.join(stopped)}"
            )
        if stuck:
            clean = False
            announce(
                f"Still busy after {grace:g} seconds (IDMS_STOP_GRACE_SECONDS): stopping "
                "anyway. The runs it was executing are resumed from their checkpoint by the "
                "next 'idms serve'."
            )
        sock.close()
        if clean:
            workspace.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if not clean:
        # Threads still at work cannot be stopped from outside; the process ends without them
        # (their leases are let go of: nothing waits for them to expire).
        _flush()
        os._exit(EXIT_FAILED)


class _Server(uvicorn.Server):
    """uvicorn's server, telling ``on_signal`` at the first SIGINT or SIGTERM: the runs start
    stopping while uvicorn finishes the requests in hand."""

    def __init__(self, config: uvicorn.Config, *, on_signal: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_signal = on_signal

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_signal()
        super().handle_exit(sig, frame)


class LettingGo:
    """This process letting go of the runs it holds, from the moment it is asked to stop: their
    leases are released again and again (a run claimed a moment after a release is released
    too), so each run at work stops at its next row (:class:`~idms.runs.leases.StopCheck`),
    resumable, and nobody takes it over while it writes the batch in hand."""

    def __init__(
        self, workspace: Workspace, holders: Callable[[], list[str]] | None = None
    ) -> None:
        self.leases = workspace.leases
        # The processes whose leases are this server's (HOST:PID:STAMP): itself, and its
        # executor's children, asked again at each release (a child may have been replaced).
        self.holders = holders or (lambda: [process_name()])
        self.released: set[str] = set()
        self.started_at: float | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._release, name="idms-release", daemon=True)
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self.started_at is not None:
                return
            self.started_at = time.monotonic()
        self._thread.start()

    def remaining(self, grace: float) -> float:
        """What is left of ``grace`` seconds counted from the signal (at least a moment)."""
        begun = self.started_at if self.started_at is not None else time.monotonic()
        return max(0.5, begun + grace - time.monotonic())

    def release_now(self) -> None:
        try:
            for holder in self.holders():
                self.released.update(self.leases.release_leases(f"{holder}:"))
        except IdmsError:
            log.exception("releasing the leases of the runs in progress failed")

    def _release(self) -> None:
        while True:
            self.release_now()
            if self._done.wait(0.2):
                return

    def finish(self) -> list[str]:
        """Stop releasing, release once more, and end the released leases now (the next
        ``idms serve`` resumes those runs at once). The IDs released."""
        self._done.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.release_now()
        try:
            self.leases.expire_released(sorted(self.released))
        except IdmsError:
            log.exception("ending the released leases failed")
        return sorted(self.released)


def drain(
    workspace: Workspace,
    executor: Executor,
    letting_go: LettingGo | None = None,
    grace: float = 10.0,
) -> tuple[list[str], bool]:
    """Stop the executor within ``grace`` seconds of the signal: pending runs stay queued,
    running ones stop at their next row with their lease released. The IDs of the runs so
    stopped, and whether some thread was still at work when the grace ran out."""
    if letting_go is None:
        letting_go = LettingGo(workspace, lease_holders(executor))
    letting_go.start()
    closer = threading.Thread(
        target=executor.close, kwargs={"cancel_pending": True}, name="idms-drain", daemon=True
    )
    closer.start()
    closer.join(letting_go.remaining(grace))
    stuck = closer.is_alive()
    if stuck and isinstance(executor, ProcessExecutor):
        executor.terminate()  # its children end with the server; their runs are let go of
    released = letting_go.finish()
    still = {i for i in released if workspace.runs.get(i).status == RunStatus.RUNNING}
    return sorted(still), stuck


def _flush() -> None:
    for handler in logging.getLogger().handlers + logging.getLogger("uvicorn").handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


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
