"""What every route needs: the workspace, the executor, the stores, the target."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from idms.config import Settings
from idms.execution.context import Workspace
from idms.execution.executors import Executor
from idms.server.dispatch import dispatch_queued
from idms.state.queries import QueryStore
from idms.state.runs import RunStore
from idms.state.templates import TemplateStore
from idms.state.tokens import TokenStore
from idms.targets.base import FullTarget

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

    @property
    def settings(self) -> Settings:
        return self.workspace.settings

    @property
    def runs(self) -> RunStore:
        return RunStore(self.workspace.suite)

    @property
    def templates(self) -> TemplateStore:
        return TemplateStore(self.workspace.suite)

    @property
    def queries(self) -> QueryStore:
        return QueryStore(self.workspace.suite)

    @property
    def tokens(self) -> TokenStore:
        return TokenStore(self.workspace.suite)

    @contextmanager
    def target(self) -> Iterator[FullTarget]:
        """The settings' target, opened for one request and closed after it."""
        from idms.targets.factory import open_target

        target = open_target(self.settings)
        try:
            yield target
        finally:
            target.close()

    def dispatch(self) -> None:
        """Hand the queued runs to the executor now (the loop would within half a second)."""
        if self.executor is None:
            return
        try:
            dispatch_queued(self.workspace, self.executor)
        except Exception:  # the run is queued: the loop hands it over on its next step
            log.exception("handing queued runs to the executor failed")
