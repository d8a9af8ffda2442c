"""What anything that runs needs: the settings, the suite database, the sealing key, the runs
folder. Executors, the scheduler and notifications take a :class:`RunContext`; the library
facade (:class:`idms.workspace.Workspace`) is one, with the operations on top."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Self

from sqlalchemy import Engine

from idms.config import Settings
from idms.runs.durable import Durable, worker_name
from idms.secrets import SecretBox, load_keys
from idms.state.store import open_suite


@dataclass
class RunContext:
    """One workspace's suite database and key, opened once per process (or per worker)."""

    settings: Settings
    suite: Engine
    box: SecretBox

    @classmethod
    def open(cls, settings: Settings) -> Self:
        """Open the workspace the settings name (created if new)."""
        settings.workspace.mkdir(parents=True, exist_ok=True)
        return cls(settings, open_suite(settings.suite_url), SecretBox(load_keys(settings)))

    @cached_property
    def runs_folder(self) -> Path:
        """``WORKSPACE/runs``, made once (the scheduler asks for it for every run it queues)."""
        folder = (self.settings.workspace / "runs").resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def durable(self, *, owner: str | None = None) -> Durable:
        return Durable(
            box=self.box,
            run_dir=self.runs_folder,
            owner=owner or worker_name(),
            lease_seconds=float(self.settings.lease_seconds),
        )

    def close(self) -> None:
        self.suite.dispose()
