"""What every route needs: the workspace, the executor, the stores, the target."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from idms.config import Settings
from idms.execution.executors import Executor
from idms.queries.store import QueryStore
from idms.runs.record import RunStore
from idms.server.dispatch import dispatch_queued
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
        """Hand the queued runs to the executor now (the loop would within half a second)."""
        if self.executor is None:
            return
        try:
            dispatch_queued(self.workspace, self.executor)
        except Exception:  # the run is queued: the loop hands it over on its next step
            log.exception("handing queued runs to the executor failed")
