"""A real API server for each test: uvicorn on a free port in a thread, an httpx client with a
token, a workspace of its own; the background loop and the thread executor when asked for."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from server_support import PEOPLE, Api, settings_for, write_csv

from idms.execution.executors import LocalExecutor
from idms.sandbox.server import running_sandbox
from idms.server.app import create_server_app
from idms.server.loop import ServerLoop
from idms.state.tokens import TokenStore
from idms.workspace import Workspace


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    """Start a server: ``loop=True`` adds the background loop and the thread executor (without
    it, runs stay queued)."""
    stack: list[Callable[[], None]] = []

    def make(*, loop: bool = True, retry_after: int = 1) -> Api:
        workspace = Workspace.open(settings_for(tmp_path))
        stack.append(workspace.close)
        _, token = TokenStore(workspace.suite).create("tests")
        executor = LocalExecutor(workspace, 2) if loop else None
        background = ServerLoop(workspace, executor, interval=0.1) if executor else None
        app = create_server_app(workspace, None, retry_after=retry_after)
        if background is not None and executor is not None:
            background.start()
            stack.append(executor.close)
            stack.append(background.stop)
        server = running_sandbox(app)
        base = server.__enter__()
        stack.append(lambda: server.__exit__(None, None, None))
        client = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        stack.append(client.close)
        return Api(workspace, base, client, token, executor, background)

    yield make
    for close in reversed(stack):
        close()


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


@pytest.fixture
def people(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "people.csv", PEOPLE)
