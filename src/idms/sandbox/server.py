"""Running the sandbox: in the foreground (``idms sandbox``) or in a background thread (tests).

``running_sandbox`` binds a free port on 127.0.0.1 itself, hands the socket to uvicorn in a
thread, and yields the base URL (with the app's prefix) once the server accepts connections; on
leaving it asks uvicorn to stop and waits for the thread.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from idms.gcpause import settle_heap

STARTUP_TIMEOUT = 10.0


def _config(app: FastAPI, host: str, port: int, **kwargs: Any) -> uvicorn.Config:
    # No websockets and no lifespan: the sandbox needs neither, and both only add warnings.
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        ws="none",
        lifespan="off",
        # Nothing sits in front of the sandbox, so per-request proxy-header parsing and the
        # Server/Date headers are work without a reader.
        proxy_headers=False,
        server_header=False,
        date_header=False,
        log_level=kwargs.pop("log_level", "warning"),
        access_log=kwargs.pop("access_log", False),
        **kwargs,
    )


def base_url(app: FastAPI, host: str, port: int) -> str:
    """``http://HOST:PORT[/PREFIX]`` for an app made by ``create_app``."""
    prefix = str(getattr(app.state, "prefix", "") or "")
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{prefix}"


def serve(app: FastAPI, host: str = "127.0.0.1", port: int = 8081) -> None:
    """Serve ``app`` in the foreground until interrupted; Ctrl-C is the normal way to stop."""
    server = uvicorn.Server(_config(app, host, port, log_level="info", access_log=True))
    settle_heap()
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the SIGINT it stopped on
        server.run()


@contextmanager
def running_sandbox(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port in a background thread; yield its base URL.

    The base URL includes the app's prefix (``http://127.0.0.1:PORT/Asi.Scheduler_iMIS``); the
    server is stopped, and its thread joined, when the ``with`` block ends.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(_config(app, "127.0.0.1", port))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"sandbox-{port}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("The sandbox server did not start.")
            time.sleep(0.01)
        yield base_url(app, "127.0.0.1", port)
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)
        sock.close()
