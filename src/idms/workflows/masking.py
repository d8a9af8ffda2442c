"""What a workflow run shows of its steps, and the services its actions get.

A step's input and output are stored as JSON with secrets masked (:func:`mask`): the values of
keys that look secret, and any stored secret the run used — which :class:`RunServices`, the
workspace's services as one run sees them, remembers as the actions ask for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from idms import jsontext
from idms.config import Settings
from idms.errors import IdmsError
from idms.state.constants import MASK
from idms.workflows.actions.base import HashStore, WorkflowServices

SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)|^pass$|token|secret|authori[sz]ation|api[_-]?key|cookie", re.I
)


def mask(value: Any, secrets: Sequence[str] = ()) -> Any:
    """``value`` as the run page may show it: the values of keys that look secret (password,
    token, secret, authorization, api_key…) and any of ``secrets`` found in a text replaced by
    a mask."""
    found = sorted({s for s in secrets if s}, key=len, reverse=True)

    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            return {
                k: (MASK if item_v is not None and SECRET_KEY.search(str(k)) else walk(item_v))
                for k, item_v in item.items()
            }
        if isinstance(item, list | tuple):
            return [walk(v) for v in item]
        if isinstance(item, str):
            for secret in found:
                if secret in item:
                    item = item.replace(secret, MASK)
            return item
        return item

    return walk(value)


def shown(value: Any, secrets: Sequence[str] = ()) -> str:
    """``value`` masked, as JSON text (whole: past 256 KiB the store keeps it as a file,
    :mod:`idms.workflows.stepdata`)."""
    return jsontext.dumps(mask(value, secrets))


# ---- the services a run's actions get ------------------------------------------------------------


class RunServices:
    """The workspace's services as one run's actions see them: the stored secrets they ask for
    are remembered, to be masked wherever the run's data is shown."""

    def __init__(self, services: WorkflowServices) -> None:
        self._services = services
        self.secrets: list[str] = []
        self.names: list[str] = []  # of the secrets used, kept with the run to mask on resume

    @property
    def settings(self) -> Settings:
        return self._services.settings

    def secret(self, name: str) -> str:
        value = self._services.secret(name)
        self.secrets.append(value)
        if name not in self.names:
            self.names.append(name)
        return value

    def recall(self, names: Sequence[str]) -> None:
        """Know again the secrets a run used before it was resumed (to mask them)."""
        for name in names:
            try:
                self.secret(name)
            except IdmsError:
                continue  # deleted since: nothing of it to mask any more

    def query_rows(
        self, query: str, params: Mapping[str, Any], *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        return self._services.query_rows(query, params, limit=limit)

    def iter_query_rows(
        self, query: str, params: Mapping[str, Any], *, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        return self._services.iter_query_rows(query, params, limit=limit)

    def query_table(
        self,
        query: str,
        params: Mapping[str, Any],
        *,
        limit: int | None = None,
        tabular: bool = False,
        dates: bool = False,
    ) -> AbstractContextManager[tuple[list[str], Iterator[Sequence[Any]]]]:
        return self._services.query_table(query, params, limit=limit, tabular=tabular, dates=dates)

    def run_template(
        self,
        template: str,
        params: Mapping[str, Any],
        *,
        wait: bool,
        trigger: str,
        key: str | None = None,
    ) -> dict[str, Any]:
        return self._services.run_template(template, params, wait=wait, trigger=trigger, key=key)

    def insert_rows(
        self,
        job: Mapping[str, Any],
        rows: Iterable[Mapping[str, Any]],
        *,
        trigger: str,
        key: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        return self._services.insert_rows(job, rows, trigger=trigger, key=key, columns=columns)

    def hashes(self, workflow_id: str, step_id: str) -> HashStore:
        return self._services.hashes(workflow_id, step_id)

    def run_files(self, run_id: str) -> Path:
        return self._services.run_files(run_id)


# ---- running ------------------------------------------------------------------------------------
