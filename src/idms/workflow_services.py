"""What workflow actions may ask of the suite
(:class:`~idms.workflows.actions.base.WorkflowServices`), provided by the facade: stored secrets,
saved queries, templates run as jobs, rows inserted through the import engine, and each step's
delta-hash store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from idms.config import Settings
from idms.workflows.actions.base import HashStore

if TYPE_CHECKING:
    from idms.workspace import Workspace


class WorkspaceServices:
    """:class:`~idms.workflows.actions.base.WorkflowServices` over a workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    @property
    def settings(self) -> Settings:
        return self.workspace.settings

    def secret(self, name: str) -> str:
        from idms.secrets import SecretStore

        return SecretStore(self.workspace.suite, self.workspace.box).get(name)

    def query_rows(
        self, query: str, params: Mapping[str, Any], *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        raise NotImplementedError

    def run_template(
        self, template: str, params: Mapping[str, Any], *, wait: bool, trigger: str
    ) -> dict[str, Any]:
        raise NotImplementedError

    def insert_rows(
        self, job: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], *, trigger: str
    ) -> dict[str, Any]:
        raise NotImplementedError

    def hashes(self, workflow_id: str, step_id: str) -> HashStore:
        raise NotImplementedError
