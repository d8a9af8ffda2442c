"""The ground every part of the facade stands on: a workspace opened (its suite database
and key, :class:`~idms.runs.context.RunContext`), its stores, and its target.

:class:`idms.workspace.Workspace` is this plus its parts: jobs and runs (``workspace.py``),
workflows (:mod:`idms.facade.workflows`) and transfers (:mod:`idms.facade.transfers`), each
written over these stores, so that a part never reaches into another one's code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self

from idms.config import Settings
from idms.execution.execute import OpenTarget
from idms.execution.listeners import subscribe_defaults
from idms.jobs.option_defaults import OptionDefaults
from idms.queries.store import QueryStore
from idms.runs.context import RunContext
from idms.runs.leases import Leases
from idms.runs.record import RunStore
from idms.state.templates import TemplateStore
from idms.targets import factory
from idms.targets.base import FullTarget

if TYPE_CHECKING:
    from idms.io.uploads import UploadStore
    from idms.jobs.remote import RemoteInputs
    from idms.schedules.store import ScheduleStore
    from idms.state.tokens import TokenStore


@dataclass
class WorkspaceBase(RunContext):
    """A workspace opened: its stores and its target. Open it once per process (or request
    scope) and close it (or use ``with``)."""

    # How the target is opened from the settings (default: the factory, looked up at each
    # call); a test may wrap it, e.g. in a FaultyTarget.
    target_opener: OpenTarget | None = field(default=None, repr=False)

    @classmethod
    def open(cls, settings: Settings) -> Self:
        """Open the workspace the settings name (created if new); the schedules and
        notifications hear of every run that ends in this process."""
        subscribe_defaults()
        return super().open(settings)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the stores and the target ------------------------------------------------------------

    @property
    def runs(self) -> RunStore:
        return RunStore(self.suite)

    @property
    def leases(self) -> Leases:
        return Leases(self.suite)

    @property
    def templates(self) -> TemplateStore:
        return TemplateStore(self.suite, self.box)

    @property
    def option_defaults(self) -> OptionDefaults:
        """The installation's default task options (global settings: :mod:`idms.jobs.options`)."""
        return OptionDefaults(self.suite)

    @property
    def queries(self) -> QueryStore:
        return QueryStore(self.suite)

    @property
    def schedules(self) -> ScheduleStore:
        from idms.schedules.store import ScheduleStore

        return ScheduleStore(self.suite, self.box)

    @property
    def tokens(self) -> TokenStore:
        from idms.state.tokens import TokenStore

        return TokenStore(self.suite)

    @property
    def uploads(self) -> UploadStore:
        """The files sent to ``idms serve`` for jobs to read (``WORKSPACE/uploads``)."""
        from idms.io.uploads import UploadStore

        return UploadStore(self.settings.workspace / "uploads", self.settings.serve_max_upload)

    @property
    def remote_inputs(self) -> RemoteInputs:
        """What a job that comes over the network may read: uploads, and the files in the
        folders the settings list (``IDMS_SERVE_INPUT_FOLDERS``); nothing else."""
        from idms.jobs.remote import RemoteInputs

        return RemoteInputs(
            self.settings.serve_input_folders, self.uploads, private=(self.settings.workspace,)
        )

    def open_target(self, settings: Settings) -> FullTarget:
        """The target ``settings`` name, opened (the caller closes it)."""
        if self.target_opener is not None:
            return self.target_opener(settings)
        return factory.open_target(settings, suite=lambda: self.suite)

    def target(self) -> FullTarget:
        """The settings' target, opened: ``with workspace.target() as target:`` closes it."""
        return self.open_target(self.settings)
