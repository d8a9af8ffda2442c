"""Fixtures for the REST target: a sandbox over a fresh embedded store, served over real HTTP.

``serve(store, **create_app options)`` serves a new sandbox app (``create_app``) over the store
and returns a :class:`Served`: the base URL, the app and a ``rest(...)`` maker of REST targets
(each with its own ImisClient, closed after the test). One uvicorn server runs for the whole
session (``running_sandbox``, on a free port, in a thread) and each test mounts its own app on
it, which saves a server start and stop per test; a second sandbox in the same test gets a
server of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

pytest.register_assert_rewrite("contract.suite", "contract.folding")

from fastapi import FastAPI  # noqa: E402
from starlette.types import ASGIApp, Receive, Scope, Send  # noqa: E402

from idms.sandbox.app import create_app  # noqa: E402
from idms.sandbox.server import running_sandbox  # noqa: E402
from idms.targets.embedded.target import EmbeddedTarget  # noqa: E402
from idms.targets.imis.client import ImisClient  # noqa: E402
from idms.targets.imis.target import RestTarget  # noqa: E402

MANAGER = "MANAGER"
MANAGER_PASSWORD = "Sandbox-Manager-1"


@dataclass
class Served:
    """A running sandbox: its URL, its app, its store, and REST targets on it."""

    url: str
    app: FastAPI
    store: EmbeddedTarget
    platform: str
    stack: ExitStack = field(repr=False)

    def client(self, **options: Any) -> ImisClient:
        options.setdefault("retries", 3)
        client = ImisClient(self.url, MANAGER, MANAGER_PASSWORD, **options)
        self.stack.callback(client.close)
        return client

    def rest(self, *, ordered: bool = False, **options: Any) -> RestTarget:
        return RestTarget(self.client(**options), self.platform, ordered=ordered)


Serve = Callable[..., Served]


@pytest.fixture
def new_store(tmp_path: Path) -> Iterator[Callable[[str], EmbeddedTarget]]:
    """``new_store(name)``: a fresh embedded store file in the test's folder (closed after)."""
    with ExitStack() as stack:

        def make(name: str = "imis") -> EmbeddedTarget:
            store = EmbeddedTarget(f"sqlite:///{tmp_path / name}.db")
            stack.callback(store.close)
            return store

        yield make


class Mount:
    """An ASGI app that hands every request to the app mounted on it now."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None
        self.state = SimpleNamespace(prefix="")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.app
        if app is None:
            raise RuntimeError("No sandbox is mounted.")
        await app(scope, receive, send)


@pytest.fixture(scope="session")
def shared_server() -> Iterator[tuple[Mount, str]]:
    mount = Mount()
    with running_sandbox(cast(FastAPI, mount)) as url:
        yield mount, url


@pytest.fixture
def serve(shared_server: tuple[Mount, str]) -> Iterator[Serve]:
    """``serve(store, platform=..., **create_app options)``: the store over HTTP."""
    mount, root = shared_server
    with ExitStack() as stack:

        def start(store: EmbeddedTarget, *, platform: str = "ems", **options: Any) -> Served:
            options.setdefault("manager_password", MANAGER_PASSWORD)
            app = create_app(store, platform=platform, **options)
            if mount.app is None:
                mount.app = app
                stack.callback(setattr, mount, "app", None)
                url = root + str(app.state.prefix)
            else:
                url = stack.enter_context(running_sandbox(app))
            return Served(url, app, store, platform, stack)

        yield start
