"""What the HTTP tests of workflows share: a real ``idms serve`` app (uvicorn on a loopback
port, in a thread) over a workspace of its own, with a client holding an API token."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from idms.config import Settings
from idms.sandbox.server import running_sandbox
from idms.server.app import create_server_app
from idms.state.tokens import TokenStore
from idms.workspace import Workspace


@dataclass
class Served:
    workspace: Workspace
    base: str
    client: httpx.Client  # with the API token
    open: httpx.Client  # without any token (hooks)

    def runs(self, name: str) -> list[Any]:
        return self.workspace.workflow_runs(name)


@contextmanager
def served(root: Path, **settings: Any) -> Iterator[Served]:
    """``idms serve``'s app over a new workspace in ``root``, without an executor (the runs
    it queues stay queued until the test executes them)."""
    workspace = Workspace.open(Settings(workspace=root / "ws", lease_seconds=2, **settings))
    try:
        _, token = TokenStore(workspace.suite).create("tests")
        app = create_server_app(workspace, None)
        with (
            running_sandbox(app) as base,
            httpx.Client(
                base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}
            ) as client,
            httpx.Client(base_url=base, timeout=30) as bare,
        ):
            yield Served(workspace, base, client, bare)
    finally:
        workspace.close()


def workflow(name: str, trigger: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A workflow of one step (a wait of no time) started by ``trigger``."""
    return {
        "name": name,
        "trigger": trigger,
        "steps": [{"id": "pause", "action": "wait", "with": {"seconds": 0}}],
        **extra,
    }
