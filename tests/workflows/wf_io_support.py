"""What the tests of the data-moving actions (HTTP Request, Send E-mail, JSON Schema Validation,
Convert) share: a real workspace's settings and secret store behind the services an action may
ask for, a real :class:`ActionContext`, and each action called through its ``ActionSpec``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from idms.config import Settings
from idms.secrets import SecretStore, open_secrets
from idms.workflows.actions import actions
from idms.workflows.actions.base import ActionContext, HashStore, StepResult


class Services:
    """:class:`WorkflowServices` over a workspace's settings and its encrypted secret store;
    what these actions never ask for is refused."""

    def __init__(self, settings: Settings, secrets: SecretStore) -> None:
        self._settings = settings
        self.secrets = secrets

    @property
    def settings(self) -> Settings:
        return self._settings

    def secret(self, name: str) -> str:
        return self.secrets.get(name)

    def query_rows(
        self, query: str, params: Mapping[str, Any], *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        raise AssertionError("not asked for by these actions")

    def iter_query_rows(
        self, query: str, params: Mapping[str, Any], *, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        raise AssertionError("not asked for by these actions")

    def run_template(
        self, template: str, params: Mapping[str, Any], *, wait: bool, trigger: str
    ) -> dict[str, Any]:
        raise AssertionError("not asked for by these actions")

    def insert_rows(
        self, job: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], *, trigger: str
    ) -> dict[str, Any]:
        raise AssertionError("not asked for by these actions")

    def hashes(self, workflow_id: str, step_id: str) -> HashStore:
        raise AssertionError("not asked for by these actions")


@contextmanager
def workspace(root: Path, **settings: Any) -> Iterator[Services]:
    """A fresh workspace under ``root`` (its suite database and key file made on first use)."""
    config = Settings(workspace=root / "ws", **settings)
    with open_secrets(config) as secrets:
        yield Services(config, secrets)


def context(
    services: Services,
    root: Path,
    *,
    step_id: str = "step",
    run_id: str = "run-1",
    attempt: int = 1,
) -> ActionContext:
    files = root / "ws" / "runs" / run_id / "files"
    files.mkdir(parents=True, exist_ok=True)
    logged: list[str] = []
    return ActionContext(
        services=services,
        workflow_id="wf-1",
        workflow="test workflow",
        run_id=run_id,
        step_id=step_id,
        attempt=attempt,
        files=files,
        render=lambda template, names: template,
        log=logged.append,
    )


def run_action(
    name: str, params: dict[str, Any], context: ActionContext, data: dict[str, Any] | None = None
) -> StepResult:
    """The action ``name`` run as the runner runs it: its parameters checked by its own model."""
    spec = actions()[name]
    return spec.run(spec.params.model_validate(params), data or {}, context)
