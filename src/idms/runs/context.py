"""What anything that runs needs: the settings, the suite database, the sealing key, the runs
folder. Executors, the scheduler and notifications take a :class:`RunContext`; the library
facade (:class:`idms.workspace.Workspace`) is one, with the operations on top."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Self

from sqlalchemy import Engine

from idms.config import STORE_FILE, SUITE_FILE, Settings
from idms.private import FILE_MODE, FOLDER_MODE, private_folder, tighten
from idms.runs.durable import Durable, worker_name
from idms.secrets import SecretBox, load_keys
from idms.state.store import open_suite

if TYPE_CHECKING:
    from idms.jobs.report import RunReport


@dataclass
class RunContext:
    """One workspace's suite database and key, opened once per process (or per worker)."""

    settings: Settings
    suite: Engine
    box: SecretBox

    @classmethod
    def open(cls, settings: Settings) -> Self:
        """Open the workspace the settings name (created if new, private: see
        :func:`secure_workspace`)."""
        secure_workspace(settings)
        return cls(settings, open_suite(settings.suite_url), SecretBox(load_keys(settings)))

    @cached_property
    def runs_folder(self) -> Path:
        """``WORKSPACE/runs``, made once (the scheduler asks for it for every run it queues)."""
        return private_folder((self.settings.workspace / "runs").resolve())

    def durable(self, *, owner: str | None = None) -> Durable:
        return Durable(
            box=self.box,
            run_dir=self.runs_folder,
            owner=owner or worker_name(),
            lease_seconds=float(self.settings.lease_seconds),
        )

    def execute_workflow(
        self,
        run_id: str,
        *,
        durable: Durable,
        progress: Callable[[int], None] | None = None,
    ) -> RunReport:
        """Run (or resume) claimed workflow run ``run_id``. Only the workspace facade
        (``idms.workspace.Workspace``), which knows the workflows and their actions, can."""
        from idms.errors import IdmsError

        raise IdmsError(
            f"Run {run_id} is a workflow run, which only a workspace (idms serve, a worker, "
            "the command line) can execute."
        )

    def close(self) -> None:
        self.suite.dispose()


def secure_workspace(settings: Settings) -> Path:
    """The workspace folder, made 0700 if it is new. What idms made in an existing one (by a
    version that left modes to the umask) is set private: the suite database and the embedded
    store with their journals, the key file (0600), the runs folder (0700). A workspace folder
    the user made is left as they made it."""
    root = private_folder(settings.workspace, tighten_existing=False)
    databases = [root / SUITE_FILE, root / STORE_FILE]
    journals = [db.with_name(db.name + end) for db in databases for end in ("-wal", "-shm")]
    tighten([*databases, *journals, settings.key_file], FILE_MODE)
    tighten([root / "runs"], FOLDER_MODE)
    return root
