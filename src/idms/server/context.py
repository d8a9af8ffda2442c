"""What every route needs: the workspace, the executor, the stores, the target."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from idms.config import Settings
from idms.execution.executors import Executor
from idms.queries.store import QueryStore
from idms.runs.record import RunStore
from idms.server.dispatch import Dispatcher
from idms.state.templates import TemplateStore
from idms.state.tokens import TokenStore
from idms.targets.base import FullTarget
from idms.workspace import Workspace

log = logging.getLogger("idms.server")

API_PREFIX = "/api/v1"


@dataclass
class ServerContext:
    """One server's workspace and executor (None: runs are only queued, for another process
    to hand over)."""

    workspace: Workspace
    executor: Executor | None = None
    prefix: str = API_PREFIX
    retry_after: int = 5  # seconds a poller is asked to wait before asking again
    _dispatcher: Dispatcher | None = field(default=None, init=False, repr=False)
    hook_limiter: Any = field(default=None, init=False, repr=False)  # routes/hooks.py's

    def __post_init__(self) -> None:
        if self.executor is not None:
            self._dispatcher = Dispatcher(self.workspace, self.executor)

    @property
    def settings(self) -> Settings:
        return self.workspace.settings

    @property
    def runs(self) -> RunStore:
        return self.workspace.runs

    @property
    def templates(self) -> TemplateStore:
        return self.workspace.templates

    @property
    def queries(self) -> QueryStore:
        return self.workspace.queries

    @property
    def tokens(self) -> TokenStore:
        return self.workspace.tokens

    def target(self) -> FullTarget:
        """The settings' target, opened (``with context.target() as target:`` closes it)."""
        return self.workspace.target()

    def dispatch(self) -> None:
        """Have the queued runs handed to the executor now (the loop would within half a
        second), by the dispatcher's thread: the request goes on at once."""
        if self._dispatcher is not None:
            self._dispatcher.wake()

    def close(self) -> None:
        """Stop handing runs over (a server stopping)."""
        if self._dispatcher is not None:
            self._dispatcher.close()
